"""The training budget's record: the step at which the joint template's validation curve plateaued
(`steps: auto`), or its fixed steps and whether its curve was flat there."""

import json
import logging

import pandas as pd

from rvae.atomic import atomic_path
from rvae.convergence import PlateauRule, budget
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
rule = PlateauRule(**sm.params.rule)
choice = budget(pd.read_parquet(sm.input.history).to_dict("records"), rule, sm.params.steps)
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(choice, indent=2))
if choice["converged"] and choice["source"] == "fixed":
    logging.info(f"{sm.wildcards.dataset}: the joint template's curve is flat after its fixed {choice['steps']} steps")
elif choice["converged"]:
    logging.info(f"{sm.wildcards.dataset}: the joint template plateaued at step {choice['steps']}")
elif choice["source"] == "fixed":
    logging.warning(
        f"{sm.wildcards.dataset}: NOT CONVERGED: the joint template's curve is not flat after its fixed {choice['steps']} steps; "
        f"every cell of this dataset will say so"
    )
else:
    logging.warning(
        f"{sm.wildcards.dataset}: NOT CONVERGED: the joint template reached plateau.max_steps = {rule.max_steps} "
        f"without a plateau; every cell of this dataset will say so"
    )
