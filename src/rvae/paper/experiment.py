"""One training run of the paper's experiments, from prepared data to weights and embedding.

The workflow's scripts call these functions; a lab without Snakemake can call them too.
"""

from __future__ import annotations

import copy

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rvae.convergence import PlateauRule
from rvae.data.store import PreparedDataset, take_rows
from rvae.embeddings import embedding_frame
from rvae.ensemble import Trained, fit_block
from rvae.inference import encode_means
from rvae.losses import RosettaLoss
from rvae.models import ArchitectureSpec, VAE
from rvae.pool import PoolMember
from rvae.rosetta_file import RosettaPoints
from rvae.trainer import TrainConfig, train_vae
from rvae.vocabulary import EXPERIMENTS, MODEL_KINDS, TEMPLATES

log = logging.getLogger(__name__)

# Which partition each experiment retrains on (spec, "Experiments").
TRAIN_PARTITION = {"reproducibility": "D1", "sequential": "D2"}


def architecture(data: PreparedDataset, family: str, latent_dim: int, variant: str = "same", **extra) -> ArchitectureSpec:
    return ArchitectureSpec(family=family, input_shape=data.input_shape, latent_dim=int(latent_dim), variant=variant, **extra)


def _rows(data: PreparedDataset, partitions, split: str) -> np.ndarray:
    return np.concatenate([data.rows(p, split) for p in partitions])


def train_template(
    data: PreparedDataset,
    which: str,
    spec: ArchitectureSpec,
    config: TrainConfig,
    checkpoint: str | Path | None = None,
) -> tuple[VAE, list[dict]]:
    """Joint template: D1 + D2 train splits; D1 template: D1 train split (spec, "Templates").

    The joint template trains until its plateau (``config.until = "plateau"``): the step at which
    the rule held is its dataset's budget, which the D1 template and every retraining then take.
    """
    if which not in TEMPLATES:
        raise ValueError(f"template must be one of {TEMPLATES}, got {which!r}")
    partitions = ["D1", "D2"] if which == "joint" else ["D1"]
    x_train = take_rows(data, _rows(data, partitions, "train"))
    x_val = take_rows(data, _rows(data, partitions, "val"))
    log.info(f"template {which}: {len(x_train)} training points, {len(x_val)} validation points, {spec}, until {config.until}")
    return train_vae(spec, config, x_train, x_val, None, checkpoint)


