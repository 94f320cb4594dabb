"""The files each target needs: the paper's plan (``rvae.paper.plan``) turned into paths.

The input functions in ``workflow/rules/common.smk`` call these, and a rule that needs the
structure (which file is which dataset's template, which model kind) gets the same mapping
through ``params:``, so scripts never parse paths or unpack packed input names.
"""

from __future__ import annotations

from rvae import defaults
from rvae.paper.plan import (
    ANCHOR_BUDGET_MODELS,
    TABLE1_MODELS,
    TABLE_NUMBERS,
    all_retrainings,
    anchor_budget_retrainings,
    figure_names,
    figure_retrainings,
    hyperparameter,
    sweep_k,
    sweeps,
    table_retrainings,
)
from rvae.paper import chains
from rvae.vocabulary import EXPERIMENTS, MAIN_MODELS
from rvae.workflow import paths
from rvae.workflow.params import block_seeds, budget_input, chosen_hyperparameter


def files_in(structure) -> list[str]:
    """Every path in a nested mapping or list of paths, in order (a rule's input list)."""
    if isinstance(structure, str):
        return [structure]
    values = structure.values() if isinstance(structure, dict) else structure
    return [path for value in values for path in files_in(value)]


def at_budget(structure, budget: str):
    """A nested mapping or list of full-budget paths with each path at ``budget`` (``paths.at_budget``)."""
    if isinstance(structure, str):
        return paths.at_budget(structure, budget)
    if isinstance(structure, dict):
        return {key: at_budget(value, budget) for key, value in structure.items()}
    return [at_budget(value, budget) for value in structure]


def at_both_budgets(structure, *halved: str) -> list[str]:
    """Every path of ``structure`` (a rule's inputs), then the half-budget mirror of its paths; with
    ``halved`` keys, only those entries are mirrored (the others, e.g. templates, have one budget)."""
    mirrored = {key: structure[key] for key in halved} if halved else structure
    return files_in(structure) + files_in(at_budget(mirrored, "half"))


def table_numbers(config: dict) -> list[int]:
    return [n for n in TABLE_NUMBERS if f"table{n}" in config["tables"]]


def all_targets(config: dict) -> list[str]:
    tables = [paths.fill(paths.TABLE, n=n, ext=ext) for n in table_numbers(config) for ext in paths.TABLE_FORMATS]
    figures = [
        paths.fill(paths.FIGURE, name=name, ext=ext)
        for name in figure_names(config)
        for ext in paths.FIGURE_FORMATS
        if (name, ext) != ("datasets", "pdf")  # the examples figure is a PNG only
    ]
    page = [paths.RESULTS_PAGE] if table_numbers(config) else []
    return (
        tables + figures + findings_targets(config) + portability_targets(config) + anchor_budget_targets(config)
        + template_diagnostics(config) + sharing_targets(config) + chain_targets(config) + page
    )  # fmt: skip


def table_datasets(config: dict) -> list[str]:
    """The datasets the config's tables use, in order."""
    return list(dict.fromkeys(r.dataset for r in all_retrainings(config["tables"])))


def results_page_inputs(config: dict) -> dict:
    """What the results page reads: per dataset its budget record, templates' diagnostics, points
    and every retraining's convergence file; the tables, figures and scorecard it links or counts."""
    datasets = table_datasets(config)
    retrainings = all_retrainings(config["tables"])
    return {
        "budgets": {d: paths.fill(paths.BUDGET, dataset=d) for d in datasets},
        "templates": {d: paths.fill(paths.TEMPLATE_DIAGNOSTICS, dataset=d) for d in datasets},
        "points": {d: paths.fill(paths.DATA_POINTS, dataset=d) for d in datasets},
        "convergence": {d: [paths.fill(paths.CONVERGENCE, **paths.retraining_values(r)) for r in retrainings if r.dataset == d] for d in datasets},
        "tables": [paths.fill(paths.TABLE, n=n, ext="md") for n in table_numbers(config)]
        + ([paths.fill(paths.PORTABILITY_TABLE, ext="md")] if portability_targets(config) else [])
        + ([paths.fill(paths.ANCHOR_BUDGET_TABLE, ext="md")] if anchor_budget_targets(config) else [])
        + ([paths.fill(paths.CHAIN_TABLE, ext="md")] if chain_targets(config) else []),
        "figures": [paths.fill(paths.FIGURE, name=name, ext="png") for name in figure_names(config)]
        + ([paths.fill(paths.FIGURE, name="verdicts_by_budget", ext="png")] if table_numbers(config) else [])
        + ([paths.fill(paths.FIGURE, name="anchor_budget", ext="png")] if anchor_budget_targets(config) else [])
        + ([paths.fill(paths.FIGURE, name="chain", ext="png")] if chain_targets(config) else []),
        **({"findings": paths.FINDINGS["parquet"]} if table_numbers(config) else {}),
    }


