"""`steps: auto`: the training budget, the step at which the joint template's validation curve plateaued."""

import json
import logging

import pandas as pd

from rvae.atomic import atomic_path
from rvae.convergence import PlateauRule, budget
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
rule = PlateauRule(**sm.params.rule)
choice = budget(pd.read_parquet(sm.input.history).to_dict("records"), rule)
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(choice, indent=2))
if choice["converged"]:
    logging.info(f"{sm.wildcards.dataset}: the joint template plateaued at step {choice['steps']}")
else:
    logging.warning(
        f"{sm.wildcards.dataset}: NOT CONVERGED: the joint template reached plateau.max_steps = {rule.max_steps} "
        f"without a plateau; every cell of this dataset will say so"
    )
