"""The findings scorecard: the paper's claims as data, bootstrap intervals, verdicts, partial runs."""

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rvae.metrics import normalise_lsd, normalised_median_iqr
from rvae.paper.claims import PAPER_CLAIMS, PAPER_VALUES, claims_csv, read_paper_claims
from rvae.paper.plan import table_cells, table_retrainings
from rvae.paper.report import figure_findings, summary_counts
from rvae.paper.statistics import (
    BUDGET_SENSITIVE, INCONCLUSIVE, NOT_COMPARABLE, NOT_RUN, OPPOSITE, PAPER_SUSPECT, REPRODUCED, SAME_NS, VERDICTS,
    aggregate_verdict, budgets_contradict, normalised_median_replicates, ordering_verdict, percentile_interval,
    resample_indices, similar_verdict,
)  # fmt: skip
from rvae.paper.tables import summarise
from rvae.workflow import paths

# assertions on computed numbers: tests/test_cpu_paths.py reruns them on the AVX2 kernel path
pytestmark = pytest.mark.computed

PAPER = Path(str(PAPER_VALUES))
CLAIMS = Path(str(PAPER_CLAIMS))
OUTPUTS = ("findings.csv", "findings.parquet", "findings.md", "findings.rst", "cell_intervals.csv", "cell_intervals.parquet")


def build_findings(results: Path, out: Path, **options) -> pd.DataFrame:
    """The rule's call on a hand-made results folder: the tables that exist, metric files by the
    registry, at both budgets where the folder has a half-budget tree (``results/half``)."""
    from rvae.paper.findings import build_findings as build

    tables = {n: Path(paths.rooted(paths.fill(paths.TABLE, n=n, ext="parquet"), results)) for n in range(1, 11)}
    outputs = {name: out / Path(path).name for name, path in paths.FINDINGS.items()}
    locate = lambda *key: paths.rooted(paths.metric_file_of(*key), results)  # noqa: E731
    built = {n: p for n, p in tables.items() if p.exists()}
    if (results / "half").is_dir():
        options.setdefault("half_table_files", {n: paths.rooted(paths.at_budget(paths.fill(paths.TABLE, n=n, ext="parquet"), "half"), results) for n in built})
        options.setdefault("half_metric_file", lambda *key: paths.rooted(paths.at_budget(paths.metric_file_of(*key), "half"), results))
    return build(built, locate, outputs, **options)


# -- The claims file ------------------------------------------------------------------------
def test_the_committed_claims_file_is_exactly_what_paper_values_generates():
    assert CLAIMS.read_text() == claims_csv(PAPER), "run `python -m rvae.paper.claims` and commit the result"


def _expected_pairs() -> set:
    """Independently of the module: strip the one compared thing from each key; pair what is left equal."""
    things = ["VAE (same seed)", "beta-VAE", "R-VAE", "VAE", "agglomerative", "kmeans", "gmm", "random", "simple", "complex", "same"]
    paper = pd.read_csv(PAPER)
    groups: dict = {}
    for table, row, column in paper[["table", "row", "column"]].itertuples(index=False):
        key, found = f"{row} | {column}", 0
        for thing in things:  # longest first, whole words only ("VAE" is not in "beta-VAE")
            key, n = re.subn(rf"(?<![\w-]){re.escape(thing)}(?![\w-])", "#", key, count=1)
            found += n
            if n:
                break
        assert found == 1, f"table {table} ({row}, {column}) names no compared thing"
        groups.setdefault((table, key), []).append((row, column))
    return {(t, frozenset(pair)) for (t, _), cells in groups.items() for pair in itertools.combinations(cells, 2)}


def test_the_claims_cover_every_pair_of_cells_the_papers_tables_compare():
    claims = read_paper_claims(CLAIMS)
    rows = claims[claims["kind"] == "table"]
    listed = [(int(t), frozenset([(ar, ac), (br, bc)])) for t, ar, ac, br, bc in rows[["table", "a_row", "a_column", "b_row", "b_column"]].itertuples(index=False)]
    expected = _expected_pairs()
    assert len(listed) == len(set(listed)), "a pair of cells is listed twice"
    assert expected - set(listed) == set(), "claims missing"
    assert set(listed) - expected == set(), "claims that compare cells differing in more than one thing"
    assert len(expected) == 153 and rows["claim_id"].is_unique


