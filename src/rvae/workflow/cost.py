"""Where a run's job-seconds went: per rule and dataset, start-up, set-up, training, validation, writing.

Read from the run's own files: each job's ``benchmark:`` file (its whole wall time), its log (the
script's ``job started at`` / ``job finished at`` stamps, the trainer's ``training span`` lines and
the ``outputs written`` line of the training scripts) and the histories of the runs it trained
(the seconds of the training steps between validation rows). For one job:

- ``startup_s``: the benchmark's seconds outside the script's stamps (the interpreter, the
  script's imports, Snakemake's wrapper);
- ``setup_s``: inside the stamps, outside training and writing (data, Rosetta points, models,
  trainers);
- ``training_s``: the training steps (the histories' ``seconds``; a batched trainer's rows carry
  the whole trainer's time in every run's history, so they are counted once per trainer);
- ``validation_s``: the rest of the training spans (validation passes, checkpoints, history rows);
- ``writing_s``: embedding every point and writing models, embeddings and histories.

``fixed_s`` is the job's seconds minus its training spans: start-up, set-up and writing.
``benchmarks/default_cost.py`` adds the run's FLOPs against the machine's peak; the results page
shows :func:`short_table`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

SPAN = re.compile(r"^training span: (\d+) runs? to step \d+ in ([\d.]+) s$", re.MULTILINE)
WRITTEN = re.compile(r"^outputs written: \d+ runs? in ([\d.]+) s$", re.MULTILINE)
STAMP = re.compile(r"^job (started|finished) at ([\d.]+)$", re.MULTILINE)
COLUMNS = ["rule", "dataset", "jobs", "job_s", "fixed_s", "startup_s", "setup_s", "training_s", "validation_s", "writing_s", "samples"]


def benchmark_jobs(results: Path, since: float | None = None) -> list[dict]:
    """Every benchmarked job: its rule (the benchmark file's first folder), the rest of its path
    (``name``), its seconds, start and end. A job counts when it ended at or after ``since``, so
    files an earlier run left behind are not counted."""
    root = Path(results) / "benchmarks"
    jobs = []
    for path in sorted(root.rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        end = path.stat().st_mtime
        if len(frame) and "s" in frame and (since is None or end >= since):
            seconds = float(frame["s"].iloc[-1])
            rel = path.relative_to(root).with_suffix("")
            jobs.append({"rule": rel.parts[0], "name": str(Path(*rel.parts[1:])), "seconds": seconds, "start": end - seconds, "end": end})
    return jobs


def last_attempt(log: str) -> str:
    """The part of a job's log its latest attempt wrote (``rvae.workflow.script.start`` appends;
    the benchmark file holds the latest attempt only)."""
    return log[log.rfind("job started at") :] if "job started at" in log else log


def job_histories(results: Path, rule: str, name: str) -> list[Path]:
    """The history files of the runs a training job trained (none for other rules)."""
    results = Path(results)
    if rule == "retrain":
        return sorted((results / "blocks" / name).glob("*.history.parquet"))
    if rule == "retrain_pool":
        return sorted((results / "pools" / name).rglob("*.history.parquet"))
    if rule == "train_template":
        return [p for p in [results / "history" / "templates" / f"{name}.parquet"] if p.exists()]
    if rule == "chains":
        dataset, *rest = Path(name).parts
        stem = "alice/template" if rest == ["alice"] else "/".join(rest)
        return [p for p in [results / "chains" / dataset / f"{stem}.history.parquet"] if p.exists()]
    return []


def run_datasets(results: Path) -> set[str]:
    """The datasets a run prepared (its ``data/`` folders)."""
    return {p.name for p in (Path(results) / "data").iterdir() if p.is_dir()} if (Path(results) / "data").is_dir() else set()


def job_cost(results: Path, job: dict, datasets: set[str]) -> dict:
    """One job's row (see the module's docstring); parts a job's files do not give are NaN."""
    results = Path(results)
    nan = float("nan")
    row = {"rule": job["rule"], "dataset": next((p for p in Path(job["name"]).parts if p in datasets), "all"), "jobs": 1, "job_s": job["seconds"]}
    row.update({key: nan for key in COLUMNS[4:]})
    log_path = results / "logs" / job["rule"] / f"{job['name']}.log"
    if not log_path.exists():
        return row
    log = last_attempt(log_path.read_text())
    stamps = dict(STAMP.findall(log))
    if {"started", "finished"} <= stamps.keys():
        row["startup_s"] = job["seconds"] - (float(stamps["finished"]) - float(stamps["started"]))
    spans = [(int(runs), float(seconds)) for runs, seconds in SPAN.findall(log)]
    if not spans:
        return row
    span_s = sum(seconds for _, seconds in spans)
    row["fixed_s"] = job["seconds"] - span_s
    written = [float(s) for s in WRITTEN.findall(log)]
    if written:
        row["writing_s"] = sum(written)
        row["setup_s"] = row["fixed_s"] - row["startup_s"] - row["writing_s"]
    histories = job_histories(results, job["rule"], job["name"])
    if histories:
        # every run's rows carry its trainer's seconds and samples (all its runs'), and a run copied
        # from another (VAE (same seed), trained once) carries the rows of the run it copies: so a
        # trainer's share is the mean over the job's histories, once per trainer (span)
        frames = [pd.read_parquet(h, columns=["seconds", "samples_per_s"]) for h in histories]
        row["training_s"] = len(spans) * sum(float(f["seconds"].sum()) for f in frames) / len(frames)
        row["validation_s"] = span_s - row["training_s"]
        row["samples"] = len(spans) * sum(float((f["seconds"] * f["samples_per_s"]).sum()) for f in frames) / len(frames)
    return row


def cost_table(results: Path, since: float | None = None) -> pd.DataFrame:
    """Per rule and dataset, the jobs and where their seconds went (columns ``COLUMNS``), largest
    job-seconds first. Sums skip the jobs a part is unknown for, so compare a part with ``job_s``
    only where every job has it."""
    datasets = run_datasets(results)
    rows = [job_cost(results, job, datasets) for job in benchmark_jobs(results, since)]
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    sums = frame.groupby(["rule", "dataset"], sort=False).sum(min_count=1).reset_index()
    return sums.sort_values("job_s", ascending=False, kind="stable").reset_index(drop=True)


def short_table(results: Path, since: float | None = None) -> pd.DataFrame:
    """The training rules of :func:`cost_table`, in whole seconds, as the results page shows them."""
    frame = cost_table(results, since)
    frame = frame[frame["training_s"].notna()]
    shown = {"rule": "rule", "dataset": "dataset", "jobs": "jobs", "job_s": "job-s", "fixed_s": "fixed (start-up, set-up, writing)", "training_s": "training steps", "validation_s": "validation and checkpoints"}
    out = frame[list(shown)].rename(columns=shown)
    for column in list(shown.values())[3:]:
        out[column] = out[column].map(lambda v: f"{v:,.0f}")
    return out.reset_index(drop=True)

