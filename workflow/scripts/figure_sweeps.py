"""Sweep curves: validation yardstick per candidate value."""

import json
import logging
from pathlib import Path

from rvae.paper.figures import figure_sweeps
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
candidates = [
    {**json.loads(Path(c["file"]).read_text()), "experiment": c["experiment"], "dataset": c["dataset"]}
    for c in sm.params.candidates
]
figure_sweeps(candidates, sm.output.png, sm.output.pdf)
logging.info(f"wrote {sm.output.png} from {len(candidates)} candidates")
