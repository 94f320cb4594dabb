"""The portable Rosetta-points file: one Parquet file that one lab sends another.

Columns: ``point_id`` (int64, the point's identity in the sender's data), ``x`` (the input,
flattened, float32), ``z`` (its latent mean under the template, float32). The file's schema
metadata, key ``rvae.rosetta``, holds JSON with the input shape, latent size, dataset name,
selection method, k, template fingerprint, package and format versions, and optionally
``template_kind``: ``rvae`` (fingerprint of a model's weights; the default when absent) or
``external`` (another encoder; fingerprint of its latents array); optionally ``input_range``
(``[min, max]`` of all the sender's inputs) and ``preprocessing`` (the sender's dataset.yaml
mapping: how the inputs were made). Files without the optional fields stay readable.

Reading it uses pyarrow alone: no pickle, no code from the file is ever executed. Every field
is checked, so a truncated, tampered or mismatched file is refused with a clear message.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rvae.atomic import atomic_path

FORMAT_VERSION = 1
METADATA_KEY = b"rvae.rosetta"
TEMPLATE_KINDS = ("rvae", "external")  # optional field ``template_kind``; absent means rvae
REQUIRED_METADATA = {
    "format_version": int,
    "dataset": str,
    "input_shape": list,
    "latent_dim": int,
    "method": str,
    "k": int,
    "template_fingerprint": str,
    "package_version": str,
}


class RosettaFileError(ValueError):
    """A Rosetta-points file that cannot be used; the message says what and where."""


@dataclass(frozen=True)
class RosettaPoints:
    """Rosetta pairs ``(x_r, z_r)`` with the metadata that makes them usable elsewhere."""

    x: np.ndarray  # (R, *input_shape) float32
    z: np.ndarray  # (R, latent_dim) float32
    point_ids: np.ndarray  # (R,) int64
    metadata: dict = field(default_factory=dict)

    @classmethod
    def create(cls, x, z, point_ids, dataset, method, template_fingerprint="", **extra) -> "RosettaPoints":
        from rvae import __version__

        x = np.asarray(x, dtype=np.float32)
        z = np.asarray(z, dtype=np.float32)
        metadata = {
            "format_version": FORMAT_VERSION,
            "dataset": str(dataset),
            "input_shape": [int(s) for s in x.shape[1:]],
            "latent_dim": int(z.shape[1]),
            "method": str(method),
            "k": int(x.shape[0]),
            "template_fingerprint": str(template_fingerprint),
            "package_version": __version__,
            **extra,
        }
        points = cls(x=x, z=z, point_ids=np.asarray(point_ids, dtype=np.int64), metadata=metadata)
        points.validate("<in memory>")
        return points

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.metadata["input_shape"])

    @property
    def latent_dim(self) -> int:
        return int(self.metadata["latent_dim"])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def validate(self, where: str) -> None:
        meta = self.metadata
        for key, kind in REQUIRED_METADATA.items():
            if key not in meta:
                raise RosettaFileError(f"{where}: metadata field {key!r} is missing")
            if not isinstance(meta[key], kind) or (kind is int and isinstance(meta[key], bool)):
                raise RosettaFileError(
                    f"{where}: metadata field {key!r} should be {kind.__name__}, got {meta[key]!r}"
                )
        if meta["format_version"] > FORMAT_VERSION:
            raise RosettaFileError(
                f"{where}: format version {meta['format_version']} is newer than this package reads "
                f"({FORMAT_VERSION}); upgrade rosetta-vae"
            )
        if meta.get("template_kind", "rvae") not in TEMPLATE_KINDS:
            raise RosettaFileError(
                f"{where}: metadata field 'template_kind' should be one of {TEMPLATE_KINDS}, got {meta['template_kind']!r}"
            )
        if "preprocessing" in meta and not isinstance(meta["preprocessing"], dict):
            raise RosettaFileError(f"{where}: metadata field 'preprocessing' should be a mapping, got {meta['preprocessing']!r}")
        if "input_range" in meta:
            span = meta["input_range"]
            if not (isinstance(span, list) and len(span) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in span) and span[0] <= span[1]):
                raise RosettaFileError(f"{where}: metadata field 'input_range' should be [min, max], got {span!r}")
        shape = meta["input_shape"]
        if not shape or not all(isinstance(s, int) and s > 0 for s in shape):
            raise RosettaFileError(f"{where}: input_shape must be positive integers, got {shape}")
        if meta["latent_dim"] < 1:
            raise RosettaFileError(f"{where}: latent_dim must be >= 1, got {meta['latent_dim']}")
        r = self.x.shape[0]
        if r == 0:
            raise RosettaFileError(f"{where}: the file holds no Rosetta points")
        if meta["k"] != r:
            raise RosettaFileError(f"{where}: metadata says k={meta['k']} but the file holds {r} points")
        if tuple(self.x.shape[1:]) != tuple(shape):
            raise RosettaFileError(f"{where}: inputs have shape {self.x.shape[1:]}, metadata says {tuple(shape)}")
        if self.z.shape != (r, meta["latent_dim"]):
            raise RosettaFileError(
                f"{where}: latents have shape {self.z.shape}, expected ({r}, {meta['latent_dim']})"
            )
        if self.point_ids.shape != (r,):
            raise RosettaFileError(f"{where}: {self.point_ids.shape[0]} point ids for {r} points")
        for name, array in (("x", self.x), ("z", self.z)):
            bad = ~np.isfinite(array.reshape(r, -1)).all(axis=1)
            if bad.any():
                raise RosettaFileError(
                    f"{where}: column {name!r} has NaN or infinite values in row(s) {np.flatnonzero(bad)[:10].tolist()}"
                )

    def check_compatible(self, input_shape, latent_dim: int, where: str = "Rosetta points") -> None:
        """Refuse points whose shapes do not fit the model they are meant to anchor."""
        if tuple(input_shape) != self.input_shape:
            raise RosettaFileError(
                f"{where}: inputs have shape {self.input_shape} but the model expects {tuple(input_shape)}"
            )
        if int(latent_dim) != self.latent_dim:
            raise RosettaFileError(
                f"{where}: latents have size {self.latent_dim} but the model's latent size is {latent_dim}"
            )


def save_rosetta_points(points: RosettaPoints, path: str | Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    points.validate(str(path))
    r = len(points)
    width = math.prod(points.input_shape)
    x_flat = pa.array(points.x.reshape(r * width), type=pa.float32())
    z_flat = pa.array(points.z.reshape(-1), type=pa.float32())
    table = pa.table(
        {
            "point_id": pa.array(points.point_ids, type=pa.int64()),
            "x": pa.FixedSizeListArray.from_arrays(x_flat, width),
            "z": pa.FixedSizeListArray.from_arrays(z_flat, points.latent_dim),
        }
    )
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(points.metadata, sort_keys=True).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def load_rosetta_points(
    path: str | Path, input_shape=None, latent_dim: int | None = None
) -> RosettaPoints:
    """Read and check a Rosetta file; with ``input_shape``/``latent_dim`` also check it fits a model."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    where = f"Rosetta file {path}"
    if not path.is_file():
        raise RosettaFileError(f"{where} {'is a directory, not a file' if path.is_dir() else 'does not exist'}")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise RosettaFileError(f"{where} is not a readable Parquet file (truncated or corrupt?): {err}") from err
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise RosettaFileError(f"{where} has no {METADATA_KEY.decode()!r} metadata; it was not written by rvae")
    try:
        metadata = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RosettaFileError(f"{where}: metadata is not valid JSON ({err})") from err
    if not isinstance(metadata, dict):
        raise RosettaFileError(f"{where}: metadata should be a JSON object, got {type(metadata).__name__}")
    for column in ("point_id", "x", "z"):
        if column not in table.column_names:
            raise RosettaFileError(f"{where} has no column {column!r} (columns: {table.column_names})")
    for key in ("input_shape", "latent_dim"):
        if key not in metadata:
            raise RosettaFileError(f"{where}: metadata field {key!r} is missing")
    try:
        r = table.num_rows
        x = _column_matrix(table, "x", r).reshape(r, *metadata["input_shape"])
        z = _column_matrix(table, "z", r)
        point_ids = table.column("point_id").to_numpy().astype(np.int64)
    except (ValueError, TypeError, pa.ArrowException) as err:
        raise RosettaFileError(f"{where}: columns do not match the metadata ({err})") from err
    points = RosettaPoints(x=x, z=z, point_ids=point_ids, metadata=metadata)
    points.validate(where)
    if input_shape is not None or latent_dim is not None:
        points.check_compatible(
            input_shape if input_shape is not None else points.input_shape,
            latent_dim if latent_dim is not None else points.latent_dim,
            where,
        )
    return points


def _column_matrix(table, name: str, rows: int) -> np.ndarray:
    import pyarrow as pa

    column = table.column(name).combine_chunks()
    if not (pa.types.is_fixed_size_list(column.type) or pa.types.is_list(column.type)):
        raise ValueError(f"column {name!r} should hold lists of float32, found {column.type}")
    if column.null_count:
        raise ValueError(f"column {name!r} has {column.null_count} missing values")
    values = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
    if rows == 0:
        return values.reshape(0, 0)
    if values.size % rows:
        raise ValueError(f"column {name!r} rows have unequal lengths")
    return values.reshape(rows, -1)
