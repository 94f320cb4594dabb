"""The training budget's record: the step at which the joint template's validation curve plateaued
(`steps: auto`), or its cap where it found none (a capped dataset), or its fixed steps and whether
its curve was flat there; and how the budget stands to the paper's passes."""

import json
import logging

import pandas as pd

from rvae.atomic import atomic_path
from rvae.convergence import PlateauRule, budget
from rvae.paper.plan import paper_budget
from rvae.trainer import steps_for_passes
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
rule = PlateauRule(**sm.params.rule)
points = pd.read_parquet(sm.input.points, columns=["split"])
n_joint = int((points["split"] == "train").sum())
paper_steps = steps_for_passes(sm.params.passes, n_joint, sm.params.batch_size)
choice = budget(pd.read_parquet(sm.input.history).to_dict("records"), rule, sm.params.steps)
choice = paper_budget(choice, paper_steps, sm.params.passes)
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(choice, indent=2))
if choice["converged"] and choice["source"] == "fixed":
    logging.info(f"{sm.wildcards.dataset}: the joint template's curve is flat after its fixed {choice['steps']} steps")
elif choice["converged"]:
    logging.info(f"{sm.wildcards.dataset}: the joint template plateaued at step {choice['steps']}")
elif choice["source"] == "fixed":
    logging.warning(
        f"{sm.wildcards.dataset}: NOT CONVERGED: the joint template's curve is not flat after its fixed {choice['steps']} steps; "
        f"every cell of this dataset will say so"
    )
else:
    logging.warning(
        f"{sm.wildcards.dataset}: CAPPED: the joint template reached plateau.max_steps = {rule.max_steps} "
        f"without a plateau ({choice['steps'] / paper_steps:.2f} of the paper's {sm.params.passes} passes); every cell "
        f"of this dataset says not converged, and its claims are decided by the half-budget check"
    )
if choice["below_paper_passes"]:
    key = f"datasets.{sm.wildcards.dataset}.training.steps" if choice["source"] == "fixed" else "its plateau.max_steps"
    logging.warning(
        f"{sm.wildcards.dataset}: {choice['steps']} steps ({key}) are below the paper's {sm.params.passes} passes over its "
        f"{n_joint} joint training points ({paper_steps} steps): every claim on it is not comparable"
    )
