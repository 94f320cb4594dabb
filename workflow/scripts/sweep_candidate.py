"""Train one hyperparameter candidate (beta-VAE for beta, R-VAE for rho) and score it on validation."""

import json

from rvae.atomic import atomic_path
from rvae.paper.sweep import score_candidate
from rvae.trainer import TrainConfig
from rvae.workflow.script import finish, run_inputs, start

sm = snakemake  # noqa: F821
start(sm)
w = sm.wildcards
data, spec, points = run_inputs(sm)
config = TrainConfig(**{**sm.params.training, w.param: float(w.value)}, threads=sm.threads)
result = score_candidate(data, w.experiment, w.param, points, spec, config)
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(result, indent=2))
finish()
