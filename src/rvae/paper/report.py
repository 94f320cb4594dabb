"""The findings as a reader sees them: counts per verdict, the scorecard in Markdown, the front
page's summary in reStructuredText, the plain-text summary of ``rvae findings``, and the figure of
the paper's effects against ours."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvae.paper.statistics import (
    BUDGET_SENSITIVE, INCONCLUSIVE, N_RESAMPLES, NOT_COMPARABLE, NOT_RUN, OPPOSITE, PAPER_SUSPECT, REPRODUCED, SAME_NS, VERDICTS,
)  # fmt: skip
from rvae.paper.tables import TITLES


def summary_counts(findings: pd.DataFrame, column: str = "verdict") -> pd.DataFrame:
    """Claims per verdict (``column``: ``verdict`` at S, or ``verdict_half``): one row for all the
    paper's claims, one per table, one for the text's claims, and one for this project's own claims
    where there are any."""
    paper = findings[findings["kind"].isin(("table", "text"))]
    groups = [("all claims", paper)]
    table_rows = findings[findings["kind"] == "table"]
    for number in sorted(table_rows["table"].astype(int).unique()):
        groups.append((f"Table {number}", table_rows[table_rows["table"].astype(int) == number]))
    groups.append(("text claims", findings[findings["kind"] == "text"]))
    project = findings[findings["kind"] == "project"]
    if len(project):  # this project's own claims, counted apart from the paper's
        groups.append(("this project's claims", project))
    counts = pd.DataFrame(
        [[int((frame[column] == v).sum()) for v in VERDICTS] + [len(frame)] for _, frame in groups],
        index=[name for name, _ in groups], columns=list(VERDICTS) + ["total"],
    )  # fmt: skip
    counts.index.name = "claims"
    return counts


# Why a claim is undecided, by the words its reason starts with or holds: the run's own reasons
# (the goal of the default run counts these) apart from the paper's (spec, "Where no plateau comes").
RUN_REASONS = (
    ("budget-sensitive: the half budget contradicts the full one", lambda v, r: v == BUDGET_SENSITIVE),
    ("not run: half-budget file missing", lambda v, r: v == NOT_RUN and r.startswith("half budget")),
    ("not run", lambda v, r: v == NOT_RUN),
    ("collapsed run", lambda v, r: v == NOT_COMPARABLE and "collapsed" in r),
    ("trained below the paper's passes", lambda v, r: v == NOT_COMPARABLE and "below the paper's passes" in r),
    ("RV estimator", lambda v, r: v == NOT_COMPARABLE and "RV estimator" in r),
    ("not finite", lambda v, r: v == NOT_COMPARABLE and "not finite" in r),
    ("not comparable, other", lambda v, r: v == NOT_COMPARABLE),
)
PAPER_REASONS = (
    ("paper: equal medians", lambda v, r: v == PAPER_SUSPECT and "equal medians" in r),
    ("paper: suspect reference", lambda v, r: v == PAPER_SUSPECT),
)


def reason_counts(findings: pd.DataFrame) -> pd.DataFrame:
    """The paper's undecided claims (table and text) by reason, the run's own first, then the
    paper's; with the run's share of all the paper's claims (the default's goal: at most 10%)."""
    paper = findings[findings["kind"].isin(("table", "text"))]
    reasons_of = paper["reason"].fillna("") if "reason" in paper else pd.Series([""] * len(paper), index=paper.index)
    rows = []
    for side, reasons in (("run", RUN_REASONS), ("paper", PAPER_REASONS)):
        taken = np.zeros(len(paper), bool)
        for name, test in reasons:
            hit = np.array([test(v, str(r)) for v, r in zip(paper["verdict"], reasons_of)], bool) & ~taken
            taken |= hit
            if hit.any():
                rows.append({"side": side, "reason": name, "claims": int(hit.sum())})
    frame = pd.DataFrame(rows, columns=["side", "reason", "claims"])
    run, total = run_undecided(findings)
    share = pd.DataFrame([{"side": "run", "reason": f"the run's own, of {total} claims ({run / max(1, total):.0%})", "claims": run}])
    return pd.concat([frame, share], ignore_index=True)


def run_undecided(findings: pd.DataFrame) -> tuple[int, int]:
    """(claims undecided for the run's own reasons, all the paper's claims): ``not run``,
    ``budget-sensitive`` and ``not comparable`` (the default's goal: at most 10%)."""
    paper = findings[findings["kind"].isin(("table", "text"))]
    return int(paper["verdict"].isin((NOT_RUN, BUDGET_SENSITIVE, NOT_COMPARABLE)).sum()), len(paper)


def budget_changes(findings: pd.DataFrame) -> pd.DataFrame:
    """How many of the paper's claims have each (verdict at floor(S/2), verdict at S) pair."""
    paper = findings[findings["kind"].isin(("table", "text"))]
    pairs = paper.groupby(["verdict_half", "verdict"]).size().rename("claims").reset_index()
    return pairs.sort_values("claims", ascending=False, kind="stable").reset_index(drop=True)


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


def _md_table(header: list[str], rows: list[list]) -> list[str]:
    """A Markdown table's lines; each cell through ``_md_cell``."""
    return ["| " + " | ".join(header) + " |", "|---" * len(header) + "|", *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows)]


