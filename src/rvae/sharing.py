"""Sharing a latent space between labs: Alice exports Rosetta points, Bob trains on them.

Alice needs her data and a trained model; Bob needs only his data and Alice's file. Both the
workflow (its export and shared-run targets) and the ``rvae`` command line call these
functions, so the two paths give the same results.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from rvae import __version__, defaults
from rvae.data.store import PreparedDataset, take_rows
from rvae.embeddings import embedding_frame
from rvae.inference import choose, encode_means
from rvae.losses import RosettaLoss
from rvae.alignment import heldout_lsd, leave_one_out_portability, portability
from rvae.metrics import lsd
from rvae.models import VAE, ArchitectureSpec, fingerprint
from rvae.rosetta_file import RosettaPoints
from rvae.rosetta import make_rosetta_points
from rvae.sweep import candidate_configs, score_candidates
from rvae.trainer import TrainConfig, steps_for_passes, train_vae

log = logging.getLogger(__name__)

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
    model: VAE, data: PreparedDataset, k: int, method: str = defaults.SELECTION_METHOD, seed: int = 0, dataset: str | None = None
) -> RosettaPoints:
    """Alice's Rosetta points: clusters of her model's latent means over all her training points."""
    rows = _training_rows(data, k)
    z = encode_means(model, data.x[rows])
    return _rosetta_from(data, rows, z, k, method, seed, dataset, fingerprint(model), "rvae")


def export_rosetta_from_latents(
    z: np.ndarray, data: PreparedDataset, k: int, method: str = defaults.SELECTION_METHOD, seed: int = 0,
    dataset: str | None = None, where: str = "latents",
) -> RosettaPoints:  # fmt: skip
    """Rosetta points from another encoder's latent means (an AVA model, a published VAE).

    ``z`` (N, latent): one row per row of the data's ``x.npy``. Clustered exactly as our
    models' means (same training rows, method, seed); the file records ``template_kind:
    external`` and, as fingerprint, :func:`latents_fingerprint` of ``z`` (there are no weights).
    """
    z = check_external_latents(z, len(data.x), where)
    rows = _training_rows(data, k)
    return _rosetta_from(data, rows, z[rows], k, method, seed, dataset, latents_fingerprint(z), "external")


def check_external_latents(z, n_points: int, where: str = "latents") -> np.ndarray:
    """A real floating (N, latent) array, finite, one row per data point; else a ValueError."""
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        raise ValueError(f"{where}: latents must be floating point, got dtype {z.dtype}")
    if z.ndim != 2 or z.shape[1] < 1:
        raise ValueError(f"{where}: latents must have shape (points, latent), got {z.shape}")
    if len(z) != n_points:
        raise ValueError(f"{where}: {len(z)} rows of latents but the data hold {n_points} points (one row per row of x.npy)")
    bad = ~np.isfinite(z).all(axis=1)
    if bad.any():
        raise ValueError(f"{where}: NaN or infinite latents in row(s) {np.flatnonzero(bad)[:10].tolist()}")
    return z


def latents_fingerprint(z: np.ndarray) -> str:
    """SHA-256 of an external template's latents (dtype, shape, C-order bytes): names the template."""
    z = np.ascontiguousarray(z)
    digest = hashlib.sha256()
    digest.update(z.dtype.str.encode())
    digest.update(str(z.shape).encode())
    digest.update(z.tobytes())
    return digest.hexdigest()


def _training_rows(data: PreparedDataset, k: int) -> np.ndarray:
    rows = np.sort(data.rows(split="train"))
    if k > len(rows):
        raise ValueError(f"k={k} Rosetta points asked for, but the data have only {len(rows)} training points")
    return rows


