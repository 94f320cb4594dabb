"""Train one seed block of VAE, beta-VAE, R-VAE or VAE (same seed) and embed every point, with
every seed's model and embedding at the half budget, floor(S/2), beside them."""

import json
import logging
import time
from pathlib import Path

from rvae.paper.experiment import retrain_block
from rvae.trainer import half_budget
from rvae.vocabulary import MODEL_HYPERPARAMETER
from rvae.workflow.script import finish, run_inputs, start, train_config, training_until, write_run

sm = snakemake  # noqa: F821
start(sm)
w = sm.wildcards
data, spec, points = run_inputs(sm)
training = training_until(sm, sm.params.training)
param = MODEL_HYPERPARAMETER.get(w.model_kind)
if param:
    chosen = sm.params.hyperparameter
    if chosen is None:  # chosen by a sweep
        chosen = json.loads(Path(sm.input.chosen).read_text())["value"]
    training[param] = float(chosen)
# checkpoint_every changes no result, so it is read from config rather than params (no rerun when edited)
half = half_budget(training["until"])
configs = [train_config(sm, training, seed=seed, snapshot_step=half) for seed in sm.params.training_seeds]
results = retrain_block(data, w.experiment, w.model_kind, points, spec, configs, sm.params.checkpoints, sm.params.mode)
out = sm.output[0]
writing = time.perf_counter()
for seed, role, config, run in zip(sm.params.seeds, sm.params.seed_roles, configs, results):
    write_run(out, seed, role, config.seed, run, half, data, points)
logging.info(f"outputs written: {len(results)} runs in {time.perf_counter() - writing:.3f} s")  # rvae.workflow.cost
for checkpoint in sm.params.checkpoints:
    Path(checkpoint).unlink(missing_ok=True)
finish()
