"""Sweep curves: validation yardstick per candidate value."""

import json
from pathlib import Path

from rvae.figures import figure_sweeps
from rvae.workflow_support import start

sm = snakemake  # noqa: F821
log = start(sm)
candidates = []
for path in map(Path, sm.input):
    # results/sweeps/{experiment}/{dataset}/{param}/{value}.json
    experiment, dataset = path.parts[-4], path.parts[-3]
    candidates.append({**json.loads(path.read_text()), "experiment": experiment, "dataset": dataset})
figure_sweeps(candidates, sm.output.png, sm.output.pdf)
log(f"wrote {sm.output.png} from {len(candidates)} candidates")
