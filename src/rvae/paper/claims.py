"""The paper's claims as data: every comparison its tables make, and the sentences of its text.

Both files are package data in ``rvae/paper/resources/`` (:data:`PAPER_VALUES`,
:data:`PAPER_CLAIMS`, read with ``importlib.resources``), so an installed wheel carries them.

**Table claims** are generated from ``paper_values.csv`` (the numbers the paper prints) by
:func:`table_claims` (committed as ``paper_claims.csv``; a test regenerates it byte for byte, so
the two cannot drift). One claim per pair of cells of one table that differ
only in the model, selection method or architecture, with dataset, point set, metric and k equal;
``a`` is the cell that comes first in ``paper_values.csv``. ``direction`` is the paper's ordering
of ``a`` against ``b`` (``<``, ``>``; ``=`` where the paper prints equal medians).
``robust_in_paper``: the difference of the paper's medians exceeds the larger of its two IQRs.
Datasets and k are the paper's (Sections 3.1, 3.2, Appendices D-F); it states neither for
Table 9 nor k for Table 10, so those stay empty. Our cells are matched by the key
(table, row, column), which ``rvae.paper.plan`` spells as ``paper_values.csv`` does.

**Text claims** (:data:`TEXT_CLAIMS`, each with the sentence it tests) are sets of table claims,
``members`` as ``id`` plus the ordering the *text* asserts (``<``, ``>``; ``~`` for "similar").
How a run is scored against them: ``rvae.paper.findings``.

Regenerate the committed file after editing ``paper_values.csv`` or :data:`TEXT_CLAIMS`::

    python -m rvae.paper.claims
"""

from __future__ import annotations

import itertools
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from rvae.atomic import atomic_path
from rvae.paper.cells import CELL_POINT_LABELS, CELL_POINTS, D1_PARTS, REST_D1

PAPER_VALUES = resources.files("rvae.paper") / "resources" / "paper_values.csv"
PAPER_CLAIMS = resources.files("rvae.paper") / "resources" / "paper_claims.csv"

# What the paper states of each table (Sections 3.1, 3.2, Appendices D-F).
TABLE1_K = {"gaussians": 8, "mnist": 64, "birdsong": 64}
TABLE2_K = {"gaussians": 8, "mnist": 64, "birdsong": 32, "chairs": 128}
FIXED_K = {1: TABLE1_K, 2: TABLE2_K}  # tables whose k is not a column: the paper's k per dataset
TABLE_DATASET = {3: "gaussians", 4: "mnist", 5: "birdsong", 6: "gaussians", 7: "mnist", 8: "birdsong", 10: "birdsong"}
AS_PRINTED = "D1 (as printed)"

CLAIM_COLUMNS = [
    "claim_id", "kind", "table", "dataset", "partition", "metric", "k", "compares",
    "a_row", "a_column", "a_label", "b_row", "b_column", "b_label", "direction",
    "paper_a_median", "paper_a_iqr", "paper_b_median", "paper_b_iqr", "paper_difference",
    "robust_in_paper", "suspect", "members", "members_agree_in_paper", "source", "quote",
]  # fmt: skip


# -- The paper's table claims, from paper_values.csv ----------------------------------------
def paper_k(table: int, dataset: str) -> int | None:
    """The k behind the paper's number for a table whose columns are not k (Tables 1 and 2)."""
    return FIXED_K.get(int(table), {}).get(dataset)


