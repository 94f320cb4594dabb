"""Table 1's similarity panel: angular Procrustes and linear CKA of each seed against the D1
template, at both budgets."""

import logging

from rvae.atomic import atomic_path
from rvae.paper.evaluation import panel_per_seed
from rvae.workflow.script import by_budget, start

sm = snakemake  # noqa: F821
start(sm)
for budget, runs, out in by_budget(sm, "runs"):
    frame = panel_per_seed(runs, sm.params.seeds, sm.input.template)
    with atomic_path(out) as tmp:
        frame.to_parquet(tmp, index=False)
    logging.info(f"{budget} budget:\n" + frame.to_string())
