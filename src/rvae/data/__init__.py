"""Datasets: loaders for real data, embedded defaults, D1/D2 partitions and train/val splits.

Every loader returns a :class:`~rvae.data.common.RawDataset` (float32 inputs, a label per
point, D1/D2 per point, and for audio the recording and time span each point was cut from);
:func:`rvae.data.partition.split_points` then adds the 60/40 train/validation split (a
seeded shuffle, or time blocks per recording without shared audio), and
:mod:`rvae.data.store` writes the result as ``x.npy`` plus ``points.parquet``.
"""

from rvae.data.common import DataError, RawDataset
from rvae.data.registry import DATASET_KINDS, load_dataset
from rvae.data.partition import assign_splits
from rvae.data.store import PreparedDataset, load_prepared, save_prepared

__all__ = [
    "DataError",
    "RawDataset",
    "DATASET_KINDS",
    "load_dataset",
    "assign_splits",
    "PreparedDataset",
    "load_prepared",
    "save_prepared",
]
