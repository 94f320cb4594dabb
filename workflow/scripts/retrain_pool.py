"""Train every run of one pool (an MLP dataset's retrainings, all seeds, rvae.pool) and embed every
point with each, at the full and the half budget, into one folder laid out per retraining."""

import json
import logging
import time
from pathlib import Path

from rvae.data.store import load_prepared
from rvae.paper.experiment import architecture, pool_member
from rvae.pool import fit_pool
from rvae.rosetta_file import load_rosetta_points
from rvae.trainer import half_budget
from rvae.vocabulary import MODEL_HYPERPARAMETER
from rvae.workflow.paths import pool_member_dir
from rvae.workflow.script import finish, start, train_config, training_until, write_run

sm = snakemake  # noqa: F821
start(sm)
data = load_prepared(Path(sm.input.x).parent)
spec = architecture(data, **sm.params.architecture)
training = training_until(sm, sm.params.training)
half = half_budget(training["until"])
points, members = {}, []
for m in sm.params.members:
    if m["rosetta"] not in points:
        points[m["rosetta"]] = load_rosetta_points(m["rosetta"], spec.input_shape, spec.latent_dim)
    run = dict(training)
    param = MODEL_HYPERPARAMETER.get(m["model_kind"])
    if param:  # fixed in config, or chosen by a sweep
        value = m["hyperparameter"] if m["hyperparameter"] is not None else json.loads(Path(m["chosen"]).read_text())["value"]
        run[param] = float(value)
    # checkpoint_every changes no result, so it is read from config rather than params (no rerun when edited)
    config = train_config(sm, run, seed=m["training_seed"], snapshot_step=half)
    members.append(pool_member(data, m["experiment"], m["model_kind"], points[m["rosetta"]], spec, config, m["checkpoint"]))
results = fit_pool(spec, members)
writing = time.perf_counter()
for m, result in zip(sm.params.members, results):
    write_run(pool_member_dir(sm.output[0], m["retraining"]), m["seed"], m["seed_role"], m["training_seed"], result, half, data, points[m["rosetta"]])
logging.info(f"outputs written: {len(results)} runs in {time.perf_counter() - writing:.3f} s")  # rvae.workflow.cost
# the final checkpoints stay: a rerun of the pool (a new condition, a new seed) reads these runs back
finish()
