"""Score the paper's claims on the tables this config builds: the findings scorecard (rvae.paper.findings)."""

import logging

from rvae.paper.findings import OUTPUTS, build_findings
from rvae.paper.plan import TABLE_NUMBERS
from rvae.paper.report import summary_text
from rvae.workflow.paths import metric_file_of
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
tables = dict(zip(sm.params.numbers, sm.input.tables))
findings = build_findings(tables, metric_file_of, {name: sm.output[name] for name in OUTPUTS}, claims=sm.input.claims)
logging.info(summary_text(findings, [n for n in TABLE_NUMBERS if n not in tables]))
