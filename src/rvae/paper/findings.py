"""Does this run reproduce the paper? Bootstrap intervals, verdicts and the scorecard.

A reader of ten tables of ``ours [paper]`` pairs cannot tell a finding from noise, so a run is
scored against each of the paper's claims (``rvae.paper.claims``; spec, "Findings").

**Our side.** Every cell of every built table gets a 95% percentile bootstrap interval of its
normalised median (1,000 resamples). LSD resamples seeds, each run on its own; RV resamples points,
and the runs of one experiment, dataset and point set share the resampled points (RV(x) of two
models at the same x are paired), falling back to a run's own stream where its points differ.
The reference run is resampled too and the normalisation recomputed in every resample; the cell
that *is* the reference therefore always sits at exactly 0. A claim's interval is that of the
difference of its two cells' resampled medians, resample by resample. Each stream is derived from
one root seed and a role key (``lsd/<run>``, ``rv/<experiment>/<dataset>/<points>``), so a cell's
interval does not depend on which other tables exist, and reruns give identical bytes.

**Verdicts** of a table claim, in this order:

1. ``not comparable`` whatever the run: the paper's reference is suspect (reused between tables,
   or an ambiguous column), or the paper prints equal medians (no ordering to check).
2. ``not run``: the table, the cell, or the metric file behind it is missing.
3. ``not comparable`` on this run: a cell is not converged (a ``converged`` column in the table;
   tables without one count as converged: unknown, not refuted), the two cells used different RV
   estimators or one the paper's ``exact`` cannot stand for (``pseudo``; ``ledoit_wolf`` equals
   ``exact`` when no shrinkage is needed and is the spec's stand-in where ``exact`` is undefined),
   or our difference or its interval is not finite (e.g. bit-identical same-seed runs, RV = -inf).
4. Interval wholly on the paper's side of 0: ``reproduced``; wholly on the other side:
   ``opposite``. Interval includes 0: our point estimate on the paper's side gives ``same
   direction, not significant``, otherwise (opposite sign or exactly 0) ``inconclusive``.

**Text claims.** A member's verdict is computed as for a table claim but against the text's direction; for a
"similar" member: ``reproduced`` when our whole interval of the difference lies within
``+-`` the larger of our two IQRs (the paper's own near-tie yardstick, applied to us),
``opposite`` when it lies wholly outside, ``inconclusive`` otherwise. A text claim holds for
every member (the text says "every dataset", "both", "all"), so over its evaluated members
(not ``not run`` / ``not comparable``): any ``opposite`` -> ``opposite``; all ``reproduced`` ->
``reproduced``; else any ``inconclusive`` -> ``inconclusive``; else ``same direction, not
significant``. With no evaluated member: ``not run`` if a member was not run, else ``not
comparable``. ``members_run`` says how many members the verdict rests on.

Nothing here changes a table: the point estimates are the tables' own medians.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rvae.atomic import atomic_path
from rvae.metrics import normalisable, normalise_by_median
from rvae.paper.claims import CLAIM_COLUMNS, PAPER_CLAIMS, read_paper_claims
from rvae.paper.plan import TABLE_NUMBERS
from rvae.paper.tables import NORMALISATION, TITLES
from rvae.paper.tables import _values as cell_values  # the tables' own definition of a cell's points

REPRODUCED = "reproduced"
SAME_NS = "same direction, not significant"
OPPOSITE = "opposite"
INCONCLUSIVE = "inconclusive"
NOT_RUN = "not run"
NOT_COMPARABLE = "not comparable"
VERDICTS = (REPRODUCED, SAME_NS, OPPOSITE, INCONCLUSIVE, NOT_COMPARABLE, NOT_RUN)

N_RESAMPLES = 1000
LEVEL = 0.95
ROOT_SEED = 0
CHUNK = 50  # resamples drawn per block: fixed, so the streams never depend on data size
PAPER_RV_ESTIMATOR = "exact"
COMPARABLE_ESTIMATORS = {"exact": ("exact", "ledoit_wolf")}

OUR_COLUMNS = [
    "estimator", "our_a_median", "our_a_iqr", "our_a_low", "our_a_high", "our_b_median", "our_b_iqr", "our_b_low",
    "our_b_high", "our_difference", "difference_low", "difference_high", "members_run", "member_verdicts",
    "verdict", "reason",
]  # fmt: skip
CELL_COLUMNS = ["table", "row", "column", "metric", "partition", "estimator", "median", "iqr", "n", "ci_low", "ci_high", "pairing", "note"]


# -- Bootstrap: pure functions ------------------------------------------------------------
def stream_seed(key: str, root: int = ROOT_SEED) -> np.random.SeedSequence:
    """The random stream of one role (spec, "Randomness has roles"): a stable hash of its key."""
    digest = hashlib.sha256(key.encode()).digest()
    return np.random.SeedSequence(int(root), spawn_key=tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)))


def resample_indices(key: str, n: int, n_resamples: int = N_RESAMPLES, root: int = ROOT_SEED) -> Iterator[np.ndarray]:
    """Blocks of ``CHUNK`` rows, each row the indices of one resample with replacement of ``n`` units."""
    if n < 1:
        raise ValueError(f"cannot resample {n} units (stream {key!r})")
    rng = np.random.default_rng(stream_seed(key, root))
    for start in range(0, n_resamples, CHUNK):
        yield rng.integers(0, n, size=(min(CHUNK, n_resamples - start), n))


def normalised_median_replicates(metric: str, values, reference, values_idx, reference_idx) -> np.ndarray:
    """One normalised median per resample (row of the index arrays); the reference median recomputed.

    ``values`` (n,), ``reference`` (m,), ``values_idx`` (B, n) and ``reference_idx`` (B, m) integer
    indices; returns (B,). The arithmetic is the tables' (``rvae.metrics.normalised_median_iqr``:
    the normalisation applied to the raw median), row by row; a reference median <= 0 or
    non-finite gives NaN for LSD and the panel distances, as it cannot normalise.
    """
    if metric not in NORMALISATION:
        raise ValueError(f"metric must be one of {sorted(NORMALISATION)}, got {metric!r}")
    medians = np.median(np.asarray(values, dtype=np.float64)[values_idx], axis=1)
    reference_medians = np.median(np.asarray(reference, dtype=np.float64)[reference_idx], axis=1)
    kind = NORMALISATION[metric]
    usable = normalisable(kind, reference_medians)
    out = np.full(len(medians), np.nan)
    out[usable] = normalise_by_median(kind, medians[usable], reference_medians[usable])
    return out


def percentile_interval(replicates, level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval; NaN if any replicate is NaN, infinite ends kept."""
    replicates = np.asarray(replicates, dtype=np.float64)
    if replicates.size == 0 or np.isnan(replicates).any():
        return float("nan"), float("nan")
    tail = (100.0 - round(100.0 * level, 9)) / 2.0  # 2.5 exactly for 95%, not 2.5000000000000022
    with np.errstate(invalid="ignore"):
        q = np.percentile(replicates, [tail, 100.0 - tail])
        # interpolating between two equal infinities gives NaN; the quantile is that infinity
        q = np.where(np.isnan(q), np.percentile(replicates, [tail, 100.0 - tail], method="nearest"), q)
    return float(q[0]), float(q[1])


