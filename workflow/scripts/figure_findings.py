"""Per table, the paper's effect against ours with its interval, one point per claim; and the
headline claims at half and full budget."""

import pandas as pd

from rvae.paper.report import figure_findings, figure_verdicts_by_budget
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
findings = pd.read_parquet(sm.input[0])
figure_findings(findings, sm.output.png, sm.output.pdf)
figure_verdicts_by_budget(findings, sm.output.budgets_png, sm.output.budgets_pdf)