def _ours(r) -> list[str]:
    """Our a, b and a - b, each with its interval, as the scorecard prints them."""
    return [
        _with_interval(r["our_a_median"], r["our_a_low"], r["our_a_high"]),
        _with_interval(r["our_b_median"], r["our_b_low"], r["our_b_high"]),
        _with_interval(r["our_difference"], r["difference_low"], r["difference_high"]),
    ]


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
    if "verdict_half" in findings:
        half = summary_counts(findings, "verdict_half")
        lines += ["", "At the half budget, floor(S/2):", "", "| claims | " + " | ".join(half.columns) + " |", "|---" * (len(half.columns) + 1) + "|"]
        lines += [f"| {name} | " + " | ".join(str(v) for v in row) + " |" for name, row in half.iterrows()]
    lines += ["", "Undecided claims by reason (the run's own, then the paper's):", ""]
    lines += _md_table(["side", "reason", "claims"], reason_counts(findings).values.tolist())
    changed = findings[findings["kind"].isin(("table", "text")) & (findings["verdict"] != findings.get("verdict_half", findings["verdict"]))]
    lines += ["", f"Claims whose verdict at floor(S/2) differs from the one at S: {len(changed)} (column `verdict_half`).", ""]
    if missing_tables:
        lines.append(f"Tables not built in this run: {', '.join(map(str, missing_tables))} (their claims are `not run`).")
    else:
        lines.append("Every table was built.")
    lines += [
        "",
        "Verdicts: `reproduced` (our difference has the paper's sign and its interval excludes 0), "
        "`same direction, not significant` (the paper's sign, interval includes 0), `opposite` (the other sign, "
        "interval excludes 0), `inconclusive` (the other sign or 0, interval includes 0), `budget-sensitive` (a cell "
        "is not converged and the verdict at floor(S/2) contradicts the one at S: opposite signs, one of them "
        "significant), `not run` (a table, cell or metric file is missing, at either budget), `not comparable` (a "
        "collapsed run, a dataset trained below the paper's passes, an RV estimator the paper's cannot be compared "
        "with, or a difference neither finite nor of definite sign), `paper suspect` (suspect or ambiguous paper "
        "value, or a tie in the paper: our side is scored all the same). A claim with a cell that is not converged "
        "is decided at S unless the budgets contradict; `flags` says `not converged` and `k differs`. "
        "Robust in the paper: the paper's medians differ by more than the larger IQR.",
    ]
    table_rows = findings[findings["kind"] == "table"]
    for number in sorted(table_rows["table"].astype(int).unique()):
        rows = table_rows[table_rows["table"].astype(int) == number]
        lines += ["", f"## {TITLES.get(number, f'Table {number}')}", ""]
        if number in missing_tables:
            lines += ["Not built in this run.", ""]
        lines.append(
            "| claim | dataset | points | metric | k | a vs b | paper a, b (IQR) | robust in paper | ours a [95% CI] | ours b [95% CI] "
            "| ours a - b [95% CI] | at floor(S/2): a - b [95% CI] | verdict | verdict at floor(S/2) | why | flags |"
        )
        lines.append("|---" * 16 + "|")
        for _, r in rows.iterrows():
            paper = f"{_num(r['paper_a_median'])} ({_num(r['paper_a_iqr'])}) {r['direction']} {_num(r['paper_b_median'])} ({_num(r['paper_b_iqr'])})"
            cells = [
                r["claim_id"], r["dataset"] or "unstated", r["partition"], r["metric"].upper(), r["k"] or "unstated",
                f"{r['a_label']} vs {r['b_label']}", paper, "yes" if r["robust_in_paper"] else "near tie",
                *_ours(r), _with_interval(r["our_difference_half"], r["difference_low_half"], r["difference_high_half"]),
                r["verdict"], r["verdict_half"], r["reason"], r["flags"],
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
        lines.append("")
        lines += _md_table(
            ["claim", "source", "sentence", "asserts", "tables", "members agreeing in the paper", "members run", "member verdicts", "verdict", "verdict at floor(S/2)"],
            [
                [r["claim_id"], r["source"], r["quote"], f"{r['a_label']} {'<' if r['direction'] == '<' else '~'} {r['b_label']}", r["table"],
                 r["members_agree_in_paper"], r["members_run"], r["member_verdicts"], r["verdict"], r["verdict_half"]]
                for _, r in text_rows.iterrows()
            ],
        )  # fmt: skip
    project_rows = findings[findings["kind"] == "project"]
    if len(project_rows):
        lines += ["", "## This project's claims (not from the paper)", ""]
        lines.append(
            "The headline comparisons of the experiments beyond the paper (the anchor budget, chains of labs), scored "
            "as the paper's claims are: a vs b claims a smaller held-out distance to Alice's coordinates for a; "
            "intervals from resampled seeds (paired across a chain's hops); an anchor-budget claim holds against "
            "every post-hoc map class (Bonferroni members, each verdict under 'why'; the row shows the best map's numbers)."
        )
        lines.append("")
        lines += _md_table(
            ["claim", "dataset", "points", "k", "a vs b", "ours a [95% CI]", "ours b [95% CI]", "ours a - b [95% CI]", "verdict", "why"],
            [[r["claim_id"], r["dataset"], r["partition"], r["k"], f"{r['a_label']} vs {r['b_label']}", *_ours(r), r["verdict"],
              r["reason"] or (f"members: {r['member_verdicts']}" if r["member_verdicts"] else "")]
             for _, r in project_rows.iterrows()],
        )  # fmt: skip
    return "\n".join(lines) + "\n"


def summary_text(findings: pd.DataFrame, missing_tables: list[int]) -> str:
    """The counts per verdict and what was not run, as plain text (the ``rvae findings`` command)."""
    counts = summary_counts(findings)
    lines = [counts.to_string(), "", reason_counts(findings).to_string(index=False), ""]
    lines.append(f"Tables not built: {', '.join(map(str, missing_tables))} (their claims are not run)." if missing_tables else "Every table was built.")
    return "\n".join(lines) + "\n"


def summary_rst(findings: pd.DataFrame, missing_tables: list[int]) -> str:
    """The report's landing page (``workflow/report/workflow.rst`` includes it): a short caption and
    the verdict counts of all the paper's claims, one line each, narrow enough to sit beside the
    workflow graph; the counts per table are the scorecard's own page (``scorecard.csv``)."""
    counts = summary_counts(findings).loc["all claims"]
    run, total = run_undecided(findings)
    lines = ["Findings: does this run reproduce the paper?", "-" * 44, ""]
    lines.append(f"{int(counts['total'])} claims of the paper, each scored at the full budget S and at floor(S/2):")
    lines.append("")
    lines += [f"- {verdict}: {int(counts[verdict])}" for verdict in VERDICTS]
    lines.append("")
    if "verdict_half" in findings:
        half = summary_counts(findings, "verdict_half").loc["all claims"]
        lines += ["At floor(S/2): " + ", ".join(f"{v} {int(half[v])}" for v in VERDICTS if int(half[v])) + ".", ""]
    lines += [f"Undecided for the run's own reasons (not run, budget-sensitive, not comparable): {run} of {total} ({run / max(1, total):.0%}).", ""]
    lines.append(f"Tables not built in this run: {', '.join(map(str, missing_tables))} (their claims are *not run*)." if missing_tables else "Every table was built.")
    lines += ["", "The counts per table: scorecard.csv_; every claim with our medians, both budgets' intervals and verdicts: findings.csv_ (and ``findings.md`` beside it, laid out by table)."]
    return "\n".join(lines) + "\n"


def scorecard(findings: pd.DataFrame) -> pd.DataFrame:
    """The counts per verdict of every group (:func:`summary_counts`) and the undecided claims by
    reason, as one tidy frame: the report's scorecard page."""
    counts = summary_counts(findings).reset_index()
    counts.insert(0, "what", "verdicts at S")
    if "verdict_half" in findings:
        half = summary_counts(findings, "verdict_half").reset_index()
        half.insert(0, "what", "verdicts at floor(S/2)")
        counts = pd.concat([counts, half], ignore_index=True)
    reasons = reason_counts(findings).rename(columns={"reason": "claims_group", "claims": "total"})
    reasons.insert(0, "what", "undecided, by reason: " + reasons.pop("side"))
    return pd.concat([counts, reasons.rename(columns={"claims_group": "claims"})], ignore_index=True)


VERDICT_COLOURS = {
    REPRODUCED: "#55A868", SAME_NS: "#8FC79A", OPPOSITE: "#C44E52", INCONCLUSIVE: "#DD8452",
    BUDGET_SENSITIVE: "#8172B3", NOT_COMPARABLE: "#999999", NOT_RUN: "#DDDDDD", PAPER_SUSPECT: "#CCB974",
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



HEADLINE_TABLES = (1, 2)  # the paper's headline claims: every pair of models in Tables 1 and 2


def figure_verdicts_by_budget(findings: pd.DataFrame, path_png, path_pdf=None) -> None:
    """Per dataset, every Table 1-2 claim's difference a - b with its 95% interval at floor(S/2)
    (open) and at S (filled), each coloured by its budget's verdict: which orderings hold as training
    goes on (spec, "Where no plateau comes")."""
    from rvae.paper.plots import plt, save_figure

    rows = findings[(findings["kind"] == "table") & findings["table"].astype(str).isin([str(n) for n in HEADLINE_TABLES])]
    numbers = ["our_difference", "difference_low", "difference_high", "our_difference_half", "difference_low_half", "difference_high_half"]
    rows = rows[np.isfinite(rows[numbers].astype(float)).any(axis=1)]
    datasets = list(dict.fromkeys(rows["dataset"])) or ["none"]
    heights = [max(2, len(rows[rows["dataset"] == d])) for d in datasets]
    fig, axes = plt.subplots(len(datasets), 1, figsize=(9.0, 0.9 + 0.24 * sum(heights) + 0.5 * len(datasets)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})  # fmt: skip
    if not len(rows):
        axes[0, 0].text(0.5, 0.5, "no headline claim has our estimate yet", ha="center", va="center", transform=axes[0, 0].transAxes)
    for ax, dataset in zip(axes[:, 0], datasets):
        part = rows[rows["dataset"] == dataset].reset_index(drop=True)
        y = np.arange(len(part))[::-1].astype(float)
        for offset, (estimate, low, high), filled, verdict in (
            (0.18, ("our_difference_half", "difference_low_half", "difference_high_half"), False, "verdict_half"),
            (-0.18, ("our_difference", "difference_low", "difference_high"), True, "verdict"),
        ):
            for i, r in part.iterrows():
                colour = VERDICT_COLOURS.get(r[verdict], "#333333")
                e, lo, hi = (float(r[c]) for c in (estimate, low, high))
                if np.isfinite([lo, hi]).all():
                    ax.hlines(y[i] + offset, lo, hi, color=colour, lw=1.2)
                if np.isfinite(e):
                    ax.plot(e, y[i] + offset, "o", ms=4, color=colour, mfc=colour if filled else "white")
        ax.axvline(0, color="#888888", lw=0.8)
        ax.set_yticks(y)
        ax.set_yticklabels(
            [f"T{r['table']} {r['metric'].upper()} {r['partition']}: {r['a_label']} vs {r['b_label']} ({r['direction']}) - {r['verdict']}" for _, r in part.iterrows()],
            fontsize=6,
        )
        ax.set_title(f"{dataset}: a - b (normalised), 95% CI; open: floor(S/2), filled: S", fontsize=8)
        ax.tick_params(axis="x", labelsize=6)
    handles = [plt.Line2D([], [], color=c, marker="o", ls="-", ms=4) for c in VERDICT_COLOURS.values()]
    fig.legend(handles, list(VERDICT_COLOURS), loc="lower center", ncol=4, fontsize=6, frameon=False)
    fig.suptitle("Headline claims (Tables 1-2) at half and full budget, coloured by verdict", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    save_figure(fig, path_png, path_pdf)
