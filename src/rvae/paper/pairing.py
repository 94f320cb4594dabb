"""Our cells beside the paper's claims: which metric files, reference and resamples stand behind
each built table cell, and which of our cells each claim compares.

**Our side.** Every cell of the paper's metrics (LSD, RV) of every built table gets its bootstrap
replicates (``rvae.paper.statistics``). LSD resamples seeds, each run on its own; RV resamples
points, and the runs of one experiment, dataset and point set share the resampled points (RV(x)
of two models at the same x are paired), falling back to a run's own stream where its points
differ. Stream keys: ``lsd/<run>``, ``rv/<experiment>/<dataset>/<points>``. The cell that *is* the
reference therefore always sits at exactly 0. A claim's interval is that of the difference of
its two cells' resampled medians, resample by resample. The point estimates are the tables' own
medians: nothing here changes a table.

**Verdicts** of a table claim (spec, "Findings" and "Where no plateau comes"), in this order:

1. ``paper suspect`` (at both budgets): the paper's reference is suspect (reused between tables, or
   an ambiguous column), or the paper prints equal medians. Our side is still scored at both
   budgets (our difference and interval, ``our_verdict`` and ``our_verdict_half``: the interval's
   verdict, or ``ours <``/``>``/``~`` where the paper has no direction), counted apart from the
   run's own failures.
2. ``not run``: the table, the cell, or a metric file behind it is missing, at the full budget or
   at the half budget (a claim is never decided from the full budget alone).
3. ``not comparable`` on this run: a collapsed run behind a cell, a dataset trained below the
   paper's passes, RV estimators that differ or that the paper's ``exact`` cannot stand for
   (``pseudo``; ``ledoit_wolf`` equals ``exact`` when no shrinkage is needed and is the spec's
   stand-in where ``exact`` is undefined), or a difference that is not finite and has no definite
   sign.
4. Otherwise the interval decides at the full budget S (``rvae.paper.statistics.ordering_verdict``);
   a difference infinite by design (bit-identical same-seed runs) is scored by its sign and flagged
   ``degenerate interval``. Where a cell is not converged (a capped dataset, or a run not flat on
   its own curve) and the half budget contradicts S (``statistics.budgets_contradict``), the claim
   is ``budget-sensitive``; where such a claim is not comparable at the half budget (or any claim
   has a run collapsed there), it is ``not comparable``. ``verdict_half`` is the same procedure at
   floor(S/2); ``flags`` says ``not converged``, ``capped dataset``, ``k differs`` (scored all the
   same) and ``degenerate interval``. Both budgets resample with the same streams: a paired
   comparison.

**Text claims.** A member's verdict is computed as for a table claim but against the text's
direction; for a "similar" member the near-tie band is the larger of our two IQRs (the paper's
own near-tie yardstick, applied to us). The members' verdicts are aggregated by
``rvae.paper.statistics.aggregate_verdict``; ``members_run`` says how many members the verdict
rests on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rvae.paper.cells import cell_values, point_mask
from rvae.seeds import bootstrap_role
from rvae.paper.claims import CLAIM_COLUMNS
from rvae.paper.statistics import (
    BUDGET_SENSITIVE, N_RESAMPLES, NOT_COMPARABLE, NOT_RUN, PAPER_SUSPECT, ROOT_SEED, UNDECIDED, VERDICTS, ResampleStreams,
    aggregate_verdict, budgets_contradict, definite, normalised_median_replicates, ordering_verdict, percentile_interval,
    similar_verdict,
)  # fmt: skip

PAPER_RV_ESTIMATOR = "exact"
COMPARABLE_ESTIMATORS = {"exact": ("exact", "ledoit_wolf")}

OUR_COLUMNS = [
    "estimator", "our_a_median", "our_a_iqr", "our_a_low", "our_a_high", "our_b_median", "our_b_iqr", "our_b_low",
    "our_b_high", "our_difference", "difference_low", "difference_high", "our_direction", "our_verdict", "our_verdict_half", "our_difference_half",
    "difference_low_half", "difference_high_half", "members_run", "member_verdicts", "verdict", "verdict_half", "flags", "reason",
]  # fmt: skip
CELL_COLUMNS = ["table", "row", "column", "metric", "partition", "estimator", "median", "iqr", "n", "ci_low", "ci_high", "pairing", "note"]


@dataclass
class OurCell:
    """A built table cell, its bootstrap replicates and what stops it from being compared."""

    row: pd.Series
    replicates: np.ndarray | None  # None: the metric files are missing
    missing: str = ""
    pairing: str = ""

    @property
    def converged(self) -> bool:
        value = self.row.get("converged", True)
        return bool(value) if not pd.isna(value) else True

    def flag(self, column: str) -> bool:
        """A boolean column of the table row (``collapsed``, ``below_paper_passes``); unknown counts as False."""
        value = self.row.get(column, False)
        return bool(value) if not pd.isna(value) else False


def _retraining_key(table_row) -> tuple[str, str, str, str]:
    """(experiment, dataset, condition, model kind) of a table row's retraining."""
    return (table_row["experiment"], table_row["dataset"], table_row["condition"], table_row["model"])


