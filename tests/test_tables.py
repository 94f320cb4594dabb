"""Table aggregation: tidy rows, the paper's values beside ours, suspect paper references marked."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rvae.paper.claims import PAPER_VALUES
from rvae.paper.plan import table_cells
from rvae.paper.tables import markdown, summarise

# assertions on computed numbers: tests/test_cpu_paths.py reruns them on the AVX2 kernel path
pytestmark = pytest.mark.computed

PAPER = Path(str(PAPER_VALUES))


def test_the_papers_reused_numbers_are_marked_suspect():
    """The paper prints some numbers twice for what should be different runs."""
    paper = pd.read_csv(PAPER, keep_default_na=False)
    suspect = paper[paper["suspect"] != ""]

    def marked(table, row_start, column_start):
        rows = suspect[(suspect["table"] == table) & suspect["row"].str.startswith(row_start)]
        return rows["column"].str.startswith(column_start).any()

    assert marked(1, "RV(rest of D1)", "birdsong") and marked(5, "R-VAE", "8 RPs")
    assert marked(8, "R-VAE", "64 RPs") and marked(8, "VAE", "64 RPs")
    assert marked(9, "RV kmeans", "D1") and marked(10, "RV", "D2 same")
    # each marked pair really is a repeat in the paper's numbers
    t1 = paper[(paper["table"] == 1) & (paper["row"] == "RV(rest of D1) R-VAE") & (paper["column"] == "birdsong")]
    t5 = paper[(paper["table"] == 5) & (paper["row"] == "R-VAE") & (paper["column"] == "8 RPs")]
    assert t1[["median", "iqr"]].to_numpy().tolist() == t5[["median", "iqr"]].to_numpy().tolist()
    # and the consistent repeats (Table 3's 8 RPs is Table 1's Gaussians at k = 8) are not marked
    assert not marked(3, "R-VAE", "8 RPs") and not marked(1, "RV(rest of D1)", "gaussians")


def _lsd_frames(cells, values):
    frames = {}
    for cell in cells:
        for r in (cell.retraining, cell.reference):
            frames[("lsd", r)] = pd.DataFrame({"seed": [0, 1, 2], "D1": values[r.model_kind], "D2": values[r.model_kind]})
    return frames


def test_summarise_puts_the_papers_value_and_its_doubt_beside_ours():
    tables = {"table8": {"birdsong": [32, 64]}}
    cells = table_cells(8, tables)
    values = {"vae": [1.0, 2.0, 3.0], "beta_vae": [1.0, 1.0, 1.0], "rvae": [0.5, 1.0, 1.5]}
    paper = pd.read_csv(PAPER)
    table = summarise(cells, _lsd_frames(cells, values), "ledoit_wolf", paper)
    rvae64 = table[(table["row"] == "R-VAE") & (table["column"] == "64 RPs D1")].iloc[0]
    assert rvae64["median"] == -0.5 and rvae64["paper_median"] == -0.153
    assert "Table 2" in rvae64["paper_suspect"]
    rvae32 = table[(table["row"] == "R-VAE") & (table["column"] == "32 RPs D1")].iloc[0]
    assert rvae32["paper_suspect"] == "" and not np.isnan(rvae32["paper_median"])
    text = markdown(table, "Table 8", "ledoit_wolf")
    assert "-0.500 (0.250) [-0.153 (0.529)†]" in text and "-0.500 (0.250) [-0.512 (0.116)]" in text
    assert text.count("† Paper value suspect") == 1


def test_a_panel_cell_without_a_defined_reference_is_nan_with_a_note():
    """Table 1's similarity panel is undefined on k Rosetta points in k or more latent dimensions
    (birdsong: 32 points, latent size 32 in the default): NaN and a note, not a crash."""
    from rvae.paper.tables import summarise

    tables = {"table1": {"birdsong": 32}}
    cells = table_cells(1, tables)
    frames = {}
    for cell in cells:
        for run in (cell.retraining, cell.reference):
            rv = pd.DataFrame({"point": range(6), "partition": ["D1"] * 6, "is_rosetta": [True] * 3 + [False] * 3, "rv": np.arange(6.0)})
            frames[("rv", run)] = rv
            frames[("panel", run)] = pd.DataFrame({
                "seed": [0, 1, 2], "angular_procrustes_R1": [np.nan] * 3, "cka_R1": [np.nan] * 3,
                "angular_procrustes_rest_D1": [0.2, 0.3, 0.4], "cka_rest_D1": [0.9, 0.8, 0.7],
            })  # fmt: skip
    table = summarise(cells, frames, "ledoit_wolf", pd.read_csv(PAPER))
    r1 = table[(table["metric"] == "cka") & table["row"].str.contains("R1")]
    rest = table[(table["metric"] == "cka") & table["row"].str.contains("rest")]
    assert len(r1) and r1["median"].isna().all() and r1["note"].str.contains("undefined for the reference").all()
    assert rest["median"].notna().all()
    assert (table.loc[table["metric"] == "rv", "note"].str.contains("k = 32 here, the paper's value is at k = 64")).any()


def test_a_cell_whose_reference_has_no_points_in_its_set_is_nan_with_a_note():
    """An RV cell on R1 when the reference's file has no Rosetta rows: NaN and a note, not a crash."""
    from rvae.paper.tables import summarise

    cells = [c for c in table_cells(1, {"table1": {"gaussians": 8}}) if c.metric == "rv" and c.partition == "R1"]
    frames = {}
    for cell in cells:
        for run in (cell.retraining, cell.reference):
            rosetta = run.model_kind != "vae"  # the reference (the VAE) has no R1 rows
            frames[("rv", run)] = pd.DataFrame({"partition": ["D1"] * 4, "is_rosetta": [rosetta, rosetta, False, False], "rv": [1.0, 2.0, 3.0, 4.0]})
            frames[("panel", run)] = pd.DataFrame({f"{m}_R1": [0.2, 0.3, 0.4] for m in ("angular_procrustes", "cka")})
    table = summarise(cells, frames, "ledoit_wolf")
    rv = table[table["metric"] == "rv"]
    assert len(rv) and rv["median"].isna().all() and rv["note"].str.contains("the reference has no values").all()


