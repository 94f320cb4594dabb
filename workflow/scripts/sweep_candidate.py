"""Train one hyperparameter candidate (beta-VAE for beta, R-VAE for rho) and score it on validation."""

import json
from pathlib import Path

from rvae.data.store import load_prepared
from rvae.experiment import architecture
from rvae.portable import load_rosetta_points
from rvae.sweep import score_candidate
from rvae.trainer import TrainConfig
from rvae.workflow_support import start
from rvae.atomic import atomic_path

sm = snakemake  # noqa: F821
log = start(sm)
w = sm.wildcards
data = load_prepared(Path(sm.input.x).parent)
spec = architecture(data, **sm.params.architecture)
rosetta = load_rosetta_points(sm.input.rosetta, spec.input_shape, spec.latent_dim)
config = TrainConfig(**{**sm.params.training, w.param: float(w.value)}, threads=sm.threads)
result = score_candidate(data, w.experiment, w.param, rosetta, spec, config, log)
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(result, indent=2))
