"""Train one model of a chain on its part (Alice's template, or one hop's run of one seed) and embed every point."""

import json
from pathlib import Path

import pandas as pd

from rvae.data.store import load_prepared
from rvae.embeddings import write_embedding
from rvae.models import save_model
from rvae.paper.chains import PLAIN, check_parts, train_chain_run
from rvae.paper.experiment import architecture, embed_all
from rvae.rosetta_file import load_rosetta_points
from rvae.workflow.script import finish, start, train_config, training_until

sm = snakemake  # noqa: F821
start(sm)
p = sm.params
data = load_prepared(Path(sm.input.x).parent)
# Bob's and Carol's jobs check the whole chain; Alice's, the first to run, her part only
check_parts(data.points, p.chain["parts"] if p.chain else [p.labels], f"chains.{sm.wildcards.dataset}", p.chain and p.chain["k"], p.max_fraction)
spec = architecture(data, **p.architecture)
anchor_files = getattr(sm.input, "anchors", [])
anchors = [load_rosetta_points(path, spec.input_shape, spec.latent_dim) for path in ([anchor_files] if isinstance(anchor_files, str) else anchor_files)]
plain = p.run in (None, PLAIN)
training = training_until(sm, p.training)
if not plain:  # an R-VAE: the sequential experiment's rho, fixed or chosen by its sweep
    training["rho"] = float(p.rho if p.rho is not None else json.loads(Path(sm.input.chosen).read_text())["value"])
config = train_config(sm, training)
model, history = train_chain_run(data, p.labels, spec, config, anchors, plain, p.checkpoint)
ids = [i for points in anchors for i in points.point_ids]
save_model(model, sm.output.model, {"history": history, "seed": config.seed, "lab": p.lab, "run": p.run})
write_embedding(embed_all(model, data, ids), sm.output.embedding)
pd.DataFrame(history).to_parquet(sm.output.history, index=False)
Path(p.checkpoint).unlink(missing_ok=True)
finish()