def test_claims_carry_the_papers_direction_robustness_and_doubt():
    claims = read_paper_claims(CLAIMS).set_index("claim_id")
    # Table 9, D2 LSD: random 12.063 (8.485) against k-means 0.00 (2.025): robust, k-means lower
    random_d2 = claims[(claims["table"] == "9") & (claims["a_row"] == "LSD kmeans") & (claims["b_row"] == "LSD random") & (claims["partition"] == "D2")].iloc[0]
    assert random_d2["direction"] == "<" and random_d2["robust_in_paper"] and random_d2["paper_difference"] == -12.063
    # Table 2 birdsong D2: beta-VAE -0.588 (0.305) vs R-VAE -0.153 (0.529): 0.435 < 0.529, a near tie
    birdsong = claims[(claims["table"] == "2") & (claims["dataset"] == "birdsong") & (claims["partition"] == "D2") & (claims["a_label"] == "beta-VAE")].iloc[0]
    assert birdsong["direction"] == "<" and not birdsong["robust_in_paper"]
    # Table 6, 4 RPs: the paper prints 0.00 for both VAE and beta-VAE
    tie = claims[(claims["table"] == "6") & (claims["k"] == "4") & (claims["a_label"] == "VAE") & (claims["b_label"] == "beta-VAE")].iloc[0]
    assert tie["direction"] == "="
    # suspect cells are carried from paper_values.csv; the ambiguous printed 'D1' column is marked too
    assert "Table 5" in claims.loc["T1-27", "suspect"] and claims.loc["T1-02", "suspect"] == ""
    assert (claims[claims["partition"] == "D1 (as printed)"]["suspect"].str.contains("ambiguous")).all()
    # text claims name their members and how many the paper's own table supports
    x2 = claims.loc["X2"]
    assert x2["kind"] == "text" and x2["members_agree_in_paper"] == "3/4"  # MNIST rest of D1: -48.566 < -46.241
    assert claims.loc["X9", "members"] == "T9-09<;T9-11<;T9-12<" and len(claims.loc["X1", "members"].split(";")) == 12


# -- Verdict rules ---------------------------------------------------------------------------
def test_ordering_and_similarity_verdicts():
    assert ordering_verdict("<", -1.0, -1.5, -0.5) == REPRODUCED
    assert ordering_verdict("<", 1.0, 0.5, 1.5) == OPPOSITE
    assert ordering_verdict("<", -0.2, -1.0, 0.5) == SAME_NS
    assert ordering_verdict(">", -0.2, -1.0, 0.5) == INCONCLUSIVE
    assert ordering_verdict(">", 0.0, 0.0, 0.0) == INCONCLUSIVE  # no difference: neither sign
    assert ordering_verdict(">", -0.1, 0.2, 0.4) == REPRODUCED  # the interval decides when it excludes 0
    with pytest.raises(ValueError, match="finite"):
        ordering_verdict("<", -np.inf, -np.inf, 1.0)
    with pytest.raises(ValueError, match="finite"):
        ordering_verdict("<", np.nan, -1.0, 1.0)
    # infinite by design, one sign throughout: scored by the sign
    assert ordering_verdict("<", -np.inf, -np.inf, -np.inf) == REPRODUCED
    assert ordering_verdict(">", -np.inf, -np.inf, -2.0) == OPPOSITE
    assert similar_verdict(-0.4, 0.3, band=0.5) == REPRODUCED
    assert similar_verdict(0.6, 0.9, band=0.5) == OPPOSITE
    assert similar_verdict(0.2, 0.9, band=0.5) == INCONCLUSIVE


def test_text_claim_aggregation():
    assert aggregate_verdict([REPRODUCED, REPRODUCED, NOT_RUN]) == REPRODUCED
    assert aggregate_verdict([REPRODUCED, SAME_NS, NOT_COMPARABLE]) == SAME_NS
    assert aggregate_verdict([REPRODUCED, INCONCLUSIVE, SAME_NS]) == INCONCLUSIVE
    assert aggregate_verdict([REPRODUCED, REPRODUCED, OPPOSITE, INCONCLUSIVE]) == OPPOSITE
    assert aggregate_verdict([NOT_RUN, NOT_COMPARABLE]) == NOT_RUN
    assert aggregate_verdict([NOT_COMPARABLE, NOT_COMPARABLE]) == NOT_COMPARABLE
    assert aggregate_verdict([REPRODUCED, BUDGET_SENSITIVE, PAPER_SUSPECT]) == REPRODUCED
    assert aggregate_verdict([PAPER_SUSPECT, PAPER_SUSPECT]) == PAPER_SUSPECT
    assert aggregate_verdict([PAPER_SUSPECT, BUDGET_SENSITIVE]) == NOT_COMPARABLE