def block_checkpoints(config: dict, wildcards) -> list[str]:
    """The checkpoint of every seed of one seed block (the block's job writes them)."""
    pattern = paths.fill(paths.RUN_CHECKPOINT, **dict(wildcards.items()))
    return [paths.fill(pattern, seed=s) for s in block_seeds(config, wildcards.block)]


def shared_inputs(config: dict, name: str) -> dict:
    """A shared run's data, its Rosetta file and (under ``steps: auto``) its dataset's budget."""
    run = config["shared"][name]
    return {**paths.data_files(run["dataset"]), "rosetta": run["rosetta"], **budget_input(config, run["dataset"])}


# the figures the findings' job draws: the paper's effect against ours, the headline claims by budget
FINDINGS_FIGURES = ("findings", "verdicts_by_budget")


def findings_targets(config: dict) -> list[str]:
    """The scorecard and its figure, whenever the config builds any table (the paper's, or the
    anchor budget's and the chains', whose comparisons are this project's own claims)."""
    if not table_numbers(config) and not anchor_budget_targets(config) and not chain_targets(config):
        return []
    figure = [paths.fill(paths.FIGURE, name=name, ext=ext) for name in FINDINGS_FIGURES for ext in paths.FIGURE_FORMATS]
    return list(paths.FINDINGS.values()) + figure


def findings_inputs(config: dict) -> dict:
    """The Parquet of every table the config lists and the metric files behind them.

    A partial run is a config listing fewer tables: the scorecard scores those and marks the
    paper's other tables *not run*, rather than building them.
    """
    numbers = table_numbers(config)
    metrics = list(dict.fromkeys(path for n in numbers for path in table_inputs(config, n).values()))
    tables = [paths.fill(paths.TABLE, n=n, ext="parquet") for n in numbers]
    inputs = {"tables": tables, "metrics": metrics, "half_tables": at_budget(tables, "half"), "half_metrics": at_budget(metrics, "half")}
    if anchor_budget_targets(config):  # this project's own claims
        budget = anchor_budget_table(config)
        inputs["anchor_budget"] = files_in(budget["per_seed"]) + files_in(budget["convergence"]) + files_in(budget["templates"])
    if chain_targets(config):
        inputs["chains"] = list(chain_claim_files(config).values())
    return inputs


def chain_claim_files(config: dict) -> dict:
    """``{dataset: per-seed arms}`` of every chain: what this project's chain claims read."""
    return {dataset: paths.fill(paths.CHAIN_SEEDS, dataset=dataset) for dataset in config.get("chains") or {}}


def portability_targets(config: dict) -> list[str]:
    """The portability table and figure, and the check of Bob's per-point scores on the same runs,
    whenever Table 2 is built."""
    if "table2" not in config["tables"]:
        return []
    tables = [paths.fill(table, ext=ext) for table in (paths.PORTABILITY_TABLE, paths.CONFIDENCE_TABLE) for ext in paths.TABLE_FORMATS]
    return tables + [paths.fill(paths.FIGURE, name=name, ext=ext) for name in ("portability", "confidence") for ext in paths.FIGURE_FORMATS]


def confidence_inputs(config: dict) -> dict:
    """Per Table 2 dataset: every seed's sequential R-VAE embedding, Alice's D1 template, the Rosetta file."""
    out = {}
    for dataset, c in portability_conditions(config).items():
        inputs = portability_inputs(config, dataset, c["method"], c["k"], c["variant"])
        out[dataset] = {"runs": inputs["runs"]["rvae"], "template": inputs["templates"]["d1"], "rosetta": inputs["rosetta"]}
    return out


