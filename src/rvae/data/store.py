"""The data stage's outputs: ``x.npy`` (memory-mappable) and ``points.parquet`` (one row per point)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rvae import defaults
from rvae.atomic import atomic_path
from rvae.data.common import DataError, RawDataset
from rvae.data.partition import BLOCK_SPLIT, SPLIT_NOTES, split_points

POINT_COLUMNS = ["point", "partition", "split", "label", "label_name"]
# where a point came from, for data cut from recordings: [start_s, end_s) of the recording
# that the input was computed from (NaN when the source gives no times)
SOURCE_COLUMNS = ["recording", "start_s", "end_s"]


@dataclass
class PreparedDataset:
    x: np.ndarray  # (N, *input_shape), possibly memory-mapped
    points: pd.DataFrame  # POINT_COLUMNS
    info: dict

    def rows(self, partition: str | None = None, split: str | None = None) -> np.ndarray:
        mask = np.ones(len(self.points), dtype=bool)
        if partition is not None:
            mask &= (self.points["partition"] == partition).to_numpy()
        if split is not None:
            mask &= (self.points["split"] == split).to_numpy()
        return self.points["point"].to_numpy()[mask]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])


def take_rows(data: PreparedDataset, rows: np.ndarray):
    """The inputs of ``rows`` (in point order) as one float32 tensor, copied out of the memory map."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(data.x[np.sort(rows)], dtype=np.float32))


def prepare(raw: RawDataset, train_fraction: float = defaults.TRAIN_FRACTION, split_seed: int = defaults.SPLIT_SEED, max_points: int | None = None) -> PreparedDataset:
    """Subsample (stratified by label, seeded by ``split_seed``), then split each partition.

    Points that carry a recording are split in time blocks and those overlapping the other
    split are removed (``rvae.data.partition.assign_block_splits``); ``info.json`` counts them.
    """
    plan = split_points(raw.partition, raw.labels, raw.recording, raw.interval, train_fraction, split_seed, max_points)
    if len(plan.rows) != len(raw.x):
        raw = raw.take(plan.rows)
    names = np.array(raw.label_names or [str(i) for i in range(int(raw.labels.max()) + 1)], dtype=object)
    points = pd.DataFrame(
        {
            "point": np.arange(len(raw.x), dtype=np.int64),
            "partition": raw.partition.astype(str),
            "split": plan.split.astype(str),
            "label": raw.labels,
            "label_name": names[raw.labels].astype(str),
        }
    )
    if raw.recording is not None:
        points["recording"] = raw.recording.astype(str)
        points["start_s"], points["end_s"] = raw.interval[:, 0], raw.interval[:, 1]
    info = {
        "dataset": raw.name,
        "input_shape": list(raw.input_shape),
        "n_points": int(len(raw.x)),
        "notes": raw.notes,
        "train_fraction": train_fraction,
        "split_seed": split_seed,
        "max_points": max_points,
        "split_method": plan.method,
        "split_method_note": SPLIT_NOTES[plan.method],
        "counts": points.groupby(["partition", "split"]).size().rename("n").reset_index().to_dict("records"),
    }
    if plan.method == BLOCK_SPLIT:
        info["dropped_overlapping"] = {
            "n": int(sum(plan.dropped.values())),
            "of": plan.n_candidates,
            "by_partition": plan.dropped,
            "why": "shares audio with a point of the other split of its recording; removed from x.npy and points.parquet",
        }
        info["recordings"] = int(points["recording"].nunique())
        info["recordings_without_times"] = plan.recordings_without_times
    return PreparedDataset(raw.x, points, info)


def save_prepared(data: PreparedDataset, folder: str | Path) -> None:
    folder = Path(folder)
    with atomic_path(folder / "x.npy") as tmp:
        with open(tmp, "wb") as handle:
            np.save(handle, np.ascontiguousarray(data.x, dtype=np.float32))
    with atomic_path(folder / "points.parquet") as tmp:
        data.points.to_parquet(tmp, index=False)
    with atomic_path(folder / "info.json") as tmp:
        tmp.write_text(json.dumps(data.info, indent=2))


def load_prepared(folder: str | Path, mmap: bool = True) -> PreparedDataset:
    """Open a prepared dataset, checking that the arrays and the table agree."""
    folder = Path(folder)
    for name in ("x.npy", "points.parquet"):
        if not (folder / name).is_file():
            raise DataError(f"prepared dataset {folder}: {name} is missing; rerun the data stage")
    try:
        x = np.load(folder / "x.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"prepared dataset {folder / 'x.npy'} is unreadable or truncated ({err})") from err
    try:
        points = pd.read_parquet(folder / "points.parquet")
    except Exception as err:  # pyarrow raises several types for corrupt files
        raise DataError(f"prepared dataset {folder / 'points.parquet'} is unreadable ({err})") from err
    missing = set(POINT_COLUMNS) - set(points.columns)
    if missing:
        raise DataError(f"prepared dataset {folder / 'points.parquet'} lacks columns {sorted(missing)}")
    if len(points) != len(x):
        raise DataError(f"prepared dataset {folder}: x.npy has {len(x)} rows but points.parquet has {len(points)}")
    if x.dtype != np.float32:
        raise DataError(f"prepared dataset {folder / 'x.npy'}: dtype {x.dtype}, expected float32")
    info_path = folder / "info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    return PreparedDataset(x, points, info)
