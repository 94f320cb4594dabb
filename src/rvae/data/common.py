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


@dataclass
class RawDataset:
    """Inputs with a label and a partition (``D1``/``D2``) per point."""

    name: str
    x: np.ndarray  # (N, *input_shape) float32
    labels: np.ndarray  # (N,) int64 (cluster, digit, bird index, chair index)
    partition: np.ndarray  # (N,) str: "D1" or "D2"
    label_names: list[str] = field(default_factory=list)  # label -> human name
    notes: str = ""  # e.g. "synthetic: procedurally rendered chairs"

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
