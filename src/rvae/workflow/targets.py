"""The files each target needs: the paper's plan (``rvae.paper.plan``) turned into paths.

The input functions in ``workflow/rules/common.smk`` call these, and a rule that needs the
structure (which file is which dataset's template, which model kind) gets the same mapping
through ``params:``, so scripts never parse paths or unpack packed input names.
"""

from __future__ import annotations

from rvae.paper.plan import (
    TABLE1_MODELS,
    TABLE_NUMBERS,
    figure_names,
    figure_retrainings,
    hyperparameter,
    sweep_k,
    sweeps,
    table_retrainings,
)
from rvae.vocabulary import EXPERIMENTS
from rvae.workflow import paths


def files_in(structure) -> list[str]:
    """Every path in a nested mapping or list of paths, in order (a rule's input list)."""
    if isinstance(structure, str):
        return [structure]
    values = structure.values() if isinstance(structure, dict) else structure
    return [path for value in values for path in files_in(value)]


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
    return tables + figures + sharing_targets(config)


def sharing_targets(config: dict) -> list[str]:
    """Exports of datasets with an ``export:`` entry, and every ``portable:`` run with its figure."""
    exports = [paths.fill(paths.EXPORT, dataset=d) for d, settings in config["datasets"].items() if "export" in settings]
    portable = [
        paths.fill(paths.PORTABLE, name=name, file=file)
        for name in config["portable"]
        for file in ("embedding.parquet", "latent_space.png")
    ]
    return exports + portable


def table_inputs(config: dict, number: int) -> dict:
    """``{(metric, retraining): metric file}`` for table ``number``, in the table's order."""
    return {(metric, r): paths.metric_file(metric, r) for metric, r in table_retrainings(number, config["tables"])}


def run_embeddings(config: dict, retraining_wildcards) -> list[str]:
    """The embedding file of every seed of one retraining (its metrics read all of them)."""
    pattern = paths.fill(paths.RUN_EMBEDDING, **dict(retraining_wildcards.items()))
    return [paths.fill(pattern, seed=s) for s in range(config["n_seeds"])]


def sweep_candidates(config: dict, experiment: str, dataset: str, param: str) -> list[str]:
    grid = hyperparameter(config, dataset, param)["grid"]
    return [
        paths.fill(paths.SWEEP_CANDIDATE, experiment=experiment, dataset=dataset, param=param, value=float(v))
        for v in grid
    ]


def sweep_rosetta(config: dict, experiment: str, dataset: str) -> str:
    """A sweep's Rosetta points: k-means, with the k of the experiment's main table."""
    return paths.fill(paths.ROSETTA, dataset=dataset, method="kmeans", k=sweep_k(config["tables"], experiment, dataset))


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
    """Every sweep candidate's file with the experiment and dataset it belongs to."""
    return [
        {"experiment": experiment, "dataset": dataset, "file": file}
        for dataset, param in sweeps(config)
        for experiment in EXPERIMENTS
        for file in sweep_candidates(config, experiment, dataset, param)
    ]