def _reference_key(table_row) -> tuple[str, str, str, str]:
    condition, _, model_kind = str(table_row["reference"]).rpartition("/")
    return (table_row["experiment"], table_row["dataset"], condition, model_kind)


TIDY_NEEDED = {"row", "column", "experiment", "dataset", "condition", "model", "reference", "metric", "partition", "estimator", "median", "iqr", "n", "note"}


def read_tables(table_files: dict) -> dict[int, pd.DataFrame]:
    """``{number: tidy table}`` from ``{number: parquet path}``; a table that is not tidy is refused with its path."""
    tables = {}
    for number, path in sorted(table_files.items()):
        table = pd.read_parquet(path)
        if TIDY_NEEDED - set(table.columns):
            raise ValueError(f"{path} lacks the tidy table columns {sorted(TIDY_NEEDED - set(table.columns))}")
        duplicated = table[table.duplicated(["row", "column"], keep=False)]
        if len(duplicated):
            raise ValueError(f"{path}: cells {duplicated[['row', 'column']].values.tolist()} appear twice")
        tables[int(number)] = table
    return tables


def cell_replicates(tables: dict[int, pd.DataFrame], metric_file, n_resamples: int = N_RESAMPLES, root: int = ROOT_SEED) -> dict:
    """``{(table, row, column): OurCell}`` for every cell of every built table.

    ``metric_file(metric, experiment, dataset, condition, model_kind)`` says where a retraining's
    metric file lies (the workflow's path registry; this floor knows no results layout).
    """
    frames: dict[Path, pd.DataFrame | None] = {}

    def frame(path: Path):
        if path not in frames:
            frames[path] = pd.read_parquet(path) if path.exists() else None
        return frames[path]

    streams = ResampleStreams(n_resamples, root)
    cells = {}
    for number, table in tables.items():
        # the paper's metrics only: the similarity panel beside them makes no claim of the paper's
        for _, row in table[table["metric"].isin(("lsd", "rv"))].iterrows():
            metric, partition = row["metric"], row["partition"]
            run_id, ref_id = "/".join(_retraining_key(row)), "/".join(_reference_key(row))
            run_file, ref_file = Path(metric_file(metric, *_retraining_key(row))), Path(metric_file(metric, *_reference_key(row)))
            key = (number, row["row"], row["column"])
            absent = [str(p) for p in (run_file, ref_file) if frame(p) is None]
            if absent:
                cells[key] = OurCell(row, None, missing="metric file missing: " + ", ".join(dict.fromkeys(absent)))
                continue
            run, ref = frame(run_file), frame(ref_file)
            values, reference = cell_values(run, metric, partition), cell_values(ref, metric, partition)
            if metric == "lsd":
                run_key, ref_key, pairing = bootstrap_role("lsd", run_id), bootstrap_role("lsd", ref_id), "seeds, per run"
            else:
                run_points = run.loc[point_mask(run, partition), "point"].to_numpy()
                ref_points = ref.loc[point_mask(ref, partition), "point"].to_numpy()
                if np.array_equal(run_points, ref_points):
                    run_key = ref_key = bootstrap_role("rv", row["experiment"], row["dataset"], partition)
                    pairing = "points, paired across models"
                else:
                    run_key, ref_key = bootstrap_role("rv", run_id, partition), bootstrap_role("rv", ref_id, partition)
                    pairing = "points, per run (the runs cover different points)"
            if len(values) == 0 or len(reference) == 0:
                cells[key] = OurCell(row, None, missing=f"no {metric} values for {partition} in {run_file} or {ref_file}")
                continue
            run_blocks = streams.blocks(run_key, len(values))
            if ref_key == run_key:
                pairs = ((b, b) for b in run_blocks)
            else:
                pairs = zip(run_blocks, streams.blocks(ref_key, len(reference)))
            replicates = np.concatenate([normalised_median_replicates(metric, values, reference, v, r) for v, r in pairs])
            cells[key] = OurCell(row, replicates, pairing=pairing)
    return cells


