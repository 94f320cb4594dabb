"""Sharing a latent space between labs: Alice exports Rosetta points, Bob trains on them.

Alice needs her data and a trained model; Bob needs only his data and Alice's file. Both the
workflow (its export and shared-run targets) and the ``rvae`` command line call these
functions, so the two paths give the same results: a shared run's ``embedding.parquet`` (aligned
by its ``align``) is ``rvae train --rosetta``'s ``embedding_aligned.parquet`` (aligned by
``defaults.ALIGN``, as ``rvae embed --rosetta`` does); the command's ``embedding.parquet`` is the
R-VAE's latents as trained, as for any ``rvae train``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from rvae import __version__, defaults
from rvae.data.folder import check_preprocessing
from rvae.data.store import PreparedDataset, take_rows
from rvae.embeddings import embedding_frame
from rvae.inference import choose, encode_means
from rvae.losses import RosettaLoss
from rvae.alignment import FittedMap, affine_alignment, heldout_alignment, heldout_lsd, leave_one_out_alignment, procrustes_alignment
from rvae.metrics import lsd
from rvae.models import VAE, ArchitectureSpec, fingerprint
from rvae.rosetta_file import RosettaPoints
from rvae.rosetta import make_rosetta_points
from rvae.sweep import candidate_configs, score_candidates
from rvae.trainer import TrainConfig, steps_for_passes, train_vae
from rvae.vocabulary import ALIGN_ARMS, ALIGN_CHOICES

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
    model: VAE, data: PreparedDataset, k: int, method: str = defaults.SELECTION_METHOD, seed: int = 0, dataset: str | None = None,
    preprocessing: dict | None = None,
) -> RosettaPoints:  # fmt: skip
    """Alice's Rosetta points: clusters of her model's latent means over all her training points.

    The file also records the range of all her inputs and, where given, ``preprocessing``
    (dataset.yaml's mapping: how the inputs were made), which Bob's side checks his data against.
    The latents are encoded by a CPU copy of the model, whatever its device: a GPU's TF32 or
    Winograd kernels round beyond the bound `rvae verify` holds the template to on a CPU."""
    rows = _training_rows(data, k)
    z = encode_means(on_cpu(model), data.x[rows])
    return _rosetta_from(data, rows, z, k, method, seed, dataset, fingerprint(model), "rvae", preprocessing)


def on_cpu(model: VAE) -> VAE:
    """``model`` if its weights are on the CPU, else a CPU copy (the caller's model stays where it is)."""
    import copy

    if all(p.device.type == "cpu" for p in model.parameters()):
        return model
    return copy.deepcopy(model).cpu()


def export_rosetta_from_latents(
    z: np.ndarray, data: PreparedDataset, k: int, method: str = defaults.SELECTION_METHOD, seed: int = 0,
    dataset: str | None = None, where: str = "latents", preprocessing: dict | None = None,
) -> RosettaPoints:  # fmt: skip
    """Rosetta points from another encoder's latent means (an AVA model, a published VAE).

    ``z`` (N, latent): one row per row of the data's ``x.npy``. Clustered exactly as our
    models' means (same training rows, method, seed); the file records ``template_kind:
    external`` and, as fingerprint, :func:`latents_fingerprint` of ``z`` (there are no weights).
    """
    z = check_external_latents(z, len(data.x), where)
    rows = _training_rows(data, k)
    return _rosetta_from(data, rows, z[rows], k, method, seed, dataset, latents_fingerprint(z), "external", preprocessing)


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


def _rosetta_from(data, rows, z, k, method, seed, dataset, template_fingerprint, kind, preprocessing=None) -> RosettaPoints:
    from dataclasses import replace

    points = make_rosetta_points(
        x=np.asarray(data.x[rows], dtype=np.float32), z=np.asarray(z), k=k, method=method, seed=seed,
        dataset=dataset or data.info.get("dataset", "unnamed"), template_fingerprint=template_fingerprint,
        point_ids=rows, template_kind=kind,
    )  # fmt: skip
    if preprocessing is not None:
        preprocessing = canonical(check_preprocessing(preprocessing, "preprocessing"))
    promised = {"input_range": input_range(data.x), **({"preprocessing": preprocessing} if preprocessing is not None else {})}
    points = replace(points, metadata={**points.metadata, **promised})
    points.validate("<in memory>")
    return points


def canonical(value):
    """``value`` as the file's JSON holds it (sorted keys, lists for tuples), so both sides compare alike."""
    return None if value is None else json.loads(json.dumps(value, sort_keys=True))


def input_range(x) -> list[float]:
    """``[min, max]`` over every value of the inputs (what a Rosetta file records of its data)."""
    return [float(np.min(x)), float(np.max(x))]


def check_promises(
    points: RosettaPoints, preprocessing, x, file_name: str, folder_name: str, accept: bool = False,
    meta_name: str | None = None, accept_name: str = "--accept-preprocessing",
) -> list[str]:  # fmt: skip
    """Bob's folder against what the file says of its inputs; returns warnings, raises on a mismatch.

    ``preprocessing``: Bob's dataset.yaml mapping (None where it names none), ``meta_name`` where
    it comes from (``folder_name``/dataset.yaml unless given). A file that records preprocessing
    must match it exactly, else a ValueError naming both values, unless ``accept`` (a deliberate
    difference, ``accept_name`` the option that says so: then a warning). Inputs far outside the
    file's recorded range warn (:func:`range_warning`). Files without these fields (older
    exports) are read as before: nothing to compare.
    """
    warnings = []
    theirs = points.metadata.get("preprocessing")
    meta_name = meta_name or f"{folder_name}/dataset.yaml"
    if theirs is not None and canonical(theirs) != canonical(preprocessing):
        ours = "names no preprocessing" if preprocessing is None else f"has preprocessing {preprocessing!r}"
        message = f"{meta_name} {ours} but {file_name} records {theirs!r}: Bob's inputs must be made as Alice's were"
        if not accept:
            raise ValueError(message + f" ({accept_name} to go on with a deliberate difference)")
        warnings.append(message + f" (accepted with {accept_name})")
    recorded = points.metadata.get("input_range")
    if recorded is not None and len(x):
        warnings += range_warning(input_range(x), recorded, file_name, folder_name)
    return warnings


def range_warning(ours, recorded, file_name: str, folder_name: str) -> list[str]:
    """A warning where Bob's inputs' range ``ours`` cannot have been scaled as the file's
    ``recorded`` was: beyond it by more than its width (0-255 against 0-1), or spanning under a
    tenth of its width (0-1 against 0-255); else none."""
    lo, hi = recorded
    tiny = np.finfo(np.float32).tiny
    width, our_width = max(hi - lo, tiny), ours[1] - ours[0]
    span = f"{folder_name}'s inputs range over [{ours[0]:.4g}, {ours[1]:.4g}] but {file_name}'s over [{lo:.4g}, {hi:.4g}]"
    if ours[0] < lo - width or ours[1] > hi + width:
        return [f"{span}: far outside it; were they scaled the same way?"]
    if our_width < width / 10 and hi - lo > tiny:
        return [f"{span}: under a tenth of its width; were they scaled the same way?"]
    return []


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
| input range | {_range_line(meta)} |
| preprocessing | {_preprocessing_line(meta)} |
| template | {_template_line(meta)} |
| template fingerprint | `{meta['template_fingerprint']}` |
| package | rosetta-vae {meta['package_version']} (file format {meta['format_version']}) |

The file holds only these {meta['k']} inputs and their latent means: no model, no other data.
It is plain Parquet (columns `point`, `x`, `z`; metadata key `rvae.rosetta`); reading it never
runs code. To train a model whose latent space matches this one:

    rvae train --data YOUR_DATA_FOLDER --rosetta {file_name} --out YOUR_MODEL_FOLDER

or list it under `shared:` in the workflow's config (docs/sharing.md).
Your inputs must have shape {tuple(meta['input_shape'])} and your model latent size {meta['latent_dim']},
and be made as these were (the preprocessing above, the same scale): `rvae train` and
`rvae embed` compare your dataset.yaml's `preprocessing` with the file's.

How to cite: {CITATION}.
"""


def _range_line(meta: dict) -> str:
    if "input_range" not in meta:
        return "not recorded"
    lo, hi = meta["input_range"]
    return f"{lo:.4g} to {hi:.4g} (all of the sender's inputs)"


def _preprocessing_line(meta: dict) -> str:
    if "preprocessing" not in meta:
        return "not recorded"
    return ", ".join(f"{k}: {v}" for k, v in meta["preprocessing"].items()) or "none"


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
    holdout: Sequence[int] = (),
) -> tuple[VAE, list[dict], dict]:
    """Bob's R-VAE on his training split, anchored on Alice's points; rho from a grid if given.

    A grid is scored as in the paper: validation negative ELBO plus the unweighted anchor error.
    ``holdout``: indices of the file's pairs kept out of the anchor loss (:func:`holdout_pairs`),
    so that :func:`choose_alignment` can score the maps on pairs the model never fitted.
    Returns the model, its history, and the choice (value and every candidate's score).
    """
    points.check_compatible(spec.input_shape, spec.latent_dim, "the shared Rosetta file")
    x_train, x_val = split_tensor(data, "train"), split_tensor(data, "val")
    if len(x_train) == 0:
        raise ValueError("the data have no training points")
    keep = np.setdiff1d(np.arange(len(points)), np.asarray(holdout, dtype=np.int64))
    anchors = RosettaLoss(torch.from_numpy(points.x[keep]), torch.from_numpy(points.z[keep]))
    choice = {"value": config.rho, "candidates": []}
    if rho_grid:
        # the paper's procedure (rvae.sweep), each candidate from its own role under this run's seed
        steps = steps_for_passes(sweep_epochs, len(x_train), config.batch_size)
        candidates = candidate_configs(config, "rho", rho_grid, steps, "shared", points.metadata["dataset"], config.seed)
        choice["candidates"] = score_candidates(spec, param="rho", configs=candidates, x_train=x_train, x_val=x_val, rosetta=anchors)
        choice["value"] = choose(choice["candidates"])["value"]
        log.info(f"chose rho = {choice['value']}")
    final = TrainConfig(**{**config.__dict__, "rho": float(choice["value"])})
    model, history = train_vae(spec, final, x_train, x_val, anchors)
    return model, history, choice


def holdout_pairs(n_pairs: int, m: int) -> np.ndarray:
    """Indices of ``m`` of a file's ``n_pairs`` pairs to keep out of training, spread evenly over
    the file (its pairs are in no meaningful order); at least 3 stay for the anchor loss and the maps."""
    if not 1 <= m <= n_pairs - 3:
        raise ValueError(f"--holdout-pairs {m}: the file has {n_pairs} pairs; keep out 1 to {max(n_pairs - 3, 0)} (3 or more stay for training)")
    return np.unique(np.round(np.linspace(0, n_pairs - 1, m)).astype(np.int64))


def holdout_record(points: RosettaPoints, holdout) -> dict:
    """What a model file keeps of its held-out pairs: their point ids and the file they belong to."""
    return {"point_ids": [int(points.point_ids[i]) for i in holdout], "template_fingerprint": points.metadata["template_fingerprint"]}


def holdout_in(points: RosettaPoints, record: dict | None) -> np.ndarray | None:
    """Indices into ``points`` of a model's held-out pairs, or None where it kept none out of this file."""
    if not record or record.get("template_fingerprint") != points.metadata["template_fingerprint"]:
        return None
    index = {int(pid): i for i, pid in enumerate(points.point_ids)}
    found = [index[int(pid)] for pid in record.get("point_ids", []) if int(pid) in index]
    return np.asarray(found, dtype=np.int64) if found and len(found) == len(record["point_ids"]) else None


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
    table = heldout_alignment(z_ref, z, rows, points.z, partition)
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
    lines += format_alignment(result.table[result.table["partition"] == "all"])
    lsd_line = ", ".join(f"{g} {v:.4g}" for g, v in result.lsd.items())
    held_line = ", ".join(f"{g} {v:.4g}" for g, v in result.heldout_lsd.items())
    lines.append(f"LSD (paper eq. 2, map fitted on all points): {lsd_line}")
    lines.append(f"held-out LSD (map fitted on the Rosetta points only): {held_line}")
    return lines


def format_alignment(table: pd.DataFrame) -> list[str]:
    """One line per arm: distance (0 = same coordinates, 1 = no better than the reference's mean),
    angular Procrustes (0 = same shape), linear CKA (1 = same up to rotation and scale)."""
    cell = lambda v, width: f"{v:>{width}.4f}" if np.isfinite(v) else f"{'-':>{width}}"  # noqa: E731
    lines = [f"{'arm':<11} {'distance':>9} {'angular Procrustes':>19} {'linear CKA':>11}"]
    for row in table.itertuples():
        lines.append(f"{row.arm:<11} {cell(row.distance, 9)} {cell(row.angular_procrustes, 19)} {cell(row.linear_cka, 11)}")
    return lines


def rosetta_report(model: VAE, points: RosettaPoints) -> pd.DataFrame:
    """Bob's model on Alice's Rosetta inputs, each pair scored by maps fitted on the others."""
    return leave_one_out_alignment(encode_means(model, points.x), points.z)


# -- Bob's side: his data in the file's coordinates (`rvae embed`, a shared run's embedding) ------
@dataclass(frozen=True)
class AlignmentChoice:
    """The map that puts one model's latents in a Rosetta file's coordinates, and why it was chosen."""

    arm: str  # one of vocabulary.ALIGN_ARMS
    requested: str  # one of vocabulary.ALIGN_CHOICES
    loo_distance: dict  # arm -> its distance: leave-one-out on the pairs, or on the held-out pairs (``scored_on``)
    reason: str
    fitted: FittedMap | None  # None for "none"
    scored_on: str = "leave-one-out"  # or "held-out pairs": maps fitted on the pairs the model trained on

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64) if self.fitted is None else self.fitted(z)

    def record(self) -> dict:
        """What an embedding's metadata keeps of the choice (JSON)."""
        return {"arm": self.arm, "requested": self.requested, "reason": self.reason, "scored_on": self.scored_on,
                "loo_distance": {a: (d if np.isfinite(d) else None) for a, d in self.loo_distance.items()}}  # fmt: skip


def choose_alignment(
    z_model_rosetta: np.ndarray, z_rosetta: np.ndarray, align: str = defaults.ALIGN, name: str = "the model", file_name: str = "the Rosetta file",
    holdout: np.ndarray | None = None,
) -> AlignmentChoice:  # fmt: skip
    """The map from a model's latents of the file's inputs to the file's latents, fitted on those pairs only.

    ``align``: ``none``, ``procrustes``, ``affine`` (rvae.alignment's maps) or ``auto``: the arm
    with the lowest leave-one-out distance on the pairs (each pair scored by the map fitted on
    the others, :func:`rvae.alignment.leave_one_out_alignment`), ties to the simpler arm (none,
    then procrustes). No held-out point of Alice's is needed, so Bob can choose alone.

    For a model trained on these same pairs (Bob's R-VAE) leave-one-out is optimistic, most for
    ``none``, whose fit is the training itself: on the README's example ``none`` scored 0.088 on
    the pairs against 0.20 and 0.67 on held-out points (docs/sharing.md), and on the workflow
    test's 8 Gaussians ``auto`` picked the truly best arm in 0 of 3 runs. The distances are lower
    bounds and the choice a guess. ``holdout`` (indices of pairs the model was trained without,
    ``rvae train --holdout-pairs``) makes it unbiased: each arm is then fitted on the other pairs
    and scored on those (squared distance over the file's latents' total variance, as
    leave-one-out's), and the chosen map is fitted on all pairs.
    """
    if align not in ALIGN_CHOICES:
        raise ValueError(f"align must be one of {ALIGN_CHOICES}, got {align!r}")
    r = len(z_rosetta)
    loo: dict = {}
    scored_on = "leave-one-out"
    if holdout is not None and len(holdout):
        loo, scored_on = _heldout_pair_distances(z_model_rosetta, z_rosetta, holdout, name), "held-out pairs"
    elif r >= 3:
        try:
            table = leave_one_out_alignment(z_model_rosetta, z_rosetta).set_index("arm")["distance"]
            loo = {"none": float(table["raw"]), "procrustes": float(table["procrustes"]), "affine": float(table["affine"])}
        except ValueError as err:  # a collapsed model: every fitted map is undefined
            if align != "none":
                raise ValueError(f"{name}: no map can be fitted on the file's {r} pairs ({err})") from None
    elif align == "auto":
        raise ValueError(f"--align auto needs at least 3 Rosetta pairs to score by leave-one-out, the file has {r}")
    listed = ", ".join(f"{a} {loo[a]:.4g}" for a in ALIGN_ARMS if a in loo)
    on = f"the file's {r} pairs" if scored_on == "leave-one-out" else f"the {len(holdout)} of the file's {r} pairs kept out of training"
    kind = "leave-one-out distance" if scored_on == "leave-one-out" else "distance"
    if align == "auto":
        finite = {a: d for a, d in loo.items() if np.isfinite(d)}
        if not finite:
            raise ValueError(f"{file_name}: every {kind} of {name} on {on} is undefined (NaN: the file's "
                             "latents do not vary, or the model's do not), so --align auto cannot choose; give --align none")  # fmt: skip
        arm = min(finite, key=lambda a: (finite[a], ALIGN_ARMS.index(a)))
        reason = f"auto chose {arm}: the lowest {kind} on {on} ({listed})"
    else:
        arm = align
        reason = f"{arm} as asked" + (f" ({kind} on {on}: {listed})" if loo else "")
    fits = {"procrustes": procrustes_alignment, "affine": affine_alignment}
    try:
        fitted = fits[arm](z_model_rosetta, z_rosetta) if arm in fits else None
    except ValueError as err:
        raise ValueError(f"{name}: the {arm} map cannot be fitted on the file's pairs ({err})") from None
    return AlignmentChoice(arm, align, loo, reason, fitted, scored_on)


def _heldout_pair_distances(z_model_rosetta, z_rosetta, holdout, name: str) -> dict:
    """arm -> mean squared distance on the held-out pairs of the map fitted on the others, over the
    file's latents' total variance (leave-one-out's normalisation, so the two read alike)."""
    z_model, z_r = np.asarray(z_model_rosetta, dtype=np.float64), np.asarray(z_rosetta, dtype=np.float64)
    held = np.zeros(len(z_r), dtype=bool)
    held[np.asarray(holdout, dtype=np.int64)] = True
    if (~held).sum() < 3:
        raise ValueError(f"{name}: {int(held.sum())} held-out pairs leave {int((~held).sum())} to fit the maps on; 3 or more are needed")
    total = float(((z_r - z_r.mean(axis=0)) ** 2).sum(axis=1).mean())
    predicted = {"none": z_model[held]}
    try:
        predicted["procrustes"] = procrustes_alignment(z_model[~held], z_r[~held])(z_model[held])
        predicted["affine"] = affine_alignment(z_model[~held], z_r[~held])(z_model[held])
    except ValueError:  # a collapsed model: no map can be fitted, only "none" is scored
        pass
    return {a: (float(((p - z_r[held]) ** 2).sum(axis=1).mean()) / total if total > 0 else float("nan")) for a, p in predicted.items()}


@dataclass(frozen=True)
class Embedded:
    """``rvae embed``'s result: one row per point, and what its file's metadata records."""

    frame: pd.DataFrame  # embeddings.ID_COLUMNS, z*, var*, then the per-point scores (with a file)
    metadata: dict
    choices: list  # AlignmentChoice per model (empty without a file)


def embed_folder(
    models: Sequence[VAE], data: PreparedDataset, points: RosettaPoints | None = None, align: str = defaults.ALIGN,
    names: Sequence[str] | None = None, rosetta_name: str = "the Rosetta file",
) -> Embedded:  # fmt: skip
    """Every point of ``data`` under Bob's ``models``: posterior means and variances, with a file in its coordinates.

    With ``points`` each model's latents are mapped by :func:`choose_alignment` (fitted on the
    file's pairs only) and variances follow the map; with several models the means and variances
    are averaged over them. Columns: :data:`rvae.embeddings.ID_COLUMNS` (``is_rosetta``: the row is
    one of the file's inputs; ``label`` a code 0..C-1) and ``label_name`` (the folder's own label), ``z0..`` and ``var0..`` (diagonal of the posterior covariance), and
    with a file the scores of :mod:`rvae.confidence`: ``anchor_distance`` always, ``model_spread``
    with two models or more (both in units of the Rosetta latents' spacing; larger is further
    from what the file vouches for).
    """
    from rvae.confidence import anchor_distance, anchor_spacing, model_spread
    from rvae.inference import encode_posterior

    if not models:
        raise ValueError("no model to embed with")
    names = list(names or [f"model {i + 1}" for i in range(len(models))])
    for model, name in zip(models, names):
        if tuple(model.spec.input_shape) != tuple(data.input_shape):
            raise ValueError(f"{name} takes inputs of shape {tuple(model.spec.input_shape)} but the data hold {tuple(data.input_shape)}")
        if model.latent_dim != models[0].latent_dim:
            raise ValueError(f"{name} has latent size {model.latent_dim} but {names[0]} has {models[0].latent_dim}")
        if points is not None:
            points.check_compatible(model.spec.input_shape, model.latent_dim, f"the Rosetta file (for {name})")
    zs, variances, choices = [], [], []
    for model, name in zip(models, names):
        if points is None:
            mu, var = encode_posterior(model, data.x)
            zs.append(mu.astype(np.float64))
        else:
            holdout = holdout_in(points, getattr(model, "extra", {}).get("holdout_pairs"))
            choice = choose_alignment(encode_means(model, points.x), points.z, align, name, rosetta_name, holdout)
            mu, var = encode_posterior(model, data.x, None if choice.fitted is None else choice.fitted.weight)
            zs.append(choice(mu))
            choices.append(choice)
        variances.append(var.astype(np.float64))
    z, var = np.mean(zs, axis=0), np.mean(variances, axis=0)
    rows = rosetta_rows_in(data, points)[0] if points is not None else np.zeros(0, dtype=np.int64)
    frame = embedding_frame(data.points, z, rows[rows < len(data.x)])
    if "label_name" in data.points:  # ``label`` is a code; the folder's own label beside it
        frame.insert(frame.columns.get_loc("label") + 1, "label_name", data.points["label_name"].to_numpy())
    k = z.shape[1]
    frame = pd.concat([frame, pd.DataFrame(var.astype(np.float32), columns=[f"var{i}" for i in range(k)], index=frame.index)], axis=1)
    metadata = {"models": [{"file": n, "fingerprint": fingerprint(m)} for m, n in zip(models, names)], "package_version": __version__}
    if points is not None:
        spacing = anchor_spacing(points.z)
        frame["anchor_distance"] = anchor_distance(z, points.z, spacing)
        if len(models) > 1:
            frame["model_spread"] = model_spread(zs, spacing)
        for entry, choice in zip(metadata["models"], choices):
            entry["alignment"] = choice.record()
        metadata.update(align=align, rosetta={key: points.metadata[key] for key in ("dataset", "k", "latent_dim", "template_fingerprint")},
                        rosetta_spacing=spacing)  # fmt: skip
    return Embedded(frame, metadata, choices)
