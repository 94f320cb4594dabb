"""8 Gaussians on a circle, plus noise dimensions (paper Appendix A)."""

from __future__ import annotations

import numpy as np

from rvae.data.common import DataError, DatasetFacts, RawDataset

N_CLUSTERS = 8
POINTS_PER_CLUSTER = 250
NOISE_DIMS = 3


def generate_gaussians(
    radius: float = 4.0,
    spread: float = 0.4,
    points_per_cluster: int = POINTS_PER_CLUSTER,
    noise_dims: int = NOISE_DIMS,
    noise_scale: float = 1.0,
    seed: int = 0,
) -> RawDataset:
    """Clusters 45 degrees apart at ``radius``; D1 = the four on one side of a line through the centre.

    Inputs are ``2 + noise_dims`` wide (paper: 5-D, the position plus noise dimensions).
    """
    if points_per_cluster < 1:
        raise DataError(f"gaussians.points_per_cluster must be >= 1, got {points_per_cluster}")
    if noise_dims < 0 or radius <= 0 or spread <= 0:
        raise DataError("gaussians: radius and spread must be > 0 and noise_dims >= 0")
    rng = np.random.default_rng(seed)
    angles = np.arange(N_CLUSTERS) * (2 * np.pi / N_CLUSTERS)
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    labels = np.repeat(np.arange(N_CLUSTERS), points_per_cluster)
    position = centres[labels] + spread * rng.standard_normal((len(labels), 2))
    noise = noise_scale * rng.standard_normal((len(labels), noise_dims))
    x = np.hstack([position, noise]).astype(np.float32)
    # The line at -22.5 degrees through the origin leaves clusters 0-3 (0..135 degrees) on one side.
    partition = np.where(labels < N_CLUSTERS // 2, "D1", "D2")
    names = [f"cluster {c} ({int(np.degrees(a))} deg)" for c, a in enumerate(angles)]
    return RawDataset("gaussians", x, labels, partition, names)


def facts(load: dict) -> DatasetFacts:
    per = int(load.get("points_per_cluster", POINTS_PER_CLUSTER))
    shape = (2 + int(load.get("noise_dims", NOISE_DIMS)),)
    return DatasetFacts(shape, (N_CLUSTERS // 2) * per, N_CLUSTERS * per, label_counts={c: per for c in range(N_CLUSTERS)})