def _intrinsic_reasons(claim, own_direction: bool = True) -> list[str]:
    """Why a claim can never be compared; a text claim supplies its own direction (``own_direction=False``)."""
    reasons = []
    if isinstance(claim["suspect"], str) and claim["suspect"]:
        reasons.append(f"paper reference suspect: {claim['suspect']}")
    if own_direction and claim["direction"] == "=":
        reasons.append("the paper prints equal medians: no ordering to check")
    return reasons


def _score_table_claim(claim, cells: dict) -> dict:
    """Our numbers for one table claim at one budget, and what (if anything) stops a verdict there."""
    out = {c: np.nan for c in OUR_COLUMNS}
    out.update(estimator="", members_run="", member_verdicts="", reason="")
    table = int(claim["table"])
    a = cells.get((table, claim["a_row"], claim["a_column"]))
    b = cells.get((table, claim["b_row"], claim["b_column"]))
    for side, cell in (("a", a), ("b", b)):
        if cell is not None:
            out[f"our_{side}_median"], out[f"our_{side}_iqr"] = float(cell.row["median"]), float(cell.row["iqr"])
            if cell.replicates is not None:
                out[f"our_{side}_low"], out[f"our_{side}_high"] = percentile_interval(cell.replicates)
    if not any(key[0] == table for key in cells):
        not_run = [f"table {table} not built"]
    else:
        not_run = [f"{side} cell ({claim[f'{side}_row']}, {claim[f'{side}_column']}) not in table {table}" for side, c in (("a", a), ("b", b)) if c is None]
    not_run += [c.missing for c in (a, b) if c is not None and c.replicates is None]
    on_run, flags = [], []
    converged, collapsed = True, False
    if a is not None and b is not None:
        out["our_difference"] = out["our_a_median"] - out["our_b_median"]
        estimators = {c.row["estimator"] if isinstance(c.row["estimator"], str) else "" for c in (a, b)}
        out["estimator"] = ", ".join(sorted(e for e in estimators if e))
        if claim["metric"] == "rv":
            compatible = COMPARABLE_ESTIMATORS[PAPER_RV_ESTIMATOR]
            if len(estimators) > 1 or not estimators <= set(compatible):
                on_run.append(f"RV estimator {out['estimator'] or 'unknown'} is not comparable with the paper's {PAPER_RV_ESTIMATOR!r}")
        collapsed = a.flag("collapsed") or b.flag("collapsed")
        on_run += [f"{side} cell has a collapsed run" for side, c in (("a", a), ("b", b)) if c.flag("collapsed")]
        if a.flag("below_paper_passes") or b.flag("below_paper_passes"):
            on_run.append("trained below the paper's passes")
        converged = a.converged and b.converged
        flags += [f"{side} cell not converged" for side, c in (("a", a), ("b", b)) if not c.converged]
        if a.flag("capped") or b.flag("capped"):
            flags.append("capped dataset: no plateau by the cap")
        if pd.notna(claim["k"]) and claim["k"] != "":
            ours = sorted({int(c.row["k"]) for c in (a, b) if pd.notna(c.row.get("k"))})
            if ours and ours != [int(float(claim["k"]))]:
                flags.append(f"k differs: {', '.join(map(str, ours))} here, {int(float(claim['k']))} in the paper")
        if a.replicates is not None and b.replicates is not None:
            with np.errstate(invalid="ignore"):  # -inf - -inf: no difference, found below
                out["difference_low"], out["difference_high"] = percentile_interval(a.replicates - b.replicates)
            numbers = (out["our_difference"], out["difference_low"], out["difference_high"])
            notes = "; ".join(dict.fromkeys(str(c.row["note"]) for c in (a, b) if isinstance(c.row["note"], str) and c.row["note"]))
            if not definite(*numbers):
                on_run.append("our difference or its interval is not finite" + (f" ({notes})" if notes else ""))
            elif not np.isfinite(numbers).all():
                flags.append("degenerate interval: infinite by design (bit-identical runs), scored by its sign")
    return {**out, "cells": (a, b), "not_run": not_run, "on_run": on_run, "flags": flags, "converged": converged, "collapsed": collapsed}


