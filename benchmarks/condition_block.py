"""What would vmapping the models of a condition together save? (keep what pays)

Today a retraining job is one model kind's seed block: on 8 Gaussians (MLP, vmapped) the VAE,
beta-VAE and R-VAE of one condition are three jobs of M = 3 slots each. One job per condition
would be one block of 3 x M slots. This times the vmapped step for blocks of M and of 3 x M
slots on the default config's 8 Gaussians (R-VAE loss with k = 8 anchors in every slot, so the
larger block is if anything overcharged), one thread, and prints the per-epoch seconds of each.

    .venv/bin/python benchmarks/condition_block.py [--epochs 20] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from plateau import ROOT, default_config, prepared, spec_of  # noqa: E402

from rvae.ensemble import SeedBlockTrainer  # noqa: E402
from rvae.losses import RosettaLoss  # noqa: E402
from rvae.models import build_vae  # noqa: E402
from rvae.trainer import TrainConfig  # noqa: E402


def seconds_per_epoch(spec, x_train, x_val, anchors, slots: int, epochs: int, batch: int) -> float:
    configs = [TrainConfig(epochs=epochs, batch_size=batch, seed=s, rho=1.5, threads=1, checkpoint_every=10**6) for s in range(slots)]
    trainer = SeedBlockTrainer([build_vae(spec, seed=s) for s in range(slots)], configs)
    start = time.perf_counter()
    trainer.fit(x_train, rosetta=anchors, x_val=x_val)
    return (time.perf_counter() - start) / epochs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "config/config.yaml"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    config = default_config(Path(args.config))
    data = prepared(config, "gaussians")
    spec = spec_of(config, "gaussians", data)
    from rvae.data.store import take_rows

    x_train = take_rows(data, data.rows("D1", "train"))
    x_val = take_rows(data, data.rows("D1", "val"))
    anchors = RosettaLoss(x_train[:8], torch.zeros(8, spec.latent_dim))
    batch = config["datasets"]["gaussians"]["training"]["batch_size"]
    m = config["n_seeds"]
    seconds_per_epoch(spec, x_train, x_val, anchors, m, 1, batch)  # warm-up: first-call costs
    # alternate the two sizes and keep each one's best of --repeats
    small, large = float("inf"), float("inf")
    for _ in range(args.repeats):
        small = min(small, seconds_per_epoch(spec, x_train, x_val, anchors, m, args.epochs, batch))
        large = min(large, seconds_per_epoch(spec, x_train, x_val, anchors, 3 * m, args.epochs, batch))
    print(f"8 Gaussians, D1 train {len(x_train)} points, batch {batch}, {args.epochs} epochs, one thread, best of {args.repeats}")
    print(f"block of {m} slots (one model kind):  {small:.3f} s per epoch")
    print(f"block of {3 * m} slots (a condition):   {large:.3f} s per epoch")
    print(f"three blocks of {m} vs one of {3 * m}: {3 * small / large:.2f}x the training time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
