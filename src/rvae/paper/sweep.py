"""The paper's sweeps: each experiment's training set and budget for ``rvae.sweep``'s procedure."""

from __future__ import annotations

import logging
from typing import Sequence

from rvae.data.store import PreparedDataset
from rvae.models import ArchitectureSpec
from rvae.paper.experiment import TRAIN_PARTITION, training_set
from rvae.rosetta_file import RosettaPoints
from rvae.sweep import score_candidates
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
    training set (``rvae.sweep.score_candidates``); score each on that partition's validation
    split. Where a grid's candidates train one after another (convolutions on a CPU) the workflow
    splits it into parts that run in parallel."""
    points.check_compatible(spec.input_shape, spec.latent_dim, "Rosetta points")
    x_train, x_val, rosetta = training_set(data, experiment, SWEPT_MODEL[param], points)
    values = [getattr(config, param) for config in configs]
    log.info(f"{experiment} {param} sweep, {len(values)} candidates {values}: {len(x_train)} training points")
    return score_candidates(spec, param, configs, x_train, x_val, rosetta, checkpoints, mode)
