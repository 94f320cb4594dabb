"""RV per point over the M seeds of one model."""

from rvae.atomic import atomic_path
from rvae.evaluation import rv_per_point
from rvae.workflow_support import start

sm = snakemake  # noqa: F821
log = start(sm)
frame = rv_per_point(list(sm.input), sm.params.estimator)
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
log(f"RV ({sm.params.estimator}) over {len(sm.input)} runs: median {frame['rv'].median():.4g}")
