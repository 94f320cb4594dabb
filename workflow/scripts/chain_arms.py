"""Every arm of one dataset's chain per seed: distance to Alice's coordinates and LSD to the joint template."""

import logging

import pandas as pd

from rvae.atomic import atomic_path
from rvae.paper.chains import chain_per_seed
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
files = sm.params.files
frame = chain_per_seed(sm.wildcards.dataset, files, sm.params.seeds, sm.params.chain["parts"], pd.read_parquet(files["convergence"]))
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(frame.to_string())