def anchor_budget_targets(config: dict) -> list[str]:
    """The anchor-budget table and figure, whenever ``tables.anchor_budget`` names a dataset."""
    if not config["tables"].get("anchor_budget"):
        return []
    tables = [paths.fill(paths.ANCHOR_BUDGET_TABLE, ext=ext) for ext in paths.TABLE_FORMATS]
    return tables + [paths.fill(paths.FIGURE, name="anchor_budget", ext=ext) for ext in paths.FIGURE_FORMATS]


def sharing_targets(config: dict) -> list[str]:
    """Exports of datasets with an ``export:`` entry, and every ``shared:`` run with its figure."""
    exports = [paths.fill(paths.EXPORT, dataset=d) for d, settings in config["datasets"].items() if "export" in settings]
    shared = [
        paths.fill(paths.SHARED_RUN, name=name, file=file)
        for name in config["shared"]
        for file in ("embedding.parquet", "latent_space.png")
    ]
    return exports + shared


def table_inputs(config: dict, number: int) -> dict:
    """``{(metric, retraining): metric file}`` for table ``number``, in the table's order."""
    return {(metric, r): paths.metric_file(metric, r) for metric, r in table_retrainings(number, config["tables"])}


def run_embeddings(config: dict, retraining_wildcards) -> list[str]:
    """The embedding file of every seed of one retraining (its metrics read all of them)."""
    pattern = paths.fill(paths.RUN_EMBEDDING, **dict(retraining_wildcards.items()))
    return [paths.fill(pattern, seed=s) for s in range(config["n_seeds"])]


def run_histories(config: dict, retraining_wildcards) -> list[str]:
    """The history file of every seed of one retraining (its convergence diagnostics read them)."""
    pattern = paths.fill(paths.RUN_HISTORY, **dict(retraining_wildcards.items()))
    return [paths.fill(pattern, seed=s) for s in range(config["n_seeds"])]


def table_convergence(config: dict, number: int) -> dict:
    """``{retraining: convergence file}`` of every retraining table ``number`` reads."""
    out = {}
    for _, r in table_retrainings(number, config["tables"]):
        out[r] = paths.fill(paths.CONVERGENCE, **paths.retraining_values(r))
    return out


def template_diagnostics(config: dict) -> list[str]:
    """The templates' diagnostics of every dataset a table uses."""
    return [paths.fill(paths.TEMPLATE_DIAGNOSTICS, dataset=d) for d in table_datasets(config)]


def sweep_rosetta(config: dict, experiment: str, dataset: str) -> str:
    """A sweep's Rosetta points: k-means, with the k of the experiment's main table."""
    return paths.fill(paths.ROSETTA, dataset=dataset, method=defaults.SELECTION_METHOD, k=sweep_k(config["tables"], experiment, dataset))


# -- figures -----------------------------------------------------------------------------------
def _template(dataset: str, which: str) -> str:
    return paths.fill(paths.TEMPLATE_EMBEDDING, dataset=dataset, which=which)


def reproducibility_figure(config: dict) -> dict:
    """Figure 2: per dataset, the D1 template and seed 0 of each main model; RV of every Table 1 model."""
    shown = figure_retrainings(config["tables"], "reproducibility")
    rv = figure_retrainings(config["tables"], "reproducibility", TABLE1_MODELS)
    return {
        "panels": {
            dataset: {"template": _template(dataset, "d1"), **{m: paths.run_file(paths.RUN_EMBEDDING, r, 0) for m, r in runs.items()}}
            for dataset, runs in shown.items()
        },
        "rv": {dataset: {m: paths.metric_file("rv", r) for m, r in runs.items()} for dataset, runs in rv.items()},
    }