def test_the_budgets_contradict_only_in_sign_with_one_of_them_significant():
    """Spec, "Where no plateau comes", item 3: a difference only in significance is agreement."""
    assert budgets_contradict(REPRODUCED, OPPOSITE, 0.5, -0.5, "<")
    assert budgets_contradict(REPRODUCED, INCONCLUSIVE, -0.5, 0.1, "<")
    assert budgets_contradict(SAME_NS, OPPOSITE, -0.1, 0.4, "<")
    assert not budgets_contradict(REPRODUCED, SAME_NS, -0.5, -0.1, "<")  # same sign
    assert not budgets_contradict(SAME_NS, INCONCLUSIVE, -0.1, 0.1, "<")  # neither excludes 0
    assert not budgets_contradict(REPRODUCED, NOT_COMPARABLE, -0.5, 0.5, "<")
    assert budgets_contradict(REPRODUCED, OPPOSITE, 0.0, 3.0, "~") and not budgets_contradict(REPRODUCED, INCONCLUSIVE, 0.0, 3.0, "~")


# -- A hand-made results directory ---------------------------------------------------------
LSD_D1 = {"vae": [1.00, 1.02, 0.98, 1.01, 0.99], "beta_vae": [1.50, 1.52, 1.48, 1.51, 1.49], "rvae": [0.50, 0.51, 0.49, 0.52, 0.48]}
LSD_D2 = {"vae": [1.0, 2.0, 3.0, 0.5, 2.5], "beta_vae": [0.9, 1.9, 2.9, 0.4, 2.4], "rvae": [1.1, 2.1, 3.1, 0.6, 2.6]}


def _rv_frames() -> dict:
    rng = np.random.default_rng(1)
    n = 60
    points = pd.DataFrame({"point": np.arange(n), "partition": ["D1"] * 40 + ["D2"] * 20, "is_rosetta": [True] * 8 + [False] * (n - 8)})
    base = rng.normal(0.0, 1.0, n)
    rv = {"vae": base, "beta_vae": base - 0.3 + rng.normal(0, 0.05, n), "rvae": base - 5.0, "vae_same_seed": np.full(n, -np.inf)}
    return {model: points.assign(rv=values) for model, values in rv.items()}


def _write_table(results: Path, number: int, tables: dict, estimator: str = "ledoit_wolf", converged: dict | None = None):
    cells = table_cells(number, tables)
    frames = {
        (metric, run): pd.read_parquet(paths.rooted(paths.metric_file(metric, run), results))
        for metric, run in table_retrainings(number, tables)
    }
    table = summarise(cells, frames, estimator, pd.read_csv(PAPER))
    if converged is not None:
        table["converged"] = [converged.get((r, c), True) for r, c in zip(table["row"], table["column"])]
    (results / "tables").mkdir(parents=True, exist_ok=True)
    table.to_parquet(results / "tables" / f"table{number}.parquet", index=False)


def _claim_cell(claim_id: str, side: str) -> tuple[str, str]:
    claim = read_paper_claims(CLAIMS).set_index("claim_id").loc[claim_id]
    return claim[f"{side}_row"], claim[f"{side}_column"]


def fake_results(root: Path, numbers=(1, 2, 3), half: bool = True) -> Path:
    """Tables 1-3 on 8 Gaussians from hand-made metric files, through the tables' own code; with
    ``half`` the same at the half budget, except the R-VAE's D1 LSD: 1.5 times the VAE's there,
    half of it at S, in a Table 2 cell that is not converged."""
    full = _fake_results(root / "results", numbers, LSD_D1)
    if half:
        _fake_results(root / "results", numbers, {**LSD_D1, "rvae": list(np.asarray(LSD_D1["beta_vae"]))}, budget="half")
    return full


def _fake_results(results: Path, numbers, lsd_d1: dict, budget: str = "full") -> Path:
    top = results
    results = results if budget == "full" else results / "half"
    lsd_dir = results / "metrics" / "lsd" / "sequential" / "gaussians" / "kmeans-k8-same"
    rv_dir = results / "metrics" / "rv" / "reproducibility" / "gaussians" / "kmeans-k8-same"
    lsd_dir.mkdir(parents=True)
    rv_dir.mkdir(parents=True)
    panel_dir = results / "metrics" / "panel" / "reproducibility" / "gaussians" / "kmeans-k8-same"
    panel_dir.mkdir(parents=True)
    for model in LSD_D1:
        # the similarity panel beside the LSD (Table 2) is not scored by findings: any values do
        panel = {f"{m}_{p}": np.ones(5) for m in ("heldout", "angular_procrustes", "cka") for p in ("D1", "D2")}
        pd.DataFrame({"seed": range(5), "D1": lsd_d1[model], "D2": LSD_D2[model], **panel}).to_parquet(lsd_dir / f"{model}.parquet")
    for model, frame in _rv_frames().items():
        frame.to_parquet(rv_dir / f"{model}.parquet")
        panel = {f"{m}_{p}": np.ones(5) for m in ("angular_procrustes", "cka") for p in ("R1", "rest_D1")}
        pd.DataFrame({"seed": range(5), **panel}).to_parquet(panel_dir / f"{model}.parquet")
    if 1 in numbers:  # the R-VAE's R1 cell did not converge
        _write_table(results, 1, {"table1": {"gaussians": 8}}, converged={("RV(R1) R-VAE", "gaussians"): False})
    if 2 in numbers:  # the R-VAE's D1 LSD cell did not converge
        _write_table(results, 2, {"table2": {"gaussians": 8}}, converged={_claim_cell("T2-02", "b"): False})
    if 3 in numbers:  # an estimator the paper's log det cannot stand for
        _write_table(results, 3, {"table3": {"gaussians": [8]}}, estimator="pseudo")
    return top


