"""The results page (``results/results.md``): what a run was, read from the run's own files.

The machine and software, the time the jobs took (their ``benchmark:`` files), each dataset's
training budget, how many runs converged or collapsed, and the findings' counts, with links to
the tables and figures. The project's ``docs/results.md`` is this page from a from-scratch run of
the default config, copied as written; no number on it is typed by hand.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path

import pandas as pd

from rvae.workflow import paths

# The page lives one folder below the repository root (results/ or docs/), so links go up once.
LINK_ROOT = "../"


def cpu_description(cpuinfo: str | None = None) -> dict:
    """The CPU's model and the instruction sets that decide the kernels and the precision."""
    if cpuinfo is None:
        cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model, flags = platform.processor() or platform.machine(), set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
    if "avx512f" in flags:
        isa = "AVX-512" + (" with bf16" if "avx512_bf16" in flags or "amx_bf16" in flags else " without bf16")
    elif "avx2" in flags:
        isa = "AVX2 (no AVX-512)"
    else:
        isa = "no AVX2" if flags else "unknown"
    return {"model": model, "instruction_set": isa, "cores": os.cpu_count()}


def commit_of(root: Path) -> str:
    """The checked-out commit, marked ``-dirty`` with uncommitted changes; ``unknown`` outside git."""
    try:
        run = lambda *args: subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)  # noqa: E731
        head = run("rev-parse", "--short", "HEAD")
        if head.returncode:
            return "unknown"
        dirty = run("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def job_seconds(results: Path) -> pd.DataFrame:
    """One row per benchmarked job: its rule (the benchmark file's first folder) and seconds."""
    rows = []
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        if len(frame) and "s" in frame:
            seconds = float(frame["s"].iloc[-1])
            rows.append({"rule": path.relative_to(results / "benchmarks").parts[0], "seconds": seconds, "start": path.stat().st_mtime - seconds})
    return pd.DataFrame(rows, columns=["rule", "seconds", "start"])


def run_span(results: Path, jobs: pd.DataFrame, now: float) -> float | None:
    """Seconds from the run's first job (its earliest benchmarked start or first data file) to ``now``."""
    starts = list(jobs["start"]) + [p.stat().st_mtime for p in (results / "data").rglob("*") if p.is_file()]
    return now - min(starts) if starts else None


def _shown(path: str) -> str:
    """A config path relative to the working directory when it lies below it."""
    relative = os.path.relpath(str(path))
    return str(path) if relative.startswith("..") else relative


def _minutes(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "unknown"
    return f"{int(seconds // 60)} min {int(round(seconds % 60))} s"


def _training_counts(points: pd.DataFrame) -> dict:
    train = points[points["split"] == "train"]
    return {"joint": len(train), "D1": int((train["partition"] == "D1").sum()), "D2": int((train["partition"] == "D2").sum())}


def budget_rows(config: dict, datasets: list[str], budgets: dict, points: dict) -> list[dict]:
    """Per dataset: the budget's source and steps, the steps every other model trains, and what
    those steps are in passes over each model's own training points."""
    rows = []
    for name in datasets:
        training = config["datasets"][name]["training"]
        factor = training.get("budget_factor", config["budget_factor"])
        record = budgets[name]
        steps = math.ceil(float(factor) * int(record["steps"]))
        counts = _training_counts(points[name])
        batch = int(training["batch_size"])
        passes = {part: steps * batch / n for part, n in counts.items() if n and part != "joint"}
        rows.append(
            {
                "dataset": name,
                "budget": f"{record['steps']:,} steps, " + ("the joint template's plateau" if record["source"] == "plateau" else "fixed"),
                "joint template flat at its end": "yes" if record["converged"] else "**no**",
                "budget_factor": factor,
                "steps of every other model": f"{steps:,}",
                "batch": batch,
                "passes over D1 / D2 training points": " / ".join(f"{passes[p]:,.0f}" for p in ("D1", "D2") if p in passes),
                "training points joint / D1 / D2": f"{counts['joint']} / {counts['D1']} / {counts['D2']}",
            }
        )
    return rows


def convergence_rows(datasets: list[str], templates: dict, convergence: dict) -> list[dict]:
    """Per dataset: retraining runs, how many did not converge or collapsed, and the templates."""
    rows = []
    for name in datasets:
        frames = [frame for (dataset, _), frame in convergence.items() if dataset == name]
        runs = pd.concat(frames) if frames else pd.DataFrame(columns=["converged", "collapsed", "precision"])
        joint, d1 = templates[name]["joint"], templates[name]["d1"]
        rows.append(
            {
                "dataset": name,
                "retraining runs": len(runs),
                "not converged": int((~runs["converged"].astype(bool)).sum()),
                "collapsed": int(runs["collapsed"].astype(bool).sum()),
                "joint template": f"{'converged' if joint['converged'] else 'not converged'}, kNN {joint.get('knn_accuracy', float('nan')):.3f}",
                "D1 template": f"{'converged' if d1['converged'] else 'not converged'}, kNN {d1.get('knn_accuracy', float('nan')):.3f}",
                "precision": ", ".join(sorted(set(runs["precision"].astype(str)) | {str(joint.get("precision", "fp32"))})),
            }
        )
    return rows


# Why a claim is `not comparable`, by the words rvae.paper.findings writes into its reason
REASON_KINDS = {
    "cell not converged": "a cell not converged",
    "paper reference suspect": "the paper's value is marked suspect",
    "equal medians": "the paper prints equal medians",
    " here, ": "k differs from the paper's",
    "RV estimator": "RV estimator not comparable",
    "not finite": "our difference is not finite",
}


def reason_kinds(reason: str) -> list[str]:
    """The kinds of reason a claim's ``reason`` gives (a claim may have several)."""
    kinds = [kind for words, kind in REASON_KINDS.items() if words in str(reason)]
    return kinds or ["other: " + str(reason)]


def _markdown(rows: list[dict]) -> str:
    return pd.DataFrame(rows).to_markdown(index=False) if rows else "(none)"


def build_page(config: dict, inputs: dict, config_files: list[str], root: Path = Path("."), now: float | None = None) -> str:
    """The page's Markdown. ``inputs``: ``budgets``, ``templates``, ``points`` (dataset -> file),
    ``convergence`` ({(dataset, retraining label): file}), ``tables`` and ``figures`` (files),
    ``findings`` (the scorecard's Parquet, or None)."""
    import torch

    now = time.time() if now is None else now
    results = root / paths.RESULTS
    datasets = list(inputs["budgets"])
    budgets = {d: json.loads(Path(f).read_text()) for d, f in inputs["budgets"].items()}
    templates = {d: json.loads(Path(f).read_text()) for d, f in inputs["templates"].items()}
    points = {d: pd.read_parquet(f, columns=["partition", "split"]) for d, f in inputs["points"].items()}
    convergence = {key: pd.read_parquet(f) for key, f in inputs["convergence"].items()}
    cpu = cpu_description()
    jobs = job_seconds(results)
    lines = [
        "# Results of a run",
        "",
        f"Written by the workflow (rule `results_page`) from the run's own files on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(now))}, commit `{commit_of(root)}`, config "
        + ", ".join(f"`{_shown(c)}`" for c in config_files)
        + ". Method: [docs/method.md](" + LINK_ROOT + "docs/method.md); departures of the default from the paper: "
        "[config/README.md](" + LINK_ROOT + "config/README.md).",
        "",
        "## Machine",
        "",
        f"- CPU: {cpu['model']}, {cpu['cores']} cores, {cpu['instruction_set']}",
        f"- torch {torch.__version__}, Python {platform.python_version()}, device `{config['device']}`, "
        f"`precision: {config['precision']}`, `threads_per_job: {config['threads_per_job']}`",
        "",
        "## Time",
        "",
        f"From the first job to this page: **{_minutes(run_span(results, jobs, now))}** (setup not included). "
        f"Job-seconds of the benchmarked rules (their `benchmark:` files), {len(jobs)} jobs:",
        "",
    ]
    if len(jobs):
        per_rule = jobs.groupby("rule")["seconds"].agg(["count", "sum"]).sort_values("sum", ascending=False)
        lines.append(_markdown([{"rule": r, "jobs": int(row["count"]), "job-seconds": f"{row['sum']:,.0f}"} for r, row in per_rule.iterrows()]))
    lines += ["", "## Training budgets", "", _markdown(budget_rows(config, datasets, budgets, points)), ""]
    lines += [
        "## Convergence",
        "",
        "A run is converged when the plateau rule holds at its last step on its own validation curve; "
        "collapsed when no latent dimension is active (method, \"Training budget\"). kNN: 5-nearest-neighbour "
        "validation accuracy of the labels on the template's latent means.",
        "",
        _markdown(convergence_rows(datasets, templates, convergence)),
        "",
    ]
    if inputs.get("findings"):
        findings = pd.read_parquet(inputs["findings"])
        counts = findings["verdict"].value_counts()
        lines += ["## Findings", "", f"{len(findings)} claims of the paper, scored on this run ([findings]({LINK_ROOT}results/tables/findings.md)):", ""]
        lines.append(_markdown([{"verdict": v, "claims": int(n)} for v, n in counts.items()]))
        reasons = findings.loc[findings["verdict"] == "not comparable", "reason"].fillna("").map(reason_kinds).explode()
        if len(reasons):
            lines += ["", "Why claims are `not comparable` (a claim may have several reasons):", ""]
            lines.append(_markdown([{"reason": r, "claims": int(n)} for r, n in reasons.value_counts().items()]))
        lines.append("")
    lines += ["## Files", ""]
    lines += [f"- [{Path(f).name}]({LINK_ROOT}{f})" for f in inputs["tables"] + inputs["figures"]]
    return "\n".join(lines) + "\n"