# -- Verdicts: pure functions -------------------------------------------------------------
def ordering_verdict(direction: str, estimate: float, low: float, high: float) -> str:
    """``direction`` is the ordering claimed for a vs b; ``estimate`` and ``[low, high]`` are a - b."""
    if direction not in ("<", ">"):
        raise ValueError(f"an ordering is '<' or '>', got {direction!r}")
    if not all(np.isfinite([estimate, low, high])):
        raise ValueError(f"verdict needs a finite estimate and interval, got {estimate}, [{low}, {high}]")
    claimed = -1 if direction == "<" else 1
    if low > 0 or high < 0:
        return REPRODUCED if (1 if low > 0 else -1) == claimed else OPPOSITE
    return SAME_NS if np.sign(estimate) == claimed else INCONCLUSIVE


def similar_verdict(low: float, high: float, band: float) -> str:
    """A near tie holds when the whole interval of a - b lies within ``+-band``."""
    if not all(np.isfinite([low, high, band])):
        raise ValueError(f"verdict needs a finite interval and band, got [{low}, {high}], {band}")
    if -band <= low and high <= band:
        return REPRODUCED
    if low > band or high < -band:
        return OPPOSITE
    return INCONCLUSIVE


def aggregate_verdict(member_verdicts) -> str:
    """A text claim holds for every member it rests on (module docstring)."""
    member_verdicts = list(member_verdicts)
    evaluated = [v for v in member_verdicts if v not in (NOT_RUN, NOT_COMPARABLE)]
    if not evaluated:
        return NOT_RUN if NOT_RUN in member_verdicts or not member_verdicts else NOT_COMPARABLE
    if OPPOSITE in evaluated:
        return OPPOSITE
    if all(v == REPRODUCED for v in evaluated):
        return REPRODUCED
    return INCONCLUSIVE if INCONCLUSIVE in evaluated else SAME_NS


