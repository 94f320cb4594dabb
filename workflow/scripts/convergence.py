"""Convergence diagnostics of every seed of one retraining (spec, "Training budget", item 4).

``budget_converged`` says whether the budget the runs trained was a plateau's: under ``steps: auto``
a joint template that reached max_steps leaves every run of its dataset short of one."""

import json
import logging
from pathlib import Path

import pandas as pd

from rvae.atomic import atomic_path
from rvae.convergence import PlateauRule, diagnostics
from rvae.embeddings import read_embedding
from rvae.paper.experiment import training_latents
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
rule = PlateauRule(**sm.params.rule)
budget_converged = json.loads(Path(sm.input.budget).read_text())["converged"] if hasattr(sm.input, "budget") else True
rows = []
for seed, embedding, history in zip(sm.params.seeds, sm.input.embeddings, sm.input.histories):
    latents = training_latents(read_embedding(embedding), sm.wildcards.experiment)
    report = diagnostics(pd.read_parquet(history).to_dict("records"), latents, rule)
    rows.append({"seed": seed, **report, "budget_converged": bool(budget_converged)})
frame = pd.DataFrame(rows)
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(frame.to_string())
