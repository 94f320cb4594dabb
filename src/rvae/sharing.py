"""Sharing a latent space between labs: Alice exports Rosetta points, Bob trains on them.

Alice needs her data and a trained model; Bob needs only his data and Alice's file. Both the
workflow (its export and portable targets) and the ``rvae`` command line call these
functions, so the two paths give the same results.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from rvae import __version__
from rvae.data.store import PreparedDataset, take_rows
from rvae.embeddings import embedding_frame
from rvae.inference import choose, encode_means, evaluate
from rvae.losses import RosettaLoss
from rvae.models import VAE, ArchitectureSpec, fingerprint
from rvae.portable import RosettaPoints
from rvae.rosetta import make_rosetta_points
from rvae.trainer import TrainConfig, train_vae

log = logging.getLogger(__name__)
# Epochs per rho candidate when a grid is given; the workflow schema's hyperparameter `epochs`
# default, which the `rvae` command shares (tests/test_layers.py checks they agree).
SWEEP_EPOCHS = 20

CITATION = (
    "Martinez & Pearson, 'Reproducible, incremental representation learning with Rosetta VAE'; "
    f"rosetta-vae {__version__}"
)


def split_tensor(data: PreparedDataset, split: str) -> torch.Tensor:
    """All points of one split (both partitions): a lab's own data is one pool."""
    return take_rows(data, data.rows(split=split))


def train_plain(data: PreparedDataset, spec: ArchitectureSpec, config: TrainConfig) -> tuple[VAE, list[dict]]:
    """A lab's own VAE on all its training points (what Alice exports from)."""
    return train_vae(spec, config, split_tensor(data, "train"), split_tensor(data, "val"))


def export_rosetta(
    model: VAE, data: PreparedDataset, k: int, method: str = "kmeans", seed: int = 0, dataset: str | None = None
) -> RosettaPoints:
    """Alice's Rosetta points: clusters of her model's latent means over all her training points."""
    rows = np.sort(data.rows(split="train"))
    if k > len(rows):
        raise ValueError(f"k={k} Rosetta points asked for, but the data have only {len(rows)} training points")
    z = encode_means(model, data.x[rows])
    return make_rosetta_points(
        x=np.asarray(data.x[rows], dtype=np.float32), z=z, k=k, method=method, seed=seed,
        dataset=dataset or data.info.get("dataset", "unnamed"), template_fingerprint=fingerprint(model),
        point_ids=rows,
    )  # fmt: skip


def summary_markdown(points: RosettaPoints, file_name: str) -> str:
    """Human-readable card that travels with the Parquet file."""
    meta = points.metadata
    return f"""# Rosetta points: {meta['dataset']}

| field | value |
|---|---|
| file | `{file_name}` |
| dataset | {meta['dataset']} |
| number of points (k) | {meta['k']} |
| selection method | {meta['method']} |
| latent size | {meta['latent_dim']} |
| input shape | {' x '.join(map(str, meta['input_shape']))} |
| template fingerprint | `{meta['template_fingerprint']}` |
| package | rosetta-vae {meta['package_version']} (file format {meta['format_version']}) |

The file holds only these {meta['k']} inputs and their latent means: no model, no other data.
It is plain Parquet (columns `point`, `x`, `z`; metadata key `rvae.rosetta`); reading it never
runs code. To train a model whose latent space matches this one:

    rvae train --data YOUR_DATA_FOLDER --rosetta {file_name} --out YOUR_MODEL_FOLDER

or list it under `portable:` in the workflow's config (README, "Share a latent space between labs").
Your inputs must have shape {tuple(meta['input_shape'])} and your model latent size {meta['latent_dim']}.

How to cite: {CITATION}.
"""


def train_on_shared_points(
    data: PreparedDataset,
    points: RosettaPoints,
    spec: ArchitectureSpec,
    config: TrainConfig,
    rho_grid: Sequence[float] | None = None,
    sweep_epochs: int = SWEEP_EPOCHS,
) -> tuple[VAE, list[dict], dict]:
    """Bob's R-VAE on his training split, anchored on Alice's points; rho from a grid if given.

    A grid is scored as in the paper: validation negative ELBO plus the unweighted anchor error.
    Returns the model, its history, and the choice (value and every candidate's score).
    """
    points.check_compatible(spec.input_shape, spec.latent_dim, "the shared Rosetta file")
    x_train, x_val = split_tensor(data, "train"), split_tensor(data, "val")
    if len(x_train) == 0:
        raise ValueError("the data have no training points")
    anchors = RosettaLoss(torch.from_numpy(points.x), torch.from_numpy(points.z))
    choice = {"value": config.rho, "candidates": []}
    if rho_grid:
        for rho in rho_grid:
            candidate = TrainConfig(**{**config.__dict__, "rho": float(rho), "epochs": int(sweep_epochs)})
            model, _ = train_vae(spec, candidate, x_train, x_val, anchors)
            scores = evaluate(model, x_val, anchors, config.obs_precision, seed=config.seed)
            choice["candidates"].append({"value": float(rho), "score": scores["selection_score"], "validation": scores})
            log.info(f"rho candidate {rho}: validation score {scores['selection_score']:.4f}")
        choice["value"] = choose(choice["candidates"])["value"]
        log.info(f"chose rho = {choice['value']}")
    final = TrainConfig(**{**config.__dict__, "rho": float(choice["value"])})
    model, history = train_vae(spec, final, x_train, x_val, anchors)
    return model, history, choice


def shared_point_errors(model: VAE, points: RosettaPoints) -> pd.DataFrame:
    """Per shared point: how far the model's encoder puts Alice's inputs from Alice's latents."""
    z_model = encode_means(model, points.x)
    distance = np.linalg.norm(z_model - points.z, axis=1)
    return pd.DataFrame({"point": points.point_ids, "distance": distance})


def embed(model: VAE, data: PreparedDataset) -> pd.DataFrame:
    return embedding_frame(data.points, encode_means(model, data.x), ())
