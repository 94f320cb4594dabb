"""Speed stages of the harness: step throughput by precision and compile, the fixed
cost of a training job, and time to plateau, each contender measured in the same run.

Time to plateau is what the workflow pays for a model it can trust: the default config's joint
template (the run whose plateau sets every model's budget, ``steps: auto``) trained on the
default's own data until the plateau rule fires, in CPU-seconds of this process (one torch
thread, as a workflow job has). "before" is today's trainer (fp32, eager, the config's batch);
"after" is the chosen settings. The validation negative ELBO at the plateau says whether the
faster run reached as good a model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
PLATEAU_DATASETS = ("mnist", "chairs", "birdsong")


def default_config(path: Path) -> dict:
    """The config with its defaults filled in (rvae.defaults, then the schema), as the workflow sees it."""
    from rvae.workflow.config_checks import validate_config

    config = yaml.safe_load(Path(path).read_text())
    validate_config(config)
    return config


def prepared(config: dict, name: str):
    from rvae.data import load_dataset
    from rvae.data.store import prepare

    settings = config["datasets"][name]
    raw = load_dataset(settings["kind"], settings.get("load", {}))
    return prepare(raw, config["split"]["train_fraction"], config["split"]["seed"], settings.get("max_points"))


def spec_of(config: dict, name: str, data):
    from rvae.paper.experiment import architecture

    return architecture(data, **config["datasets"][name]["architecture"])


def step_rates(spec, batch: int, seconds: float = 3.0) -> list[dict]:
    """Samples/s of the training step (loss, backward, Adam) per precision and compile, one thread;
    for compiled steps also the first step's time (compiling into an empty cache)."""
    from rvae.losses import batch_loss
    from rvae.models import build_vae
    from rvae.trainer import make_adam

    g = torch.Generator().manual_seed(0)
    x = torch.rand(batch, *spec.input_shape, generator=g)
    eps = torch.randn(batch, spec.latent_dim, generator=g)
    rows = []
    for precision in ("fp32", "bf16"):
        for compiled in (False, True):
            model = build_vae(spec, seed=0)
            optimizer = make_adam(model.parameters(), 1e-3)

            def loss(x, eps):
                return batch_loss(model, x, eps, 1.0, 10.0, precision=precision).total

            if compiled:  # a cache of its own, empty: the compile time below is the cold one
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="rvae-inductor-")
                torch._dynamo.reset()
            fn = torch.compile(loss) if compiled else loss

            def step():
                total = fn(x, eps)
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()

            start = time.perf_counter()
            step()
            first = time.perf_counter() - start
            for _ in range(2):
                step()
            start, n = time.perf_counter(), 0
            while time.perf_counter() - start < seconds:
                step()
                n += 1
            rows.append(
                {
                    "precision": precision,
                    "compile": compiled,
                    "samples_per_s": n * batch / (time.perf_counter() - start),
                    "compile_s": first if compiled else None,
                }
            )
    return rows


def time_to_plateau(config: dict, name: str, data, batch: int, precision: str, compile: str, memory_format: str = "auto") -> dict:
    """Train the dataset's joint template to the plateau rule's plateau; CPU-seconds and the result."""
    from rvae.convergence import PLATEAU, PlateauRule
    from rvae.workflow.params import plateau_rule
    from rvae.paper.experiment import train_template
    from rvae.seeds import role_seed
    from rvae.trainer import TrainConfig

    rule = PlateauRule(**plateau_rule(config, name))
    spec = spec_of(config, name, data)
    train = TrainConfig(
        until=PLATEAU, rule=rule, batch_size=batch, lr=config["optimizer"]["lr"], obs_precision=config["obs_precision"],
        seed=role_seed(config["root_seed"], f"template/{name}/joint"), threads=1, precision=precision, compile=compile,
        memory_format=memory_format,
    )  # fmt: skip
    cpu, wall = time.process_time(), time.perf_counter()
    _, history = train_template(data, "joint", spec, train)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    val = [row["val_neg_elbo"] for row in history]
    return {
        "dataset": name,
        "batch": batch,
        "precision": history[-1]["precision"],
        "compile": compile,
        "memory_format": history[-1]["memory_format"],  # resolved, as the precision
        "epochs": round(history[-1]["epoch"], 1),
        "capped": history[-1]["step"] >= rule.max_steps,
        "steps": history[-1]["step"],
        "cpu_s": cpu,
        "wall_s": wall,
        "val_at_plateau": float(np.min(val)),
        "val_best": float(np.min(val)),
        "val_curve": [float(v) for v in np.minimum.accumulate(val)],
    }


def cpu_to_reach(row: dict, target: float) -> float | None:
    """CPU-seconds until the smoothed validation curve first reaches ``target`` (per-epoch cost taken
    as constant), or None if it never does: the plateau's own epoch depends on the curve's noise, so
    this says how fast a contender gets as good as another's plateau."""
    curve = np.asarray(row["val_curve"])
    hit = np.flatnonzero(curve <= target)
    return None if not len(hit) else row["cpu_s"] * (hit[0] + 1) / len(curve)


