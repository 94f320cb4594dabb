"""Distil a trained VAE into Rosetta points: cluster the latent means, keep the nearest data points."""

from __future__ import annotations

import numpy as np

from rvae import defaults
from rvae.rosetta_file import RosettaPoints
from rvae.vocabulary import SELECTION_METHODS


def _sklearn_seed(seed: int) -> int:
    """scikit-learn takes 32-bit seeds; the workflow's role seeds have 63 bits (``rvae.seeds``)."""
    return int(seed) % 2**32


def cluster_centres(z: np.ndarray, k: int, method: str, seed: int = 0) -> np.ndarray:
    """Centres of ``k`` clusters of the latent means (k-means centroids, cluster means, GMM means)."""
    if method == "kmeans":
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=k, n_init=10, random_state=_sklearn_seed(seed)).fit(z).cluster_centers_
    if method == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        labels = AgglomerativeClustering(n_clusters=k).fit_predict(z)
        return np.stack([z[labels == c].mean(axis=0) for c in range(k)])
    if method == "gmm":
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(n_components=k, random_state=_sklearn_seed(seed), reg_covar=1e-5).fit(z).means_
    raise ValueError(f"selection method must be one of {SELECTION_METHODS}, got {method!r}")


def nearest_distinct(z: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """For each centre in turn, the index of the nearest point not already taken."""
    taken = np.zeros(len(z), dtype=bool)
    chosen = np.empty(len(centres), dtype=np.int64)
    for c, centre in enumerate(centres):
        distance = ((z - centre) ** 2).sum(axis=1)
        distance[taken] = np.inf
        chosen[c] = int(np.argmin(distance))
        taken[chosen[c]] = True
    return chosen


def select_rosetta_points(z: np.ndarray, k: int, method: str = defaults.SELECTION_METHOD, seed: int = 0) -> np.ndarray:
    """Row indices of ``k`` Rosetta points among the latent means ``z`` (N, latent), never twice."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"latent means must be a 2-D array (N, latent), got shape {z.shape}")
    if method not in SELECTION_METHODS:
        raise ValueError(f"selection method must be one of {SELECTION_METHODS}, got {method!r}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"the number of Rosetta points must be a positive integer, got {k!r}")
    if k > len(z):
        raise ValueError(
            f"asked for {k} Rosetta points but only {len(z)} points are available to choose from"
        )
    if not np.isfinite(z).all():
        raise ValueError("latent means contain NaN or infinite values; the template is broken")
    if method == "random":
        return np.sort(np.random.default_rng(seed).choice(len(z), size=k, replace=False)).astype(np.int64)
    return nearest_distinct(z, cluster_centres(z, k, method, seed))


def make_rosetta_points(
    x: np.ndarray,
    z: np.ndarray,
    k: int,
    method: str = defaults.SELECTION_METHOD,
    seed: int = 0,
    dataset: str = "unnamed",
    template_fingerprint: str = "",
    point_ids: np.ndarray | None = None,
    template_kind: str = "rvae",
) -> RosettaPoints:
    """Select Rosetta points and package them with their metadata for sharing.

    ``x`` are the template's training inputs, ``z`` their latent means under the template;
    ``point_ids`` (default: row numbers) are what the file records as each point's identity.
    ``template_kind`` is ``rvae`` (fingerprint of weights) or ``external`` (of a latents array).
    """
    if len(x) != len(z):
        raise ValueError(f"{len(x)} inputs but {len(z)} latent means")
    rows = select_rosetta_points(z, k, method, seed)
    ids = np.arange(len(x)) if point_ids is None else np.asarray(point_ids)
    return RosettaPoints.create(
        x=np.asarray(x[rows], dtype=np.float32),
        z=np.asarray(z[rows], dtype=np.float32),
        point_ids=ids[rows].astype(np.int64),
        dataset=dataset,
        method=method,
        template_fingerprint=template_fingerprint,
        template_kind=template_kind,
    )
