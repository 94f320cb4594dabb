"""Metric files of one run (M seeds of one model): RV per point, LSD and friends per seed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvae.convergence import is_collapsed
from rvae.embeddings import latents, read_embedding
from rvae.alignment import heldout_lsd
from rvae.metrics import (
    angular_procrustes_distance,
    linear_cka,
    linear_map_analysis,
    lsd,
    procrustes_distance,
    retraining_variability,
)


def _check_same_points(frames: list[pd.DataFrame], paths) -> None:
    first = frames[0]["point"].to_numpy()
    for frame, path in zip(frames[1:], paths[1:]):
        if not np.array_equal(frame["point"].to_numpy(), first):
            raise ValueError(f"embedding {path} covers other points than {paths[0]}")


def rv_per_point(embedding_paths: list[str], estimator: str) -> pd.DataFrame:
    """RV(x) over the M seeds for every point, with its partition and Rosetta flag."""
    frames = [read_embedding(p) for p in embedding_paths]
    _check_same_points(frames, list(embedding_paths))
    runs = np.stack([latents(f) for f in frames])
    out = frames[0][["point", "partition", "split", "is_rosetta", "label"]].copy()
    out["rv"] = retraining_variability(runs, estimator)
    out["estimator"] = estimator
    out["n_runs"] = len(frames)
    return out


def _against_template(embedding_paths: list[str], seeds: list[int], template_path: str):
    """The template's latents, and (seed, embedding frame, latents) per run, checked to cover the same points."""
    template = read_embedding(template_path)
    runs = []
    for seed, path in zip(seeds, embedding_paths):
        frame = read_embedding(path)
        if not np.array_equal(frame["point"].to_numpy(), template["point"].to_numpy()):
            raise ValueError(f"embedding {path} covers other points than the template {template_path}")
        runs.append((seed, frame, latents(frame)))
    return latents(template), runs


def lsd_per_seed(embedding_paths: list[str], seeds: list[int], template_path: str) -> pd.DataFrame:
    """LSD of each seed against the joint template (one map for D1 and D2), plus the map's analysis."""
    z_ref, runs = _against_template(embedding_paths, seeds, template_path)
    rows = []
    for seed, frame, z in runs:
        result = lsd(z, z_ref, frame["partition"].to_numpy())
        row = {"seed": int(seed), "D1": result.values.get("D1", np.nan), "D2": result.values.get("D2", np.nan), "all": result.values["all"]}
        if result.A.shape[0] == result.A.shape[1]:
            analysis = linear_map_analysis(result.A, result.b)
            row.update(
                distance_from_identity=analysis.distance_from_identity,
                bias_norm=analysis.bias_norm,
                spectrum=analysis.spectrum.tolist(),
            )
        if is_collapsed(z) or is_collapsed(z_ref):  # undefined shapes
            row.update(procrustes=np.nan, cka=np.nan)
        else:
            row.update(procrustes=procrustes_distance(z, z_ref), cka=linear_cka(z, z_ref))
        row.update(metric_panel(z, z_ref, frame["partition"].to_numpy(), frame["is_rosetta"].to_numpy(dtype=bool)))
        rows.append(row)
    return pd.DataFrame(rows)


def metric_panel(z: np.ndarray, z_ref: np.ndarray, partition: np.ndarray, is_rosetta: np.ndarray) -> dict:
    """Beside the paper's in-sample LSD: held-out LSD (affine map fitted on the Rosetta points,
    scored on the rest) and, per partition, angular Procrustes distance and linear CKA, so a
    conclusion that hinges on one metric shows the others."""
    out = {}
    if is_rosetta.any():  # a collapsed run leaves no map to fit: NaN
        held = {} if is_collapsed(z[is_rosetta]) else heldout_lsd(z, z_ref, np.flatnonzero(is_rosetta), partition).values
        out.update({f"heldout_{p}": held.get(p, np.nan) for p in ("D1", "D2", "all")})
    for p in ("D1", "D2"):
        mask = partition == p
        out[f"angular_procrustes_{p}"], out[f"cka_{p}"] = _shape_metrics(z[mask], z_ref[mask])
    return out


def _shape_metrics(z: np.ndarray, z_ref: np.ndarray) -> tuple[float, float]:
    """(angular Procrustes, linear CKA); NaN where undefined: no more points than latent
    dimensions, or a side with no active dimension over these points (collapsed)."""
    if len(z) <= z.shape[1] or is_collapsed(z) or is_collapsed(z_ref):
        return np.nan, np.nan
    return angular_procrustes_distance(z, z_ref), linear_cka(z, z_ref)


def panel_per_seed(embedding_paths: list[str], seeds: list[int], template_path: str) -> pd.DataFrame:
    """Table 1's similarity panel: each seed against the D1 template (whose Rosetta points it was
    given), on the Rosetta points (R1) and the rest of D1: angular Procrustes distance and linear CKA."""
    z_ref, runs = _against_template(embedding_paths, seeds, template_path)
    rows = []
    for seed, frame, z in runs:
        d1, rosetta = (frame["partition"] == "D1").to_numpy(), frame["is_rosetta"].to_numpy(dtype=bool)
        row = {"seed": int(seed)}
        for part, mask in (("R1", d1 & rosetta), ("rest_D1", d1 & ~rosetta)):
            row[f"angular_procrustes_{part}"], row[f"cka_{part}"] = _shape_metrics(z[mask], z_ref[mask])
        rows.append(row)
    return pd.DataFrame(rows)
