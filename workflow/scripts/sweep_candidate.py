"""Train one hyperparameter candidate (beta-VAE for beta, R-VAE for rho) and score it on validation."""

import json

from rvae.atomic import atomic_path
from rvae.sweep import score_candidate
from rvae.trainer import TrainConfig
from rvae.workflow_support import run_inputs, start

sm = snakemake  # noqa: F821
log = start(sm)
w = sm.wildcards
data, spec, rosetta = run_inputs(sm)
config = TrainConfig(**{**sm.params.training, w.param: float(w.value)}, threads=sm.threads)
result = score_candidate(data, w.experiment, w.param, rosetta, spec, config, log)
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(result, indent=2))
