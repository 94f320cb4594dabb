"""Convergence diagnostics of every seed of one retraining (spec, "Convergence diagnostics")."""

import logging

import pandas as pd

from rvae.atomic import atomic_path
from rvae.convergence import PlateauRule, diagnostics
from rvae.embeddings import read_embedding
from rvae.paper.experiment import training_latents
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
rule = PlateauRule(**sm.params.stopping)
rows = []
for seed, embedding, history in zip(sm.params.seeds, sm.input.embeddings, sm.input.histories):
    latents = training_latents(read_embedding(embedding), sm.wildcards.experiment)
    rows.append({"seed": seed, **diagnostics(pd.read_parquet(history).to_dict("records"), latents, rule)})
frame = pd.DataFrame(rows)
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(frame.to_string())
