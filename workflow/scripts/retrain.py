"""Train one seed of VAE, beta-VAE, R-VAE or VAE (same seed) and embed every point."""

import json
from pathlib import Path

import pandas as pd

from rvae.embeddings import write_embedding
from rvae.experiment import embed_all, retrain
from rvae.models import save_model
from rvae.trainer import TrainConfig
from rvae.workflow_support import run_inputs, start

sm = snakemake  # noqa: F821
log = start(sm)
w = sm.wildcards
data, spec, rosetta = run_inputs(sm)
training = dict(sm.params.training)
name = {"beta_vae": "beta", "rvae": "rho"}.get(w.model)
if name:
    chosen = sm.params.hyperparameter
    if chosen is None:  # chosen by a sweep
        chosen = json.loads(Path(sm.input.chosen).read_text())["value"]
    training[name] = float(chosen)
# checkpoint_every changes no result, so it is read from config rather than params (no rerun when edited)
config = TrainConfig(**training, threads=sm.threads, checkpoint_every=sm.config["checkpoint_every"])
model, history = retrain(data, w.experiment, w.model, rosetta, spec, config, sm.params.checkpoint, log)
save_model(model, sm.output.model, {"history": history})
write_embedding(embed_all(model, data, rosetta.point_ids), sm.output.embedding)
pd.DataFrame(history).to_parquet(sm.output.history, index=False)
Path(sm.params.checkpoint).unlink(missing_ok=True)
