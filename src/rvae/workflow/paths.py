"""Every results path, spelled once: the rules, their input functions and the scripts use these.

Like pypsa-eur's path providers: a pattern names its wildcards (``{dataset}``, ``{seed}``...);
a rule uses the pattern as it is, Python fills it with :func:`fill`. The layout is the stable one
docs/workflow.md promises to other tools ("Outputs other tools read"); change it here or nowhere.
"""

from __future__ import annotations

import re

RESULTS = "results"
# One retraining (the M seeds of one model kind under one condition) below each results folder.
RETRAINING = "{experiment}/{dataset}/{method}-k{k}-{variant}/{model_kind}"

DATA_X = "results/data/{dataset}/x.npy"
DATA_POINTS = "results/data/{dataset}/points.parquet"
DATA_INFO = "results/data/{dataset}/info.json"

TEMPLATE_MODEL = "results/models/templates/{dataset}/{which}.pt"
TEMPLATE_EMBEDDING = "results/embeddings/templates/{dataset}/{which}.parquet"
TEMPLATE_HISTORY = "results/history/templates/{dataset}/{which}.parquet"
TEMPLATE_CHECKPOINT = "results/checkpoints/templates/{dataset}/{which}.ckpt"

ROSETTA = "results/rosetta/{dataset}/{method}-k{k}.parquet"

# The training budget's record (optimiser steps): the joint template's plateau under `steps: auto`,
# or the fixed steps and whether its curve was flat there
BUDGET = "results/budget/{dataset}.json"
# convergence diagnostics: one row per seed of a retraining; the templates' (with kNN accuracy)
CONVERGENCE = f"results/metrics/convergence/{RETRAINING}.parquet"
TEMPLATE_DIAGNOSTICS = "results/metrics/templates/{dataset}.json"

# A seed block's job writes every seed's files into one folder; the per-seed paths below are
# copies made by the shell rule `seed_result`, which takes the names from BLOCK_FILES.
BLOCK = f"results/blocks/{RETRAINING}/block{{block}}"
BLOCK_FILES = {
    "model": "seed{seed}.pt",
    "embedding": "seed{seed}.parquet",
    "history": "seed{seed}.history.parquet",
    "half_model": "seed{seed}.half.pt",
    "half_embedding": "seed{seed}.half.parquet",
}
# A pool's job (config `pool`, rvae.pool: every MLP run of a dataset and architecture variant)
# writes every run's files into one folder, each below its retraining's path with BLOCK_FILES' names
POOL = "results/pools/{dataset}/{variant}"
RUN_MODEL = f"results/models/{RETRAINING}/seed{{seed}}.pt"
RUN_EMBEDDING = f"results/embeddings/{RETRAINING}/seed{{seed}}.parquet"
RUN_HISTORY = f"results/history/{RETRAINING}/seed{{seed}}.parquet"
RUN_CHECKPOINT = f"results/checkpoints/{RETRAINING}/seed{{seed}}.ckpt"

# The half budget (spec, "Where no plateau comes", item 2): every retraining run keeps its weights
# at floor(S/2), and the files computed from them (models, embeddings, metric files, convergence,
# tables, portability) mirror the full budget's paths below HALF, written by the same jobs.
# results/tables/ and every other path here stay the full budget's.
BUDGETS = ("full", "half")
HALF = "results/half"

SWEEP = "results/sweeps/{experiment}/{dataset}/{param}.json"  # every candidate of one grid (its parts gathered)
# One job's share of a grid: the whole grid where it is vmapped, else seed_block.size candidates
# (``rvae.workflow.params.sweep_parts``)
SWEEP_PART = "results/sweeps/{experiment}/{dataset}/{param}/part{part}.json"
# one per candidate, so a killed grid job resumes each candidate where it stopped; removed on success
SWEEP_CHECKPOINT = "results/checkpoints/sweeps/{experiment}/{dataset}/{param}/{value}.ckpt"
CHOSEN_HYPERPARAMETER = "results/hyperparameters/{experiment}/{dataset}/{param}.json"

METRIC = f"results/metrics/{{metric}}/{RETRAINING}.parquet"
TABLE = "results/tables/table{n}.{ext}"
TABLE_FORMATS = ("csv", "parquet", "md")
# The findings scorecard (rvae.paper.findings): claims with verdicts, the front page's summary,
# every cell's bootstrap interval; keys are build_findings's outputs.
FINDINGS = {
    "csv": "results/tables/findings.csv",
    "parquet": "results/tables/findings.parquet",
    "md": "results/tables/findings.md",
    "rst": "results/tables/findings.rst",
    "scorecard": "results/tables/scorecard.csv",
    "intervals_csv": "results/tables/cell_intervals.csv",
    "intervals_parquet": "results/tables/cell_intervals.parquet",
}
FIGURE = "results/figures/{name}.{ext}"
# Portability: per Table 2 dataset, every seed's arms; the table and figure built from them.
PORTABILITY_SEEDS = "results/portability/{dataset}/{method}-k{k}-{variant}.parquet"
PORTABILITY_TABLE = "results/tables/portability.{ext}"
# Do Bob's per-point scores predict his error? (rvae.paper.confidence_table; its figure is FIGURE "confidence")
CONFIDENCE_TABLE = "results/tables/confidence.{ext}"
# The anchor budget: every arm's held-out distance per seed at one k, then the table over k
ANCHOR_BUDGET_SEEDS = "results/anchor_budget/{dataset}/{method}-k{k}-{variant}.parquet"
ANCHOR_BUDGET_TABLE = "results/tables/anchor_budget.{ext}"
FIGURE_FORMATS = ("png", "pdf")