def _interval_verdict(direction: str, scored: dict) -> tuple[str, str]:
    """The verdict at one budget from its interval alone, or why there is none."""
    if scored["not_run"]:
        return NOT_RUN, "; ".join(scored["not_run"])
    if scored["on_run"]:
        return NOT_COMPARABLE, "; ".join(scored["on_run"])
    low, high = scored["difference_low"], scored["difference_high"]
    if direction == "~":
        band = max(scored["our_a_iqr"], scored["our_b_iqr"])
        if not np.isfinite(band) or not np.isfinite([low, high]).all():
            return NOT_COMPARABLE, "our IQRs or interval are not finite: no yardstick for a near tie"
        return similar_verdict(low, high, band), f"near-tie band +-{band:.3g} (larger of our IQRs)"
    return ordering_verdict(direction, scored["our_difference"], low, high), ""


def our_direction(scored: dict) -> str:
    """Which way our difference a - b goes: ``<`` or ``>`` where the interval excludes 0, else ``~``."""
    low, high = scored["difference_low"], scored["difference_high"]
    if scored["not_run"] or np.isnan([low, high]).any():
        return ""
    return ">" if low > 0 else "<" if high < 0 else "~"


def our_verdict(direction: str, scored: dict) -> str:
    """Our side of a claim whatever the paper's doubts: the interval's verdict against the paper's
    direction, or for equal paper medians our own direction (``ours <``, ``ours >``, ``ours ~``)."""
    if direction in ("<", ">", "~"):
        return _interval_verdict(direction, scored)[0]
    ours = our_direction(scored)
    return f"ours {ours}" if ours else NOT_RUN


def _decide(direction: str, full: dict, half: dict, intrinsic: list[str]) -> tuple[str, str, str]:
    """(verdict, verdict at the half budget, reason) of one claim (module docstring)."""
    if intrinsic:
        return PAPER_SUSPECT, PAPER_SUSPECT, "; ".join(intrinsic)
    verdict, reason = _interval_verdict(direction, full)
    verdict_half, reason_half = _interval_verdict(direction, half)
    if verdict in (NOT_RUN, NOT_COMPARABLE):
        return verdict, verdict_half, reason
    if verdict_half == NOT_RUN:
        return NOT_RUN, verdict_half, f"half budget: {reason_half}"
    if verdict_half == NOT_COMPARABLE and (not full["converged"] or half["collapsed"]):
        # a claim decided by the half-budget check needs one; a collapsed run blocks every claim it enters
        return NOT_COMPARABLE, verdict_half, f"half budget: {reason_half}"
    if not full["converged"] and budgets_contradict(verdict, verdict_half, full["our_difference"], half["our_difference"], direction):
        return BUDGET_SENSITIVE, verdict_half, f"{verdict} at S, {verdict_half} at floor(S/2), and a cell is not converged" + (f"; {reason}" if reason else "")
    if verdict_half == NOT_COMPARABLE:
        reason = "; ".join(r for r in (reason, f"half budget not comparable: {reason_half}") if r)
    return verdict, verdict_half, reason


