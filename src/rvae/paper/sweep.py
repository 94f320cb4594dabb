"""Hyperparameter selection with one yardstick for every candidate (spec, "Hyperparameters").

beta-VAE candidates: validation negative ELBO at beta = 1. R-VAE candidates: validation
negative ELBO plus the unweighted Rosetta anchor error (else rho = 0 would always win).
"""

from __future__ import annotations

import logging

from rvae.data.store import PreparedDataset
from rvae.inference import evaluate
from rvae.models import ArchitectureSpec
from rvae.paper.experiment import equal_steps, training_set
from rvae.portable import RosettaPoints
from rvae.trainer import TrainConfig, train_vae
from rvae.vocabulary import SWEPT_MODEL

log = logging.getLogger(__name__)


def score_candidate(
    data: PreparedDataset, experiment: str, param: str, points: RosettaPoints, spec: ArchitectureSpec, config: TrainConfig
) -> dict:
    """Train the candidate on the experiment's training set; score it on that partition's validation split."""
    points.check_compatible(spec.input_shape, spec.latent_dim, "Rosetta points")
    x_train, x_val, rosetta = training_set(data, experiment, SWEPT_MODEL[param], points)
    (config,) = equal_steps(data, experiment, [config])
    log.info(f"{experiment} {param} sweep candidate {getattr(config, param)}: {len(x_train)} training points")
    model, history = train_vae(spec, config, x_train, x_val, rosetta)
    # rosetta is None for beta; for rho, evaluate() uses its unweighted anchor error
    scores = evaluate(model, x_val, rosetta, config.obs_precision, seed=config.seed)
    value = getattr(config, param)
    return {"param": param, "value": value, "score": scores["selection_score"], "validation": scores, "epochs": len(history)}
