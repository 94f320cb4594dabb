"""Today's seed blocks against one pool: every MLP run of the default's 8 Gaussians, timed.

    .venv/bin/python benchmarks/pool.py [--steps 400] [--repeats 2]

The runs are the default config's (config/config.yaml): every retraining its tables need on the 8
Gaussians, times ``n_seeds``, each on its own training set (``rvae.paper.experiment.training_set``:
the R-VAE on the partition's train split with its k anchors, the others on the split plus the R
points) with its validation split, at the default's batch size and plateau rule (validation every
``eval_every`` steps). The anchors are the split's first k points with random latents (timing only:
what they are does not change the arithmetic). Contenders, one thread each, back to back,
alternating, best of ``--repeats``:

- blocks: one ``rvae.paper.experiment.retrain_block`` per retraining and seed block, as the
  ``retrain`` jobs train them today (vmap blocks; "VAE (same seed)" as a loop);
- pool: one ``rvae.pool.fit_pool`` over every run.

Prints ms per step (the sum over every block for one step of every run) and seconds per run at the
default's full budget (``--budget`` steps: 17,100 at ``2fa0418``), by proportion from the steps
timed. Training only: the jobs' start-up and writing are in ``benchmarks/default_cost.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from plateau import ROOT, default_config, prepared, spec_of  # noqa: E402

from rvae.convergence import PlateauRule  # noqa: E402
from rvae.paper.experiment import TRAIN_PARTITION, retrain_block, training_set  # noqa: E402
from rvae.paper.plan import all_retrainings, hyperparameter  # noqa: E402
from rvae.pool import PoolMember, fit_pool  # noqa: E402
from rvae.rosetta_file import RosettaPoints  # noqa: E402
from rvae.trainer import TrainConfig  # noqa: E402
from rvae.workflow.params import plateau_rule  # noqa: E402


def runs(config: dict, dataset: str, steps: int):
    """(retraining, points, configs) per retraining of ``dataset``: its ``n_seeds`` runs."""
    data = prepared(config, dataset)
    spec = spec_of(config, dataset, data)
    batch = config["datasets"][dataset]["training"]["batch_size"]
    rule = PlateauRule(**plateau_rule(config, dataset))
    beta = float(hyperparameter(config, dataset, "beta").get("value", 2.5))
    rho = float(hyperparameter(config, dataset, "rho").get("value", 1.5))
    out = []
    for r in all_retrainings(config["tables"]):
        if r.dataset != dataset:
            continue
        rows = data.rows(TRAIN_PARTITION[r.experiment], "train")[: r.k]
        g = torch.Generator().manual_seed(r.k)
        points = RosettaPoints.create(data.x[rows], torch.randn(r.k, spec.latent_dim, generator=g).numpy(), [int(i) for i in rows], dataset, r.method)
        extra = {"beta_vae": {"beta": beta}, "rvae": {"rho": rho}}.get(r.model_kind, {})
        seeds = [0] * config["n_seeds"] if r.model_kind == "vae_same_seed" else range(config["n_seeds"])
        configs = [TrainConfig(until=steps, batch_size=batch, seed=1000 * len(out) + s, rule=rule, threads=1, checkpoint_every=10**9, snapshot_step=steps // 2, **extra) for s in seeds]
        out.append((r, points, configs))
    return data, spec, out


def blocks(data, spec, retrainings, block_size: int) -> float:
    start = time.perf_counter()
    for r, points, configs in retrainings:
        for first in range(0, len(configs), block_size):
            part = configs[first : first + block_size]
            retrain_block(data, r.experiment, r.model_kind, points, spec, part, [None] * len(part))
    return time.perf_counter() - start


def pool(data, spec, retrainings) -> float:
    members = []
    for r, points, configs in retrainings:
        x_train, x_val, rosetta = training_set(data, r.experiment, r.model_kind, points)
        members += [PoolMember(c, x_train, x_val, rosetta) for c in configs]
    start = time.perf_counter()
    fit_pool(spec, members)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "config/config.yaml"))
    parser.add_argument("--dataset", default="gaussians")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--budget", type=int, default=17_100, help="the full budget the per-run seconds are scaled to")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    config = default_config(Path(args.config))
    data, spec, retrainings = runs(config, args.dataset, args.steps)
    n_runs = sum(len(c) for _, _, c in retrainings)
    size = config["seed_block"]["size"]
    n_blocks = sum(-(-len(c) // size) for _, _, c in retrainings)
    pool(data, spec, retrainings[:2])  # warm-up: first-call costs of both paths
    blocks(data, spec, retrainings[:2], size)
    best = {"blocks": float("inf"), "pool": float("inf")}
    for _ in range(args.repeats):
        best["blocks"] = min(best["blocks"], blocks(data, spec, retrainings, size))
        best["pool"] = min(best["pool"], pool(data, spec, retrainings))
        print({k: round(v, 2) for k, v in best.items()}, flush=True)
    print(f"{args.dataset}: {len(retrainings)} retrainings, {n_runs} runs ({n_blocks} seed blocks of at most {size}), {args.steps} steps each, one thread, best of {args.repeats}")
    for name, seconds in best.items():
        print(f"{name:6s}: {seconds:7.2f} s, {1000 * seconds / args.steps:7.1f} ms per step of every run, "
              f"{seconds / n_runs * args.budget / args.steps:7.1f} s per run at {args.budget:,} steps")  # fmt: skip
    print(f"pool / blocks: {best['blocks'] / best['pool']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