def _paper_cell(table: int, row: str, column: str) -> dict:
    """What a paper_values.csv key means: dataset, point set, metric, k, and the thing compared."""
    where = f"paper_values.csv row (table {table}, {row!r}, {column!r})"
    cell = {"dataset": TABLE_DATASET.get(table, ""), "k": None, "compares": "model"}
    if table == 1:
        points_of = {CELL_POINT_LABELS[p]: p for p in D1_PARTS}
        match = re.fullmatch("(" + "|".join(map(re.escape, points_of)) + r") (.+)", row)
        if not match:
            raise ValueError(f"{where}: Table 1 rows look like " + " or ".join(f"'{label} <model>'" for label in points_of))
        points = points_of[match.group(1)]
        cell.update(dataset=column, partition=points, metric="rv", k=TABLE1_K.get(column), thing=match.group(2))
    elif table == 2:
        partition, _, thing = column.partition(" ")
        cell.update(dataset=row, partition=partition, metric="lsd", k=TABLE2_K.get(row), thing=thing)
    elif table in (3, 4, 5):
        match = re.fullmatch(r"(\d+) RPs", column)
        if not match:
            raise ValueError(f"{where}: Tables 3-5 columns look like '<k> RPs'")
        cell.update(partition=REST_D1, metric="rv", k=int(match.group(1)), thing=row)
    elif table in (6, 7, 8):
        match = re.fullmatch(r"(\d+) RPs (D1|D2)", column)
        if match:
            cell.update(partition=match.group(2), k=int(match.group(1)))
        elif column == AS_PRINTED:
            cell.update(partition=AS_PRINTED)
        else:
            raise ValueError(f"{where}: Tables 6-8 columns look like '<k> RPs D1' or {AS_PRINTED!r}")
        cell.update(metric="lsd", thing=row)
    elif table == 9:  # the paper names neither the dataset nor k of Table 9
        metric, _, thing = row.partition(" ")
        cell.update(partition=column, metric=metric.lower(), thing=thing, compares="method")
    elif table == 10:
        partition, _, thing = column.partition(" ")
        cell.update(partition=partition, metric=row.lower(), thing=thing, compares="architecture")
    else:
        raise ValueError(f"{where}: there is no table {table}; tables are 1..10")
    if not cell["thing"] or cell["partition"] not in (*CELL_POINTS, AS_PRINTED):
        raise ValueError(f"{where}: cannot tell the point set and the thing compared")
    return cell


def _suspect(record) -> str:
    reason = record["suspect"] if isinstance(record["suspect"], str) else ""
    if not reason and record["column"] == AS_PRINTED:
        reason = "the paper prints this column as 'D1' beside the k columns; which runs it holds is ambiguous"
    return reason


def table_claims(paper: pd.DataFrame) -> pd.DataFrame:
    """Every pair of cells one of the paper's tables compares, with the paper's ordering."""
    records = []
    for index, record in paper.reset_index(drop=True).iterrows():
        cell = _paper_cell(int(record["table"]), str(record["row"]), str(record["column"]))
        cell.update(
            table=int(record["table"]), row=str(record["row"]), column=str(record["column"]),
            median=float(record["median"]), iqr=float(record["iqr"]), suspect=_suspect(record), order=index,
        )  # fmt: skip
        records.append(cell)
    groups: dict[tuple, list[dict]] = {}
    for cell in records:
        key = (cell["table"], cell["dataset"], cell["partition"], cell["metric"], cell["k"])
        groups.setdefault(key, []).append(cell)
    rows, counter = [], {}
    for (table, dataset, partition, metric, k), cells in groups.items():
        for a, b in itertools.combinations(cells, 2):
            counter[table] = counter.get(table, 0) + 1
            difference = round(a["median"] - b["median"], 6)
            direction = "<" if difference < 0 else ">" if difference > 0 else "="
            suspect = "; ".join(dict.fromkeys(r for r in (a["suspect"], b["suspect"]) if r))
            rows.append(
                {
                    "claim_id": f"T{table}-{counter[table]:02d}", "kind": "table", "table": str(table),
                    "dataset": dataset, "partition": partition, "metric": metric,
                    "k": "" if k is None else str(k), "compares": a["compares"],
                    "a_row": a["row"], "a_column": a["column"], "a_label": a["thing"],
                    "b_row": b["row"], "b_column": b["column"], "b_label": b["thing"], "direction": direction,
                    "paper_a_median": a["median"], "paper_a_iqr": a["iqr"], "paper_b_median": b["median"],
                    "paper_b_iqr": b["iqr"], "paper_difference": difference,
                    "robust_in_paper": bool(abs(difference) > max(a["iqr"], b["iqr"])), "suspect": suspect,
                    "members": "", "members_agree_in_paper": "", "source": f"Table {table}", "quote": "",
                }
            )  # fmt: skip
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


# -- The text's claims, as sets of table claims ---------------------------------------------
@dataclass(frozen=True)
class TextClaim:
    """A sentence of the paper and the table claims it rests on.

    ``ordering``: every pair (one of ``lower``, one of ``higher``) has ``lower`` below ``higher``
    (both metrics: lower is better). ``similar``: every such pair is a near tie.
    """

    claim_id: str
    kind: str  # "ordering" or "similar"
    tables: tuple[int, ...]
    lower: tuple[str, ...]
    higher: tuple[str, ...]
    source: str
    quote: str
    datasets: tuple[str, ...] = ()
    partitions: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    min_k: int = 0


