"""Recorded validation curves, long, on the step grid: the evidence the plateau rule's defaults rest on.

For one dataset of a config, trains the joint template exactly as the workflow does (its seed
role and training settings) and plain VAEs on the D1 and D2 train splits (seed roles
``benchmark/own_plateau/<dataset>/<partition>/<i>``, the runs that showed shoulders before), each
for a fixed number of steps without stopping, and writes every run's curve (step, training loss,
validation negative ELBO, KL) to ``benchmarks/curves/<dataset>.csv``. Then, for the rule given by
the config (or ``--rule key=value ...``), prints where it fires on each curve, the validation loss
there and at the end, and how much lower the curve went after the rule fired.

    .venv/bin/python benchmarks/curves.py birdsong --steps 3000 --seeds 2 [--eval-every 10]
    .venv/bin/python benchmarks/curves.py birdsong --replay [--rule patience=0.3 tol=0.005]
    .venv/bin/python benchmarks/curves.py --scan gaussians mnist birdsong

``--scan`` replays every recorded curve of the named datasets under a grid of rules (min_window,
patience, tol; min_steps 400, eval_every 20) and prints where each fires and, per rule, the most
any curve fell after the rule fired on it (a stop on a stair, not the end, when that is large).

``--replay`` reads the CSV instead of training. Say which CPU made a CSV (``lscpu``): curves on
other kernel paths differ in rounding, and bf16 runs (``precision: auto`` on AVX-512-bf16) differ
more.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from plateau import ROOT, default_config, prepared, spec_of  # noqa: E402

from rvae.convergence import PlateauRule, plateau_step  # noqa: E402
from rvae.data.store import take_rows  # noqa: E402
from rvae.trainer import TrainConfig, train_vae  # noqa: E402
from rvae import seeds  # noqa: E402
from rvae.workflow import params  # noqa: E402

OUT = ROOT / "benchmarks" / "curves"


def record(config: dict, name: str, steps: int, seeds: int, eval_every: int | None) -> pd.DataFrame:
    data = prepared(config, name)
    spec = spec_of(config, name, data)
    rule = params.plateau_rule(config, name)
    if eval_every:
        rule = {**rule, "eval_every": eval_every}
    runs = [("joint", ["D1", "D2"], params.seed_of(config, seeds.template_role(name, "joint")))]
    runs += [
        (f"{p}-{i}", [p], params.seed_of(config, f"benchmark/own_plateau/{name}/{p}/{i}")) for p in ("D1", "D2") for i in range(seeds)
    ]
    frames = []
    for run, partitions, seed in runs:
        x_train = take_rows(data, np.concatenate([data.rows(p, "train") for p in partitions]))
        x_val = take_rows(data, np.concatenate([data.rows(p, "val") for p in partitions]))
        training = {k: v for k, v in params.training_params(config, name, seed).items() if k not in ("steps", "budget_factor")}
        train = TrainConfig(**{**training, "rule": {**rule, "max_steps": max(steps, rule["max_steps"])}, "until": steps}, threads=1)
        start = time.process_time()
        _, history = train_vae(spec, train, x_train, x_val)
        frame = pd.DataFrame(history)[["step", "epoch", "loss", "val_neg_elbo", "val_kl", "precision"]]
        frames.append(frame.assign(dataset=name, run=run, n_train=len(x_train), cpu_s=round(time.process_time() - start, 1)))
        print(f"{name} {run}: {len(x_train)} points, {steps} steps, {frames[-1]['cpu_s'].iloc[0]} CPU s", flush=True)
    return pd.concat(frames, ignore_index=True)


def replay(curves: pd.DataFrame, rule: PlateauRule) -> pd.DataFrame:
    rows = []
    for run, curve in curves.groupby("run", sort=False):
        steps, val = curve["step"].to_numpy(), curve["val_neg_elbo"].to_numpy()
        fired = plateau_step(steps, val, rule, cap=int(steps[-1]))
        best = np.minimum.accumulate(val)
        at = best[np.searchsorted(steps, fired)] if fired else np.nan
        rows.append(
            {
                "run": run,
                "n_train": int(curve["n_train"].iloc[0]),
                "steps": int(steps[-1]),
                "rule fires at": fired,
                "epochs there": round(float(curve["epoch"].to_numpy()[np.searchsorted(steps, fired)]), 1) if fired else np.nan,
                "best there": round(float(at), 1),
                "best at the end": round(float(best[-1]), 1),
                "fell after (%)": round(100 * (at - best[-1]) / abs(at), 1) if fired else np.nan,
            }
        )
    return pd.DataFrame(rows)


def scan(datasets: list[str]) -> pd.DataFrame:
    import itertools

    curves = {d: pd.read_csv(OUT / f"{d}.csv") for d in datasets}  # a name may carry a candidate's tag
    rows = []
    for window, patience, tol in itertools.product([200, 400, 600, 1000], [0.25, 0.33, 0.5, 0.67], [0.005, 0.01, 0.02]):
        rule = PlateauRule(eval_every=20, min_steps=400, min_window=window, patience=patience, tol=tol, max_steps=10**6)
        row, worst = {"min_window": window, "patience": patience, "tol": tol}, 0.0
        for name, frame in curves.items():
            for run, curve in frame.groupby("run", sort=False):
                steps, val = curve["step"].to_numpy(), curve["val_neg_elbo"].to_numpy()
                fired = plateau_step(steps, val, rule)
                if fired:
                    best = np.minimum.accumulate(val)
                    worst = max(worst, 100 * (best[np.searchsorted(steps, fired)] - best[-1]) / best[-1])
                row[f"{name} {run}"] = fired if fired else "-"
        rows.append({**row, "most fell after (%)": round(worst, 1)})
    return pd.DataFrame(rows).sort_values("most fell after (%)", kind="stable")


def main(argv=None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--scan"]:
        print(scan(argv[1:]).to_markdown(index=False))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("--config", default=str(ROOT / "config/config.yaml"))
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=2, help="plain VAEs per partition")
    parser.add_argument("--eval-every", type=int, help="the grid to record on (default: the config's rule)")
    parser.add_argument("--replay", action="store_true", help="read benchmarks/curves/<dataset>.csv instead of training")
    parser.add_argument("--rule", nargs="*", default=[], metavar="KEY=VALUE", help="plateau settings over the config's")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="dataset settings over the config's (dotted keys, YAML values)")
    parser.add_argument("--tag", help="write benchmarks/curves/<dataset>-<tag>.csv (a resize candidate) instead")
    args = parser.parse_args(argv)
    config = default_config(Path(args.config))
    for item in args.set:
        key, value = item.split("=", 1)
        *parents, last = key.split(".")
        node = config["datasets"][args.dataset]
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(value)
    path = OUT / (f"{args.dataset}-{args.tag}.csv" if args.tag else f"{args.dataset}.csv")
    if args.replay:
        curves = pd.read_csv(path)
    else:
        curves = record(config, args.dataset, args.steps, args.seeds, args.eval_every)
        OUT.mkdir(exist_ok=True)
        curves.to_csv(path, index=False, float_format="%.6g")
        print(f"wrote {path}")
    overrides = {k: (float(v) if "." in v else int(v)) for k, v in (item.split("=", 1) for item in args.rule)}
    rule = PlateauRule(**{**params.plateau_rule(config, args.dataset), **overrides})
    print(f"rule: {rule}")
    print(replay(curves, rule).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
