"""Aggregate the metric files of one paper table into CSV, Parquet and Markdown, at both budgets."""

import logging

import pandas as pd

from rvae.paper.plan import table_cells, table_retrainings
from rvae.paper.tables import TITLES, markdown, summarise
from rvae.workflow.paths import BUDGETS, at_budget, metric_file
from rvae.workflow.targets import table_convergence
from rvae.workflow.script import start, write_table

sm = snakemake  # noqa: F821
start(sm)
number = int(sm.wildcards.n)
paper = pd.read_csv(sm.input.paper)
for budget in BUDGETS:
    frames = {(metric, r): pd.read_parquet(at_budget(metric_file(metric, r), budget)) for metric, r in table_retrainings(number, sm.params.tables)}
    convergence = {r: pd.read_parquet(at_budget(path, budget)) for r, path in table_convergence({"tables": sm.params.tables}, number).items()}
    table = summarise(table_cells(number, sm.params.tables), frames, sm.params.estimator, paper, convergence)
    for note in dict.fromkeys(n for n in table["note"] if "not converged" in n):
        logging.warning(f"table {number} ({budget} budget): {note}")
    title = TITLES[number] + ("" if budget == "full" else " (half budget: every run's weights at floor(S/2))")
    write_table(table, sm.output, markdown(table, title, sm.params.estimator), budget)
    logging.info(f"{budget} budget:\n" + table[["row", "column", "median", "iqr", "paper_median"]].to_string())
