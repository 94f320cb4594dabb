"""The plan of the paper: the cells of every table, what every figure and sweep needs.

Plain functions of the config's ``tables`` (and ``datasets``/``hyperparameters``) sections,
tested without Snakemake (tests/test_plan.py). The workflow turns these retrainings into
files (``rvae.workflow.paths``), so a target builds exactly what it needs and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from rvae import defaults
from rvae.paper.cells import CELL_POINT_LABELS, D1_PARTS, REST_D1
from rvae.vocabulary import HYPERPARAMETERS, MAIN_MODELS, MODEL_LABELS, condition

TABLE_NUMBERS = tuple(range(1, 11))
# Table 1 and Figure 2 compare these, in this order.
TABLE1_MODELS = ("vae", "beta_vae", "vae_same_seed", "rvae")
# Sweeps train with the Rosetta points of the k-means condition of this table's first k.
SWEEP_TABLE = {"reproducibility": "table1", "sequential": "table2"}
# The anchor budget's models: Bob's R-VAE and the plain VAE aligned after training.
ANCHOR_BUDGET_MODELS = ("vae", "rvae")
# k of a sweep's Rosetta points for a dataset no table uses
SWEEP_FALLBACK_K = 8
# The metric file each table's similarity panel is read from: Table 1's has files of its own,
# Table 2's lives in its LSD files.
PANEL_SOURCE = {1: "panel", 2: "lsd"}
# The paper's passes over the joint training split: "For 8 Gaussians and MNIST we used 200 epochs,
# for all others we used 300 epochs" (a dataset of one's own is one of "all others"). The cap of
# every config is at least these (spec, "Where no plateau comes", item 1).
PAPER_PASSES = {"gaussians": 200, "mnist": 200}
OTHER_PASSES = 300


def paper_passes(kind: str) -> int:
    """The paper's epochs for a dataset of this kind."""
    return PAPER_PASSES.get(kind, OTHER_PASSES)


def paper_budget(record: dict, paper_steps: int, passes: int) -> dict:
    """A budget record (``rvae.convergence.budget``) with what the paper's passes say of it.

    *capped*: the joint template found no plateau by its cap, so its dataset trains to the cap. *below
    the paper's passes*: the budget was set by a fixed ``steps`` or a cap below the paper's passes
    (a plateau reached earlier is the budget the spec asks for, whatever the cap): every claim on
    the dataset is ``not comparable``.
    """
    capped = record["source"] != "fixed" and not record["converged"]
    below = int(record["steps"]) < int(paper_steps) and (record["source"] == "fixed" or capped)
    return {**record, "capped": bool(capped), "paper_passes": int(passes), "paper_steps": int(paper_steps), "below_paper_passes": bool(below)}


class ConfigError(ValueError):
    """A config that cannot run; the message names the key."""


@dataclass(frozen=True)
class Retraining:
    """The M seeds (runs) of one model kind under one condition: the unit RV and LSD summarise."""

    experiment: str
    dataset: str
    method: str
    k: int
    variant: str
    model_kind: str

    @property
    def condition(self) -> str:
        return condition(self.method, self.k, self.variant)


@dataclass(frozen=True)
class Cell:
    """One number of a table: a metric of a retraining on some points, normalised by a reference retraining.

    ``partition``: ``D1``, ``D2``, or a part of D1 (``R1``: its Rosetta points, ``rest_D1``: the others).
    """

    table: int
    metric: str  # "rv" or "lsd"
    partition: str
    retraining: Retraining
    reference: Retraining
    row: str
    column: str


def _retraining(experiment, dataset, k, model_kind, method=defaults.SELECTION_METHOD, variant="same") -> Retraining:
    return Retraining(experiment, dataset, method, int(k), variant, model_kind)


def _as_list(value) -> list[int]:
    return [int(v) for v in (value if isinstance(value, list) else [value])]


def first_k(value) -> int:
    """A table entry's k, or the first of its list of k."""
    return _as_list(value)[0]


def table_cells(number: int, tables: dict) -> list[Cell]:
    """The cells of table ``number`` given the config's ``tables`` section."""
    spec = tables.get(f"table{number}")
    if spec is None:
        raise ValueError(f"config has no tables.table{number} entry")
    cells: list[Cell] = []
    add = cells.append
    if number == 1:
        for dataset, k in spec.items():
            for partition in D1_PARTS:
                for kind in TABLE1_MODELS:
                    retraining = _retraining("reproducibility", dataset, k, kind)
                    add(Cell(1, "rv", partition, retraining, _retraining("reproducibility", dataset, k, "vae"), f"{CELL_POINT_LABELS[partition]} {MODEL_LABELS[kind]}", dataset))
    elif number == 2:
        for dataset, k in spec.items():
            for partition in ("D1", "D2"):
                for kind in MAIN_MODELS:
                    retraining = _retraining("sequential", dataset, k, kind)
                    add(Cell(2, "lsd", partition, retraining, _retraining("sequential", dataset, k, "vae"), dataset, f"{partition} {MODEL_LABELS[kind]}"))
    elif number in (3, 4, 5):
        for dataset, ks in spec.items():
            for k in _as_list(ks):
                for kind in MAIN_MODELS:
                    retraining = _retraining("reproducibility", dataset, k, kind)
                    add(Cell(number, "rv", REST_D1, retraining, _retraining("reproducibility", dataset, k, "vae"), MODEL_LABELS[kind], f"{k} RPs"))
    elif number in (6, 7, 8):
        for dataset, ks in spec.items():
            for k in _as_list(ks):
                for partition in ("D1", "D2"):
                    for kind in MAIN_MODELS:
                        retraining = _retraining("sequential", dataset, k, kind)
                        add(Cell(number, "lsd", partition, retraining, _retraining("sequential", dataset, k, "vae"), MODEL_LABELS[kind], f"{k} RPs {partition}"))
    elif number == 9:
        dataset, k = spec["dataset"], spec["k"]
        reference = _retraining("sequential", dataset, k, "rvae")
        for metric in ("lsd", "rv"):
            for method in spec["methods"]:
                for partition in ("D1", "D2"):
                    retraining = _retraining("sequential", dataset, k, "rvae", method=method)
                    add(Cell(9, metric, partition, retraining, reference, f"{metric.upper()} {method}", partition))
    elif number == 10:
        dataset, k = spec["dataset"], spec["k"]
        reference = _retraining("sequential", dataset, k, "rvae")
        for metric in ("lsd", "rv"):
            for partition in ("D1", "D2"):
                for variant in spec["architectures"]:
                    retraining = _retraining("sequential", dataset, k, "rvae", variant=variant)
                    add(Cell(10, metric, partition, retraining, reference, metric.upper(), f"{partition} {variant}"))
    else:
        raise ValueError(f"there is no table {number}; tables are 1..10")
    return cells