# -- Reading a results directory ----------------------------------------------------------
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


class _Streams:
    """Index blocks per stream key, kept in memory when small (they are reused by many cells)."""

    def __init__(self, n_resamples: int, root: int):
        self.n_resamples, self.root, self.cache = n_resamples, root, {}

    def blocks(self, key: str, n: int) -> list[np.ndarray] | Iterator[np.ndarray]:
        if (key, n) in self.cache:
            return self.cache[(key, n)]
        blocks = resample_indices(key, n, self.n_resamples, self.root)
        if n * self.n_resamples <= 2_000_000:
            blocks = self.cache[(key, n)] = list(blocks)
        return blocks


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

    streams = _Streams(n_resamples, root)
    cells = {}
    for number, table in tables.items():
        # the paper's metrics only: the similarity panel beside them makes no claim of the paper's
        for _, row in table[table["metric"].isin(("lsd", "rv"))].iterrows():
            metric, group = row["metric"], row["partition"]
            run_id, ref_id = "/".join(_retraining_key(row)), "/".join(_reference_key(row))
            run_file, ref_file = Path(metric_file(metric, *_retraining_key(row))), Path(metric_file(metric, *_reference_key(row)))
            key = (number, row["row"], row["column"])
            absent = [str(p) for p in (run_file, ref_file) if frame(p) is None]
            if absent:
                cells[key] = OurCell(row, None, missing="metric file missing: " + ", ".join(dict.fromkeys(absent)))
                continue
            run, ref = frame(run_file), frame(ref_file)
            values, reference = cell_values(run, metric, group), cell_values(ref, metric, group)
            if metric == "lsd":
                run_key, ref_key, pairing = f"lsd/{run_id}", f"lsd/{ref_id}", "seeds, per run"
            else:
                run_points = run.loc[_group_mask(run, group), "point"].to_numpy()
                ref_points = ref.loc[_group_mask(ref, group), "point"].to_numpy()
                if np.array_equal(run_points, ref_points):
                    run_key = ref_key = f"rv/{row['experiment']}/{row['dataset']}/{group}"
                    pairing = "points, paired across models"
                else:
                    run_key, ref_key = f"rv/{run_id}/{group}", f"rv/{ref_id}/{group}"
                    pairing = "points, per run (the runs cover different points)"
            if len(values) == 0 or len(reference) == 0:
                cells[key] = OurCell(row, None, missing=f"no {metric} values for {group} in {run_file} or {ref_file}")
                continue
            run_blocks = streams.blocks(run_key, len(values))
            if ref_key == run_key:
                pairs = ((b, b) for b in run_blocks)
            else:
                pairs = zip(run_blocks, streams.blocks(ref_key, len(reference)))
            replicates = np.concatenate([normalised_median_replicates(metric, values, reference, v, r) for v, r in pairs])
            cells[key] = OurCell(row, replicates, pairing=pairing)
    return cells


def _group_mask(frame: pd.DataFrame, group: str) -> np.ndarray:
    if group == "R1":
        return ((frame["partition"] == "D1") & frame["is_rosetta"]).to_numpy()
    if group == "rest_D1":
        return ((frame["partition"] == "D1") & ~frame["is_rosetta"]).to_numpy()
    return (frame["partition"] == group).to_numpy()


