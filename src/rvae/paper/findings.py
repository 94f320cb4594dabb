"""Does this run reproduce the paper? The findings scorecard, built from the tables a run made.

A reader of ten tables of ``ours [paper]`` pairs cannot tell a finding from noise, so a run is
scored against each of the paper's claims (spec, "Findings"). :func:`build_findings` runs the
steps, each in its own module:

- ``rvae.paper.claims``: the paper's claims as data (``paper_claims.csv``);
- ``rvae.paper.pairing``: our table cells with their bootstrap replicates, paired with the
  claims' cells, and a verdict per claim;
- ``rvae.paper.statistics``: bootstrap streams, percentile intervals and the verdict rules;
- ``rvae.paper.report``: the scorecard in Markdown, reStructuredText and plain text, and its figure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rvae.atomic import atomic_path
from rvae.paper.claims import read_paper_claims
from rvae.paper.pairing import cell_replicates, cells_frame, read_tables, score_claims
from rvae.paper.plan import TABLE_NUMBERS
from rvae.paper.report import findings_markdown, scorecard, summary_rst
from rvae.paper.statistics import N_RESAMPLES, ROOT_SEED

OUTPUTS = ("csv", "parquet", "md", "rst", "scorecard", "intervals_csv", "intervals_parquet")


def build_findings(
    table_files: dict, metric_file, outputs: dict | None = None, claims=None, n_resamples: int = N_RESAMPLES, root: int = ROOT_SEED,
    project: pd.DataFrame | None = None, half_table_files: dict | None = None, half_metric_file=None,
) -> pd.DataFrame:
    """Score the paper's claims on the tables ``{number: parquet path}`` that exist; the others are *not run*.

    ``metric_file`` locates a retraining's metric file (see :func:`cell_replicates`);
    ``half_table_files`` and ``half_metric_file`` the same at the half budget (spec, "Where no
    plateau comes"): a claim whose half-budget table or metric file is missing is *not run*. Without
    them (None) the full budget stands in for the half, for tables made without one. ``outputs``
    maps each of :data:`OUTPUTS` (findings as CSV, Parquet, Markdown, the front page's summary in
    reStructuredText, the scorecard's counts as CSV, and the per-cell intervals as CSV and Parquet) to a path; ``None`` writes
    nothing. ``claims`` is a frame or a path (default: the package's ``paper_claims.csv``).
    ``project``: this project's own claims, already scored (``rvae.paper.project_claims``), listed
    and counted after the paper's.
    The rule and the ``rvae findings`` command both call this.
    """
    if not isinstance(claims, pd.DataFrame):
        claims = read_paper_claims(claims)
    tables = read_tables(table_files)
    cells = cell_replicates(tables, metric_file, n_resamples, root)
    half_cells = None
    if half_table_files is not None:
        half_tables = read_tables({n: path for n, path in half_table_files.items() if Path(path).exists()})
        half_cells = cell_replicates(half_tables, half_metric_file, n_resamples, root)
    findings = score_claims(claims, cells, half_cells)
    if project is not None and len(project):
        findings = pd.concat([findings, project.reindex(columns=findings.columns)], ignore_index=True)
    missing = [n for n in TABLE_NUMBERS if n not in tables]
    intervals = cells_frame(cells)
    writers = {
        "csv": lambda p: findings.to_csv(p, index=False, lineterminator="\n"),
        "parquet": lambda p: findings.to_parquet(p, index=False),
        "md": lambda p: p.write_text(findings_markdown(findings, missing)),
        "rst": lambda p: p.write_text(summary_rst(findings, missing)),
        "scorecard": lambda p: scorecard(findings).to_csv(p, index=False, lineterminator="\n"),
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

