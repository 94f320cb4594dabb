"""Train/validation splits within each partition (paper: 60/40, fixed seed)."""

from __future__ import annotations

import numpy as np

from rvae.data.common import DataError


def assign_splits(partition: np.ndarray, train_fraction: float = 0.6, seed: int = 0) -> np.ndarray:
    """``train``/``val`` per point: within each partition a seeded shuffle, the first fraction trains."""
    if not 0 < train_fraction < 1:
        raise DataError(f"split.train_fraction must be strictly between 0 and 1, got {train_fraction}")
    partition = np.asarray(partition)
    split = np.empty(len(partition), dtype=object)
    rng = np.random.default_rng(seed)
    for part in sorted(set(partition.tolist())):
        rows = np.flatnonzero(partition == part)
        order = rng.permutation(rows)
        n_train = int(round(train_fraction * len(rows)))
        if n_train == 0 or n_train == len(rows):
            raise DataError(
                f"partition {part} has {len(rows)} points: too few for a {train_fraction:.0%} train split with both sides non-empty"
            )
        split[order[:n_train]] = "train"
        split[order[n_train:]] = "val"
    return split


def stratified_subsample(labels: np.ndarray, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted row indices of at most ``max_points`` points, each label keeping its share."""
    labels = np.asarray(labels)
    if max_points is None or max_points >= len(labels):
        return np.arange(len(labels))
    if max_points < 1:
        raise DataError(f"max_points must be >= 1, got {max_points}")
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        n = max(1, int(round(len(rows) * max_points / len(labels))))
        keep.append(rng.choice(rows, size=min(n, len(rows)), replace=False))
    return np.sort(np.concatenate(keep))