# -- Scoring the claims -------------------------------------------------------------------
def _intrinsic_reasons(claim, own_direction: bool = True) -> list[str]:
    """Why a claim can never be compared; a text claim supplies its own direction (``own_direction=False``)."""
    reasons = []
    if isinstance(claim["suspect"], str) and claim["suspect"]:
        reasons.append(f"paper reference suspect: {claim['suspect']}")
    if own_direction and claim["direction"] == "=":
        reasons.append("the paper prints equal medians: no ordering to check")
    return reasons


def _score_table_claim(claim, cells: dict) -> dict:
    """Our numbers for one table claim and what (if anything) stops a verdict."""
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
    on_run = []
    if a is not None and b is not None:
        out["our_difference"] = out["our_a_median"] - out["our_b_median"]
        estimators = {c.row["estimator"] if isinstance(c.row["estimator"], str) else "" for c in (a, b)}
        out["estimator"] = ", ".join(sorted(e for e in estimators if e))
        if claim["metric"] == "rv":
            compatible = COMPARABLE_ESTIMATORS[PAPER_RV_ESTIMATOR]
            if len(estimators) > 1 or not estimators <= set(compatible):
                on_run.append(f"RV estimator {out['estimator'] or 'unknown'} is not comparable with the paper's {PAPER_RV_ESTIMATOR!r}")
        on_run += [f"{side} cell not converged" for side, c in (("a", a), ("b", b)) if not c.converged]
        if pd.notna(claim["k"]) and claim["k"] != "":
            ours = sorted({int(c.row["k"]) for c in (a, b) if pd.notna(c.row.get("k"))})
            if ours and ours != [int(float(claim["k"]))]:
                on_run.append(f"k = {', '.join(map(str, ours))} here, {int(float(claim['k']))} in the paper")
        if a.replicates is not None and b.replicates is not None:
            out["difference_low"], out["difference_high"] = percentile_interval(a.replicates - b.replicates)
            if not np.isfinite([out["our_difference"], out["difference_low"], out["difference_high"]]).all():
                notes = "; ".join(dict.fromkeys(str(c.row["note"]) for c in (a, b) if isinstance(c.row["note"], str) and c.row["note"]))
                on_run.append("our difference or its interval is not finite" + (f" ({notes})" if notes else ""))
    return {"cells": (a, b), "not_run": not_run, "on_run": on_run, **out}


def _verdict(direction: str, scored: dict, intrinsic: list[str]) -> tuple[str, str]:
    if intrinsic:
        return NOT_COMPARABLE, "; ".join(intrinsic)
    if scored["not_run"]:
        return NOT_RUN, "; ".join(scored["not_run"])
    if scored["on_run"]:
        return NOT_COMPARABLE, "; ".join(scored["on_run"])
    low, high = scored["difference_low"], scored["difference_high"]
    if direction == "~":
        band = max(scored["our_a_iqr"], scored["our_b_iqr"])
        if not np.isfinite(band):
            return NOT_COMPARABLE, "our IQRs are not finite: no yardstick for a near tie"
        return similar_verdict(low, high, band), f"near-tie band +-{band:.3g} (larger of our IQRs)"
    return ordering_verdict(direction, scored["our_difference"], low, high), ""


