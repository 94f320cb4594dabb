"""What each paper table needs: its cells, the runs behind them, and the config checks.

The Snakefile's input functions and the table-building script both read this, so a table
target builds exactly the runs its cells need and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAIN_MODELS = ("vae", "beta_vae", "rvae")
TABLE_NUMBERS = tuple(range(1, 11))


@dataclass(frozen=True)
class Run:
    """A set of M seeds of one model: the unit the metrics summarise."""

    experiment: str
    dataset: str
    method: str
    k: int
    arch: str
    model: str

    @property
    def condition(self) -> str:
        return f"{self.method}-k{self.k}-{self.arch}"

    @property
    def path(self) -> str:
        return f"{self.experiment}/{self.dataset}/{self.condition}/{self.model}"


@dataclass(frozen=True)
class Cell:
    """One number of a table: a metric of a run on a group of points, normalised by a reference run."""

    table: int
    metric: str  # "rv" or "lsd"
    group: str  # "R1", "rest_D1", "D1", "D2"
    run: Run
    reference: Run
    row: str
    column: str


def _run(experiment, dataset, k, model, method="kmeans", arch="same") -> Run:
    return Run(experiment, dataset, method, int(k), arch, model)


def _as_list(value) -> list[int]:
    return [int(v) for v in (value if isinstance(value, list) else [value])]


MODEL_LABELS = {"vae": "VAE", "beta_vae": "beta-VAE", "vae_same_seed": "VAE (same seed)", "rvae": "R-VAE"}
GROUP_LABELS = {"R1": "RV(R1)", "rest_D1": "RV(rest of D1)", "D1": "D1", "D2": "D2"}


def table_cells(number: int, tables: dict) -> list[Cell]:
    """The cells of table ``number`` given the config's ``tables`` section."""
    spec = tables.get(f"table{number}")
    if spec is None:
        raise ValueError(f"config has no tables.table{number} entry")
    cells: list[Cell] = []
    add = cells.append
    if number == 1:
        for dataset, k in spec.items():
            for group in ("R1", "rest_D1"):
                for model in ("vae", "beta_vae", "vae_same_seed", "rvae"):
                    run = _run("reproducibility", dataset, k, model)
                    add(Cell(1, "rv", group, run, _run("reproducibility", dataset, k, "vae"), f"{GROUP_LABELS[group]} {MODEL_LABELS[model]}", dataset))
    elif number == 2:
        for dataset, k in spec.items():
            for group in ("D1", "D2"):
                for model in MAIN_MODELS:
                    run = _run("sequential", dataset, k, model)
                    add(Cell(2, "lsd", group, run, _run("sequential", dataset, k, "vae"), dataset, f"{group} {MODEL_LABELS[model]}"))
    elif number in (3, 4, 5):
        for dataset, ks in spec.items():
            for k in _as_list(ks):
                for model in MAIN_MODELS:
                    run = _run("reproducibility", dataset, k, model)
                    add(Cell(number, "rv", "rest_D1", run, _run("reproducibility", dataset, k, "vae"), MODEL_LABELS[model], f"{k} RPs"))
    elif number in (6, 7, 8):
        for dataset, ks in spec.items():
            for k in _as_list(ks):
                for group in ("D1", "D2"):
                    for model in MAIN_MODELS:
                        run = _run("sequential", dataset, k, model)
                        add(Cell(number, "lsd", group, run, _run("sequential", dataset, k, "vae"), MODEL_LABELS[model], f"{k} RPs {group}"))
    elif number == 9:
        dataset, k = spec["dataset"], spec["k"]
        reference = _run("sequential", dataset, k, "rvae")
        for metric in ("lsd", "rv"):
            for method in spec["methods"]:
                for group in ("D1", "D2"):
                    run = _run("sequential", dataset, k, "rvae", method=method)
                    add(Cell(9, metric, group, run, reference, f"{metric.upper()} {method}", group))
    elif number == 10:
        dataset, k = spec["dataset"], spec["k"]
        reference = _run("sequential", dataset, k, "rvae")
        for metric in ("lsd", "rv"):
            for group in ("D1", "D2"):
                for arch in spec["architectures"]:
                    run = _run("sequential", dataset, k, "rvae", arch=arch)
                    add(Cell(10, metric, group, run, reference, metric.upper(), f"{group} {arch}"))
    else:
        raise ValueError(f"there is no table {number}; tables are 1..10")
    return cells


def table_runs(number: int, tables: dict) -> list[tuple[str, Run]]:
    """(metric, run) pairs whose metric files table ``number`` reads, without repeats."""
    seen: dict[tuple[str, Run], None] = {}
    for cell in table_cells(number, tables):
        seen[(cell.metric, cell.run)] = None
        seen[(cell.metric, cell.reference)] = None
    return list(seen)


def all_runs(tables: dict) -> list[Run]:
    runs: dict[Run, None] = {}
    for number in TABLE_NUMBERS:
        if f"table{number}" in tables:
            for _, run in table_runs(number, tables):
                runs[run] = None
    return list(runs)


def rosetta_needs(tables: dict) -> dict[str, set[tuple[str, int]]]:
    """Per dataset, the (method, k) Rosetta sets the tables use."""
    needs: dict[str, set[tuple[str, int]]] = {}
    for run in all_runs(tables):
        needs.setdefault(run.dataset, set()).add((run.method, run.k))
    return needs


def block_of(seed: int, block_size: int) -> int:
    """Fixed blocks: seed s is in block s // block_size, whatever the number of seeds."""
    if block_size < 1:
        raise ValueError(f"block size must be >= 1, got {block_size}")
    return int(seed) // int(block_size)


def seed_blocks(seeds: Sequence[int], block_size: int) -> list[list[int]]:
    blocks: dict[int, list[int]] = {}
    for seed in seeds:
        blocks.setdefault(block_of(seed, block_size), []).append(int(seed))
    return [blocks[b] for b in sorted(blocks)]
