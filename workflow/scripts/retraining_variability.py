"""RV per point over the M seeds of one model kind."""

import logging

from rvae.atomic import atomic_path
from rvae.paper.evaluation import rv_per_point
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
frame = rv_per_point(list(sm.input), sm.params.estimator)
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(f"RV ({sm.params.estimator}) over {len(sm.input)} runs: median {frame['rv'].median():.4g}")