MAIN = ("VAE", "beta-VAE")
METHODS = ("kmeans", "agglomerative", "gmm", "random")
ARCHITECTURES = ("simple", "complex", "same")
TEXT_CLAIMS = (
    TextClaim(
        "X1", "ordering", (1,), ("R-VAE",), MAIN, "Section 3.1, Table 1",
        "As visualized in Figure 1 and quantified in Table 1, the R-VAE produced much more consistent embeddings "
        "across training runs.",
    ),
    TextClaim(
        "X2", "ordering", (1,), ("R-VAE",), ("VAE (same seed)",), "Section 3.1, Table 1",
        "In fact, this was true even when retraining the standard VAE using the same initial seed, due to GPU "
        "nondeterminism.",
    ),
    TextClaim(
        "X3", "ordering", (2,), ("R-VAE",), MAIN, "Abstract, Table 2",
        "We demonstrate that the R-VAE [...] outperforms both methods in recovery of a target latent space in a "
        "sequential training setting",
    ),
    TextClaim(
        "X4", "ordering", (2,), ("R-VAE",), MAIN, "Appendix I, Table 2",
        "Just as in Table 2, the R-VAE shows lower distortion than both the VAE and β-VAE with the exception of "
        "birdsong, where the results are comparable.",
        datasets=("gaussians", "mnist", "chairs"),
    ),
    TextClaim(
        "X5", "similar", (2,), ("R-VAE",), MAIN, "Appendix I, Table 2 (birdsong)",
        "[...] with the exception of birdsong, where the results are comparable.", datasets=("birdsong",),
    ),
    TextClaim(
        "X6", "ordering", (2,), ("beta-VAE",), ("R-VAE",), "Discussion, Table 2",
        "the β-VAE outperformed R-VAE on D2 for the birdsong data", datasets=("birdsong",), partitions=("D2",),
    ),
    TextClaim(
        "X7", "ordering", (3, 4, 5), ("R-VAE",), MAIN, "Appendix D, Tables 3-5",
        "Rosetta-VAE consistency did not depend strongly on the number of Rosetta Points. [...] Tables 3,4,5 show "
        "an extremely limited effect of the number of RPs, with even 4 RPs greatly improving the consistency of "
        "learned embeddings over VAE and β-VAE.",
        min_k=4,
    ),
    TextClaim(
        "X8", "similar", (9,), METHODS, METHODS, "Appendix E, Table 9",
        "Rosetta-VAE is agnostic to Rosetta Point selection method",
    ),
    TextClaim(
        "X9", "ordering", (9,), ("kmeans", "agglomerative", "gmm"), ("random",), "Table 9, as this project reads it",
        "(not the paper's words: this project reads Table 9 as 'random selection distorts D2 far more than "
        "clustering'; the text itself calls the selection methods interchangeable, see X8)",
        partitions=("D2",), metrics=("lsd",),
    ),
    TextClaim(
        "X10", "similar", (10,), ARCHITECTURES, ARCHITECTURES, "Appendix F, Table 10",
        "All models demonstrated similar performance in both metrics.",
    ),
)  # fmt: skip


def text_claim_members(claim: TextClaim, tables: pd.DataFrame) -> list[tuple[str, str]]:
    """(table claim id, direction the text asserts for its a vs b) for every member of ``claim``."""
    members = []
    for _, row in tables.iterrows():
        if int(row["table"]) not in claim.tables:
            continue
        if (claim.datasets and row["dataset"] not in claim.datasets) or (claim.partitions and row["partition"] not in claim.partitions):
            continue
        if (claim.metrics and row["metric"] not in claim.metrics) or (claim.min_k and (row["k"] == "" or int(row["k"]) < claim.min_k)):
            continue
        a, b = row["a_label"], row["b_label"]
        if claim.kind == "similar" and {a, b} <= set(claim.lower) | set(claim.higher):
            if (a in claim.lower and b in claim.higher) or (b in claim.lower and a in claim.higher):
                members.append((row["claim_id"], "~"))
        elif a in claim.lower and b in claim.higher:
            members.append((row["claim_id"], "<"))
        elif b in claim.lower and a in claim.higher:
            members.append((row["claim_id"], ">"))
    if not members:
        raise ValueError(f"text claim {claim.claim_id} ({claim.source}) matches no table claim")
    return members


