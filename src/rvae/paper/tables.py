"""Aggregate metric files into the paper's tables: tidy rows, and a Markdown layout like the paper's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvae.metrics import quartiles
from rvae.paper import cells
from rvae.paper.cells import PANEL, cell_values
from rvae.paper.claims import paper_k
from rvae.paper.plan import PANEL_SOURCE, Cell

TIDY_COLUMNS = [
    "table", "row", "column", "dataset", "experiment", "partition", "model", "condition", "method", "k",
    "architecture", "metric", "estimator", "reference", "median", "iqr", "n", "paper_median", "paper_iqr", "paper_suspect", "converged", "collapsed_runs", "collapsed", "capped", "below_paper_passes", "precision", "memory_format", "note",
]  # fmt: skip


# Per table, the metric file its panel (``rvae.paper.cells.PANEL``) reads (``plan.PANEL_SOURCE``) and the panel's metrics.
PANEL_METRICS = {1: ("angular_procrustes", "cka"), 2: ("heldout_lsd", "angular_procrustes", "cka")}
PANEL_TABLES = {n: (PANEL_SOURCE[n], metrics) for n, metrics in PANEL_METRICS.items()}


def median_iqr(metric: str, values: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """A cell's normalised median and IQR: :func:`rvae.paper.cells.normalise_cell` applied to the
    raw quartiles (it is increasing and affine for a finite reference median, so it commutes with
    quantiles; ``rvae.metrics.normalised_median_iqr``). A reference median that cannot normalise
    is refused: a table does not print a cell it cannot compute."""
    reference_median = np.median(reference)
    if not cells.can_normalise(metric, reference_median):
        raise ValueError(f"cannot normalise a distance by a reference median of {reference_median}")
    q25, q50, q75 = cells.normalise_cell(metric, quartiles(values), reference_median)
    with np.errstate(invalid="ignore"):
        return float(q50), float(q75 - q25)


def runs_state(runs: pd.DataFrame, reference: pd.DataFrame) -> tuple[bool, int]:
    """(converged, collapsed runs): every run and every reference run converged on its own curve,
    none collapsed, and their budget was enough for the joint template (its record's ``converged``); the count
    is of ``runs`` only. Rows: ``rvae.convergence.diagnostics``, one per seed."""
    both = pd.concat([runs, reference])
    budget = both["budget_converged"].all() if "budget_converged" in both else True
    return bool(both["converged"].all() and not both["collapsed"].any() and budget), int(runs["collapsed"].sum())


def _join(note: str, more: str) -> str:
    return f"{note}; {more}" if note else more


def _convergence(cell: Cell, convergence: dict | None) -> tuple:
    """(converged, collapsed runs, note) of the runs behind a cell and its reference; unknown without files."""
    if convergence is None:
        return None, None, ""
    converged, collapsed = runs_state(convergence[cell.retraining], convergence[cell.reference])
    failed = [
        f"{frame_name} seed {row.seed}{' (collapsed)' if row.collapsed else ''}"
        for frame_name, frame in ((cell.retraining.model_kind, convergence[cell.retraining]), ("reference", convergence[cell.reference]))
        for row in frame.itertuples()
        if not row.converged or row.collapsed
    ]
    frames = [convergence[cell.retraining], convergence[cell.reference]]
    if any("budget_converged" in f and not f["budget_converged"].all() for f in frames):
        fixed = any(f.get("budget_source", pd.Series(dtype=str)).eq("fixed").any() for f in frames)
        unjudged = any(f.get("budget_judged", pd.Series(dtype=bool)).eq(False).any() for f in frames)
        if unjudged:
            failed.insert(0, "a fixed budget too short for the plateau rule to judge")
        else:
            failed.insert(0, "a fixed budget the joint template's curve was not flat after" if fixed else "capped: the joint template found no plateau by its cap")
    note = "" if converged else f"not converged: {', '.join(dict.fromkeys(failed))}"
    return converged, collapsed, note


def _budget_flags(cell: Cell, convergence: dict | None) -> dict:
    """Whether any run behind a cell or its reference collapsed, whether their dataset is capped (no
    plateau by the cap), and whether its budget lies below the paper's passes; unknown without files."""
    if convergence is None:
        return {"collapsed": None, "capped": None, "below_paper_passes": None}
    both = pd.concat([convergence[cell.retraining], convergence[cell.reference]])
    flag = lambda column: bool(both[column].any()) if column in both else False
    return {"collapsed": bool(both["collapsed"].any()), "capped": flag("budget_capped"), "below_paper_passes": flag("budget_below_paper_passes")}


# what the runs behind a cell trained with that changes rounding: column -> (value where a convergence
# file lacks it, note's words); a layout not recorded is not guessed.
ROUNDING = {"precision": ("fp32", "Training precision"), "memory_format": ("unrecorded", "Memory layout")}


def _rounding(cell: Cell, convergence: dict | None, column: str) -> str:
    """The ``column`` (``precision``: fp32 / bf16; ``memory_format``: contiguous / channels_last) of
    the runs behind a cell and its reference, joined by ``+`` when they differ; empty without
    convergence files."""
    if convergence is None:
        return ""
    default = ROUNDING[column][0]
    frames = [convergence[cell.retraining], convergence[cell.reference]]
    found = sorted({str(p) for frame in frames for p in frame.get(column, pd.Series([default] * len(frame)))})
    return "+".join(found)


def summarise(
    cells: list[Cell], metric_frames: dict, estimator: str, paper: pd.DataFrame | None = None, convergence: dict | None = None
) -> pd.DataFrame:
    """One tidy row per cell. ``metric_frames[(metric, retraining)]`` holds the retraining's metric file;
    ``convergence[retraining]`` its runs' diagnostics (``rvae.convergence.diagnostics``, one row per seed).

    A cell is *converged* when every run behind it and its reference converged on its own curve,
    none collapsed and their budget was enough for the joint template (spec, "Training budget", item 4); the note
    names the runs that did not.
    """
    rows = []
    for cell in cells + _panel_cells(cells):
        panel = PANEL.get(cell.metric)
        frame_metric = PANEL_TABLES[cell.table][0] if panel else cell.metric
        values = cell_values(metric_frames[(frame_metric, cell.retraining)], cell.metric, cell.partition)
        reference = cell_values(metric_frames[(frame_metric, cell.reference)], cell.metric, cell.partition)
        note = panel[2] if panel else ""
        if not len(reference):
            median, iqr = np.nan, np.nan
            note = _join(note, "the reference has no values for this point set")
        elif panel and not np.isfinite(np.median(reference)):
            # a panel metric is undefined on no more points than latent dimensions, and for a collapsed run
            median, iqr = np.nan, np.nan
            note = _join(note, "undefined for the reference (no more points than latent dimensions, or a collapsed run)")
        else:
            median, iqr = median_iqr(cell.metric, values, reference)
        if cell.metric == "rv":
            if len(values) and np.isneginf(values).all():
                note = "-inf: the runs are bit-identical (zero covariance)"
            if len(reference) and np.isneginf(np.median(reference)):
                note = _join(note, "reference median is -inf (bit-identical reference runs)")
        converged, collapsed, convergence_note = _convergence(cell, convergence)
        rounding = {column: _rounding(cell, convergence, column) for column in ROUNDING}
        flags = _budget_flags(cell, convergence)
        if convergence_note:
            note = _join(note, convergence_note)
        if flags["below_paper_passes"]:
            note = _join(note, "trained below the paper's passes")
        rows.append(
            {
                "table": cell.table,
                "row": cell.row,
                "column": cell.column,
                "dataset": cell.retraining.dataset,
                "experiment": cell.retraining.experiment,
                "partition": cell.partition,
                "model": cell.retraining.model_kind,
                "condition": cell.retraining.condition,
                "method": cell.retraining.method,
                "k": cell.retraining.k,
                "architecture": cell.retraining.variant,  # the variant; column name kept for readers of the files
                "metric": cell.metric,
                "estimator": estimator if cell.metric == "rv" else "",
                "reference": f"{cell.reference.condition}/{cell.reference.model_kind}",
                "median": median,
                "iqr": iqr,
                "n": len(values),
                "converged": converged,
                "collapsed_runs": collapsed,
                **flags,
                **rounding,
                "note": note,
            }
        )
    table = pd.DataFrame(rows)
    if paper is not None and len(table):
        number = int(table["table"].iloc[0])
        columns = ["row", "column", "median", "iqr"] + (["suspect"] if "suspect" in paper else [])
        theirs = paper[paper["table"] == number][columns]
        theirs = theirs.rename(columns={"median": "paper_median", "iqr": "paper_iqr", "suspect": "paper_suspect"})
        table = table.merge(theirs, on=["row", "column"], how="left")
        table["note"] = [_k_note(number, row, note) for row, note in zip(table.to_dict("records"), table["note"])]
    for column in TIDY_COLUMNS:
        if column not in table:
            table[column] = "" if column == "paper_suspect" else np.nan
    table["paper_suspect"] = table["paper_suspect"].fillna("").astype(str)
    return table[TIDY_COLUMNS]


def _k_note(table: int, row: dict, note: str) -> str:
    """Say so where the paper's number beside a cell was measured at another k."""
    theirs = paper_k(table, row["dataset"])
    if theirs is None or pd.isna(row.get("paper_median")) or int(row["k"]) == theirs:
        return note
    return _join(note, f"k = {int(row['k'])} here, the paper's value is at k = {theirs}")


def _panel_cells(cells: list[Cell]) -> list[Cell]:
    """The metric panel's cells beside each cell of Tables 1 and 2: same runs, same reference."""
    from dataclasses import replace

    return [
        replace(cell, metric=metric, row=f"{cell.row} {PANEL[metric][0]}")
        for cell in cells
        if cell.table in PANEL_TABLES and cell.metric in ("lsd", "rv")
        for metric in PANEL_TABLES[cell.table][1]
    ]


def _suspect(table: pd.DataFrame) -> pd.Series:
    return table.get("paper_suspect", pd.Series("", index=table.index)).fillna("").astype(str) != ""


def _fmt(median: float, iqr: float) -> str:
    if np.isnan(median):
        return "n/a"
    if abs(median) < 5e-4:
        median = 0.0  # print "0.000", not "-0.000"
    iqr_text = "n/a" if np.isnan(iqr) else f"{iqr:.3f}"
    return f"{median:.3f} ({iqr_text})"


def markdown(table: pd.DataFrame, title: str, estimator: str, notes: list[str] | None = None) -> str:
    """Rows and columns as the paper lays them out; each cell 'ours [paper]'."""
    cells = table.assign(
        text=[
            _fmt(m, i) + ("" if np.isnan(pm) else f" [{_fmt(pm, pi)}{'†' if doubt else ''}]")
            for m, i, pm, pi, doubt in zip(
                table["median"], table["iqr"], table["paper_median"], table["paper_iqr"], _suspect(table)
            )
        ]
    )
    rows = list(dict.fromkeys(cells["row"]))
    columns = list(dict.fromkeys(cells["column"]))
    grid = cells.set_index(["row", "column"])["text"]
    lines = [f"# {title}", ""]
    lines.append("| | " + " | ".join(columns) + " |")
    lines.append("|---" * (len(columns) + 1) + "|")
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(grid.get((row, c), "") for c in columns) + " |")
    lines += [
        "",
        "Each cell: median (IQR) of this run, normalised as the paper's table; in brackets the paper's published value.",
    ]
    if (table["metric"] == "rv").any():
        lines.append(f"RV estimator: `{estimator}`.")
    for column, (_, words) in ROUNDING.items():
        known = table[table.get(column, pd.Series("", index=table.index)).fillna("").astype(bool)]
        if len(known):
            by_dataset = known.groupby("dataset", sort=False)[column].agg(lambda s: "+".join(sorted(set("+".join(s).split("+")))))
            lines.append(f"{words}: " + ", ".join(f"{d} {p}" for d, p in by_dataset.items()) + ".")
    for note in sorted(set(n for n in table["note"] if isinstance(n, str) and n)):
        lines.append(f"Note: {note}.")
    for reason in dict.fromkeys(table.loc[_suspect(table), "paper_suspect"]):
        lines.append(f"† Paper value suspect, not a finding to compare against: {reason}.")
    lines += notes or []
    return "\n".join(lines) + "\n"


TITLES = {
    1: "Table 1: retraining variability (RV), reproducibility, on the Rosetta points R1 and the rest of D1; normalised by the VAE median",
    2: "Table 2: latent space distortion (LSD), sequential training, D1 and D2; normalised by the VAE median",
    3: "Table 3: RV vs number of Rosetta points, reproducibility, 8 Gaussians",
    4: "Table 4: RV vs number of Rosetta points, reproducibility, MNIST",
    5: "Table 5: RV vs number of Rosetta points, reproducibility, birdsong",
    6: "Table 6: LSD vs number of Rosetta points, sequential, 8 Gaussians",
    7: "Table 7: LSD vs number of Rosetta points, sequential, MNIST",
    8: "Table 8: LSD vs number of Rosetta points, sequential, birdsong",
    9: "Table 9: LSD and RV by Rosetta point selection method, sequential R-VAE; normalised by k-means",
    10: "Table 10: LSD and RV by R-VAE architecture, sequential birdsong; normalised by the template's architecture",
}
