"""Convergence diagnostics of every seed of one retraining (spec, "Training budget", item 4).

``budget_converged`` says whether the budget the runs trained was enough for the joint template:
under ``steps: auto`` one that reached max_steps, under a fixed budget one whose curve was not flat
at its end, leaves every run of its dataset short of a plateau."""

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
record = json.loads(Path(sm.input.budget).read_text())
rows = []
for seed, embedding, history in zip(sm.params.seeds, sm.input.embeddings, sm.input.histories):
    latents = training_latents(read_embedding(embedding), sm.wildcards.experiment)
    report = diagnostics(pd.read_parquet(history).to_dict("records"), latents, rule)
    rows.append({"seed": seed, **report, "budget_converged": bool(record["converged"]), "budget_source": record["source"], "budget_judged": bool(record.get("judged", True))})
frame = pd.DataFrame(rows)
with atomic_path(sm.output[0]) as tmp:
    frame.to_parquet(tmp, index=False)
logging.info(frame.to_string())