# Chains of labs (rvae.paper.chains): Alice's template on P1, R1, every hop's run per seed, Bob's
# export per seed, the diagnostics and numbers of every run, and the table built from them.
CHAIN = "results/chains/{dataset}"
CHAIN_TEMPLATE = {"model": f"{CHAIN}/alice/template.pt", "embedding": f"{CHAIN}/alice/template.parquet", "history": f"{CHAIN}/alice/template.history.parquet"}
CHAIN_RUN = {
    "model": f"{CHAIN}/{{lab}}/{{run}}/seed{{seed}}.pt",
    "embedding": f"{CHAIN}/{{lab}}/{{run}}/seed{{seed}}.parquet",
    "history": f"{CHAIN}/{{lab}}/{{run}}/seed{{seed}}.history.parquet",
}
CHAIN_ORIGIN = f"{CHAIN}/rosetta/origin.parquet"  # R1: k points of Alice's template on P1
CHAIN_RELAY = f"{CHAIN}/rosetta/relay/seed{{seed}}.parquet"  # Bob's export: k points of his R-VAE on P2
CHAIN_CONVERGENCE = f"{CHAIN}/convergence.parquet"
CHAIN_SEEDS = f"{CHAIN}/arms.parquet"  # every arm's distance and LSD per seed
CHAIN_TEMPLATE_CHECKPOINT = "results/checkpoints/chains/{dataset}/alice/template.ckpt"
CHAIN_RUN_CHECKPOINT = "results/checkpoints/chains/{dataset}/{lab}/{run}/seed{seed}.ckpt"
CHAIN_TABLE = "results/tables/chain.{ext}"

# What the run was (rvae.workflow.results_page): machine, time, budgets, convergence, findings
RESULTS_PAGE = "results/results.md"

EXPORT = "results/export/{dataset}/rosetta.parquet"
EXPORT_SUMMARY = "results/export/{dataset}/rosetta.md"
SHARED_RUN = "results/shared/{name}/{file}"


def fill(pattern: str, **values) -> str:
    """The pattern with the given wildcards filled; the others stay wildcards (for a rule's pattern)."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), pattern)


def log(*parts: str) -> str:
    """A rule's log file: ``results/logs/<parts>.log``."""
    return "/".join((RESULTS, "logs", *parts)) + ".log"


def benchmark(*parts: str) -> str:
    """A rule's benchmark file (runtime and memory): ``results/benchmarks/<parts>.tsv``."""
    return "/".join((RESULTS, "benchmarks", *parts)) + ".tsv"


def retraining_values(retraining) -> dict:
    """The wildcards of a ``rvae.paper.plan.Retraining``."""
    r = retraining
    return dict(experiment=r.experiment, dataset=r.dataset, method=r.method, k=r.k, variant=r.variant, model_kind=r.model_kind)


def metric_file(metric: str, retraining) -> str:
    return fill(METRIC, metric=metric, **retraining_values(retraining))


def metric_file_of(metric: str, experiment: str, dataset: str, condition: str, model_kind: str) -> str:
    """A metric file by the condition as the tables spell it (``{method}-k{k}-{variant}``)."""
    pattern = METRIC.replace("{method}-k{k}-{variant}", "{condition}")
    return fill(pattern, metric=metric, experiment=experiment, dataset=dataset, condition=condition, model_kind=model_kind)


def rooted(path: str, results_dir) -> str:
    """A registry path moved under another results folder (``rvae findings`` reads a run wherever it lies)."""
    if not path.startswith(RESULTS + "/"):
        raise ValueError(f"{path} is not a results path")
    return f"{str(results_dir).rstrip('/')}/{path[len(RESULTS) + 1:]}"


def at_budget(path: str, budget: str) -> str:
    """A full-budget results path, or its half-budget mirror below :data:`HALF`."""
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {BUDGETS}, got {budget!r}")
    return path if budget == "full" else rooted(path, HALF)


def run_file(pattern: str, retraining, seed: int) -> str:
    """``RUN_MODEL``, ``RUN_EMBEDDING`` or ``RUN_HISTORY`` of one seed of a retraining."""
    return fill(pattern, seed=int(seed), **retraining_values(retraining))


def pool_member_dir(pool_dir: str, retraining: str) -> str:
    """The folder of one retraining's runs inside a pool's folder (``retraining`` as ``RETRAINING`` fills it)."""
    return f"{pool_dir}/{retraining}"


def block_file(block_dir: str, seed: int, what: str) -> str:
    """One seed's ``model``, ``embedding`` or ``history`` file inside a seed block's folder."""
    return f"{block_dir}/{BLOCK_FILES[what].format(seed=int(seed))}"


def data_files(dataset: str) -> dict:
    """What every training job reads of a prepared dataset."""
    return {"x": fill(DATA_X, dataset=dataset), "points": fill(DATA_POINTS, dataset=dataset)}

