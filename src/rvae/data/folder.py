"""Bring your own data: a folder with ``x.npy``, optional labels, and ``dataset.yaml``.

``dataset.yaml`` names ``input_shape`` (per point) and ``family`` (mlp, conv, ava); it may
name ``d1_labels`` to split D1/D2 by label, and ``preprocessing``, a mapping saying how ``x.npy``
was made (a Rosetta file exported from the folder records it; the receiving lab's must match). Without it every point is D1 and half the
points (seeded) are D2, so a lab with one dataset still gets two partitions.
``labels.parquet`` (column ``label``, optional ``partition``) or ``labels.npy`` give labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rvae.data.common import DataError, DatasetFacts, RawDataset, existing_path
from rvae.vocabulary import FAMILIES

# The latent size of a folder's models when neither dataset.yaml nor the user names one.
DEFAULT_LATENT_DIM = 16
# What dataset.yaml may say about the models of its data (besides input_shape, name, d1_labels, partition_seed).
ARCHITECTURE_KEYS = ("family", "latent_dim")


def architecture(meta: dict, given: dict, where: str, given_where: str) -> dict:
    """The architecture of a folder's models: ``dataset.yaml``'s ``family`` and ``latent_dim``
    with what the user gave (``given``) over nothing it contradicts; a disagreement is an error
    naming both places, so the data are described once."""
    out = {key: meta[key] for key in ARCHITECTURE_KEYS if key in meta}
    for key, value in given.items():
        if key in out and out[key] != value:
            raise DataError(f"{given_where}.{key} is {value!r} but {where} says {out[key]!r}: give it in one place")
        out[key] = value
    if "family" not in out:
        raise DataError(f"{where} names no 'family' (mlp, conv or ava) and {given_where} gives none")
    if out["family"] not in FAMILIES:
        raise DataError(f"{where}: family {out['family']!r} is not one of {', '.join(FAMILIES)}")
    out.setdefault("latent_dim", DEFAULT_LATENT_DIM)
    if not isinstance(out["latent_dim"], int) or isinstance(out["latent_dim"], bool) or out["latent_dim"] < 1:
        raise DataError(f"{where}: latent_dim should be a positive whole number, got {out['latent_dim']!r}")
    return out


def read_meta(path) -> dict:
    """A folder's ``dataset.yaml``, checked: a mapping whose ``input_shape`` is a list of sizes."""
    import yaml

    folder = existing_path(path, "data folder", "datasets.<name>.path")
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (a data folder holds x.npy and dataset.yaml)")
    meta_path = folder / "dataset.yaml"
    if not meta_path.is_file():
        raise DataError(f"{folder}: dataset.yaml is missing (it names input_shape and family)")
    try:
        meta = yaml.safe_load(meta_path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise DataError(f"{meta_path}: not valid YAML{where} ({problem})") from err
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise DataError(f"{meta_path}: should map keys (input_shape, family) to values, got {type(meta).__name__} {meta!r:.40}")
    if "input_shape" not in meta:
        raise DataError(f"{meta_path}: 'input_shape' is missing")
    shape = meta["input_shape"]
    if not isinstance(shape, list) or not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        raise DataError(f"{meta_path}: input_shape should be a list of positive sizes such as [1, 28, 28], got {shape!r}")
    if "preprocessing" in meta:
        check_preprocessing(meta["preprocessing"], str(meta_path))
    return meta


def check_preprocessing(value, where: str) -> dict:
    """``value`` if it is a mapping a Rosetta file can record as JSON (string keys, JSON values
    all the way down), else a DataError naming ``where`` and the first offending entry: YAML's
    integer keys and dates would not survive the file's JSON and never match Bob's side."""
    if not isinstance(value, dict):
        raise DataError(f"{where}: preprocessing should map names to values (e.g. scaling: pixel / 255), got {value!r:.60}")

    def check(item, at: str) -> None:
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise DataError(f"{where}: preprocessing key {key!r} at {at} is a {type(key).__name__}: keys must be text (quote it)")
                check(inner, f"{at}.{key}")
        elif isinstance(item, list):
            for i, inner in enumerate(item):
                check(inner, f"{at}[{i}]")
        elif isinstance(item, float) and not np.isfinite(item):
            raise DataError(f"{where}: preprocessing value {item!r} at {at} is not a finite number")
        elif item is not None and not isinstance(item, (str, int, float, bool)):
            raise DataError(f"{where}: preprocessing value {item!r:.40} at {at} is a {type(item).__name__}: "
                            "values must be text, numbers, true/false, lists or mappings (quote it)")  # fmt: skip

    check(value, "preprocessing")
    return value


def _load_array(path: Path) -> np.ndarray:
    """An array without pickle; a missing, non-file or unreadable one is a DataError naming it."""
    if not path.is_file():
        raise DataError(f"{path.parent}: {path.name} {'is not a file' if path.exists() else 'is missing'}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"{path} is unreadable or truncated ({err})") from err


def load_folder(path) -> RawDataset:
    import pandas as pd

    folder = existing_path(path, "data folder", "datasets.<name>.path")
    meta = read_meta(folder)
    shape = tuple(meta["input_shape"])
    x_path = folder / "x.npy"
    x = _load_array(x_path)
    if x.dtype.kind not in "fiu":
        raise DataError(f"{x_path}: dtype {x.dtype} is not numeric")
    if tuple(x.shape[1:]) != shape:
        raise DataError(f"{x_path}: points have shape {tuple(x.shape[1:])} but dataset.yaml says {shape}")
    labels = np.zeros(len(x), dtype=np.int64)
    partition = None
    if (folder / "labels.parquet").is_file():
        try:
            table = pd.read_parquet(folder / "labels.parquet")
        except (ValueError, OSError) as err:  # pyarrow's errors are ValueError/OSError subclasses
            raise DataError(f"{folder / 'labels.parquet'}: not a readable Parquet file ({err})") from err
        if len(table) != len(x) or "label" not in table:
            raise DataError(f"{folder / 'labels.parquet'}: needs a 'label' column with {len(x)} rows")
        labels = table["label"].to_numpy()
        if "partition" in table:
            partition = table["partition"].astype(str).to_numpy()
    elif (folder / "labels.npy").is_file():
        labels = _load_array(folder / "labels.npy")
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
    try:
        return RawDataset(str(meta.get("name", Path(folder).name)), x.astype(np.float32), codes, partition, names, "user data")
    except DataError as err:  # name the folder, whatever name dataset.yaml gives the data
        raise DataError(f"{folder}: {err}") from err


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
