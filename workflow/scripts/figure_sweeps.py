"""Sweep curves: validation yardstick per candidate value."""

import json
import logging
from pathlib import Path

from rvae.paper.figures import figure_sweeps
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
candidates = [
    {**candidate, "experiment": sweep["experiment"], "dataset": sweep["dataset"]}
    for sweep in sm.params.candidates
    for candidate in json.loads(Path(sweep["file"]).read_text())
]
figure_sweeps(candidates, sm.output.png, sm.output.pdf)
logging.info(f"wrote {sm.output.png} from {len(candidates)} candidates")