def _by_id(findings: pd.DataFrame) -> pd.DataFrame:
    return findings.set_index("claim_id")


def test_verdicts_on_hand_made_tables_reach_every_verdict(tmp_path):
    findings = _by_id(build_findings(fake_results(tmp_path), tmp_path / "out"))
    # Table 2, D1: R-VAE LSD half the VAE's on every seed at S, 1.5 times at floor(S/2), in a cell
    # that did not converge: the budgets contradict (paper VAE > R-VAE)
    assert findings.loc["T2-02", "verdict"] == BUDGET_SENSITIVE and findings.loc["T2-02", "verdict_half"] == OPPOSITE
    assert findings.loc["T2-02", "our_difference"] == pytest.approx(0.5) and findings.loc["T2-02", "our_difference_half"] == pytest.approx(-0.5)
    assert "reproduced at S, opposite at floor(S/2)" in findings.loc["T2-02", "reason"] and "not converged" in findings.loc["T2-02", "flags"]
    # beta-VAE 1.5 times the VAE's: the paper's VAE > beta-VAE fails at both budgets
    assert findings.loc["T2-01", "verdict"] == OPPOSITE == findings.loc["T2-01", "verdict_half"]  # ours 0 - 0.5
    assert findings.loc["T2-01", "difference_high"] < 0
    # Table 2, D2: differences of 0.05 against seeds spread from 0.5 to 3
    assert findings.loc["T2-04", "verdict"] == SAME_NS  # paper VAE > beta-VAE; ours +0.05
    assert findings.loc["T2-04", "difference_low"] < 0 < findings.loc["T2-04", "difference_high"]
    assert findings.loc["T2-05", "verdict"] == INCONCLUSIVE  # paper VAE > R-VAE; ours -0.05
    assert findings.loc["T2-11", "verdict"] == NOT_RUN and "not in table 2" in findings.loc["T2-11", "reason"]  # MNIST
    # a cell not converged, both budgets agreeing: decided at S, flagged
    assert findings.loc["T1-02", "verdict"] == findings.loc["T1-02", "verdict_half"] == REPRODUCED
    assert "not converged" in findings.loc["T1-02", "flags"]
    assert findings.loc["T1-17", "verdict"] == REPRODUCED  # rest of D1: R-VAE 5 log units below the VAE
    assert findings.loc["T1-17", "our_difference"] == pytest.approx(5.0)
    # not comparable: a pseudo estimator; the paper's side apart: a suspect reference, a tie
    assert findings.loc["T3-08", "verdict"] == NOT_COMPARABLE and "pseudo" in findings.loc["T3-08", "reason"]
    assert findings.loc["T1-21", "verdict"] == PAPER_SUSPECT and "suspect" in findings.loc["T1-21", "reason"]
    assert findings.loc["T1-21", "verdict_half"] == PAPER_SUSPECT and findings.loc["T1-21", "our_verdict"] == NOT_RUN  # birdsong: not built here
    tie = findings[(findings["table"] == "6") & (findings["direction"] == "=")]
    assert (tie["verdict"] == PAPER_SUSPECT).all() and len(tie) == 1
    assert set(findings["verdict"]) == set(VERDICTS)
    # X3 asserts R-VAE < beta-VAE, where Table 2's own D1 numbers say the opposite (T2-03):
    # the same data reproduce the text (ours beta-VAE 1.5 > R-VAE 0.5) and contradict the table.
    # At floor(S/2) the two are equal: a change of significance, not of sign, so S stands.
    assert findings.loc["T2-03", "verdict"] == OPPOSITE and findings.loc["T2-03", "verdict_half"] == INCONCLUSIVE
    assert findings.loc["X3", "members_run"] == "3/16" and findings.loc["X3", "verdict"] == INCONCLUSIVE  # T2-02 is budget-sensitive
    assert "reproduced: 1, inconclusive: 2, budget-sensitive: 1" in findings.loc["X3", "member_verdicts"]


