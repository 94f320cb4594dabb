"""A table cell's point set, values and normalisation: one definition (rvae.paper.cells) that the
tables, the findings, the metric files, Figure 2, the plan and the claims all use."""

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rvae.paper import cells
from rvae.paper.cells import CELL_POINT_LABELS, CELL_POINTS, D1_PARTS, R1, REST_D1, cell_values, normalise_cell, point_mask

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rvae"

# six points: three of D1 (the first two Rosetta points), three of D2 (one a Rosetta point)
POINTS = pd.DataFrame(
    {
        "point": range(6),
        "partition": ["D1", "D1", "D1", "D2", "D2", "D2"],
        "is_rosetta": [True, True, False, True, False, False],
        "rv": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    }
)


def test_each_point_set_holds_its_rows():
    assert CELL_POINTS == ("R1", "rest_D1", "D1", "D2") and D1_PARTS == (R1, REST_D1)
    assert point_mask(POINTS, R1).tolist() == [True, True, False, False, False, False]
    assert point_mask(POINTS, REST_D1).tolist() == [False, False, True, False, False, False]
    assert point_mask(POINTS, "D1").tolist() == [True, True, True, False, False, False]
    assert point_mask(POINTS, "D2").tolist() == [False, False, False, True, True, True]  # a Rosetta point of D2 is in D2
    assert cell_values(POINTS, "rv", R1).tolist() == [1.0, 2.0]
    assert cell_values(POINTS, "rv", REST_D1).tolist() == [3.0]
    assert cell_values(POINTS, "rv", "D2").tolist() == [4.0, 5.0, 6.0]


def test_per_seed_metrics_read_their_column_and_a_missing_one_names_its_job():
    seeds = pd.DataFrame({"seed": [0, 1], "D1": [0.5, 0.7], "D2": [1.5, 1.7], "cka_R1": [0.9, 0.8], "heldout_D2": [2.0, 3.0]})
    assert cell_values(seeds, "lsd", "D2").tolist() == [1.5, 1.7]
    assert cell_values(seeds, "cka", R1).tolist() == [0.9, 0.8]
    assert cell_values(seeds, "heldout_lsd", "D2").tolist() == [2.0, 3.0]
    with pytest.raises(ValueError, match="'angular_procrustes_rest_D1'.*similarity_panel"):
        cell_values(seeds, "angular_procrustes", REST_D1)


def test_normalise_cell_is_the_papers_normalisation_and_nan_where_a_median_cannot_normalise():
    # LSD and the panel: value / reference median - 1; RV: value - reference median
    np.testing.assert_array_equal(normalise_cell("lsd", [2.0, 3.0, 1.0], 2.0), [0.0, 0.5, -0.5])
    np.testing.assert_array_equal(normalise_cell("cka", [0.45, 0.9], [0.9, 0.9]), [-0.5, 0.0])
    np.testing.assert_array_equal(normalise_cell("rv", [-3.0, 1.5], -4.0), [1.0, 5.5])
    # bit-identical reference runs (RV -inf): a -inf beside them is 0, a finite value +inf
    np.testing.assert_array_equal(normalise_cell("rv", [-np.inf, 2.0], -np.inf), [0.0, np.inf])
    # a distance's reference median of 0, -1 or inf cannot normalise: NaN there, the rest computed
    np.testing.assert_array_equal(normalise_cell("lsd", [1.0, 1.0, 1.0, 1.0], [0.0, -1.0, np.inf, 4.0]), [np.nan, np.nan, np.nan, -0.75])
    assert cells.can_normalise("rv", np.nan) and not cells.can_normalise("heldout_lsd", 0.0)
    with pytest.raises(ValueError, match="metric must be one of"):
        normalise_cell("distance", [1.0], 1.0)


def test_table1_rows_the_plan_writes_are_the_rows_the_claims_read_back():
    """The labels are printed by the plan and parsed by the claims: both from CELL_POINT_LABELS."""
    from rvae.paper.claims import table_claims
    from rvae.paper.plan import table_cells

    table1 = [c for c in table_cells(1, {"table1": {"gaussians": 8}}) if c.metric == "rv"]
    assert {c.row.split(") ", 1)[0] + ")" for c in table1} == {CELL_POINT_LABELS[R1], CELL_POINT_LABELS[REST_D1]} == {"RV(R1)", "RV(rest of D1)"}
    paper = pd.DataFrame({"table": 1, "row": [c.row for c in table1], "column": [c.column for c in table1], "median": np.arange(len(table1), dtype=float), "iqr": 0.5, "suspect": ""})
    claims = table_claims(paper)
    partition_of = {c.row: c.partition for c in table1}
    assert len(claims) == 12  # per point set, the four models paired: 2 x 6
    assert (claims["partition"] == claims["a_row"].map(partition_of)).all() and set(claims["partition"]) == set(D1_PARTS)


