"""Convergence diagnostics of every run of one dataset's chain (spec, "Training budget", item 4)."""

import json
import logging
from pathlib import Path

from rvae.atomic import atomic_path
from rvae.convergence import PlateauRule
from rvae.paper.chains import chain_convergence
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
runs = sm.params.runs
key = [(r["lab"], r["run"], r["seed"]) for r in runs]
frame = chain_convergence(
    dict(zip(key, (r["history"] for r in runs))), dict(zip(key, (r["embedding"] for r in runs))),
    sm.params.chain["parts"], PlateauRule(**sm.params.rule), json.loads(Path(sm.input.budget).read_text()),
)  # fmt: skip
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(frame.to_string())
