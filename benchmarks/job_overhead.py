"""Fixed cost of the training jobs of a real workflow run, under the run's own load.

A training job's fixed cost is what it pays besides training: Snakemake starting the script,
Python and torch imports, reading data, building models, writing models, embeddings and
histories. Snakemake's ``benchmark:`` file holds the job's whole wall time; the trainer logs
its training span (``training span: ... in X s``); the difference is the fixed cost::

    .venv/bin/python benchmarks/job_overhead.py results

Prints a Markdown table per training rule (jobs, median and largest fixed cost, its share of
the rule's job-seconds). Jobs run before the trainer logged its spans are skipped and counted.
A job's log is appended to by every attempt, its benchmark file rewritten, so only the spans after
the log's last ``job started at`` line count.
"""

from __future__ import annotations

import csv
import re
import statistics
import sys
from pathlib import Path

from rvae.workflow.cost import last_attempt

TRAINING_RULES = ("train_template", "retrain", "sweep", "train_shared")
SPAN = re.compile(r"training span: .* in ([\d.]+) s$", re.MULTILINE)


def job_costs(results: Path, rule: str) -> tuple[list[tuple[float, float]], int]:
    """(job seconds, fixed seconds) for each of the rule's jobs with a benchmark and spans; and how many had no spans."""
    rows, skipped = [], 0
    for tsv in sorted((results / "benchmarks" / rule).rglob("*.tsv")):
        log = results / "logs" / rule / tsv.relative_to(results / "benchmarks" / rule).with_suffix(".log")
        spans = [float(s) for s in SPAN.findall(last_attempt(log.read_text()))] if log.exists() else []
        if not spans:
            skipped += 1
            continue
        with tsv.open() as f:
            seconds = float(next(csv.DictReader(f, delimiter="\t"))["s"])
        rows.append((seconds, seconds - sum(spans)))
    return rows, skipped


def main(results: Path) -> None:
    print("| rule | jobs | median fixed s | largest fixed s | fixed share of job-seconds |")
    print("|---|---|---|---|---|")
    for rule in TRAINING_RULES:
        rows, skipped = job_costs(results, rule)
        if not rows:
            continue
        fixed = [f for _, f in rows]
        share = sum(fixed) / sum(s for s, _ in rows)
        note = f" ({skipped} without spans skipped)" if skipped else ""
        print(
            f"| {rule} | {len(rows)}{note} | {statistics.median(fixed):.2f} | {max(fixed):.2f} | {100 * share:.1f}% |"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "results"))
