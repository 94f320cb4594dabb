"""What every loader returns, and the checks every loader applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class DataError(ValueError):
    """Input data that cannot be used; the message names the file or setting."""


@dataclass(frozen=True)
class DatasetFacts:
    """What a loader knows from its settings alone, before loading: the config checks use it.

    ``None`` where it depends on files not yet read (a folder's size, real MNIST's size).
    """

    input_shape: tuple[int, ...] | None
    d1_points: int | None = None
    total_points: int | None = None
    # (labels, partition, recording, interval) per point, for data split by recording in time
    # blocks: the D1 training size then comes from running the split itself
    layout: tuple | None = None
    # points per label (the prepared data's ``label`` column) before any subsampling, where the
    # loader knows them: the chain config check refuses parts with labels the data does not have
    label_counts: dict[int, int] | None = None


@dataclass
class RawDataset:
    """Inputs with a label and a partition (``D1``/``D2``) per point.

    ``recording`` and ``interval`` say where a point was cut from, for data whose points can
    share source material (spectrogram windows of one song): the train/validation split then
    keeps such points apart (``rvae.data.partition.split_points``). Without them every point
    is independent and the split is a seeded shuffle.
    """

    name: str
    x: np.ndarray  # (N, *input_shape) float32
    labels: np.ndarray  # (N,) int64 (cluster, digit, bird index, chair index)
    partition: np.ndarray  # (N,) str: "D1" or "D2"
    label_names: list[str] = field(default_factory=list)  # label -> human name
    notes: str = ""  # e.g. "synthetic: procedurally rendered chairs"
    recording: np.ndarray | None = None  # (N,) str: the recording (or file) a point was cut from
    # (N, 2) float64: seconds of that recording the input was computed from, [start, end);
    # NaN for a recording whose times are unknown (all its points then)
    interval: np.ndarray | None = None

    def __post_init__(self):
        self.x = np.ascontiguousarray(self.x, dtype=np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.partition = np.asarray(self.partition, dtype=object)
        check_finite(self.x, self.name)
        n = len(self.x)
        if n == 0:
            raise DataError(f"dataset {self.name!r}: no data points were loaded")
        if self.labels.shape != (n,) or self.partition.shape != (n,):
            raise DataError(
                f"dataset {self.name!r}: {n} inputs but {len(self.labels)} labels and {len(self.partition)} partitions"
            )
        for part in ("D1", "D2"):
            if not (self.partition == part).any():
                raise DataError(f"dataset {self.name!r}: partition {part} is empty; check the D1/D2 settings")
        unknown = set(self.partition.tolist()) - {"D1", "D2"}
        if unknown:
            raise DataError(f"dataset {self.name!r}: unknown partition labels {sorted(unknown)}")
        self._check_sources(n)

    def _check_sources(self, n: int) -> None:
        if self.recording is None:
            if self.interval is not None:
                raise DataError(f"dataset {self.name!r}: time intervals given without the recording they belong to")
            return
        self.recording = np.asarray(self.recording).astype(str).astype(object)
        if self.recording.shape != (n,):
            raise DataError(f"dataset {self.name!r}: {n} inputs but {len(self.recording)} recording ids")
        if self.interval is None:
            self.interval = np.full((n, 2), np.nan)
        self.interval = np.asarray(self.interval, dtype=np.float64)
        if self.interval.shape != (n, 2):
            raise DataError(f"dataset {self.name!r}: intervals have shape {self.interval.shape}, expected ({n}, 2)")
        known = np.isfinite(self.interval).all(axis=1)
        bad = np.flatnonzero(~known & ~np.isnan(self.interval).all(axis=1))
        if len(bad):
            raise DataError(f"dataset {self.name!r}: infinite or half-missing time intervals in rows {bad[:5].tolist()}")
        backwards = np.flatnonzero(known & (self.interval[:, 1] < self.interval[:, 0]))
        if len(backwards):
            raise DataError(f"dataset {self.name!r}: time intervals ending before they start in rows {backwards[:5].tolist()}")
        for rec in np.unique(self.recording[~known]):
            if known[self.recording == rec].any():
                raise DataError(f"dataset {self.name!r}: recording {rec!r} has times for some points but not for others")

    def take(self, rows: np.ndarray) -> RawDataset:
        """The same dataset restricted to ``rows`` (indices or a boolean mask), in that order."""
        recording = None if self.recording is None else self.recording[rows]
        interval = None if self.interval is None else self.interval[rows]
        return RawDataset(
            self.name, self.x[rows], self.labels[rows], self.partition[rows], self.label_names, self.notes, recording, interval
        )

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])


def check_finite(x: np.ndarray, where: str) -> None:
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        raise DataError(f"{where}: NaN or infinite values in {len(bad)} point(s), first rows {bad[:5].tolist()}")


def existing_path(path, what: str, setting: str) -> Path:
    if path is None or str(path) == "":
        raise DataError(f"{setting}: no path given for {what}")
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{setting}: {what} {path} does not exist")
    return path