def table_retrainings(number: int, tables: dict) -> list[tuple[str, Retraining]]:
    """(metric, retraining) pairs whose metric files table ``number`` reads, without repeats."""
    seen: dict[tuple[str, Retraining], None] = {}
    for cell in table_cells(number, tables):
        for metric in dict.fromkeys((cell.metric, *([PANEL_SOURCE[number]] if number in PANEL_SOURCE else []))):
            seen[(metric, cell.retraining)] = None
            seen[(metric, cell.reference)] = None
    return list(seen)


def anchor_budget_retrainings(tables: dict) -> dict[str, dict[int, dict[str, Retraining]]]:
    """``{dataset: {k: {model kind: retraining}}}`` of the anchor budget (spec, "Anchor budget"):
    the sequential experiment's plain VAE and R-VAE at the k-means condition of each k."""
    return {
        dataset: {k: {kind: _retraining("sequential", dataset, k, kind) for kind in ANCHOR_BUDGET_MODELS} for k in _as_list(ks)}
        for dataset, ks in tables.get("anchor_budget", {}).items()
    }


def all_retrainings(tables: dict) -> list[Retraining]:
    """Every retraining the config's tables (the paper's and the anchor budget) need, once each."""
    found: dict[Retraining, None] = {}
    for number in TABLE_NUMBERS:
        if f"table{number}" in tables:
            for _, retraining in table_retrainings(number, tables):
                found[retraining] = None
    for by_k in anchor_budget_retrainings(tables).values():
        for runs in by_k.values():
            found.update(dict.fromkeys(runs.values()))
    return list(found)


def rosetta_needs(tables: dict) -> dict[str, set[tuple[str, int]]]:
    """Per dataset, the (method, k) Rosetta sets the tables use."""
    needs: dict[str, set[tuple[str, int]]] = {}
    for retraining in all_retrainings(tables):
        needs.setdefault(retraining.dataset, set()).add((retraining.method, retraining.k))
    return needs


def hyperparameter(config: dict, dataset: str, name: str) -> dict:
    """The beta/rho setting of a dataset: its own override, else the global one."""
    own = config["datasets"][dataset].get("hyperparameters", {}).get(name)
    if own is not None:
        return own
    value = config.get("hyperparameters", {}).get(name)
    if value is None:
        raise ConfigError(f"hyperparameters.{name}: missing (give `value:` or `grid:`, globally or under datasets.{dataset})")
    return value


def sweeps(config: dict) -> list[tuple[str, str]]:
    """(dataset, param) pairs whose value a sweep chooses (a ``grid:`` rather than a ``value:``)."""
    return [
        (dataset, param)
        for dataset in config["datasets"]
        for param in HYPERPARAMETERS
        if _is_defined(config, dataset, param) and "grid" in hyperparameter(config, dataset, param)
    ]


def _is_defined(config: dict, dataset: str, param: str) -> bool:
    return param in config["datasets"][dataset].get("hyperparameters", {}) or param in config.get("hyperparameters", {})


def sweep_k(tables: dict, experiment: str, dataset: str) -> int:
    """k of the Rosetta points a sweep trains with: Table 1's (reproducibility) or Table 2's (sequential).

    A dataset in neither table takes the smallest k any table uses for it (8 if none).
    """
    table = tables.get(SWEEP_TABLE[experiment], {})
    if dataset in table:
        return first_k(table[dataset])
    return sorted(k for _, k in rosetta_needs(tables).get(dataset, {(defaults.SELECTION_METHOD, SWEEP_FALLBACK_K)}))[0]


def figure_retrainings(tables: dict, experiment: str, model_kinds=MAIN_MODELS) -> dict[str, dict[str, Retraining]]:
    """Per dataset of the experiment's main table (1 or 2), the k-means retraining of each model kind shown."""
    table = tables.get(SWEEP_TABLE[experiment], {})
    return {
        dataset: {kind: _retraining(experiment, dataset, first_k(k), kind) for kind in model_kinds}
        for dataset, k in table.items()
    }


def figure_names(config: dict) -> list[str]:
    """The figures the config asks for: Figure 2 with Table 1, Figures 4-7 and the curves with Table 2;
    none without a table (a sharing-only config builds no paper figure)."""
    if not any(f"table{n}" in config["tables"] for n in TABLE_NUMBERS):
        return []
    names = ["datasets"]
    if sweeps(config):
        names.append("sweeps")
    if "table1" in config["tables"]:
        names.append("figure2")
    if "table2" in config["tables"]:
        names += ["figure4", "figure5", "figure6", "figure7", "training_curves"]
    return names