def sequential_figure(config: dict) -> dict:
    """Figures 4 and 5: per dataset, both templates and seed 0 of each main model, sequential."""
    return {
        dataset: {
            "joint": _template(dataset, "joint"),
            "d1": _template(dataset, "d1"),
            **{m: paths.run_file(paths.RUN_EMBEDDING, r, 0) for m, r in runs.items()},
        }
        for dataset, runs in figure_retrainings(config["tables"], "sequential").items()
    }


def linear_map_figure(config: dict) -> dict:
    """Figures 6 and 7: per dataset, the LSD file (with the linear maps' analysis) of each main model."""
    return {
        dataset: {m: paths.metric_file("lsd", r) for m, r in runs.items()}
        for dataset, runs in figure_retrainings(config["tables"], "sequential").items()
    }


def training_curves_figure(config: dict) -> dict:
    """Per dataset and main model, the history file of every seed of the sequential retraining."""
    return {
        dataset: {m: [paths.run_file(paths.RUN_HISTORY, r, s) for s in range(config["n_seeds"])] for m, r in runs.items()}
        for dataset, runs in figure_retrainings(config["tables"], "sequential").items()
    }


def sweeps_figure(config: dict) -> list[dict]:
    """Every sweep's file (all its candidates) with the experiment and dataset it belongs to."""
    return [
        {
            "experiment": experiment,
            "dataset": dataset,
            "file": paths.fill(paths.SWEEP, experiment=experiment, dataset=dataset, param=param),
        }
        for dataset, param in sweeps(config)
        for experiment in EXPERIMENTS
    ]


# -- portability ---------------------------------------------------------------------------------
def sequential_embeddings(config: dict, dataset: str, method: str, k, variant: str, model_kinds) -> dict:
    """``{model kind: [embedding per seed]}`` of one sequential condition: what Bob's runs put in
    Alice's coordinates are read from (the portability table and the anchor budget)."""
    return {
        kind: [
            paths.fill(paths.RUN_EMBEDDING, experiment="sequential", dataset=dataset, method=method, k=k, variant=variant, model_kind=kind, seed=s)
            for s in range(config["n_seeds"])
        ]
        for kind in model_kinds
    }


def portability_conditions(config: dict) -> dict:
    """Per Table 2 dataset, the sequential k-means condition it uses (its wildcards and name)."""
    return {
        dataset: {"method": r.method, "k": r.k, "variant": r.variant, "condition": r.condition}
        for dataset, runs in figure_retrainings(config["tables"], "sequential").items()
        for r in [runs["vae"]]
    }


def portability_seed_file(config: dict, dataset: str) -> str:
    c = portability_conditions(config)[dataset]
    return paths.fill(paths.PORTABILITY_SEEDS, dataset=dataset, method=c["method"], k=c["k"], variant=c["variant"])


def portability_inputs(config: dict, dataset: str, method: str, k, variant: str) -> dict:
    """Every seed's embedding of Bob's three main models, both templates, and the Rosetta file."""
    runs = sequential_embeddings(config, dataset, method, k, variant, MAIN_MODELS)
    return {
        "runs": runs,
        "templates": {which: _template(dataset, which) for which in ("d1", "joint")},
        "rosetta": paths.fill(paths.ROSETTA, dataset=dataset, method=method, k=k),
    }


def portability_table(config: dict) -> dict:
    """``{dataset: per-seed portability file}`` of every Table 2 dataset."""
    return {dataset: portability_seed_file(config, dataset) for dataset in portability_conditions(config)}


def portability_convergence(config: dict) -> dict:
    """``{dataset: {model kind: convergence file}}`` of the sequential runs the portability table scores."""
    return {
        dataset: {
            kind: paths.fill(paths.CONVERGENCE, experiment="sequential", dataset=dataset, method=c["method"], k=c["k"], variant=c["variant"], model_kind=kind)
            for kind in ("vae", "beta_vae", "rvae")
        }
        for dataset, c in portability_conditions(config).items()
    }


def portability_figure(config: dict) -> dict:
    """Per Table 2 dataset: its per-seed file, Alice's D1 template, the Rosetta file, seed 0 of R-VAE and VAE."""
    out = {}
    for dataset, c in portability_conditions(config).items():
        inputs = portability_inputs(config, dataset, c["method"], c["k"], c["variant"])
        out[dataset] = {
            "per_seed": portability_seed_file(config, dataset),
            "template": inputs["templates"]["d1"],
            "rosetta": inputs["rosetta"],
            "rvae": inputs["runs"]["rvae"][0],
            "vae": inputs["runs"]["vae"][0],
        }
    return out