def _agrees_in_paper(row, asserted: str) -> bool:
    if asserted == "~":
        return not row["robust_in_paper"]
    return row["direction"] == asserted


def paper_claims(paper: pd.DataFrame) -> pd.DataFrame:
    """Table claims then text claims: the content of ``paper_claims.csv``."""
    tables = table_claims(paper)
    by_id = tables.set_index("claim_id")
    rows = []
    for claim in TEXT_CLAIMS:
        members = text_claim_members(claim, tables)
        member_rows = [by_id.loc[m] for m, _ in members]
        agree = [_agrees_in_paper(r, d) for r, (_, d) in zip(member_rows, members)]
        strong = all(agree) and all(r["robust_in_paper"] for r in member_rows) if claim.kind == "ordering" else all(agree)

        def joined(field):
            return ", ".join(dict.fromkeys(str(r[field]) for r in member_rows if str(r[field])))

        rows.append(
            {
                "claim_id": claim.claim_id, "kind": "text", "table": ",".join(map(str, claim.tables)),
                "dataset": joined("dataset"), "partition": joined("partition"), "metric": joined("metric"),
                "k": joined("k"), "compares": joined("compares"), "a_row": "", "a_column": "",
                "a_label": " / ".join(claim.lower), "b_row": "", "b_column": "", "b_label": " / ".join(claim.higher),
                "direction": "<" if claim.kind == "ordering" else "~", "paper_a_median": np.nan,
                "paper_a_iqr": np.nan, "paper_b_median": np.nan, "paper_b_iqr": np.nan, "paper_difference": np.nan,
                "robust_in_paper": bool(strong), "suspect": "", "members": ";".join(f"{m}{d}" for m, d in members),
                "members_agree_in_paper": f"{sum(agree)}/{len(agree)}", "source": claim.source, "quote": claim.quote,
            }
        )  # fmt: skip
    return pd.concat([tables, pd.DataFrame(rows, columns=CLAIM_COLUMNS)], ignore_index=True)


def claims_csv(paper_values_path=None) -> str:
    """The exact text of ``paper_claims.csv`` generated from ``paper_values.csv`` (default: the package's copy)."""
    with resources.as_file(PAPER_VALUES) as packaged:
        paper = pd.read_csv(paper_values_path or packaged, keep_default_na=False, na_values={"median": [""], "iqr": [""]})
    return paper_claims(paper).to_csv(index=False, lineterminator="\n")


def read_paper_claims(path=None) -> pd.DataFrame:
    """The claims file (default: the package's ``paper_claims.csv``), every text column as text
    (``table`` holds '3,4,5' for text claims)."""
    if path is None:
        with resources.as_file(PAPER_CLAIMS) as packaged:
            return read_paper_claims(packaged)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"claims file {path} not found; generate it with `python -m rvae.paper.claims`")
    text = [c for c in CLAIM_COLUMNS if not c.startswith("paper_") and c != "robust_in_paper"]
    claims = pd.read_csv(path, dtype={c: str for c in text}, keep_default_na=False, na_values={c: [""] for c in CLAIM_COLUMNS if c.startswith("paper_")})
    missing = [c for c in CLAIM_COLUMNS if c not in claims]
    if missing:
        raise ValueError(f"claims file {path} lacks columns {missing}")
    claims["robust_in_paper"] = claims["robust_in_paper"].map({"True": True, "False": False, True: True, False: False})
    if claims["robust_in_paper"].isna().any():
        bad = claims.loc[claims["robust_in_paper"].isna(), "claim_id"].tolist()
        raise ValueError(f"claims file {path}: robust_in_paper must be True or False (claims {bad})")
    return claims[CLAIM_COLUMNS]


def main(argv: list[str]) -> int:
    """``python -m rvae.paper.claims``: regenerate ``paper_claims.csv`` from ``paper_values.csv``
    (in a source checkout: the package's files are the committed ones)."""
    if argv:
        print("usage: python -m rvae.paper.claims", file=sys.stderr)
        return 2
    target = Path(str(PAPER_CLAIMS))
    with atomic_path(target) as tmp:
        tmp.write_text(claims_csv())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