def score_claims(claims: pd.DataFrame, cells: dict, half_cells: dict | None = None) -> pd.DataFrame:
    """Claims with our medians, intervals and a verdict each at both budgets (table claims first,
    then text claims). ``half_cells`` are the cells of the half-budget tables (None: the full
    budget's, for a run that has no half budget, e.g. a reader's own tables)."""
    half_cells = cells if half_cells is None else half_cells
    rows, scored_by_id = [], {}
    for _, claim in claims[claims["kind"] == "table"].iterrows():
        full, half = _score_table_claim(claim, cells), _score_table_claim(claim, half_cells)
        scored_by_id[claim["claim_id"]] = (claim, full, half)
        verdict, verdict_half, reason = _decide(claim["direction"], full, half, _intrinsic_reasons(claim))
        ours = {c: full[c] for c in OUR_COLUMNS}
        ours.update(
            our_direction=our_direction(full), our_verdict=our_verdict(claim["direction"], full),
            our_verdict_half=our_verdict(claim["direction"], half), our_difference_half=half["our_difference"], difference_low_half=half["difference_low"],
            difference_high_half=half["difference_high"], verdict=verdict, verdict_half=verdict_half,
            flags="; ".join(dict.fromkeys(full["flags"] + [f"half budget: {f}" for f in half["flags"] if f not in full["flags"]])),
            reason=reason,
        )  # fmt: skip
        rows.append({**claim.to_dict(), **ours})
    for _, claim in claims[claims["kind"] == "text"].iterrows():
        verdicts, halves = [], []
        for member in claim["members"].split(";"):
            claim_id, asserted = member[:-1], member[-1]
            if claim_id not in scored_by_id:
                raise ValueError(f"text claim {claim['claim_id']}: member {claim_id!r} is not a table claim")
            member_claim, full, half = scored_by_id[claim_id]
            verdict, verdict_half, _ = _decide(asserted, full, half, _intrinsic_reasons(member_claim, own_direction=False))
            verdicts.append(verdict)
            halves.append(verdict_half)
        counts = {v: verdicts.count(v) for v in VERDICTS if v in verdicts}
        evaluated = sum(n for v, n in counts.items() if v not in UNDECIDED)
        out = {c: np.nan for c in OUR_COLUMNS}
        out.update(
            estimator="", our_direction="", our_verdict="", our_verdict_half="", flags="", members_run=f"{evaluated}/{len(verdicts)}", verdict=aggregate_verdict(verdicts),
            verdict_half=aggregate_verdict(halves), member_verdicts=", ".join(f"{v}: {n}" for v, n in counts.items()),
            reason="" if evaluated == len(verdicts) else f"the verdict rests on {evaluated} of {len(verdicts)} member claims",
        )  # fmt: skip
        rows.append({**claim.to_dict(), **out})
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS + OUR_COLUMNS)


def cells_frame(cells: dict) -> pd.DataFrame:
    """Every built cell with its bootstrap interval, for readers who want the intervals without claims."""
    rows = []
    for (number, row_key, column), cell in cells.items():
        low, high = percentile_interval(cell.replicates) if cell.replicates is not None else (np.nan, np.nan)
        rows.append(
            {
                "table": number, "row": row_key, "column": column, "metric": cell.row["metric"],
                "partition": cell.row["partition"], "estimator": cell.row["estimator"], "median": cell.row["median"],
                "iqr": cell.row["iqr"], "n": cell.row["n"], "ci_low": low, "ci_high": high, "pairing": cell.pairing,
                "note": cell.missing,
            }
        )  # fmt: skip
    return pd.DataFrame(rows, columns=CELL_COLUMNS)

