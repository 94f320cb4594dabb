"""Convergence diagnostics of every seed of one retraining (spec, "Training budget", item 4), at
both budgets: after S steps and at floor(S/2), each judged on its own curve (the history up to
its last step) and its own embedding.

``budget_converged`` says whether the budget the runs trained was enough for the joint template:
under ``steps: auto`` one that reached max_steps (a capped dataset), under a fixed budget one whose
curve was not flat at its end, leaves every run of its dataset short of a plateau;
``budget_below_paper_passes`` that the budget was set below the paper's passes (its claims are not
comparable)."""

import json
import logging
from pathlib import Path

import pandas as pd

from rvae.atomic import atomic_path
from rvae.convergence import PlateauRule, diagnostics
from rvae.embeddings import read_embedding
from rvae.paper.experiment import training_latents
from rvae.trainer import half_budget
from rvae.workflow.script import by_budget, start, training_until

sm = snakemake  # noqa: F821
start(sm)
rule = PlateauRule(**sm.params.rule)
record = json.loads(Path(sm.input.budget).read_text())
until = training_until(sm, sm.params.training)["until"]
budget_columns = {
    "budget_converged": bool(record["converged"]),
    "budget_source": record["source"],
    "budget_judged": bool(record.get("judged", True)),
    "budget_capped": bool(record.get("capped", False)),
    "budget_below_paper_passes": bool(record.get("below_paper_passes", False)),
}
steps = {"full": until, "half": half_budget(until)}
histories = {path: pd.read_parquet(path).to_dict("records") for path in sm.input.histories}  # read once, judged at both budgets
for budget, embeddings, out in by_budget(sm, "embeddings"):
    rows = []
    for seed, embedding, history in zip(sm.params.seeds, embeddings, sm.input.histories):
        rows_until = [r for r in histories[history] if r["step"] <= steps[budget]]
        if not rows_until or rows_until[-1]["step"] != steps[budget]:
            raise ValueError(f"{history}: no history row at step {steps[budget]}, the {budget} budget")
        latents = training_latents(read_embedding(embedding), sm.wildcards.experiment)
        rows.append({"seed": seed, **diagnostics(rows_until, latents, rule), **budget_columns})
    frame = pd.DataFrame(rows)
    with atomic_path(out) as tmp:
        frame.to_parquet(tmp, index=False)
    logging.info(f"{budget} budget ({steps[budget]} steps):\n" + frame.to_string())