def job_fixed_cost(config_path: Path, name: str) -> dict:
    """A training job's cost before its first epoch, in a fresh interpreter as Snakemake starts one:
    imports (the retrain script's), reading the prepared data, building the model, and the trainer
    (runtime settings and Adam, whose first construction imports torch's dynamo, about 1 s)."""
    with tempfile.TemporaryDirectory() as tmp:
        from rvae.data.store import save_prepared

        config = default_config(config_path)
        data = prepared(config, name)
        save_prepared(data, Path(tmp))
        code = f"""
import time, json
t0 = time.perf_counter()
import pandas, torch
from rvae.embeddings import write_embedding
from rvae.models import save_model
from rvae.paper.experiment import architecture, embed_all, retrain_block
from rvae.workflow.script import finish, run_inputs, start, train_config
t1 = time.perf_counter()
from rvae.data.store import load_prepared
data = load_prepared({str(tmp)!r})
t2 = time.perf_counter()
from rvae.models import build_vae
spec = architecture(data, **{config['datasets'][name]['architecture']!r})
model = build_vae(spec, seed=0)
t3 = time.perf_counter()
from rvae.trainer import TrainConfig, Trainer
trainer = Trainer(model, TrainConfig(until=1, batch_size=8, threads=1))
t4 = time.perf_counter()
print(json.dumps({{"imports_s": t1 - t0, "data_s": t2 - t1, "model_s": t3 - t2, "trainer_s": t4 - t3}}))
"""
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        total = time.perf_counter() - start
    return {"dataset": name, **json.loads(out.stdout.strip().splitlines()[-1]), "process_s": total}


def plateau_in_subprocess(args: list[str], env: dict) -> list[dict]:
    """Run this module's plateau stage in a child with ``env`` (e.g. oneDNN capped at AVX2)."""
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env={**os.environ, **env}, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def plateau_stage(config_path: Path, datasets, contenders: dict) -> list[dict]:
    """``contenders``: label -> {dataset: (batch, precision, compile, memory_format)}; every contender per dataset."""
    config = default_config(config_path)
    rows = []
    for name in datasets:
        data = prepared(config, name)
        for label, per_dataset in contenders.items():
            if name not in per_dataset:
                continue
            batch, precision, compile, memory_format = per_dataset[name]
            row = time_to_plateau(config, name, data, batch, precision, compile, memory_format)
            rows.append({"contender": label, **row})
            shown = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items() if k != "val_curve"}
            print(shown, file=sys.stderr, flush=True)
    return rows


if __name__ == "__main__":  # the child of plateau_in_subprocess: argv = config, datasets, contenders (JSON)
    from rvae.device import configure_runtime

    configure_runtime(threads=1, deterministic=True)
    config_path, datasets, contenders = sys.argv[1], sys.argv[2].split(","), json.loads(sys.argv[3])
    print(json.dumps(plateau_stage(Path(config_path), datasets, contenders)))


SWEEP_JOB = """
import sys, time, json
t0 = time.perf_counter()
import numpy as np, torch
from rvae.data import load_dataset
from rvae.data.store import prepare, take_rows
from rvae.device import configure_runtime
from rvae.ensemble import fit_block
from rvae.inference import evaluate
from rvae.losses import RosettaLoss
from rvae.paper.experiment import architecture
from rvae.trainer import TrainConfig
configure_runtime(1, True)
args = json.loads(sys.argv[1])
settings = args["settings"]
data = prepare(load_dataset(settings["kind"], settings["load"]), 0.6, 0, settings.get("max_points"))
spec = architecture(data, **settings["architecture"])
x_train, x_val = take_rows(data, data.rows("D1", "train")), take_rows(data, data.rows("D1", "val"))
g = torch.Generator().manual_seed(0)
anchors = None
if args["param"] == "rho":  # timing only: 8 training points as anchors, latents drawn at random
    pick = torch.randperm(len(x_train), generator=g)[:8]
    anchors = RosettaLoss(x_train[pick], torch.randn(8, spec.latent_dim, generator=g))
else:
    x_train = torch.cat([x_train, x_train[:8]])  # the beta-VAE's n + R points
batch = settings["training"]["batch_size"]
configs = [TrainConfig(until=args["epochs"] * -(-len(x_train) // batch), batch_size=batch, seed=100 + i, threads=1,
                       **{args["param"]: float(v)}) for i, v in enumerate(args["values"])]
t1 = time.perf_counter()
trained = fit_block(spec, configs, x_train, x_val, anchors, [None] * len(configs), "auto")
scores = [evaluate(m, x_val, anchors, 10.0, seed=c.seed)["selection_score"] for c, (m, *_) in zip(configs, trained)]
print(json.dumps({"setup_s": t1 - t0, "train_s": time.perf_counter() - t1, "scores": scores}))
"""


def sweep_stage(paper_config: Path, dataset: str = "gaussians") -> list[dict]:
    """The paper's beta (11) and rho (21) grids on the dataset at the paper's size, 20 epochs each:
    one process per candidate (what one job per candidate costs, interpreter start included,
    Snakemake's own scheduling not) against one process for the whole grid (the `sweep` job)."""
    config = default_config(paper_config)
    settings = config["datasets"][dataset]
    rows = []
    for param in ("beta", "rho"):
        grid = config["hyperparameters"][param]["grid"]
        epochs = config["hyperparameters"][param]["epochs"]

        def job(values):
            args = json.dumps({"settings": settings, "param": param, "values": values, "epochs": epochs})
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", SWEEP_JOB, args], capture_output=True, text=True, check=True)
            return time.perf_counter() - start, json.loads(out.stdout.strip().splitlines()[-1])

        singles = [job([v])[0] for v in grid[:3]]  # three candidates alone; the rest cost the same
        per_candidate = float(np.median(singles))
        grid_s, result = job(list(grid))
        rows.append({"dataset": dataset, "param": param, "candidates": len(grid), "epochs": epochs,
                     "one_job_s": per_candidate, "per_candidate_total_s": per_candidate * len(grid),
                     "grid_job_s": grid_s, "grid_setup_s": result["setup_s"], "speedup": per_candidate * len(grid) / grid_s})  # fmt: skip
        print(rows[-1], flush=True)
    return rows
