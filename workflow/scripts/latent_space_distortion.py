"""LSD of each seed against the joint template, with the linear-map analysis."""

from rvae.atomic import atomic_path
from rvae.evaluation import lsd_per_seed
from rvae.workflow_support import start

sm = snakemake  # noqa: F821
log = start(sm)
frame = lsd_per_seed(list(sm.input.runs), sm.params.seeds, sm.input.template)
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
log(frame.drop(columns=["spectrum"], errors="ignore").to_string())