def training_set(
    data: PreparedDataset, experiment: str, model_kind: str, points: RosettaPoints
) -> tuple[torch.Tensor, torch.Tensor, RosettaLoss | None]:
    """Training inputs, validation inputs and the Rosetta term for one model kind of one experiment.

    R-VAE: the partition's train split alone, plus the Rosetta loss. VAE, beta-VAE and VAE
    (same seed): the train split plus the R Rosetta inputs appended once, no latent constraint.
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {EXPERIMENTS}, got {experiment!r}")
    if model_kind not in MODEL_KINDS:
        raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {model_kind!r}")
    part = TRAIN_PARTITION[experiment]
    x_train = take_rows(data, data.rows(part, "train"))
    x_val = take_rows(data, data.rows(part, "val"))
    x_r = torch.from_numpy(points.x)
    if model_kind == "rvae":
        return x_train, x_val, RosettaLoss(x_r, torch.from_numpy(points.z))
    return torch.cat([x_train, x_r]), x_val, None


def retrain_block(
    data: PreparedDataset,
    experiment: str,
    model_kind: str,
    points: RosettaPoints,
    spec: ArchitectureSpec,
    configs: list[TrainConfig],
    checkpoints: list[str | Path | None],
    mode: str = "auto",
) -> list[Trained]:
    """Train a block of seeds of one model kind in one process (``rvae.ensemble``); ``configs`` carry
    beta, rho and the half-budget snapshot step."""
    points.check_compatible(spec.input_shape, spec.latent_dim, "Rosetta points")
    same_run = model_kind == "vae_same_seed" and len({c.identity() for c in configs}) == 1
    if model_kind == "vae_same_seed":
        # "VAE (same seed)" is one run repeated (spec): never slots of one vmap block, where
        # vectorised kernels may round each slot differently (AVX-512). Its runs are identical by
        # design, so it is trained once and copied (tests/test_trainer.py shows two separate runs of
        # one seed are bit-identical); only the first seed's checkpoint is used.
        mode = "loop"
    x_train, x_val, rosetta = training_set(data, experiment, model_kind, points)
    log.info(
        f"{experiment} {model_kind} seeds {[c.seed for c in configs]}: {len(x_train)} training points, "
        f"{len(points)} Rosetta points, {configs[0].until} steps, "
        f"beta={configs[0].beta}, rho={configs[0].rho if rosetta else 0}"
    )
    if same_run:
        [run] = fit_block(spec, configs[:1], x_train, x_val, rosetta, checkpoints[:1], mode)
        log.info(f"the same run copied to its {len(configs) - 1} repeats")
        return [run] + [Trained(copy.deepcopy(run.model), list(run.history), copy.deepcopy(run.half)) for _ in configs[1:]]
    return fit_block(spec, configs, x_train, x_val, rosetta, checkpoints, mode)


def pool_member(
    data: PreparedDataset, experiment: str, model_kind: str, points: RosettaPoints, spec: ArchitectureSpec, config: TrainConfig, checkpoint: str | Path | None
) -> PoolMember:
    """One run of a pool (``rvae.pool``): its own training and validation sets and anchors
    (:func:`training_set`), ``config`` carrying its seed, beta, rho and the half-budget step."""
    points.check_compatible(spec.input_shape, spec.latent_dim, "Rosetta points")
    x_train, x_val, rosetta = training_set(data, experiment, model_kind, points)
    log.info(
        f"{experiment} {model_kind} seed {config.seed}: {len(x_train)} training points, {len(points)} Rosetta points, "
        f"{config.until} steps, beta={config.beta}, rho={config.rho if rosetta else 0}"
    )
    return PoolMember(config, x_train, x_val, rosetta, checkpoint)


def embed_all(model: VAE, data: PreparedDataset, rosetta_ids=(), batch_size: int = 1024) -> pd.DataFrame:
    """Posterior means of every point of D1 and D2 (train and validation)."""
    z = encode_means(model, data.x, batch_size=batch_size)
    return embedding_frame(data.points, z, rosetta_ids)


def training_latents(embedding: pd.DataFrame, experiment: str) -> np.ndarray:
    """Posterior means of the points a retraining trained on (its partition's train split)."""
    rows = (embedding["partition"] == TRAIN_PARTITION[experiment]) & (embedding["split"] == "train")
    return embedding.loc[rows, [c for c in embedding.columns if c.startswith("z")]].to_numpy()


def template_diagnostics(embeddings: dict, histories: dict, rule: PlateauRule) -> dict:
    """Per template (joint, d1): convergence diagnostics and how well its latents carry the labels.

    kNN accuracy: fit on the template's training points, scored on its validation points (D1
    for the D1 template, D1 + D2 for the joint one).
    """
    from rvae.convergence import diagnostics, knn_accuracy

    out = {}
    for which, frame in embeddings.items():
        parts = ["D1", "D2"] if which == "joint" else ["D1"]
        mine = frame[frame["partition"].isin(parts)]
        z = mine[[c for c in mine.columns if c.startswith("z")]].to_numpy()
        train, val = (mine["split"] == "train").to_numpy(), (mine["split"] == "val").to_numpy()
        report = diagnostics(histories[which], z[train], rule)
        report["knn_accuracy"] = knn_accuracy(z[train], mine["label"].to_numpy()[train], z[val], mine["label"].to_numpy()[val])
        out[which] = report
    return out
