"""Per-point scores Bob computes alone: how far each of his points lies from what the file vouches for.

Bob receives Alice's Rosetta latents ``z_r`` and nothing else of hers, so he cannot measure how
far a point of his lands from her coordinates. Two things he can measure, both in units of the
Rosetta latents' own spacing (the median distance from each Rosetta latent to its nearest other
one), so that 1 means "as far as neighbouring Rosetta points are from each other":

- :func:`anchor_distance`: the distance of a point's latent to the nearest Rosetta latent. The
  anchor loss pins the map at the Rosetta inputs; far from all of them nothing pinned it.
- :func:`model_spread`: with several models of Bob's (seeds), each put in the file's coordinates,
  the root mean squared distance of each model's latent from their mean. Where independently
  trained models disagree, at least one of them is off.

Whether either predicts the true error is measured, not assumed: ``results/tables/confidence.*``
(rank correlation with each held-out point's true distance to Alice's coordinates).
"""

from __future__ import annotations

import numpy as np

from rvae.metrics import as_matrix

SCORES = ("anchor_distance", "model_spread")


def anchor_spacing(z_rosetta: np.ndarray) -> float:
    """Median over the Rosetta latents of the distance to the nearest other one (the unit of both scores)."""
    z_r = as_matrix(z_rosetta, "z_rosetta")
    if len(z_r) < 2:
        raise ValueError(f"a spacing needs at least 2 Rosetta latents, got {len(z_r)}")
    d = np.sqrt(((z_r[:, None, :] - z_r[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    spacing = float(np.median(d.min(axis=1)))
    if not spacing > 0:
        raise ValueError("the Rosetta latents coincide: their spacing is 0, no distance can be scaled by it")
    return spacing


def anchor_distance(z: np.ndarray, z_rosetta: np.ndarray, spacing: float | None = None, batch: int = 4096) -> np.ndarray:
    """(N,): each row of ``z`` (N, k)'s distance to its nearest Rosetta latent, over :func:`anchor_spacing`."""
    z, z_r = as_matrix(z, "z"), as_matrix(z_rosetta, "z_rosetta")
    if z.shape[1] != z_r.shape[1]:
        raise ValueError(f"points have {z.shape[1]} latents but the Rosetta latents {z_r.shape[1]}")
    unit = anchor_spacing(z_r) if spacing is None else float(spacing)
    out = np.empty(len(z))
    for first in range(0, len(z), batch):
        chunk = z[first : first + batch]
        out[first : first + batch] = np.sqrt(((chunk[:, None, :] - z_r[None, :, :]) ** 2).sum(-1)).min(axis=1)
    return out / unit


def model_spread(zs, spacing: float) -> np.ndarray:
    """(N,): root mean squared distance of each model's latent from the models' mean, over ``spacing``.

    ``zs``: a list of (N, k) arrays, the same points under each model, already in one set of
    coordinates (the file's). Needs two models at least.
    """
    stack = np.stack([as_matrix(z, "z") for z in zs])
    if len(stack) < 2:
        raise ValueError(f"a spread needs at least 2 models, got {len(stack)}")
    centre = stack.mean(axis=0)
    return np.sqrt(((stack - centre) ** 2).sum(-1).mean(axis=0)) / float(spacing)


def rank_correlation(score: np.ndarray, error: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN where either side is constant."""
    from scipy.stats import spearmanr

    score, error = np.asarray(score, dtype=np.float64), np.asarray(error, dtype=np.float64)
    if score.shape != error.shape or score.ndim != 1:
        raise ValueError(f"score and error must be two vectors of one length, got {score.shape} and {error.shape}")
    if len(score) < 3 or np.ptp(score) == 0 or np.ptp(error) == 0:
        return float("nan")
    return float(spearmanr(score, error).statistic)