def test_the_layout_and_precision_behind_a_cell_are_stated_and_an_unrecorded_layout_is_not_guessed():
    """Each cell names its runs' precision and weights' layout (both change rounding); a convergence
    file without the layout column says "unrecorded" rather than a default that may be wrong."""
    tables = {"table8": {"birdsong": [32]}}
    cells = table_cells(8, tables)
    values = {"vae": [1.0, 2.0, 3.0], "beta_vae": [1.0, 1.0, 1.0], "rvae": [0.5, 1.0, 1.5]}
    base = {"seed": [0, 1, 2], "converged": [True] * 3, "collapsed": [False] * 3, "precision": ["bf16"] * 3}
    runs = {r for cell in cells for r in (cell.retraining, cell.reference)}
    recorded = {r: pd.DataFrame({**base, "memory_format": ["channels_last"] * 3}) for r in runs}
    table = summarise(cells, _lsd_frames(cells, values), "ledoit_wolf", convergence=recorded)
    assert set(table["memory_format"]) == {"channels_last"} and set(table["precision"]) == {"bf16"}
    text = markdown(table, "Table 8", "ledoit_wolf")
    assert "Training precision: birdsong bf16." in text and "Memory layout: birdsong channels_last." in text
    older = {r: pd.DataFrame(base) for r in runs}
    table = summarise(cells, _lsd_frames(cells, values), "ledoit_wolf", convergence=older)
    assert set(table["memory_format"]) == {"unrecorded"}
    assert "Memory layout: birdsong unrecorded." in markdown(table, "Table 8", "ledoit_wolf")
    mixed = {**recorded, cells[0].reference: pd.DataFrame({**base, "memory_format": ["contiguous"] * 3})}
    table = summarise(cells, _lsd_frames(cells, values), "ledoit_wolf", convergence=mixed)
    assert "channels_last+contiguous" in set(table["memory_format"])