def test_a_collapse_a_short_budget_and_a_capped_dataset_reach_the_findings(tmp_path):
    """A collapsed run (at either budget, where a cell is not converged) and a budget below the
    paper's passes make a claim not comparable; a capped dataset is flagged; a suspect claim keeps
    our side in our_verdict at both budgets."""
    results = fake_results(tmp_path, numbers=(2,))
    half_table = results / "half" / "tables" / "table2.parquet"
    table = pd.read_parquet(half_table)
    row, column = _claim_cell("T2-02", "b")  # the R-VAE's D1 cell, not converged
    table.loc[(table["row"] == row) & (table["column"] == column), "collapsed"] = True
    table.to_parquet(half_table, index=False)
    full_table = results / "tables" / "table2.parquet"
    table = pd.read_parquet(full_table)
    table["capped"] = True
    row, column = _claim_cell("T2-04", "a")
    table.loc[(table["row"] == row) & (table["column"] == column), "below_paper_passes"] = True
    table.to_parquet(full_table, index=False)
    findings = _by_id(build_findings(results, tmp_path / "out"))
    assert findings.loc["T2-02", "verdict"] == NOT_COMPARABLE and findings.loc["T2-02", "reason"] == "half budget: b cell has a collapsed run"
    assert findings.loc["T2-04", "verdict"] == NOT_COMPARABLE and "trained below the paper's passes" in findings.loc["T2-04", "reason"]
    assert "capped dataset: no plateau by the cap" in findings.loc["T2-01", "flags"]
    suspect = findings[findings["verdict"] == PAPER_SUSPECT]
    assert (suspect["verdict_half"] == PAPER_SUSPECT).all()
    assert suspect["our_verdict"].isin(VERDICTS[:4] + (NOT_RUN,) + tuple(f"ours {d}" for d in "<>~")).all()
    assert (suspect.loc[suspect["our_verdict"] == NOT_RUN, "our_difference"].isna()).all()


def test_a_missing_half_budget_file_makes_its_claims_not_run(tmp_path):
    """Never a silent verdict from the full budget alone."""
    results = fake_results(tmp_path, numbers=(2,))
    (results / "half" / "metrics" / "lsd" / "sequential" / "gaussians" / "kmeans-k8-same" / "vae.parquet").unlink()
    findings = _by_id(build_findings(results, tmp_path / "out"))
    assert findings.loc["T2-01", "verdict"] == NOT_RUN and findings.loc["T2-01", "reason"].startswith("half budget: ")
    assert "vae.parquet" in findings.loc["T2-01", "reason"]
    (results / "half" / "tables" / "table2.parquet").unlink()
    findings = _by_id(build_findings(results, tmp_path / "out"))
    assert findings.loc["T2-04", "verdict"] == NOT_RUN and "half budget: table 2 not built" in findings.loc["T2-04", "reason"]


def test_a_cell_at_another_k_than_the_papers_is_scored_and_flagged(tmp_path):
    """The default config scales Table 1/2's k down (birdsong 64 -> 32, chairs 128 -> 32): the paper's
    number beside such a cell is at another k; the table says so and the claim is flagged `k differs`."""
    import shutil

    results = fake_results(tmp_path, numbers=(), half=False)
    lsd = results / "metrics" / "lsd" / "sequential" / "gaussians"
    shutil.copytree(lsd / "kmeans-k8-same", lsd / "kmeans-k4-same")
    _write_table(results, 2, {"table2": {"gaussians": 4}})
    table = pd.read_parquet(results / "tables" / "table2.parquet")
    assert table["paper_median"].notna().any()
    assert table.loc[table["paper_median"].notna(), "note"].str.contains("k = 4 here, the paper's value is at k = 8").all()
    findings = _by_id(build_findings(results, tmp_path / "out"))
    assert findings.loc["T2-02", "verdict"] == REPRODUCED  # scored all the same, and flagged
    assert "k differs: 4 here, 8 in the paper" in findings.loc["T2-02", "flags"]


def test_an_infinite_same_seed_difference_is_scored_by_its_sign(tmp_path):
    """Bit-identical same-seed runs (RV -inf) are below any other model by design: a definite sign,
    a degenerate interval; two -inf cells leave no difference at all."""
    results = fake_results(tmp_path, numbers=(1,))
    claims = read_paper_claims(CLAIMS)
    claim = claims[claims["claim_id"] == "T1-09"].copy()  # MNIST same seed vs R-VAE, moved to our Gaussians
    claim[["a_row", "a_column", "b_row", "b_column", "claim_id"]] = ["RV(rest of D1) VAE (same seed)", "gaussians", "RV(rest of D1) R-VAE", "gaussians", "H-1"]
    both = claim.copy()
    both[["b_row", "claim_id"]] = ["RV(R1) VAE (same seed)", "H-2"]
    findings = _by_id(build_findings(results, tmp_path / "out", claims=pd.concat([claim, both])))
    assert np.isneginf(findings.loc["H-1", "our_a_median"]) and np.isneginf(findings.loc["H-1", "difference_high"])
    assert findings.loc["H-1", "verdict"] == (REPRODUCED if claim.iloc[0]["direction"] == "<" else OPPOSITE)
    assert "degenerate interval" in findings.loc["H-1", "flags"]
    assert findings.loc["H-2", "verdict"] == NOT_COMPARABLE and "not finite" in findings.loc["H-2", "reason"]


