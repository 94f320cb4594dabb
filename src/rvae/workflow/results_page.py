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

from rvae.paper.report import budget_changes, reason_counts
from rvae.workflow import paths
from rvae.workflow.cost import benchmark_jobs, short_table

# The page lives one folder below the repository root (results/ or docs/), so links go up once.
LINK_ROOT = "../"


def cpu_description(cpuinfo: str | None = None) -> dict:
    """The CPU's model and the instruction sets that decide the kernels and the precision."""
    from rvae.device import cpu_info

    model, flags = cpu_info(cpuinfo)
    if "avx512f" in flags:
        isa = "AVX-512" + (" with bf16" if "avx512_bf16" in flags or "amx_bf16" in flags else " without bf16")
    elif "avx2" in flags:
        isa = "AVX2 (no AVX-512)"
    else:
        isa = "no AVX2" if flags else "unknown"
    return {"model": model or platform.processor() or platform.machine(), "instruction_set": isa, "cores": os.cpu_count()}


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


def job_seconds(results: Path, since: float | None = None) -> pd.DataFrame:
    """One row per benchmarked job of this run: its rule, seconds, start and end
    (``rvae.workflow.cost.benchmark_jobs``: jobs that ended before ``since`` are an earlier run's)."""
    columns = ["rule", "seconds", "start", "end"]
    return pd.DataFrame([{k: job[k] for k in columns} for job in benchmark_jobs(results, since)], columns=columns)


def run_span(jobs: pd.DataFrame) -> float | None:
    """Seconds from the first benchmarked job's start to the last one's end (setup and the short
    jobs without a benchmark file around them not included)."""
    return float(jobs["end"].max() - jobs["start"].min()) if len(jobs) else None


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


def budget_rows(config: dict, datasets: list[str], budgets: dict, points: dict, convergence: dict) -> list[dict]:
    """Per dataset: the budget's source and steps, the steps every other model trains, and the
    passes over its own training points that those steps made (read from the runs: the R-VAE draws
    from its n points, the VAE and beta-VAE from n + R, and a pass ends with a short batch)."""
    rows = []
    for name in datasets:
        training = config["datasets"][name]["training"]
        factor = training.get("budget_factor", config["budget_factor"])
        record = budgets[name]
        steps = math.ceil(float(factor) * int(record["steps"]))
        counts = _training_counts(points[name])
        if record["source"] == "fixed":
            source = "fixed"
        else:
            source = "**capped**: no plateau by plateau.max_steps" if record.get("capped", not record["converged"]) else "the joint template's plateau"
        if record.get("below_paper_passes"):
            source += f", **below the paper's {record['paper_passes']} passes ({record['paper_steps']:,} steps): not comparable**"
        elif "paper_steps" in record:
            source += f"; the paper's {record['paper_passes']} passes: {record['paper_steps']:,} steps"
        passes = convergence[name]["epochs"] if name in convergence else pd.Series(dtype=float)
        rows.append(
            {
                "dataset": name,
                "budget": f"{record['steps']:,} steps, {source}",
                "joint template flat at its end": "yes" if record["converged"] else "**no**",
                "budget_factor": factor,
                "steps of every other model (and its half budget)": f"{steps:,} ({steps // 2:,})",
                "batch": int(training["batch_size"]),
                "passes over each run's own points": f"{passes.min():,.0f}-{passes.max():,.0f}" if len(passes) else "",
                "training points joint / D1 / D2": f"{counts['joint']} / {counts['D1']} / {counts['D2']}",
            }
        )
    return rows


def convergence_rows(datasets: list[str], templates: dict, convergence: dict, budgets: dict) -> list[dict]:
    """Per dataset: retraining runs, how many did not converge on their own curve or collapsed, how
    many are flagged in the tables (their own curve, a collapse, or a budget the joint template was
    not flat after), and the templates."""
    rows = []
    for name in datasets:
        runs = convergence.get(name, pd.DataFrame(columns=["converged", "collapsed", "precision"]))
        joint, d1 = templates[name]["joint"], templates[name]["d1"]
        rows.append(
            {
                "dataset": name,
                "retraining runs": len(runs),
                "not converged": int((~runs["converged"].astype(bool)).sum()),
                "collapsed": int(runs["collapsed"].astype(bool).sum()),
                "flagged in the tables": len(runs) if not budgets[name]["converged"] else int((~runs["converged"].astype(bool) | runs["collapsed"].astype(bool)).sum()),
                "joint template": f"{'converged' if joint['converged'] else 'not converged'}, kNN {joint.get('knn_accuracy', float('nan')):.3f}",
                "D1 template": f"{'converged' if d1['converged'] else 'not converged'}, kNN {d1.get('knn_accuracy', float('nan')):.3f}",
                "precision": ", ".join(sorted(set(runs["precision"].astype(str)) | {str(joint.get("precision", "fp32"))})),
            }
        )
    return rows


def _markdown(rows: list[dict]) -> str:
    return pd.DataFrame(rows).to_markdown(index=False) if rows else "(none)"


