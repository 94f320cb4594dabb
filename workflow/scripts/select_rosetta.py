"""Cluster the D1 template's latent means of D1 train points; save the portable Rosetta file."""

import logging
from pathlib import Path

import numpy as np

from rvae.data.store import load_prepared
from rvae.embeddings import latents, read_embedding
from rvae.models import fingerprint, load_model
from rvae.portable import save_rosetta_points
from rvae.rosetta import make_rosetta_points
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
data = load_prepared(Path(sm.input.x).parent)
frame = read_embedding(sm.input.embedding)
train = frame[(frame["partition"] == "D1") & (frame["split"] == "train")]
ids = train["point"].to_numpy()
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