def test_a_partial_run_gives_not_run_rows_and_says_what_is_missing(tmp_path):
    results = fake_results(tmp_path, numbers=(2,))
    findings = build_findings(results, tmp_path / "out")
    assert len(findings) == len(read_paper_claims(CLAIMS))
    others = findings[(findings["kind"] == "table") & ~findings["table"].isin(["2", "6", "7", "8", "1", "5", "9", "10"])]
    assert (others["verdict"] == NOT_RUN).all() and (others["reason"] == "table " + others["table"] + " not built").all()
    counts = summary_counts(findings)
    assert counts.loc["Table 3", NOT_RUN] == 12 and counts.loc["all claims", "total"] == len(findings)
    assert counts.loc["Table 2", [REPRODUCED, OPPOSITE, SAME_NS, INCONCLUSIVE]].sum() == 5 and counts.loc["Table 2", BUDGET_SENSITIVE] == 1
    md = (tmp_path / "out" / "findings.md").read_text()
    assert "Tables not built in this run: 1, 3, 4, 5, 6, 7, 8, 9, 10" in md
    assert md.index("| all claims |") < md.index("## Table 2") < md.index("## The text's claims")
    # a table whose metric file has gone: its claims are not run, with the file named
    (results / "metrics" / "lsd" / "sequential" / "gaussians" / "kmeans-k8-same" / "rvae.parquet").unlink()
    findings = _by_id(build_findings(results, tmp_path / "out2"))
    assert findings.loc["T2-02", "verdict"] == NOT_RUN and "rvae.parquet" in findings.loc["T2-02", "reason"]
    assert findings.loc["T2-01", "verdict"] == OPPOSITE  # the cells whose files are there are still scored


# -- Bootstrap intervals ---------------------------------------------------------------------
def test_findings_are_byte_identical_on_rerun_and_independent_of_other_tables(tmp_path):
    results = fake_results(tmp_path)
    build_findings(results, tmp_path / "a")
    build_findings(results, tmp_path / "b")
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    alone = fake_results(tmp_path / "alone", numbers=(2,))
    build_findings(alone, tmp_path / "c")
    columns = ["row", "column", "median", "ci_low", "ci_high"]
    full = pd.read_parquet(tmp_path / "a" / "cell_intervals.parquet")
    part = pd.read_parquet(tmp_path / "c" / "cell_intervals.parquet")
    assert len(part) == 6 and part["ci_high"].gt(part["ci_low"]).sum() == 4  # the VAE cells sit at exactly 0
    pd.testing.assert_frame_equal(full.loc[full["table"] == 2, columns].reset_index(drop=True), part[columns])


def test_claim_interval_equals_a_plain_loop_over_the_same_resamples(tmp_path):
    """Brute force: resample by resample with the tables' own normalisation, then the percentiles."""
    findings = _by_id(build_findings(fake_results(tmp_path), tmp_path / "out"))
    vae, rvae = np.array(LSD_D1["vae"]), np.array(LSD_D1["rvae"])
    vae_idx = np.concatenate(list(resample_indices("lsd/sequential/gaussians/kmeans-k8-same/vae", 5)))
    rvae_idx = np.concatenate(list(resample_indices("lsd/sequential/gaussians/kmeans-k8-same/rvae", 5)))
    assert vae_idx.shape == (1000, 5)
    diffs = []
    for v, r in zip(vae_idx, rvae_idx):
        a = normalised_median_iqr("relative_change", vae[v], vae[v])[0]  # the VAE cell is its own reference
        b = normalised_median_iqr("relative_change", rvae[r], vae[v])[0]
        assert a == 0.0, "a reference against itself is zero by construction"
        diffs.append(a - b)
    low, high = np.percentile(diffs, [2.5, 97.5])
    assert findings.loc["T2-02", "difference_low"] == low and findings.loc["T2-02", "difference_high"] == high


