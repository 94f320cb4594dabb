"""Bring your own data: a folder with ``x.npy``, optional labels, and ``dataset.yaml``.

``dataset.yaml`` names ``input_shape`` (per point) and ``family`` (mlp, conv, ava); it may
name ``d1_labels`` to split D1/D2 by label. Without it every point is D1 and half the
points (seeded) are D2, so a lab with one dataset still gets two partitions.
``labels.parquet`` (column ``label``, optional ``partition``) or ``labels.npy`` give labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rvae.data.common import DataError, DatasetFacts, RawDataset, existing_path


def load_folder(path) -> RawDataset:
    import pandas as pd
    import yaml

    folder = existing_path(path, "data folder", "datasets.<name>.path")
    meta_path = folder / "dataset.yaml"
    if not meta_path.is_file():
        raise DataError(f"{folder}: dataset.yaml is missing (it names input_shape and family)")
    meta = yaml.safe_load(meta_path.read_text()) or {}
    if "input_shape" not in meta:
        raise DataError(f"{meta_path}: 'input_shape' is missing")
    shape = tuple(int(s) for s in meta["input_shape"])
    x_path = folder / "x.npy"
    if not x_path.is_file():
        raise DataError(f"{folder}: x.npy is missing")
    try:
        x = np.load(x_path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{x_path} is unreadable or truncated ({err})") from err
    if x.dtype.kind not in "fiu":
        raise DataError(f"{x_path}: dtype {x.dtype} is not numeric")
    if tuple(x.shape[1:]) != shape:
        raise DataError(f"{x_path}: points have shape {tuple(x.shape[1:])} but dataset.yaml says {shape}")
    labels = np.zeros(len(x), dtype=np.int64)
    partition = None
    if (folder / "labels.parquet").is_file():
        table = pd.read_parquet(folder / "labels.parquet")
        if len(table) != len(x) or "label" not in table:
            raise DataError(f"{folder / 'labels.parquet'}: needs a 'label' column with {len(x)} rows")
        labels = table["label"].to_numpy()
        if "partition" in table:
            partition = table["partition"].astype(str).to_numpy()
    elif (folder / "labels.npy").is_file():
        labels = np.load(folder / "labels.npy", allow_pickle=False)
        if labels.shape != (len(x),):
            raise DataError(f"{folder / 'labels.npy'}: shape {labels.shape}, expected ({len(x)},)")
    codes, names = _codes(labels)
    if partition is None:
        if "d1_labels" in meta:
            partition = np.where(np.isin(labels, meta["d1_labels"]), "D1", "D2")
        else:
            order = np.random.default_rng(int(meta.get("partition_seed", 0))).permutation(len(x))
            partition = np.full(len(x), "D2", dtype=object)
            partition[order[: len(x) // 2]] = "D1"
    return RawDataset(str(meta.get("name", Path(folder).name)), x.astype(np.float32), codes, partition, names, "user data")


def _codes(labels: np.ndarray):
    values, codes = np.unique(np.asarray(labels), return_inverse=True)
    return codes.astype(np.int64), [str(v) for v in values]


def facts(load: dict) -> DatasetFacts:
    """The input shape ``dataset.yaml`` declares, if the folder is there; sizes need the data."""
    import yaml

    meta = Path(str(load.get("path", ""))) / "dataset.yaml"
    if not meta.is_file():
        return DatasetFacts(None)
    shape = (yaml.safe_load(meta.read_text()) or {}).get("input_shape")
    return DatasetFacts(tuple(int(s) for s in shape) if shape else None)
