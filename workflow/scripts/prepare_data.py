"""Load one dataset, partition and split it, and write x.npy + points.parquet."""

import logging
from pathlib import Path

from rvae.data import load_dataset
from rvae.data.store import prepare, save_prepared
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
p = sm.params
raw = load_dataset(p.kind, p.load)
data = prepare(raw, p.split["train_fraction"], p.split["seed"], p.max_points)
save_prepared(data, Path(sm.output.x).parent)
logging.info(f"{raw.name}: {len(data.points)} points of shape {data.input_shape}; {raw.notes}")
logging.info(str(data.points.groupby(["partition", "split"]).size()))
if "dropped_overlapping" in data.info:
    dropped = data.info["dropped_overlapping"]
    logging.info(f"split in time blocks per recording; dropped {dropped['n']} of {dropped['of']} points that share audio across the split")
