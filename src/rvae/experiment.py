"""One training run of the paper's experiments, from prepared data to weights and embedding.

The workflow's scripts call these functions; a lab without Snakemake can call them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from rvae.data.store import PreparedDataset
from rvae.embeddings import embedding_frame
from rvae.losses import RosettaLoss
from rvae.models import ArchitectureSpec, VAE, build_vae
from rvae.portable import RosettaPoints
from rvae.trainer import TrainConfig, Trainer, encode_means

EXPERIMENTS = ("reproducibility", "sequential")
MODEL_KINDS = ("vae", "beta_vae", "rvae", "vae_same_seed")
TEMPLATES = ("joint", "d1")

# Which partition each experiment retrains on (spec, "Experiments").
TRAIN_PARTITION = {"reproducibility": "D1", "sequential": "D2"}


def architecture(data: PreparedDataset, family: str, latent_dim: int, variant: str = "same", **extra) -> ArchitectureSpec:
    return ArchitectureSpec(family=family, input_shape=data.input_shape, latent_dim=int(latent_dim), variant=variant, **extra)


def _rows(data: PreparedDataset, partitions, split: str) -> np.ndarray:
    return np.concatenate([data.rows(p, split) for p in partitions])


def take_rows(data: PreparedDataset, rows: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(data.x[np.sort(rows)], dtype=np.float32))


def train_template(
    data: PreparedDataset,
    which: str,
    spec: ArchitectureSpec,
    config: TrainConfig,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> tuple[VAE, list[dict]]:
    """Joint template: D1 + D2 train splits; D1 template: D1 train split (spec, "Templates")."""
    if which not in TEMPLATES:
        raise ValueError(f"template must be one of {TEMPLATES}, got {which!r}")
    partitions = ["D1", "D2"] if which == "joint" else ["D1"]
    x_train = take_rows(data, _rows(data, partitions, "train"))
    x_val = take_rows(data, _rows(data, partitions, "val"))
    log(f"template {which}: {len(x_train)} training points, {len(x_val)} validation points, {spec}")
    return fit_model(spec, config, x_train, x_val, None, checkpoint, log)


def fit_model(
    spec: ArchitectureSpec,
    config: TrainConfig,
    x_train: torch.Tensor,
    x_val: torch.Tensor,
    rosetta_loss: RosettaLoss | None,
    checkpoint: str | Path | None,
    log: Callable[[str], None],
) -> tuple[VAE, list[dict]]:
    """Build the seeded model and train it: the one path every template, run and sweep takes."""
    model = build_vae(spec, seed=config.seed)
    history = Trainer(model, config, checkpoint, log).fit(x_train, rosetta=rosetta_loss, x_val=x_val)
    return model, history


def training_set(
    data: PreparedDataset, experiment: str, model_kind: str, rosetta: RosettaPoints, rho: float
) -> tuple[torch.Tensor, torch.Tensor, RosettaLoss | None]:
    """Training inputs, validation inputs and the Rosetta term for one model of one experiment.

    R-VAE: the partition's train split alone, plus the Rosetta loss. VAE, beta-VAE and VAE
    (same seed): the train split plus the R Rosetta inputs appended once, no latent constraint.
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {EXPERIMENTS}, got {experiment!r}")
    if model_kind not in MODEL_KINDS:
        raise ValueError(f"model must be one of {MODEL_KINDS}, got {model_kind!r}")
    part = TRAIN_PARTITION[experiment]
    x_train = take_rows(data, data.rows(part, "train"))
    x_val = take_rows(data, data.rows(part, "val"))
    x_r = torch.from_numpy(rosetta.x)
    if model_kind == "rvae":
        return x_train, x_val, RosettaLoss(x_r, torch.from_numpy(rosetta.z), rho)
    return torch.cat([x_train, x_r]), x_val, None


def retrain(
    data: PreparedDataset,
    experiment: str,
    model_kind: str,
    rosetta: RosettaPoints,
    spec: ArchitectureSpec,
    config: TrainConfig,
    checkpoint: str | Path | None = None,
    log: Callable[[str], None] = print,
) -> tuple[VAE, list[dict]]:
    """Train one seed of one model; ``config`` carries beta (beta-VAE) and rho (R-VAE)."""
    return retrain_block(data, experiment, model_kind, rosetta, spec, [config], [checkpoint], log)[0]


def retrain_block(
    data: PreparedDataset,
    experiment: str,
    model_kind: str,
    rosetta: RosettaPoints,
    spec: ArchitectureSpec,
    configs: list[TrainConfig],
    checkpoints: list[str | Path | None],
    log: Callable[[str], None] = print,
    mode: str = "auto",
) -> list[tuple[VAE, list[dict]]]:
    """Train a block of seeds of one model in one process (``rvae.ensemble``)."""
    from rvae.ensemble import fit_block

    rosetta.check_compatible(spec.input_shape, spec.latent_dim, "Rosetta points")
    if model_kind == "vae_same_seed":
        # "VAE (same seed)" is the same run repeated as separate runs (spec), never slots of one
        # vmap block: vectorised kernels may round each slot differently (AVX-512), while separate
        # runs repeat the identical computation, so on CPU its runs are bit-identical by construction.
        mode = "loop"
    rho = configs[0].rho
    x_train, x_val, rosetta_loss = training_set(data, experiment, model_kind, rosetta, rho)
    log(
        f"{experiment} {model_kind} seeds {[c.seed for c in configs]}: {len(x_train)} training points, "
        f"{len(rosetta)} Rosetta points, beta={configs[0].beta}, rho={rho if rosetta_loss else 0}"
    )
    return fit_block(spec, configs, x_train, x_val, rosetta_loss, checkpoints, log, mode)


def embed_all(model: VAE, data: PreparedDataset, rosetta_ids=(), batch_size: int = 1024) -> pd.DataFrame:
    """Posterior means of every point of D1 and D2 (train and validation)."""
    z = encode_means(model, data.x, batch_size=batch_size)
    return embedding_frame(data.points, z, rosetta_ids)