def score_claims(claims: pd.DataFrame, cells: dict) -> pd.DataFrame:
    """Claims with our medians, intervals and a verdict each (table claims first, then text claims)."""
    rows, scored_by_id = [], {}
    for _, claim in claims[claims["kind"] == "table"].iterrows():
        scored = _score_table_claim(claim, cells)
        scored_by_id[claim["claim_id"]] = (claim, scored)
        verdict, reason = _verdict(claim["direction"], scored, _intrinsic_reasons(claim))
        rows.append({**claim.to_dict(), **{c: scored[c] for c in OUR_COLUMNS}, "verdict": verdict, "reason": reason})
    for _, claim in claims[claims["kind"] == "text"].iterrows():
        verdicts = []
        for member in claim["members"].split(";"):
            claim_id, asserted = member[:-1], member[-1]
            if claim_id not in scored_by_id:
                raise ValueError(f"text claim {claim['claim_id']}: member {claim_id!r} is not a table claim")
            member_claim, scored = scored_by_id[claim_id]
            verdicts.append(_verdict(asserted, scored, _intrinsic_reasons(member_claim, own_direction=False))[0])
        counts = {v: verdicts.count(v) for v in VERDICTS if v in verdicts}
        evaluated = sum(n for v, n in counts.items() if v not in (NOT_RUN, NOT_COMPARABLE))
        out = {c: np.nan for c in OUR_COLUMNS}
        out.update(
            estimator="", members_run=f"{evaluated}/{len(verdicts)}", verdict=aggregate_verdict(verdicts),
            member_verdicts=", ".join(f"{v}: {n}" for v, n in counts.items()),
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


def summary_counts(findings: pd.DataFrame) -> pd.DataFrame:
    """Claims per verdict: one row for all claims, one per table, one for the text's claims."""
    groups = [("all claims", findings)]
    table_rows = findings[findings["kind"] == "table"]
    for number in sorted(table_rows["table"].astype(int).unique()):
        groups.append((f"Table {number}", table_rows[table_rows["table"].astype(int) == number]))
    groups.append(("text claims", findings[findings["kind"] == "text"]))
    counts = pd.DataFrame(
        [[int((frame["verdict"] == v).sum()) for v in VERDICTS] + [len(frame)] for _, frame in groups],
        index=[name for name, _ in groups], columns=list(VERDICTS) + ["total"],
    )  # fmt: skip
    counts.index.name = "claims"
    return counts


def _num(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    value = float(value)
    if np.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{0.0 if abs(value) < 5e-4 else value:.3f}"


def _with_interval(median, low, high) -> str:
    if isinstance(median, float) and np.isnan(median):
        return "n/a"
    interval = "" if isinstance(low, float) and np.isnan(low) else f" [{_num(low)}, {_num(high)}]"
    return _num(median) + interval


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def findings_markdown(findings: pd.DataFrame, missing_tables: list[int]) -> str:
    """Counts first, then the claims grouped by table, then the text's claims."""
    counts = summary_counts(findings)
    lines = ["# Findings: which of the paper's claims hold on this run", ""]
    lines.append(
        f"{int((findings['kind'] == 'table').sum())} claims from the paper's Tables 1-10 (one per pair of cells a table "
        f"compares) and {int((findings['kind'] == 'text').sum())} from its text. Intervals: 95% percentile bootstrap "
        f"({N_RESAMPLES} resamples, fixed seed) of the normalised median (LSD: seeds resampled; RV: points)."
    )
    lines += ["", "| claims | " + " | ".join(counts.columns) + " |", "|---" * (len(counts.columns) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(str(v) for v in row) + " |" for name, row in counts.iterrows()]
    lines.append("")
    if missing_tables:
        lines.append(f"Tables not built in this run: {', '.join(map(str, missing_tables))} (their claims are `not run`).")
    else:
        lines.append("Every table was built.")
    lines += [
        "",
        "Verdicts: `reproduced` (our difference has the paper's sign and its interval excludes 0), "
        "`same direction, not significant` (the paper's sign, interval includes 0), `opposite` (the other sign, "
        "interval excludes 0), `inconclusive` (the other sign or 0, interval includes 0), `not run` (a table, "
        "cell or metric file is missing), `not comparable` (suspect or ambiguous paper value, a tie in the paper, "
        "a cell not converged, an RV estimator the paper's cannot be compared with, or a non-finite difference). "
        "Robust in the paper: the paper's medians differ by more than the larger IQR.",
    ]
    table_rows = findings[findings["kind"] == "table"]
    for number in sorted(table_rows["table"].astype(int).unique()):
        rows = table_rows[table_rows["table"].astype(int) == number]
        lines += ["", f"## {TITLES.get(number, f'Table {number}')}", ""]
        if number in missing_tables:
            lines += ["Not built in this run.", ""]
        lines.append("| claim | dataset | points | metric | k | a vs b | paper a, b (IQR) | robust in paper | ours a [95% CI] | ours b [95% CI] | ours a - b [95% CI] | verdict | why |")
        lines.append("|---" * 13 + "|")
        for _, r in rows.iterrows():
            paper = f"{_num(r['paper_a_median'])} ({_num(r['paper_a_iqr'])}) {r['direction']} {_num(r['paper_b_median'])} ({_num(r['paper_b_iqr'])})"
            cells = [
                r["claim_id"], r["dataset"] or "unstated", r["partition"], r["metric"].upper(), r["k"] or "unstated",
                f"{r['a_label']} vs {r['b_label']}", paper, "yes" if r["robust_in_paper"] else "near tie",
                _with_interval(r["our_a_median"], r["our_a_low"], r["our_a_high"]),
                _with_interval(r["our_b_median"], r["our_b_low"], r["our_b_high"]),
                _with_interval(r["our_difference"], r["difference_low"], r["difference_high"]), r["verdict"], r["reason"],
            ]  # fmt: skip
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    text_rows = findings[findings["kind"] == "text"]
    if len(text_rows):
        lines += ["", "## The text's claims", ""]
        lines.append(
            "Each holds for every member table claim it names (ordering `<`, or near tie `~`: our whole interval "
            "within +- the larger of our two IQRs). Verdict over the members that could be evaluated: any `opposite` "
            "gives `opposite`; all `reproduced` gives `reproduced`; else any `inconclusive` gives `inconclusive`; else "
            "`same direction, not significant`."
        )
        lines += ["", "| claim | source | sentence | asserts | tables | members agreeing in the paper | members run | member verdicts | verdict |"]
        lines.append("|---" * 9 + "|")
        for _, r in text_rows.iterrows():
            asserts = f"{r['a_label']} {'<' if r['direction'] == '<' else '~'} {r['b_label']}"
            cells = [r["claim_id"], r["source"], r["quote"], asserts, r["table"], r["members_agree_in_paper"], r["members_run"], r["member_verdicts"], r["verdict"]]
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def summary_text(findings: pd.DataFrame, missing_tables: list[int]) -> str:
    """The counts per verdict and what was not run, as plain text (the ``rvae findings`` command)."""
    counts = summary_counts(findings)
    lines = [counts.to_string(), ""]
    lines.append(f"Tables not built: {', '.join(map(str, missing_tables))} (their claims are not run)." if missing_tables else "Every table was built.")
    return "\n".join(lines) + "\n"


def summary_rst(findings: pd.DataFrame, missing_tables: list[int]) -> str:
    """The counts as reStructuredText: the report's front page includes it (``workflow/report/workflow.rst``)."""
    counts = summary_counts(findings)
    lines = ["Findings: does this run reproduce the paper?", "-" * 44, ""]
    lines += [".. list-table::", "   :header-rows: 1", ""]
    for cells in [["claims", *counts.columns], *([name, *map(str, row)] for name, row in counts.iterrows())]:
        lines.append("   * - " + cells[0])
        lines += [f"     - {c}" for c in cells[1:]]
    lines.append("")
    lines.append(f"Tables not built in this run: {', '.join(map(str, missing_tables))} (their claims are *not run*)." if missing_tables else "Every table was built.")
    lines += ["", "Every claim with our medians, 95% bootstrap intervals and its verdict: findings.csv_ (and ``findings.md`` beside it, laid out by table)."]
    return "\n".join(lines) + "\n"


OUTPUTS = ("csv", "parquet", "md", "rst", "intervals_csv", "intervals_parquet")


def build_findings(table_files: dict, metric_file, outputs: dict | None = None, claims=None, n_resamples: int = N_RESAMPLES, root: int = ROOT_SEED) -> pd.DataFrame:
    """Score the paper's claims on the tables ``{number: parquet path}`` that exist; the others are *not run*.

    ``metric_file`` locates a retraining's metric file (see :func:`cell_replicates`). ``outputs``
    maps each of :data:`OUTPUTS` (findings as CSV, Parquet, Markdown, the front page's summary in
    reStructuredText, and the per-cell intervals as CSV and Parquet) to a path; ``None`` writes
    nothing. ``claims`` is a frame or a path (default: the committed ``paper_claims.csv``).
    The rule and the ``rvae findings`` command both call this.
    """
    if not isinstance(claims, pd.DataFrame):
        claims = read_paper_claims(PAPER_CLAIMS if claims is None else claims)
    tables = read_tables(table_files)
    cells = cell_replicates(tables, metric_file, n_resamples, root)
    findings = score_claims(claims, cells)
    missing = [n for n in TABLE_NUMBERS if n not in tables]
    intervals = cells_frame(cells)
    writers = {
        "csv": lambda p: findings.to_csv(p, index=False, lineterminator="\n"),
        "parquet": lambda p: findings.to_parquet(p, index=False),
        "md": lambda p: p.write_text(findings_markdown(findings, missing)),
        "rst": lambda p: p.write_text(summary_rst(findings, missing)),
        "intervals_csv": lambda p: intervals.to_csv(p, index=False, lineterminator="\n"),
        "intervals_parquet": lambda p: intervals.to_parquet(p, index=False),
    }
    unknown = set(outputs or {}) - set(writers)
    if unknown:
        raise ValueError(f"build_findings: unknown outputs {sorted(unknown)}; known: {list(OUTPUTS)}")
    for name, path in (outputs or {}).items():
        with atomic_path(Path(path)) as tmp:
            writers[name](tmp)
    return findings


# -- The figure ---------------------------------------------------------------------------
VERDICT_COLOURS = {
    REPRODUCED: "#55A868", SAME_NS: "#8FC79A", OPPOSITE: "#C44E52", INCONCLUSIVE: "#DD8452",
    NOT_COMPARABLE: "#999999", NOT_RUN: "#DDDDDD",
}  # fmt: skip


def figure_findings(findings: pd.DataFrame, path_png, path_pdf=None) -> None:
    """Per table, the paper's effect (a - b) against ours with its interval; y = x dashed."""
    from rvae.paper.plots import plt, save_figure

    rows = findings[(findings["kind"] == "table") & np.isfinite(findings["our_difference"].astype(float))]
    numbers = sorted(rows["table"].astype(int).unique())
    columns = min(5, max(1, len(numbers)))
    height = max(1, -(-len(numbers) // columns))
    fig, axes = plt.subplots(height, columns, figsize=(3.2 * columns, 3.0 * height + 0.6), squeeze=False)
    for ax in axes.flat[len(numbers) :]:
        ax.axis("off")
    if not numbers:
        axes[0, 0].text(0.5, 0.5, "no claim has our estimate yet", ha="center", va="center", transform=axes[0, 0].transAxes)
    for ax, number in zip(axes.flat, numbers):
        table = rows[rows["table"].astype(int) == number]
        x = table["paper_difference"].to_numpy(float)
        y = table["our_difference"].to_numpy(float)
        low, high = table["difference_low"].to_numpy(float), table["difference_high"].to_numpy(float)
        finite = np.isfinite(low) & np.isfinite(high)
        for verdict in VERDICTS:
            for metric, marker in (("lsd", "o"), ("rv", "s")):
                sel = ((table["verdict"] == verdict) & (table["metric"] == metric)).to_numpy()
                if not sel.any():
                    continue
                bars = sel & finite  # the interval as a bar: a bootstrap median may sit outside its interval
                ax.vlines(x[bars], low[bars], high[bars], color=VERDICT_COLOURS[verdict], lw=1.0)
                ax.plot(x[sel], y[sel], marker, color=VERDICT_COLOURS[verdict], ms=4, label=verdict)
        span = np.concatenate([x, y, low[finite], high[finite]])
        lo, hi = float(np.nanmin(span)), float(np.nanmax(span))
        pad = 0.05 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "--", color="k", lw=0.8)
        ax.axhline(0, color="#cccccc", lw=0.6, zorder=0)
        ax.axvline(0, color="#cccccc", lw=0.6, zorder=0)
        ax.set_title(f"Table {number} ({', '.join(sorted(set(table['metric'].str.upper())))})", fontsize=9)
        ax.set_xlabel("paper: a - b (normalised medians)", fontsize=7)
        ax.set_ylabel("ours: a - b [95% CI]", fontsize=7)
        ax.tick_params(labelsize=6)
    handles = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    fig.suptitle("Paper's effect vs ours, one point per claim (circles LSD, squares RV; dashed: y = x)", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    save_figure(fig, path_png, path_pdf)
