"""LSD of each seed against the joint template, with the linear-map analysis."""

import logging

from rvae.atomic import atomic_path
from rvae.paper.evaluation import lsd_per_seed
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
frame = lsd_per_seed(list(sm.input.runs), sm.params.seeds, sm.input.template)
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(frame.drop(columns=["spectrum"], errors="ignore").to_string())
