"""Was the joint template's plateau the end of learning, or a flat stretch?

Retrains a dataset's joint template exactly as the workflow did (its seed role, config and
prepared data from a run's ``results/``; the first E epochs must replay the run's history bit for
bit, which the script checks) and goes on past the rule's plateau E, printing the smoothed
validation negative ELBO every 20 epochs. A curve that keeps falling well past E means the rule
stopped on a shoulder, and every comparison model of the dataset trained for too few epochs.

    .venv/bin/python benchmarks/past_plateau.py birdsong --epochs 200 [--results results]

It also says where the rule would have fired on the longer curve with a window of 2x and 3x the
config's (the cost of a plateau definition that does not stop on a brief flat stretch).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from plateau import ROOT, default_config  # noqa: E402

from rvae.convergence import PlateauRule, ema, plateau_epoch  # noqa: E402
from rvae.data.store import load_prepared  # noqa: E402
from rvae.paper.experiment import architecture, train_template  # noqa: E402
from rvae.trainer import TrainConfig  # noqa: E402
from rvae.workflow import params  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--config", default=str(ROOT / "config/config.yaml"))
    parser.add_argument("--results", default=str(ROOT / "results"), help="the run whose template to continue")
    args = parser.parse_args(argv)
    config = default_config(Path(args.config))
    results = Path(args.results)
    run = pd.read_parquet(results / "history" / "templates" / args.dataset / "joint.parquet")["val_neg_elbo"].to_numpy()
    e = len(run)
    if args.epochs <= e:
        parser.error(f"--epochs must exceed the run's plateau E = {e}")
    data = load_prepared(results / "data" / args.dataset)
    spec = architecture(data, **config["datasets"][args.dataset]["architecture"])
    seed = params.seed_of(config, params.template_role(args.dataset, "joint"))
    training = {**params.training_params(config, args.dataset, seed), "epochs": args.epochs}
    _, history = train_template(data, "joint", spec, TrainConfig(**training, threads=1))
    val = np.array([r["val_neg_elbo"] for r in history])
    smoothed = ema(val, config["stopping"]["alpha"])
    if not np.array_equal(val[:e], run):
        print(f"the first {e} epochs do not replay {args.results}'s joint template (other code, config or machine)")
        return 1
    print(f"{args.dataset}: the rule's plateau E = {e}; smoothed validation -ELBO {smoothed[e - 1]:.1f} there")
    for epoch in range(e + 20, args.epochs + 1, 20):
        change = (smoothed[epoch - 1] - smoothed[e - 1]) / smoothed[e - 1]
        print(f"  epoch {epoch}: {smoothed[epoch - 1]:.1f} ({change:+.1%} against E)")
    print(f"  lowest raw value {val.min():.1f} at epoch {int(val.argmin()) + 1}")
    # where the rule would have stopped with a longer window (the spec's default is 10): the cost
    # of a definition that does not stop on a brief flat stretch
    base = PlateauRule(**params.stopping_params(config, args.dataset))
    for window in (base.window, 2 * base.window, 3 * base.window):
        rule = replace(base, window=window, max_epochs=len(val))
        fired = plateau_epoch(val, rule)
        where = f"epoch {fired}, smoothed {smoothed[fired - 1]:.1f}" if fired else f"not within {len(val)} epochs"
        print(f"  window {window}: the rule fires at {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
