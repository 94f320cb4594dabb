"""`epochs: auto`: the epoch count at the joint template's validation plateau (paper, Appendix B)."""

import json
import logging

import pandas as pd

from rvae.atomic import atomic_path
from rvae.convergence import PlateauRule, chosen_epochs
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
choice = chosen_epochs(pd.read_parquet(sm.input.history).to_dict("records"), PlateauRule(**sm.params.stopping))
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(choice, indent=2))
if choice["converged"]:
    logging.info(f"{sm.wildcards.dataset}: the joint template plateaued at epoch {choice['epochs']}")
else:
    logging.warning(f"{sm.wildcards.dataset}: NOT CONVERGED: the joint template reached the cap of {choice['epochs']} epochs without a plateau")
