"""Do the retraining sets' own runs plateau within the epochs the joint template gives them?

The stopping rule (spec, "The stopping rule") trains the joint template on D1 + D2 to its
validation plateau and gives every other model that epoch count E. Retraining runs learn D1
(reproducibility) or D2 (sequential) alone: about half the data, so half the steps per epoch.
This trains plain VAEs (beta = 1, no Rosetta inputs appended) on each partition with the default
config's architecture, batch, precision and learning rate, at least E epochs and on to their own
plateau by the same rule (or the cap), and reports their validation loss at that plateau, at E and
at the last epoch. They illustrate the partitions' learning curves; they are not a replay of the
workflow's runs, whose per-run plateau epochs are in ``results/metrics/convergence``. A plateau
well after E means such runs are cut short; one well before E at a much higher loss than at E is
a shoulder the rule read as flat.

    .venv/bin/python benchmarks/own_plateau.py [--epochs-from results/epochs] [--seeds 2]

E comes from a default run's ``results/epochs/<dataset>.json`` (the joint template's choice).
Each run has a seed role of its own (``benchmark/own_plateau/<dataset>/<partition>/<i>``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plateau import ROOT, default_config, prepared, spec_of  # noqa: E402

from rvae.convergence import PlateauRule, plateau_epoch, stop_at_plateau  # noqa: E402
from rvae.data.store import take_rows  # noqa: E402
from rvae.trainer import TrainConfig, train_vae  # noqa: E402
from rvae.workflow import params  # noqa: E402

DATASETS = ("gaussians", "mnist", "birdsong", "chairs")


def own_plateaus(config: dict, name: str, epochs: int, seeds: int) -> list[dict]:
    data = prepared(config, name)
    spec = spec_of(config, name, data)
    rule = PlateauRule(**params.stopping_params(config, name))
    rows = []
    for partition in ("D1", "D2"):
        x_train = take_rows(data, data.rows(partition, "train"))
        x_val = take_rows(data, data.rows(partition, "val"))
        for i in range(seeds):
            # the workflow's own training settings (params.training_params), a seed role of its own
            seed = params.seed_of(config, f"benchmark/own_plateau/{name}/{partition}/{i}")
            train = TrainConfig(**{**params.training_params(config, name, seed), "epochs": rule.max_epochs}, threads=1)
            start = time.process_time()
            # train at least E epochs, so the loss at E is known even when the rule fires earlier
            plateaued = stop_at_plateau(rule)
            _, history = train_vae(spec, train, x_train, x_val, None, None, lambda h: len(h) >= epochs and plateaued(h))
            cpu = time.process_time() - start
            val = [r["val_neg_elbo"] for r in history]
            reached = plateau_epoch(val, rule)
            rows.append(
                {
                    "dataset": name,
                    "partition": partition,
                    "run": i,
                    "n_train": len(x_train),
                    "E": epochs,
                    "own_plateau": reached,
                    "within_E": reached is not None and reached <= epochs,
                    "val_at_E": val[min(epochs, len(val)) - 1],
                    "val_at_own_plateau": val[reached - 1] if reached else float("nan"),
                    "val_last": val[-1],
                    "epochs_run": len(val),
                    "cap": rule.max_epochs,
                    "precision": history[-1]["precision"],
                    "cpu_s": round(cpu, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(rows: list[dict]) -> str:
    head = "| dataset | partition | run | n train | E | own plateau | within E | val at own plateau | val at E | epochs run | val last | CPU s |"
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        own = r["own_plateau"] if r["own_plateau"] is not None else f"none by {r['cap']}"
        lines.append(
            f"| {r['dataset']} | {r['partition']} | {r['run']} | {r['n_train']} | {r['E']} | {own} | "
            f"{'yes' if r['within_E'] else 'no'} | {r['val_at_own_plateau']:.1f} | {r['val_at_E']:.1f} | {r['epochs_run']} | "
            f"{r['val_last']:.1f} | {r['cpu_s']} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default=str(ROOT / "config/config.yaml"))
    parser.add_argument("--epochs-from", default=str(ROOT / "results/epochs"), help="a default run's results/epochs")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", type=int, default=2, help="runs per partition")
    args = parser.parse_args(argv)
    config = default_config(Path(args.config))
    rows = []
    for name in args.datasets:
        chosen = Path(args.epochs_from) / f"{name}.json"
        if not chosen.exists():
            parser.error(f"{chosen} is missing: run the default workflow (or its templates) first")
        rows += own_plateaus(config, name, json.loads(chosen.read_text())["epochs"], args.seeds)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
