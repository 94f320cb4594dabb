"""What a table cell is made of: its point set, its metric's values in a metric file, and its
normalisation against the reference cell.

A cell's *partition* (the tables' ``partition`` column, ``rvae.paper.plan.Cell.partition``) is a
point set: a data partition, ``D1`` or ``D2``, or a part of D1: ``R1``, its Rosetta points, and
``rest_D1``, the others. Tables, findings, Figure 2, the metric files (``rvae.paper.evaluation``)
and the paper's claims (``rvae.paper.claims``) all take the point sets, their labels and their
rows from here, and tables and findings normalise a cell with :func:`normalise_cell`, so a table's
median and its bootstrap interval are the same arithmetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvae.metrics import normalisable, normalise_by_median
from rvae.vocabulary import PARTITIONS

# The parts of D1 a cell can hold: its Rosetta points, and the other points.
R1, REST_D1 = D1_PARTS = ("R1", "rest_D1")
CELL_POINTS = (*D1_PARTS, *PARTITIONS)
# As the tables print them (matching the paper's Table 1 rows, e.g. "RV(R1) VAE").
CELL_POINT_LABELS = {R1: "RV(R1)", REST_D1: "RV(rest of D1)", **{p: p for p in PARTITIONS}}

# Beside Table 2's LSD and Table 1's RV, from the metric files of the same runs: metric -> (row
# suffix, column of the file per partition, what it is). Extra rows; the paper's cells stay as they are.
PANEL = {
    "heldout_lsd": ("held-out LSD", "heldout_{p}", "held-out LSD: affine map fitted on the Rosetta points only, scored on the other points (a distance)"),
    "angular_procrustes": ("angular Procrustes", "angular_procrustes_{p}", "angular Procrustes: shape distance to the template (joint in Table 2, D1 in Table 1), 0 = same up to rotation, scale and shift; normalised as the LSD"),
    "cka": ("linear CKA", "cka_{p}", "linear CKA: a similarity to the template (1 = same up to rotation and scale); normalised as the LSD"),
}  # fmt: skip
# How each metric's cells are put beside their reference (``rvae.metrics.NORMALISATIONS``).
NORMALISATION = {"lsd": "relative_change", "rv": "difference", **{metric: "relative_change" for metric in PANEL}}


def point_mask(frame: pd.DataFrame, partition: str) -> np.ndarray:
    """The rows of a per-point frame (columns ``partition`` and ``is_rosetta``: an embedding or an
    RV file) that belong to the point set ``partition``."""
    if partition in D1_PARTS:
        d1, rosetta = (frame["partition"] == "D1").to_numpy(), frame["is_rosetta"].to_numpy(dtype=bool)
        return d1 & rosetta if partition == R1 else d1 & ~rosetta
    return (frame["partition"] == partition).to_numpy()


def cell_values(frame: pd.DataFrame, metric: str, partition: str) -> np.ndarray:
    """The raw values of one retraining behind a cell: per seed (LSD and the panel, a column of the
    per-seed file) or per point (RV, the rows of the point set)."""
    if metric == "lsd":
        return frame[partition].to_numpy(dtype=np.float64)
    if metric in PANEL:
        column = PANEL[metric][1].format(p=partition)
        if column not in frame:
            raise ValueError(f"metric file lacks column {column!r}: rerun its latent_space_distortion or similarity_panel job")
        return frame[column].to_numpy(dtype=np.float64)
    return frame.loc[point_mask(frame, partition), "rv"].to_numpy(dtype=np.float64)


def can_normalise(metric: str, reference_medians) -> np.ndarray:
    """Where a reference cell's median can normalise ``metric`` (elementwise): any for RV's
    difference; a finite, positive one for the distances' and similarities' relative change."""
    if metric not in NORMALISATION:
        raise ValueError(f"metric must be one of {sorted(NORMALISATION)}, got {metric!r}")
    return normalisable(NORMALISATION[metric], reference_medians)


def normalise_cell(metric: str, statistics, reference_medians) -> np.ndarray:
    """Raw statistics of a cell's values (its median, its quartiles, or one median per bootstrap
    resample) put beside the raw median of its reference cell's values, as the paper's tables do
    (``NORMALISATION``; broadcast). NaN where a reference median cannot normalise
    (:func:`can_normalise`)."""
    statistics, reference_medians = np.broadcast_arrays(np.asarray(statistics, dtype=np.float64), np.asarray(reference_medians, dtype=np.float64))
    usable = can_normalise(metric, reference_medians)
    out = np.full(statistics.shape, np.nan)
    out[usable] = normalise_by_median(NORMALISATION[metric], statistics[usable], reference_medians[usable])
    return out