def convergence_warnings(config: dict) -> list[str]:
    """One line per dataset whose joint template hit the cap and per retraining with a run that
    did not converge or collapsed, from the diagnostics files a run has written so far."""
    import json
    from pathlib import Path

    import pandas as pd

    lines = []
    for dataset in config["datasets"]:
        path = Path(paths.fill(paths.BUDGET, dataset=dataset))
        record = json.loads(path.read_text()) if path.exists() else {"converged": True}
        if not record["converged"]:
            if record.get("source") != "fixed":
                why = "reached plateau.max_steps without a plateau (a capped dataset: its claims are decided by the half-budget check)"
            elif record.get("judged", True):
                why = f"not flat after its fixed {record['steps']} steps"
            else:
                why = f"trained a fixed {record['steps']} steps, too short for the plateau rule to judge"
            lines.append(f"WARNING not converged: {dataset} joint template {why} ({path})")
    for r in all_retrainings(config["tables"]):
        path = Path(paths.fill(paths.CONVERGENCE, **paths.retraining_values(r)))
        if not path.exists():
            continue
        frame = pd.read_parquet(path)
        bad = frame[~frame["converged"] | frame["collapsed"]]
        if len(bad):
            lines.append(
                f"WARNING not converged: {paths.fill(paths.RETRAINING, **paths.retraining_values(r))}: "
                f"{len(bad)} of {len(frame)} runs (seeds {bad['seed'].tolist()}; collapsed {int(bad['collapsed'].sum())}) ({path})"
            )
    for dataset in config.get("chains") or {}:
        path = Path(paths.fill(paths.CHAIN_CONVERGENCE, dataset=dataset))
        if not path.exists():
            continue
        frame = pd.read_parquet(path)
        bad = frame[~frame["converged"] | frame["collapsed"]]
        if len(bad):
            runs = ", ".join(dict.fromkeys(f"{lab}/{run}" for lab, run in zip(bad["lab"], bad["run"])))
            lines.append(f"WARNING not converged: chain on {dataset}: {len(bad)} of {len(frame)} runs ({runs}; collapsed {int(bad['collapsed'].sum())}) ({path})")
    return lines


# -- anchor budget -------------------------------------------------------------------------------
def anchor_budget_inputs(config: dict, dataset: str, method: str, k, variant: str) -> dict:
    """Every seed's embedding of Bob's plain VAE and R-VAE at one k, Alice's D1 template, the Rosetta file."""
    runs = sequential_embeddings(config, dataset, method, k, variant, ANCHOR_BUDGET_MODELS)
    return {"runs": runs, "template": _template(dataset, "d1"), "rosetta": paths.fill(paths.ROSETTA, dataset=dataset, method=method, k=k)}


def anchor_budget_table(config: dict) -> dict:
    """What the anchor-budget table reads: per dataset and k, the per-seed file, the runs'
    convergence files and the condition's name; per dataset, its latent size."""
    grid = anchor_budget_retrainings(config["tables"])
    values = {d: {k: paths.retraining_values(runs["rvae"]) for k, runs in by_k.items()} for d, by_k in grid.items()}
    return {
        "per_seed": {d: {k: paths.fill(paths.ANCHOR_BUDGET_SEEDS, **v) for k, v in by_k.items()} for d, by_k in values.items()},
        "convergence": {
            d: {k: {kind: paths.fill(paths.CONVERGENCE, **paths.retraining_values(r)) for kind, r in runs.items()} for k, runs in by_k.items()}
            for d, by_k in grid.items()
        },
        "conditions": {d: {k: runs["rvae"].condition for k, runs in by_k.items()} for d, by_k in grid.items()},
        "latent_dims": {d: int(config["datasets"][d]["architecture"]["latent_dim"]) for d in grid},
        "templates": {d: paths.fill(paths.TEMPLATE_DIAGNOSTICS, dataset=d) for d in grid},
    }

