"""Cluster the D1 template's latent means of D1 train points; save the Rosetta file."""

import logging
from pathlib import Path

import numpy as np

from rvae.data.store import load_prepared
from rvae.embeddings import latents, read_embedding
from rvae.models import fingerprint, load_model
from rvae.rosetta_file import save_rosetta_points
from rvae.rosetta import make_rosetta_points
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
data = load_prepared(Path(sm.input.x).parent)
frame = read_embedding(sm.input.embedding)
train = frame[(frame["partition"] == "D1") & (frame["split"] == "train")]
ids = train["point"].to_numpy()
# the config check counts D1 where a loader knows it up front; data read from disk is counted here
if int(sm.wildcards.k) > sm.params.max_fraction * len(ids):
    raise SystemExit(
        f"{sm.wildcards.k} Rosetta points for dataset {sm.wildcards.dataset!r} are {int(sm.wildcards.k) / len(ids):.0%} of its "
        f"{len(ids)} D1 training points, above max_rosetta_fraction = {sm.params.max_fraction:g}; lower k or raise "
        "max_rosetta_fraction (up to 1) to allow it explicitly"
    )
points = make_rosetta_points(
    x=np.asarray(data.x[ids]),
    z=latents(train),
    k=int(sm.wildcards.k),
    method=sm.wildcards.method,
    seed=sm.params.seed,
    dataset=sm.wildcards.dataset,
    template_fingerprint=fingerprint(load_model(sm.input.model)),
    point_ids=ids,
)
save_rosetta_points(points, sm.output[0])
logging.info(f"{len(points)} Rosetta points by {sm.wildcards.method} from {len(ids)} D1 train points: {points.point_ids.tolist()}")
