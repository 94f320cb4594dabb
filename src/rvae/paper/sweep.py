"""Hyperparameter selection with one yardstick for every candidate (spec, "Hyperparameters").

beta-VAE candidates: validation negative ELBO at beta = 1. R-VAE candidates: validation
negative ELBO plus the unweighted Rosetta anchor error (else rho = 0 would always win).
"""

from __future__ import annotations

import logging
from typing import Sequence

from rvae.data.store import PreparedDataset
from rvae.ensemble import fit_block
from rvae.inference import evaluate
from rvae.models import ArchitectureSpec
from rvae.paper.experiment import TRAIN_PARTITION, training_set
from rvae.portable import RosettaPoints
from rvae.trainer import TrainConfig, steps_for_passes
from rvae.vocabulary import SWEPT_MODEL

log = logging.getLogger(__name__)


def candidate_steps(data: PreparedDataset, experiment: str, param: str, n_rosetta: int, batch_size: int, epochs: int) -> int:
    """A candidate's fixed budget: ``epochs`` passes over its own training set (spec: sweeps keep
    the paper's 20 epochs of their own data, not the joint template's budget). The R-VAE trains on
    the partition's train split; the beta-VAE on it plus the Rosetta inputs (``training_set``)."""
    n = len(data.rows(TRAIN_PARTITION[experiment], "train")) + (0 if SWEPT_MODEL[param] == "rvae" else int(n_rosetta))
    return steps_for_passes(epochs, n, batch_size)


def score_grid(
    data: PreparedDataset,
    experiment: str,
    param: str,
    points: RosettaPoints,
    spec: ArchitectureSpec,
    configs: Sequence[TrainConfig],
    mode: str = "auto",
    checkpoints: Sequence[str | None] | None = None,
) -> list[dict]:
    """Train the candidates of a grid (or of one part of it) as one block on the experiment's
    training set; score each on that partition's validation split. The models are vmapped together
    where that pays (MLPs, GPUs; ``rvae.ensemble.choose_mode``), else trained one after another in
    one process (so the workflow splits such a grid into parts that run in parallel).
    As for seed blocks, a vmapped candidate agrees with the same candidate trained alone to float32
    rounding per step, not bit for bit: adding a value to the grid moves the others at rounding level."""
    points.check_compatible(spec.input_shape, spec.latent_dim, "Rosetta points")
    x_train, x_val, rosetta = training_set(data, experiment, SWEPT_MODEL[param], points)
    values = [getattr(config, param) for config in configs]
    log.info(f"{experiment} {param} sweep, {len(values)} candidates {values}: {len(x_train)} training points")
    trained = fit_block(spec, configs, x_train, x_val, rosetta, checkpoints or [None] * len(configs), mode)
    out = []
    for config, (model, history) in zip(configs, trained):
        # rosetta is None for beta; for rho, evaluate() uses its unweighted anchor error
        scores = evaluate(model, x_val, rosetta, config.obs_precision, seed=config.seed)
        out.append(
            {
                "param": param,
                "value": getattr(config, param),
                "seed": config.seed,
                "score": scores["selection_score"],
                "validation": scores,
                "steps": history[-1]["step"],
            }
        )
    return out
