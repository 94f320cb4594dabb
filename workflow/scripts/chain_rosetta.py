"""k Rosetta points of one lab's model on its part's training points: R1 (Alice) or Bob's export."""

import logging
from pathlib import Path

from rvae.data.store import load_prepared
from rvae.embeddings import read_embedding
from rvae.models import load_model
from rvae.paper.chains import select_part_rosetta
from rvae.rosetta_file import save_rosetta_points
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
p = sm.params
dataset = sm.wildcards.dataset
points = select_part_rosetta(
    load_prepared(Path(sm.input.x).parent), load_model(sm.input.model), read_embedding(sm.input.embedding),
    p.labels, p.k, p.seed, dataset, p.max_fraction, f"chains.{dataset}.k",
)  # fmt: skip
save_rosetta_points(points, sm.output[0])
logging.info(f"{len(points)} Rosetta points by k-means from the part with labels {p.labels}: {points.point_ids.tolist()}")