def build_page(config: dict, inputs: dict, config_files: list[str], root: Path = Path("."), code: Path = Path("."), now: float | None = None) -> str:
    """The page's Markdown. ``inputs``: ``budgets``, ``templates``, ``points`` (dataset -> file),
    ``convergence`` (dataset -> its retrainings' files), ``tables`` and ``figures`` (files),
    ``findings`` (the scorecard's Parquet, or absent). ``root``: where the run's results are;
    ``code``: the workflow's folder, whose commit the page names."""
    import torch

    now = time.time() if now is None else now
    results = root / paths.RESULTS
    datasets = list(inputs["budgets"])
    budgets = {d: json.loads(Path(f).read_text()) for d, f in inputs["budgets"].items()}
    templates = {d: json.loads(Path(f).read_text()) for d, f in inputs["templates"].items()}
    points = {d: pd.read_parquet(f, columns=["partition", "split"]) for d, f in inputs["points"].items()}
    convergence = {d: pd.concat([pd.read_parquet(f) for f in files]) for d, files in inputs["convergence"].items() if files}
    cpu = cpu_description()
    prepared = [Path(f).stat().st_mtime for f in inputs["points"].values()]
    since = min(prepared) - 1 if prepared else None
    jobs = job_seconds(results, since=since)
    lines = [
        "# Results of a run",
        "",
        f"Written by the workflow (rule `results_page`) from the run's own files on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(now))}, commit `{commit_of(code)}`, "
        f"on {cpu['model']} ({cpu['cores']} cores, {cpu['instruction_set']}), config "
        + ", ".join(f"`{_shown(c)}`" for c in config_files)
        + ". Method: [docs/method.md](" + LINK_ROOT + "docs/method.md); departures of the default from the paper: "
        "[config/README.md](" + LINK_ROOT + "config/README.md). The links to tables and figures point into "
        f"`{paths.RESULTS}/`, which a run writes.",
        "",
        "## Machine",
        "",
        f"- CPU: {cpu['model']}, {cpu['cores']} cores, {cpu['instruction_set']}",
        f"- torch {torch.__version__}, Python {platform.python_version()}, device `{config['device']}`, "
        f"`precision: {config['precision']}`, `threads_per_job: {config['threads_per_job']}`",
        "",
        "## Time",
        "",
        f"From the first benchmarked job's start to the last one's end: **{_minutes(run_span(jobs))}** "
        f"(setup and the short jobs around them not included). Job-seconds of the benchmarked rules "
        f"(their `benchmark:` files), {len(jobs)} jobs:",
        "",
    ]
    if len(jobs):
        per_rule = jobs.groupby("rule")["seconds"].agg(["count", "sum"]).sort_values("sum", ascending=False)
        lines.append(_markdown([{"rule": r, "jobs": int(row["count"]), "job-seconds": f"{row['sum']:,.0f}"} for r, row in per_rule.iterrows()]))
    cost = short_table(results, since=since)
    if len(cost):
        lines += [
            "",
            "Where the training jobs' seconds went, per dataset (`rvae.workflow.cost`; `benchmarks/default_cost.py` "
            "gives every part and the FLOPs): fixed = start-up, set-up and writing the outputs; training steps from "
            "the histories; validation and checkpoints the rest of the trainer's span:",
            "",
            cost.to_markdown(index=False),
        ]
    lines += ["", "## Training budgets", "", _markdown(budget_rows(config, datasets, budgets, points, convergence)), ""]
    lines += [
        "## Convergence",
        "",
        "A run is converged when the plateau rule holds at its last step on its own validation curve; "
        "collapsed when no latent dimension is active (method, \"Training budget\"). kNN: 5-nearest-neighbour "
        "validation accuracy of the labels on the template's latent means.",
        "",
        _markdown(convergence_rows(datasets, templates, convergence, budgets)),
        "",
    ]
    if inputs.get("findings"):
        findings = pd.read_parquet(inputs["findings"])
        kinds = {"table": "claims of the paper's tables", "text": "claims of its text (each rests on table claims)", "project": "this project's claims (not the paper's)"}
        lines += ["## Findings", "", f"Scored on this run ([findings]({LINK_ROOT}{paths.FINDINGS['md']})):", ""]
        counts = findings.groupby(["verdict", "kind"]).size().unstack("kind", fill_value=0)
        lines.append(_markdown([{"verdict": v, **{kinds[k]: int(counts.loc[v, k]) for k in kinds if k in counts}} for v in counts.index]))
        lines.append("")
        own = int((findings["kind"] == "project").sum())
        lines.append(
            f"{int((findings['kind'] == 'table').sum())} table claims, {int((findings['kind'] == 'text').sum())} text claims"
            + (f", {own} of this project's own." if own else ".")
        )
        lines += ["", "Undecided claims of the paper by reason, the run's own apart from the paper's:", ""]
        lines.append(_markdown(reason_counts(findings).to_dict("records")))
        if "verdict_half" in findings:
            paper = findings[findings["kind"].isin(("table", "text"))]
            lines += ["", f"At the half budget, floor(S/2) (column `verdict_half`; {int((paper['verdict'] != paper['verdict_half']).sum())} of {len(paper)} claims differ from S):", ""]
            lines.append(_markdown(budget_changes(findings).to_dict("records")))
            lines += ["", f"![headline claims at half and full budget]({LINK_ROOT}{paths.fill(paths.FIGURE, name='verdicts_by_budget', ext='png')})"]
        capped = [d for d in datasets if budgets[d].get("capped")]
        if capped:
            lines += ["", f"Capped datasets (no plateau by the cap; trained the paper's passes, every claim on them decided by the half-budget check): {', '.join(capped)}."]
        lines.append("")
    lines += ["## Files", ""]
    lines += [f"- [{Path(f).name}]({LINK_ROOT}{f})" for f in inputs["tables"] + inputs["figures"]]
    return "\n".join(lines) + "\n"
