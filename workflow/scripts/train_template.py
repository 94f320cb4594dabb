"""Train the joint or D1 template VAE and embed every point with it."""

import logging
import time
from pathlib import Path

import pandas as pd

from rvae.data.store import load_prepared
from rvae.embeddings import write_embedding
from rvae.models import save_model
from rvae.paper.experiment import architecture, embed_all, train_template
from rvae.workflow.script import finish, start, train_config, training_until

sm = snakemake  # noqa: F821
start(sm)
data = load_prepared(Path(sm.input.x).parent)
spec = architecture(data, **sm.params.architecture)
config = train_config(sm, training_until(sm, sm.params.training, joint=sm.wildcards.which == "joint"))
model, history = train_template(data, sm.wildcards.which, spec, config, sm.params.checkpoint)
writing = time.perf_counter()
save_model(model, sm.output.model, {"history": history, "seed": config.seed, "seed_role": sm.params.seed_role})
write_embedding(embed_all(model, data), sm.output.embedding)
pd.DataFrame(history).to_parquet(sm.output.history, index=False)
logging.info(f"outputs written: 1 run in {time.perf_counter() - writing:.3f} s")  # rvae.workflow.cost
Path(sm.params.checkpoint).unlink(missing_ok=True)
finish()
