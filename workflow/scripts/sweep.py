"""Train one part of a hyperparameter grid (beta-VAE for beta, R-VAE for rho; the whole grid where it is vmapped); score every candidate on validation."""

import json
from pathlib import Path

from rvae.atomic import atomic_path
from rvae.paper.sweep import candidate_steps, score_grid
from rvae.workflow.script import finish, run_inputs, start, train_config

sm = snakemake  # noqa: F821
start(sm)
w = sm.wildcards
data, spec, points = run_inputs(sm)
sweep = sm.params.sweep
until = candidate_steps(data, w.experiment, w.param, len(points), sweep["training"]["batch_size"], sweep["epochs"])
configs = [
    train_config(sm, {**sweep["training"], "until": until}, **{w.param: float(c["value"]), "seed": int(c["seed"])})
    for c in sweep["candidates"]
]
checkpoints = [c["checkpoint"] for c in sweep["candidates"]]
results = score_grid(data, w.experiment, w.param, points, spec, configs, sm.params.mode, checkpoints)
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(results, indent=2))
for checkpoint in checkpoints:
    Path(checkpoint).unlink(missing_ok=True)
finish()
