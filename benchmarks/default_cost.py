"""The cost model of a finished run: where its job-seconds went, and its useful FLOPs against the peak.

    .venv/bin/python benchmarks/default_cost.py RESULTS_DIR [--output benchmarks/default_cost]

Reads the run's benchmark files, logs and histories (``rvae.workflow.cost``: per rule and dataset,
jobs, job-seconds, fixed cost, start-up, set-up, training steps, validation and checkpoints,
writing) and adds each training job's useful FLOPs: the samples its runs trained (from the
histories) times the FLOPs of one training sample of the job's architecture at its batch size,
counted as ``benchmarks/run.py`` counts them (``FlopCounterMode`` over the ELBO's forward and
backward; the R-VAE's anchor term and the validation passes are not counted). The run's FLOP/s
are the sum over its wall time (the first benchmarked job's start to the last one's end), against
this machine's fp32 matmul peak measured here (``run.matmul_peak``). Writes ``OUTPUT.csv`` and
``OUTPUT.md`` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import flops_per_sample, machine, matmul_peak  # noqa: E402

from rvae.models import load_model  # noqa: E402
from rvae.workflow.cost import COLUMNS, run_datasets, benchmark_jobs, job_cost, job_histories  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def job_model(results: Path, rule: str, name: str) -> Path | None:
    """A model file the job wrote (its architecture is every run's of the job)."""
    histories = job_histories(results, rule, name)
    if not histories:
        return None
    if rule == "train_template":
        return results / "models" / "templates" / f"{name}.pt"
    return histories[0].with_name(histories[0].name.replace(".history.parquet", ".pt"))


def job_flops(results: Path, job: dict, row: dict, cache: dict) -> float:
    """The job's useful training FLOPs: samples times one sample's FLOPs (NaN when unknown)."""
    model_path = job_model(results, job["rule"], job["name"])
    if model_path is None or not model_path.exists() or not row["samples"] == row["samples"]:
        return float("nan")
    histories = job_histories(results, job["rule"], job["name"])
    last_step = int(pd.read_parquet(histories[0], columns=["step"])["step"].max())
    runs = len(histories)
    batch = max(1, round(row["samples"] / runs / last_step))  # the configured batch, short last batches aside
    spec = load_model(model_path).spec
    key = (repr(spec), batch)
    if key not in cache:
        cache[key] = flops_per_sample(spec, batch, torch.device("cpu"))
    return row["samples"] * cache[key]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="a finished run's results folder")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "default_cost", help="OUTPUT.csv and OUTPUT.md")
    args = parser.parse_args(argv)
    if not (args.results / "benchmarks").is_dir():
        print(f"error: {args.results} has no benchmarks/ folder (give a finished run's results folder)", file=sys.stderr)
        return 2
    datasets = run_datasets(args.results)
    jobs = benchmark_jobs(args.results)
    cache: dict = {}
    rows = []
    for job in jobs:
        row = job_cost(args.results, job, datasets)
        row["gflop"] = job_flops(args.results, job, row, cache) / 1e9
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS + ["gflop"])
    table = frame.groupby(["rule", "dataset"], sort=False).sum(min_count=1).reset_index()
    table = table.sort_values("job_s", ascending=False, kind="stable").reset_index(drop=True)
    wall = max(j["end"] for j in jobs) - min(j["start"] for j in jobs)
    torch.set_num_threads(1)  # a workflow job's threads (threads_per_job: 1)
    peak = matmul_peak(torch.device("cpu"))
    useful = float(table["gflop"].sum())
    training = float(table.loc[table["gflop"].notna(), "training_s"].sum())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.output.with_suffix(".csv"), index=False)
    shown = table.drop(columns=["samples"]).round(1)
    text = "\n".join(
        [
            f"# Cost of the run in `{args.results}`",
            "",
            f"Written by `benchmarks/default_cost.py {args.results}` on {machine()}.",
            "",
            "Seconds per rule and dataset (`rvae.workflow.cost`): `fixed_s` = job seconds minus training spans "
            "(= start-up + set-up + writing); `training_s` = the training steps (histories); `validation_s` = the "
            "rest of the spans (validation, checkpoints); `gflop` = useful training FLOPs (ELBO forward and backward "
            "per sample, as benchmarks/run.py counts them). NaN: the job's files do not give that part.",
            "",
            shown.to_markdown(index=False),
            "",
            f"- jobs: {len(jobs)}, job-seconds {table['job_s'].sum():,.0f}, wall (first benchmarked job's start to the last one's end) {wall:,.0f} s",
            f"- useful training FLOPs: {useful:,.1f} GFLOP, {useful / wall:.3f} GFLOP/s over the wall time",
            f"- measured fp32 matmul peak, one thread: {peak:.1f} GFLOP/s; the run used {100 * useful / wall / peak:.3f}% of one core's peak "
            f"({100 * useful / training / peak:.1f}% during the training steps of the jobs counted)",
        ]
    )
    args.output.with_suffix(".md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