# -- One home ---------------------------------------------------------------------------------
from conftest import string_literals  # noqa: E402


def point_set_spellings(source_path: Path) -> list[str]:
    """The literals of a file that spell a part of D1's name or label, or a regex of a label."""
    names = set(D1_PARTS) | {CELL_POINT_LABELS[p] for p in D1_PARTS}
    labels = [CELL_POINT_LABELS[p] for p in D1_PARTS] + ["rest of D1)", "RV\\("]
    return [s for s in string_literals(source_path) if s in names or any(label in s for label in labels)]


def test_the_point_sets_are_spelled_only_in_rvae_paper_cells():
    home = PACKAGE / "paper" / "cells.py"
    offenders = {str(p.relative_to(PACKAGE)): point_set_spellings(p) for p in PACKAGE.rglob("*.py") if p != home}
    assert {p: s for p, s in offenders.items() if s} == {}, "define point sets and their labels in rvae/paper/cells.py"
    assert sorted(point_set_spellings(home)) == ["R1", "RV(R1)", "RV(rest of D1)", "rest_D1"]
    # and only the home and the metric files (which write the flag and fit held-out LSD on it) read the Rosetta flag
    readers = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if "is_rosetta" in set(string_literals(p))}
    assert readers == {"paper/cells.py", "paper/evaluation.py", "embeddings.py"}


def test_the_one_home_check_sees_a_second_definition(tmp_path):
    copy = tmp_path / "findings.py"
    copy.write_text('def mask(frame, group):\n    """R1: the Rosetta points."""\n    if group == "rest_D1":\n        return 1\n    return re.fullmatch(r"RV\\((R1|rest of D1)\\) (.+)", group)\n')
    assert point_set_spellings(copy) == ["rest_D1", "RV\\((R1|rest of D1)\\) (.+)"]


def test_tables_and_findings_normalise_through_one_function(monkeypatch):
    """Patch rvae.paper.cells.normalise_cell: the tables' median and the bootstrap's replicates both move."""
    from rvae.paper.plan import table_cells
    from rvae.paper.statistics import normalised_median_replicates
    from rvae.paper.tables import summarise

    cells_8 = table_cells(8, {"table8": {"birdsong": [32]}})
    values = {"vae": [1.0, 2.0, 3.0], "beta_vae": [1.0, 1.0, 1.0], "rvae": [0.5, 1.0, 1.5]}
    frames = {("lsd", r): pd.DataFrame({"seed": [0, 1, 2], "D1": values[r.model_kind], "D2": values[r.model_kind]}) for c in cells_8 for r in (c.retraining, c.reference)}
    idx = np.array([[0, 1, 2], [2, 2, 2]])

    def rvae_d1(table):
        return table[(table["row"] == "R-VAE") & (table["column"] == "32 RPs D1")].iloc[0]

    assert rvae_d1(summarise(cells_8, frames, "ledoit_wolf"))["median"] == -0.5  # 1.0 / 2.0 - 1
    np.testing.assert_array_equal(normalised_median_replicates("lsd", values["rvae"], values["vae"], idx, idx), [-0.5, -0.5])  # 1/2 - 1, 1.5/3 - 1

    calls = []
    real = cells.normalise_cell

    def shifted(metric, statistics, reference_medians):
        calls.append(metric)
        return real(metric, statistics, reference_medians) + 100.0

    monkeypatch.setattr(cells, "normalise_cell", shifted)
    assert rvae_d1(summarise(cells_8, frames, "ledoit_wolf"))["median"] == 99.5
    np.testing.assert_array_equal(normalised_median_replicates("lsd", values["rvae"], values["vae"], idx, idx), [99.5, 99.5])
    assert calls.count("lsd") == len(cells_8) + 1


def test_no_other_paper_module_normalises_a_cell():
    """The metrics' normalisation helpers are called, in the paper floor, by rvae.paper.cells alone
    (and by the portability table, whose ratio to the plain VAE is not a paper cell)."""
    helpers = {"normalise_by_median", "normalisable", "normalised_median_iqr", "normalise_lsd"}
    callers = set()
    for path in (PACKAGE / "paper").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        if names & helpers:
            callers.add(path.name)
    assert callers == {"cells.py", "portability.py"}
