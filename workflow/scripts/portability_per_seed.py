"""Every portability arm of one dataset's sequential runs, per seed and reference."""

import logging

from rvae.atomic import atomic_path
from rvae.paper.portability import portability_per_seed
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
files = sm.params.files
frame = portability_per_seed(files["runs"], sm.params.seeds, files["templates"], files["rosetta"])
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(frame.to_string())