def test_vectorised_replicates_equal_the_tables_normalisation_per_resample():
    rng = np.random.default_rng(3)
    values, reference = rng.normal(size=7), rng.normal(size=7)
    values[2] = -np.inf
    idx = np.concatenate(list(resample_indices("test/rv", 7, n_resamples=120)))
    fast = normalised_median_replicates("rv", values, reference, idx, idx)
    slow = [normalised_median_iqr("difference", values[i], reference[i])[0] for i in idx]
    np.testing.assert_array_equal(fast, slow)
    lsd_v, lsd_r = np.abs(values[[0, 1, 3, 4]]) + 0.1, np.abs(reference[:3]) + 0.1
    iv = np.concatenate(list(resample_indices("test/a", 4, n_resamples=120)))
    ir = np.concatenate(list(resample_indices("test/b", 3, n_resamples=120)))
    fast = normalised_median_replicates("lsd", lsd_v, lsd_r, iv, ir)
    np.testing.assert_array_equal(fast, [normalised_median_iqr("relative_change", lsd_v[a], lsd_r[b])[0] for a, b in zip(iv, ir)])


def test_bootstrap_distribution_matches_exact_enumeration_on_three_seeds():
    """With 3 seeds a side there are 27 x 27 equally likely resamples: every atom's frequency must match."""
    values, reference = np.array([0.5, 0.8, 1.4]), np.array([1.0, 1.2, 2.0])
    exact: dict = {}
    for a in itertools.product(range(3), repeat=3):
        for b in itertools.product(range(3), repeat=3):
            stat = round(float(np.median(normalise_lsd(values[list(a)], reference[list(b)]))), 9)
            exact[stat] = exact.get(stat, 0) + 1 / 729
    iv = np.concatenate(list(resample_indices("exact/a", 3)))
    ir = np.concatenate(list(resample_indices("exact/b", 3)))
    replicates = np.round(normalised_median_replicates("lsd", values, reference, iv, ir), 9)
    atoms, counts = np.unique(replicates, return_counts=True)
    assert set(atoms) <= set(exact)
    for atom, p in exact.items():
        observed = counts[atoms == atom].sum() / len(replicates)
        assert abs(observed - p) <= 4.5 * np.sqrt(p * (1 - p) / len(replicates)), (atom, observed, p)
    low, high = percentile_interval(replicates)
    cdf = lambda x: sum(p for s, p in exact.items() if s <= x)  # noqa: E731
    assert cdf(low) <= 0.1 and cdf(high) >= 0.9


def test_percentile_interval_keeps_infinities_and_refuses_nan():
    assert percentile_interval(np.full(10, -np.inf)) == (-np.inf, -np.inf)
    assert np.isnan(percentile_interval([1.0, np.nan])[0])
    assert percentile_interval(np.arange(101.0)) == (2.5, 97.5)


def test_figure_draws_one_point_per_scored_claim(tmp_path, monkeypatch):
    import rvae.paper.plots as plots

    findings = build_findings(fake_results(tmp_path), tmp_path / "out")
    drawn = {}
    save = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, png, pdf=None: (drawn.setdefault("fig", fig), save(fig, png, pdf)))
    figure_findings(findings, tmp_path / "findings.png", tmp_path / "findings.pdf")
    scored = findings[(findings["kind"] == "table") & np.isfinite(findings["our_difference"].astype(float))]
    assert len(scored) > 5
    points = {}
    for ax in drawn["fig"].axes:
        title = ax.get_title()
        for line in ax.get_lines():
            if line.get_marker() in ("o", "s") and line.get_linestyle() == "None":
                points.setdefault(title, []).extend(zip(line.get_xdata(), line.get_ydata()))
    assert sum(len(p) for p in points.values()) == len(scored)  # one point per scored claim, no more
    for number, table in scored.groupby(scored["table"].astype(int)):
        panel = next(v for title, v in points.items() if title.startswith(f"Table {number} "))
        expected = sorted(zip(table["paper_difference"].astype(float), table["our_difference"].astype(float)))
        assert np.allclose(sorted(panel), expected)  # at (paper's effect, ours)
    assert (tmp_path / "findings.png").stat().st_size > 1000 and (tmp_path / "findings.pdf").stat().st_size > 1000


# -- The command line ------------------------------------------------------------------------
def test_rvae_findings_prints_the_rules_counts_for_a_run(tmp_path, capsys):
    from rvae.cli import main

    results = fake_results(tmp_path)
    assert main(["findings", str(results)]) == 0
    printed = capsys.readouterr().out
    counts = summary_counts(build_findings(results, tmp_path / "out"))  # the rule's call
    line = next(l for l in printed.splitlines() if l.startswith("all claims"))
    assert line.split()[2:] == [str(v) for v in counts.loc["all claims"]]
    assert re.search(r"^Table 2\s+" + r"\s+".join(str(v) for v in counts.loc["Table 2"]) + "$", printed, re.M)
    assert "Tables not built: 4, 5, 6, 7, 8, 9, 10" in printed
    assert not (results / "tables" / "findings.csv").exists()  # prints, writes nothing


