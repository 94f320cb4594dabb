"""Table 1's similarity panel: angular Procrustes and linear CKA of each seed against the D1 template."""

import logging

from rvae.atomic import atomic_path
from rvae.paper.evaluation import panel_per_seed
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
frame = panel_per_seed(list(sm.input.runs), sm.params.seeds, sm.input.template)
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(frame.to_string())
