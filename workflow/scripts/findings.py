"""Score the paper's claims on the tables this config builds, at both budgets, and this project's own claims where
the config builds the anchor budget or chains: the findings scorecard (rvae.paper.findings)."""

import logging

import pandas as pd

from rvae.paper.anchor_budget import read_inputs
from rvae.paper.findings import OUTPUTS, build_findings
from rvae.paper.project_claims import anchor_budget_claims, chain_claims
from rvae.paper.plan import TABLE_NUMBERS
from rvae.paper.report import summary_text
from rvae.workflow.paths import at_budget, metric_file_of
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
tables = dict(zip(sm.params.numbers, sm.input.tables))
project = []
if sm.params.anchor_budget:
    per_seed, convergence, templates = read_inputs(sm.params.anchor_budget)
    project.append(anchor_budget_claims(per_seed, convergence, templates=templates))
if sm.params.chains:
    project.append(chain_claims({dataset: pd.read_parquet(path) for dataset, path in sm.params.chains.items()}))
outputs = {name: sm.output[name] for name in OUTPUTS}
findings = build_findings(
    tables, metric_file_of, outputs, claims=sm.input.claims, project=pd.concat(project, ignore_index=True) if project else None,
    half_table_files={n: at_budget(path, "half") for n, path in tables.items()},
    half_metric_file=lambda *key: at_budget(metric_file_of(*key), "half"),
)  # fmt: skip
logging.info(summary_text(findings, [n for n in TABLE_NUMBERS if n not in tables]))