def _rosetta_from(data, rows, z, k, method, seed, dataset, template_fingerprint, kind) -> RosettaPoints:
    return make_rosetta_points(
        x=np.asarray(data.x[rows], dtype=np.float32), z=np.asarray(z), k=k, method=method, seed=seed,
        dataset=dataset or data.info.get("dataset", "unnamed"), template_fingerprint=template_fingerprint,
        point_ids=rows, template_kind=kind,
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
| template | {_template_line(meta)} |
| template fingerprint | `{meta['template_fingerprint']}` |
| package | rosetta-vae {meta['package_version']} (file format {meta['format_version']}) |

The file holds only these {meta['k']} inputs and their latent means: no model, no other data.
It is plain Parquet (columns `point`, `x`, `z`; metadata key `rvae.rosetta`); reading it never
runs code. To train a model whose latent space matches this one:

    rvae train --data YOUR_DATA_FOLDER --rosetta {file_name} --out YOUR_MODEL_FOLDER

or list it under `shared:` in the workflow's config (docs/sharing.md).
Your inputs must have shape {tuple(meta['input_shape'])} and your model latent size {meta['latent_dim']}.

How to cite: {CITATION}.
"""


def _template_line(meta: dict) -> str:
    if meta.get("template_kind") == "external":
        return "external encoder (fingerprint: SHA-256 of its latents array)"
    return "rosetta-vae model (fingerprint: SHA-256 of its weights)"


def train_on_shared_points(
    data: PreparedDataset,
    points: RosettaPoints,
    spec: ArchitectureSpec,
    config: TrainConfig,
    rho_grid: Sequence[float] | None = None,
    sweep_epochs: int = defaults.SWEEP_EPOCHS,
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
        # the paper's procedure (rvae.sweep), each candidate from its own role under this run's seed
        steps = steps_for_passes(sweep_epochs, len(x_train), config.batch_size)
        candidates = candidate_configs(config, "rho", rho_grid, steps, "shared", points.metadata["dataset"], config.seed)
        choice["candidates"] = score_candidates(spec, "rho", candidates, x_train, x_val, anchors)
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


# -- Is Bob's space Alice's? (spec, "Portability"; `rvae compare`, `rvae train --rosetta`) --
@dataclass(frozen=True)
class Comparison:
    """One model's latents in a reference's coordinates on one data folder."""

    table: pd.DataFrame  # alignment.portability: one row per partition and arm, held-out points only
    lsd: dict  # the paper's LSD (eq. 2): affine map fitted and scored on all data points
    heldout_lsd: dict  # the affine map fitted on the Rosetta points only, scored on the rest
    n_points: int  # data points (rows of x.npy)
    n_rosetta: int  # Rosetta inputs (held out of every score)
    n_appended: int  # Rosetta inputs that are not rows of the data, added as extra rows
    rosetta_source: str  # where the Rosetta pairs came from
    template_matches: bool | None  # the reference is the file's template (None: no file)


def rosetta_rows_in(data: PreparedDataset, points: RosettaPoints) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``data`` holding the Rosetta inputs (by point id, checked by value).

    Returns ``(rows, missing)``: ``rows`` (R,) where row ``n_points + j`` stands for the j-th
    input of ``missing`` (indices into the file), an input not among the data's rows.
    """
    n = len(data.x)
    rows = np.empty(len(points), dtype=np.int64)
    missing = []
    for i, pid in enumerate(points.point_ids):
        if 0 <= pid < n and np.array_equal(np.asarray(data.x[pid], dtype=np.float32), points.x[i]):
            rows[i] = pid
        else:
            rows[i] = n + len(missing)
            missing.append(i)
    return rows, np.asarray(missing, dtype=np.int64)


def check_comparable(reference: VAE, model: VAE, input_shape, names=("the reference", "the model"), data_name="the data") -> None:
    """Refuse a pair of models that cannot be compared on these data, naming which and why."""
    for net, name in zip((reference, model), names):
        if tuple(net.spec.input_shape) != tuple(input_shape):
            raise ValueError(f"{name} takes inputs of shape {tuple(net.spec.input_shape)} but {data_name} holds {tuple(input_shape)}")
    if reference.latent_dim != model.latent_dim:
        raise ValueError(
            f"{names[1]} has latent size {model.latent_dim} but {names[0]} has {reference.latent_dim}: "
            "portability compares coordinates, so both need the same latent size"
        )


def compare_models(
    reference: VAE, model: VAE, data: PreparedDataset, points: RosettaPoints | None = None,
    k: int = defaults.ROSETTA_K, method: str = defaults.SELECTION_METHOD, seed: int = 0,
    names=("the reference", "the model"), data_name: str = "the data", rosetta_name: str = "the Rosetta file",
) -> Comparison:  # fmt: skip
    """Every portability number of ``model`` against ``reference`` on ``data``.

    The Rosetta pairs are ``points`` (a received file: inputs ``x_r``, Alice's latents ``z_r``)
    or, without one, ``k`` points selected from the reference's latents exactly as
    :func:`export_rosetta` does. Inputs of the file that are not rows of the data are encoded
    too and, like every Rosetta input, never scored.
    """
    check_comparable(reference, model, data.input_shape, names, data_name)
    if points is None:
        points = export_rosetta(reference, data, k, method, seed)
        source, matches = f"{k} points selected from {names[0]}'s latents ({method}, seed {seed})", None
    else:
        points.check_compatible(data.input_shape, reference.latent_dim, rosetta_name)
        source = rosetta_name
        matches = points.metadata.get("template_kind", "rvae") == "rvae" and points.metadata["template_fingerprint"] == fingerprint(reference)
    rows, missing = rosetta_rows_in(data, points)
    n = len(data.x)
    z_ref, z = encode_means(reference, data.x), encode_means(model, data.x)
    partition = data.points["partition"].astype(str).to_numpy()
    if len(missing):
        z_ref = np.concatenate([z_ref, encode_means(reference, points.x[missing])])
        z = np.concatenate([z, encode_means(model, points.x[missing])])
        partition = np.concatenate([partition, np.full(len(missing), "rosetta", dtype=object)])
    table = portability(z_ref, z, rows, points.z, partition)
    in_sample = lsd(z[:n], z_ref[:n], partition[:n]).values
    held = heldout_lsd(z, z_ref, rows, partition).values
    return Comparison(table, in_sample, held, n, len(points), len(missing), source, matches)


def format_comparison(result: Comparison) -> list[str]:
    """The lines `rvae compare` prints: one per arm for all held-out points, then LSD."""
    lines = [
        f"{result.n_points} points, {result.n_rosetta} Rosetta pairs from {result.rosetta_source}"
        + (f" ({result.n_appended} of them not in the data, added)" if result.n_appended else "")
        + f"; scored on the {result.n_points + result.n_appended - result.n_rosetta} held-out points",
    ]
    if result.template_matches is False:
        lines.append("note: the reference is not the Rosetta file's template (fingerprints differ)")
    lines += format_portability(result.table[result.table["partition"] == "all"])
    lsd_line = ", ".join(f"{g} {v:.4g}" for g, v in result.lsd.items())
    held_line = ", ".join(f"{g} {v:.4g}" for g, v in result.heldout_lsd.items())
    lines.append(f"LSD (paper eq. 2, map fitted on all points): {lsd_line}")
    lines.append(f"held-out LSD (map fitted on the Rosetta points only): {held_line}")
    return lines


def format_portability(table: pd.DataFrame) -> list[str]:
    """One line per arm: distance (0 = same coordinates, 1 = no better than the reference's mean),
    angular Procrustes (0 = same shape), linear CKA (1 = same up to rotation and scale)."""
    cell = lambda v, width: f"{v:>{width}.4f}" if np.isfinite(v) else f"{'-':>{width}}"  # noqa: E731
    lines = [f"{'arm':<11} {'distance':>9} {'angular Procrustes':>19} {'linear CKA':>11}"]
    for row in table.itertuples():
        lines.append(f"{row.arm:<11} {cell(row.distance, 9)} {cell(row.angular_procrustes, 19)} {cell(row.linear_cka, 11)}")
    return lines


def rosetta_report(model: VAE, points: RosettaPoints) -> pd.DataFrame:
    """Bob's model on Alice's Rosetta inputs, each pair scored by maps fitted on the others."""
    return leave_one_out_portability(encode_means(model, points.x), points.z)
