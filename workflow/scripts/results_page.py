"""The results page: what this run was, from its own files (rvae.workflow.results_page)."""

import logging
from pathlib import Path

from rvae.atomic import atomic_path
from rvae.workflow.results_page import build_page
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
page = build_page(sm.config, sm.params.inputs, sm.params.config_files, root=Path("."), code=Path(sm.params.code))
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(page)
logging.info(page)
