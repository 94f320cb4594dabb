"""Per-run embedding tables: the files other tools and labs read (layout in docs/workflow.md, "Outputs other tools read").

Columns: ``point``, ``partition`` (D1/D2), ``split`` (train/val), ``is_rosetta`` (bool),
``label``, then ``z0 .. z{k-1}`` (posterior means).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from rvae.atomic import atomic_path

ID_COLUMNS = ["point", "partition", "split", "is_rosetta", "label"]


def embedding_frame(points: pd.DataFrame, z: np.ndarray, rosetta_ids=()) -> pd.DataFrame:
    frame = points[["point", "partition", "split", "label"]].copy()
    frame.insert(3, "is_rosetta", frame["point"].isin(np.asarray(list(rosetta_ids), dtype=np.int64)))
    latent = pd.DataFrame(z.astype(np.float32), columns=[f"z{i}" for i in range(z.shape[1])], index=frame.index)
    return pd.concat([frame, latent], axis=1)


METADATA_KEY = b"rvae.embedding"  # JSON: the models, the Rosetta file and the map behind the latents


def write_embedding(frame: pd.DataFrame, path: str | Path, metadata: dict | None = None) -> None:
    """The table as Parquet; ``metadata`` (JSON-able) under :data:`METADATA_KEY` of its schema."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(metadata, sort_keys=True).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_embedding_metadata(path: str | Path) -> dict:
    """What :func:`write_embedding` recorded beside the table (empty where nothing was)."""
    import json

    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def read_embedding(path: str | Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    missing = set(ID_COLUMNS) - set(frame.columns)
    if missing or "z0" not in frame.columns:
        raise ValueError(f"embedding {path} lacks columns {sorted(missing) or ['z0']}")
    return frame.sort_values("point", kind="stable").reset_index(drop=True)


def latents(frame: pd.DataFrame) -> np.ndarray:
    cols = [c for c in frame.columns if c.startswith("z") and c[1:].isdigit()]
    return frame[sorted(cols, key=lambda c: int(c[1:]))].to_numpy(dtype=np.float64)
