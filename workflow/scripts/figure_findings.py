"""Per table, the paper's effect against ours with its interval, one point per claim."""

import pandas as pd

from rvae.paper.report import figure_findings
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
figure_findings(pd.read_parquet(sm.input[0]), sm.output.png, sm.output.pdf)
