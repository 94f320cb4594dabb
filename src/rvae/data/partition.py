"""Train/validation splits within each partition (paper: 60/40, fixed seed).

Independent points (digits, Gaussians, chair views) are shuffled. Points cut from recordings
(spectrogram windows, syllables) are split in time blocks so that no validation point shares
audio with a training point (method, "Splits without leakage"): see :func:`assign_block_splits`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rvae import defaults
from rvae.data.common import DataError

DROPPED = "dropped"  # a point that overlaps the other split; removed from the prepared data
RANDOM_SPLIT = "random"
BLOCK_SPLIT = "recording_blocks"
SPLIT_NOTES = {
    RANDOM_SPLIT: "seeded shuffle within each partition; the first train_fraction of it trains",
    BLOCK_SPLIT: (
        "each recording is cut once in time into a training block and a validation block (which "
        "comes first is drawn with the split seed; sizes give train_fraction of each partition by "
        "count); points that overlap in time a point of the other split of the same recording are "
        "dropped from both sides"
    ),
}


def _check_fraction(train_fraction: float) -> None:
    if not 0 < train_fraction < 1:
        raise DataError(f"split.train_fraction must be strictly between 0 and 1, got {train_fraction}")


def assign_splits(partition: np.ndarray, train_fraction: float = defaults.TRAIN_FRACTION, seed: int = defaults.SPLIT_SEED) -> np.ndarray:
    """``train``/``val`` per point: within each partition a seeded shuffle, the first fraction trains."""
    _check_fraction(train_fraction)
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


def assign_block_splits(
    partition: np.ndarray, recording: np.ndarray, interval: np.ndarray, train_fraction: float = defaults.TRAIN_FRACTION, seed: int = defaults.SPLIT_SEED
) -> np.ndarray:
    """``train``/``val``/``dropped`` per point, so that no validation point shares audio with a training one.

    Each recording's points, in time order, are cut once: one contiguous block trains, the other
    validates, and the split seed draws per recording which block comes first. One cut per
    recording because every train/validation boundary costs the windows that straddle it (about
    2 x window length / window step of them); a recording still feeds both splits. Block sizes
    are ``train_fraction`` of each recording, rounded so that each partition's training count is
    ``round(train_fraction * n)`` (largest remainders, ties drawn with the seed). Then every
    point whose ``[start, end)`` overlaps a point of the other split of the same recording is
    marked ``dropped``, on both sides, so what remains keeps about the same proportions.
    Recordings without times (NaN intervals) are cut in stored order and nothing is dropped.
    """
    _check_fraction(train_fraction)
    partition = np.asarray(partition).astype(str)
    recording = np.asarray(recording).astype(str)
    interval = np.asarray(interval, dtype=np.float64)
    n = len(partition)
    split = np.empty(n, dtype=object)
    rng = np.random.default_rng(seed)
    by_time = np.lexsort((np.arange(n), interval[:, 1], interval[:, 0], recording, partition))
    blocks = _runs(by_time, partition, recording)  # one (partition, recording) each, in time order
    for part in sorted(set(partition.tolist())):
        mine = [b for b in blocks if partition[b[0]] == part]
        n_train = _train_counts(np.array([len(b) for b in mine]), train_fraction, rng)
        total = sum(len(b) for b in mine)
        if n_train.sum() in (0, total):
            raise DataError(
                f"partition {part} has {total} points: too few for a {train_fraction:.0%} train split with both sides non-empty"
            )
        val_first = rng.random(len(mine)) < 0.5
        for members, n_rec_train, first in zip(mine, n_train, val_first):
            n_val = len(members) - n_rec_train
            split[members] = ["val"] * n_val + ["train"] * n_rec_train if first else ["train"] * n_rec_train + ["val"] * n_val
    for members in _runs(np.argsort(recording, kind="stable"), recording):
        if not np.isfinite(interval[members]).all():
            continue
        train, val = members[split[members] == "train"], members[split[members] == "val"]
        hit_train = overlaps_any(interval[train], interval[val])
        hit_val = overlaps_any(interval[val], interval[train])
        split[train[hit_train]] = DROPPED
        split[val[hit_val]] = DROPPED
    for part in sorted(set(partition.tolist())):
        in_part = split[partition == part]
        counts = {s: int((in_part == s).sum()) for s in ("train", "val", DROPPED)}
        if counts["train"] == 0 or counts["val"] == 0:
            raise DataError(
                f"partition {part}: after dropping {counts[DROPPED]} points that overlap the other split in time, "
                f"{counts['train']} train and {counts['val']} validation points remain; use longer recordings, "
                "more recordings or shorter windows"
            )
    return split


def _runs(order: np.ndarray, *keys: np.ndarray) -> list[np.ndarray]:
    """``order`` cut wherever any of ``keys`` (looked up through ``order``) changes value."""
    if len(order) == 0:
        return []
    change = np.zeros(len(order) - 1, dtype=bool)
    for key in keys:
        ranked = key[order]
        change |= ranked[1:] != ranked[:-1]
    return np.split(order, np.flatnonzero(change) + 1)


def _train_counts(sizes: np.ndarray, train_fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Training points per recording: ``train_fraction`` of each, summing to round(fraction * total)."""
    exact = train_fraction * sizes
    counts = np.floor(exact + 1e-9).astype(np.int64)
    extra = max(0, int(round(train_fraction * sizes.sum())) - int(counts.sum()))
    order = np.lexsort((rng.permutation(len(sizes)), -(exact - counts)))
    counts[order[:extra]] += 1
    return np.minimum(counts, sizes)


