"""Every anchor-budget arm of one dataset's sequential runs at one k, per seed and held-out point set."""

import logging

from rvae.atomic import atomic_path
from rvae.paper.anchor_budget import per_seed
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
files = sm.params.files
frame = per_seed(files["runs"], sm.params.seeds, files["template"], files["rosetta"])
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(frame.to_string())