def test_rvae_findings_on_a_folder_without_tables_says_so_in_one_line(tmp_path, capsys):
    from rvae.cli import main

    (tmp_path / "results" / "tables").mkdir(parents=True)
    assert main(["findings", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no tables" in err and str(tmp_path / "results" / "tables") in err


# -- The modules one by one ------------------------------------------------------------------
def test_pairing_shares_rv_resamples_across_models_and_keeps_lsd_seeds_per_run(tmp_path):
    """rvae.paper.pairing: the R-VAE's RV is the VAE's minus 5 at every point, so with the points
    resampled together every replicate of its normalised median is -5; the VAE's own cell is 0."""
    from rvae.paper.pairing import cell_replicates, cells_frame, read_tables, score_claims

    results = fake_results(tmp_path, numbers=(1, 2))
    tables = read_tables({n: results / "tables" / f"table{n}.parquet" for n in (1, 2)})
    cells = cell_replicates(tables, lambda *key: paths.rooted(paths.metric_file_of(*key), results), n_resamples=200)
    rvae, vae = cells[(1, "RV(rest of D1) R-VAE", "gaussians")], cells[(1, "RV(rest of D1) VAE", "gaussians")]
    assert rvae.pairing == vae.pairing == "points, paired across models" and len(rvae.replicates) == 200
    np.testing.assert_allclose(rvae.replicates, -5.0, atol=1e-12)
    assert (vae.replicates == 0.0).all()
    lsd = cells[(2, "gaussians", "D1 R-VAE")]
    assert lsd.pairing == "seeds, per run" and lsd.row["median"] == pytest.approx(-0.5)
    assert len(cells) == 14  # 8 RV cells of Table 1, 6 LSD cells of Table 2: the panels are not scored
    claims = read_paper_claims(CLAIMS)
    scored = score_claims(claims[claims["claim_id"].isin(["T1-17", "T2-02"])], cells).set_index("claim_id")
    assert scored.loc["T1-17", "our_difference"] == pytest.approx(5.0) and scored.loc["T1-17", "verdict"] == REPRODUCED
    assert scored.loc["T1-17", "difference_low"] == pytest.approx(5.0) and scored.loc["T1-17", "difference_high"] == pytest.approx(5.0)
    intervals = cells_frame(cells).set_index(["table", "row", "column"])
    assert intervals.loc[(1, "RV(rest of D1) VAE", "gaussians"), ["ci_low", "ci_high"]].tolist() == [0.0, 0.0]


def test_statistics_streams_are_the_resample_indices_of_their_key():
    """rvae.paper.statistics: a stream's blocks depend on its key and root alone, cached or not."""
    from rvae.paper.statistics import CHUNK, ResampleStreams

    streams = ResampleStreams(n_resamples=120, root=7)
    first = streams.blocks("rv/a", 9)
    assert [b.shape for b in first] == [(CHUNK, 9), (CHUNK, 9), (20, 9)] and streams.blocks("rv/a", 9) is first
    for mine, direct in zip(first, resample_indices("rv/a", 9, n_resamples=120, root=7)):
        np.testing.assert_array_equal(mine, direct)
    assert not np.array_equal(first[0], next(resample_indices("rv/b", 9, n_resamples=120, root=7)))
    assert percentile_interval(np.arange(1.0, 41.0), level=0.5) == (10.75, 30.25)


def test_report_counts_and_summaries_of_a_small_scorecard():
    """rvae.paper.report: three claims counted per verdict, as text and as the front page's table."""
    from rvae.paper.report import summary_rst, summary_text

    findings = pd.DataFrame({"kind": ["table", "table", "text"], "table": ["2", "2", "1"], "verdict": [REPRODUCED, OPPOSITE, NOT_RUN]})
    counts = summary_counts(findings)
    assert counts.loc["all claims", [REPRODUCED, OPPOSITE, NOT_RUN, "total"]].tolist() == [1, 1, 1, 3]
    assert counts.loc["Table 2", "total"] == 2 and counts.loc["text claims", NOT_RUN] == 1
    assert "Tables not built: 1, 3 (their claims are not run)." in summary_text(findings, [1, 3])
    rst = summary_rst(findings, [])
    # the landing page: a caption and one line per verdict, narrow beside the workflow graph; no
    # table per table (that is the scorecard's own page)
    assert "- reproduced: 1\n- same direction, not significant: 0\n- opposite: 1\n" in rst and "Every table was built." in rst
    assert "list-table" not in rst and "Table 2" not in rst and max(len(line) for line in rst.splitlines()[:14]) <= 100
    assert "Undecided for the run's own reasons (not run, budget-sensitive, not comparable): 1 of 3 (33%)." in rst
    from rvae.paper.report import scorecard

    card = scorecard(findings).set_index("claims")
    assert card.loc["Table 2", REPRODUCED] == 1 and card.loc["the run's own, of 3 claims (33%)", "total"] == 1
