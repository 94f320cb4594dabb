"""Every portability arm of one dataset's sequential runs, per seed and reference, at both budgets."""

import logging

from rvae.atomic import atomic_path
from rvae.paper.portability import portability_per_seed
from rvae.workflow.paths import BUDGETS
from rvae.workflow.targets import at_budget as files_at_budget
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
files = sm.params.files
for budget in BUDGETS:
    frame = portability_per_seed(files_at_budget(files["runs"], budget), sm.params.seeds, files["templates"], files["rosetta"])
    with atomic_path(sm.output[budget]) as tmp:
        frame.to_parquet(tmp, index=False)
    logging.info(f"{budget} budget:\n" + frame.to_string())
