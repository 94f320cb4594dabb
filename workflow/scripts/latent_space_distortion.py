"""LSD of each seed against the joint template, with the linear-map analysis, at both budgets."""

import logging

from rvae.atomic import atomic_path
from rvae.paper.evaluation import lsd_per_seed
from rvae.workflow.script import by_budget, start

sm = snakemake  # noqa: F821
start(sm)
for budget, runs, out in by_budget(sm, "runs"):
    frame = lsd_per_seed(runs, sm.params.seeds, sm.input.template)
    with atomic_path(out) as tmp:
        frame.to_parquet(tmp, index=False)
    logging.info(f"{budget} budget:\n" + frame.drop(columns=["spectrum"], errors="ignore").to_string())