# -- chains of labs -----------------------------------------------------------------------------
def chain_targets(config: dict) -> list[str]:
    """The chain table and figure, whenever the config has ``chains:``."""
    if not config.get("chains"):
        return []
    tables = [paths.fill(paths.CHAIN_TABLE, ext=ext) for ext in paths.TABLE_FORMATS]
    return tables + [paths.fill(paths.FIGURE, name="chain", ext=ext) for ext in paths.FIGURE_FORMATS]


def _chain_run_file(what: str, dataset: str, lab: str, run: str, seed) -> str:
    return paths.fill(paths.CHAIN_RUN[what], dataset=dataset, lab=lab, run=run, seed=int(seed))


def chain_anchor_files(dataset: str, lab: str, run: str, seed) -> list[str]:
    """The Rosetta files one hop's run receives, in ``rvae.paper.chains.RUNS`` order."""
    files = {"origin": paths.fill(paths.CHAIN_ORIGIN, dataset=dataset), "relay": paths.fill(paths.CHAIN_RELAY, dataset=dataset, seed=int(seed))}
    return [files[anchors] for anchors in chains.RUNS[lab][run]]


def chain_run_inputs(config: dict, dataset: str, lab: str, run: str, seed) -> dict:
    """A hop's run: the data, the budget, rho's sweep file for an R-VAE when a sweep chooses it, its anchors."""
    chosen = {} if run == chains.PLAIN else chosen_hyperparameter(config, "sequential", dataset, "rvae")
    return {**paths.data_files(dataset), **budget_input(config, dataset), **chosen, "anchors": chain_anchor_files(dataset, lab, run, seed)}


def chain_runs(config: dict, dataset: str, what: str) -> dict:
    """``{"<lab>/<run>": [file per seed]}`` of one kind (``model``, ``embedding``, ``history``)."""
    return {f"{lab}/{run}": [_chain_run_file(what, dataset, lab, run, s) for s in range(config["n_seeds"])] for lab, run in chains.lab_runs()}


def chain_convergence_runs(config: dict, dataset: str) -> list[dict]:
    """Every run of a chain with its history and embedding: Alice's template, then each hop's seeds."""
    alice = {"lab": "alice", "run": chains.TEMPLATE, "seed": None}
    out = [{**alice, "history": paths.fill(paths.CHAIN_TEMPLATE["history"], dataset=dataset), "embedding": paths.fill(paths.CHAIN_TEMPLATE["embedding"], dataset=dataset)}]
    for lab, run in chains.lab_runs():
        for s in range(config["n_seeds"]):
            out.append({"lab": lab, "run": run, "seed": s, **{what: _chain_run_file(what, dataset, lab, run, s) for what in ("history", "embedding")}})
    return out


def chain_convergence_files(config: dict, dataset: str) -> list[str]:
    """The history and embedding of every run of a chain (what its convergence job reads)."""
    return [run[what] for run in chain_convergence_runs(config, dataset) for what in ("history", "embedding")]


def chain_arm_inputs(config: dict, dataset: str) -> dict:
    """What one dataset's per-seed arms read: Alice's and the joint template's embeddings, R1, the
    relay points and every run's embedding per seed, and the runs' convergence file."""
    return {
        "alice": paths.fill(paths.CHAIN_TEMPLATE["embedding"], dataset=dataset),
        "joint": _template(dataset, "joint"),
        "origin": paths.fill(paths.CHAIN_ORIGIN, dataset=dataset),
        "relay": [paths.fill(paths.CHAIN_RELAY, dataset=dataset, seed=s) for s in range(config["n_seeds"])],
        "runs": chain_runs(config, dataset, "embedding"),
        "convergence": paths.fill(paths.CHAIN_CONVERGENCE, dataset=dataset),
    }


def chain_table_inputs(config: dict) -> dict:
    """Per chain dataset: its per-seed arms and its prepared points (which labels the data has)."""
    return {dataset: {"arms": paths.fill(paths.CHAIN_SEEDS, dataset=dataset), "points": paths.fill(paths.DATA_POINTS, dataset=dataset)} for dataset in config.get("chains") or {}}
