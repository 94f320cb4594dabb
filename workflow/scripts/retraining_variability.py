"""RV per point over the M seeds of one model kind, at both budgets."""

import logging

from rvae.atomic import atomic_path
from rvae.paper.evaluation import rv_per_point
from rvae.workflow.script import by_budget, start

sm = snakemake  # noqa: F821
start(sm)
for budget, runs, out in by_budget(sm, "runs"):
    frame = rv_per_point(runs, sm.params.estimator)
    with atomic_path(out) as tmp:
        frame.to_parquet(tmp, index=False)
    logging.info(f"RV ({sm.params.estimator}) over {len(runs)} runs, {budget} budget: median {frame['rv'].median():.4g}")