def overlaps_any(intervals: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Per interval, whether it shares time with any of ``others`` (all half-open ``[start, end)``)."""
    intervals = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    others = np.asarray(others, dtype=np.float64).reshape(-1, 2)
    others = others[others[:, 1] > others[:, 0]]  # an empty interval holds no audio
    hit = np.zeros(len(intervals), dtype=bool)
    if len(others) == 0:
        return hit
    by_start = others[np.argsort(others[:, 0], kind="stable")]
    max_end = np.maximum.accumulate(by_start[:, 1])
    n_before = np.searchsorted(by_start[:, 0], intervals[:, 1], side="left")  # others starting before each end
    some = n_before > 0
    hit[some] = max_end[n_before[some] - 1] > intervals[some, 0]
    return hit & (intervals[:, 1] > intervals[:, 0])


@dataclass
class SplitPlan:
    """Which loaded points a prepared dataset keeps, their split, and how it was made."""

    rows: np.ndarray  # indices into the loaded points, ascending
    split: np.ndarray  # "train"/"val" per kept row
    method: str  # RANDOM_SPLIT or BLOCK_SPLIT
    n_candidates: int  # points after subsampling, before dropping
    dropped: dict[str, int] = field(default_factory=dict)  # partition -> points dropped for overlap
    recordings_without_times: int = 0


def split_points(
    partition: np.ndarray,
    labels: np.ndarray,
    recording: np.ndarray | None = None,
    interval: np.ndarray | None = None,
    train_fraction: float = defaults.TRAIN_FRACTION,
    seed: int = defaults.SPLIT_SEED,
    max_points: int | None = None,
) -> SplitPlan:
    """Subsample (stratified by label, seeded), then split: by time blocks when recordings are known."""
    partition = np.asarray(partition)
    rows = stratified_subsample(labels, max_points, seed) if max_points else np.arange(len(partition))
    if recording is None:
        return SplitPlan(rows, assign_splits(partition[rows], train_fraction, seed), RANDOM_SPLIT, len(rows))
    recording, interval = np.asarray(recording)[rows], np.asarray(interval, dtype=np.float64)[rows]
    split = assign_block_splits(partition[rows], recording, interval, train_fraction, seed)
    keep = split != DROPPED
    dropped = {str(p): int(((partition[rows] == p) & ~keep).sum()) for p in sorted(set(partition[rows].tolist()))}
    untimed = len(np.unique(recording[~np.isfinite(interval).all(axis=1)]))
    return SplitPlan(rows[keep], split[keep], BLOCK_SPLIT, len(rows), dropped, untimed)


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
