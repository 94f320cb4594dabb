"""Metric files of one run (M seeds of one model): RV per point, LSD and friends per seed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvae.embeddings import latents, read_embedding
from rvae.metrics import linear_cka, linear_map_analysis, lsd, procrustes_distance, retraining_variability


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


def lsd_per_seed(embedding_paths: list[str], seeds: list[int], template_path: str) -> pd.DataFrame:
    """LSD of each seed against the joint template (one map for D1 and D2), plus the map's analysis."""
    template = read_embedding(template_path)
    z_ref = latents(template)
    rows = []
    for seed, path in zip(seeds, embedding_paths):
        frame = read_embedding(path)
        if not np.array_equal(frame["point"].to_numpy(), template["point"].to_numpy()):
            raise ValueError(f"embedding {path} covers other points than the template {template_path}")
        z = latents(frame)
        result = lsd(z, z_ref, frame["partition"].to_numpy())
        row = {"seed": int(seed), "D1": result.values.get("D1", np.nan), "D2": result.values.get("D2", np.nan), "all": result.values["all"]}
        if result.A.shape[0] == result.A.shape[1]:
            analysis = linear_map_analysis(result.A, result.b)
            row.update(
                distance_from_identity=analysis.distance_from_identity,
                bias_norm=analysis.bias_norm,
                spectrum=analysis.spectrum.tolist(),
            )
        row.update(procrustes=procrustes_distance(z, z_ref), cka=linear_cka(z, z_ref))
        rows.append(row)
    return pd.DataFrame(rows)
