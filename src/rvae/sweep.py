"""Hyperparameter selection with one yardstick for every candidate (spec, "Hyperparameters").

beta-VAE candidates: validation negative ELBO at beta = 1. R-VAE candidates: validation
negative ELBO plus the unweighted Rosetta anchor error (else rho = 0 would always win).
"""

from __future__ import annotations

from typing import Callable

from rvae.data.store import PreparedDataset
from rvae.experiment import fit_model, training_set
from rvae.models import ArchitectureSpec
from rvae.portable import RosettaPoints
from rvae.trainer import TrainConfig, evaluate

PARAM_MODEL = {"beta": "beta_vae", "rho": "rvae"}


def score_candidate(
    data: PreparedDataset,
    experiment: str,
    param: str,
    rosetta: RosettaPoints,
    spec: ArchitectureSpec,
    config: TrainConfig,
    log: Callable[[str], None] = print,
) -> dict:
    """Train the candidate on the experiment's training set; score it on that partition's validation split."""
    rosetta.check_compatible(spec.input_shape, spec.latent_dim, "Rosetta points")
    x_train, x_val, rosetta_loss = training_set(data, experiment, PARAM_MODEL[param], rosetta, config.rho)
    log(f"{experiment} {param} sweep candidate {getattr(config, param)}: {len(x_train)} training points")
    model, history = fit_model(spec, config, x_train, x_val, rosetta_loss, None, log)
    # rosetta_loss is None for beta; for rho, evaluate() uses its unweighted anchor error
    scores = evaluate(model, x_val, rosetta_loss, config.obs_precision, seed=config.seed)
    value = getattr(config, param)
    return {"param": param, "value": value, "score": scores["selection_score"], "validation": scores, "epochs": len(history)}


def choose(candidates: list[dict]) -> dict:
    """The lowest score; ties go to the smaller value (the simpler model)."""
    if not candidates:
        raise ValueError("no sweep candidates to choose from")
    return min(candidates, key=lambda c: (c["score"], c["value"]))
