"""The portability table: every Table 2 dataset's arms, median and IQR over seeds, raw and normalised, at both budgets."""

import logging

import pandas as pd

from rvae.paper.portability import portability_markdown, summarise_portability
from rvae.workflow.paths import BUDGETS, at_budget
from rvae.workflow.script import start, write_table

sm = snakemake  # noqa: F821
start(sm)
for budget in BUDGETS:
    per_seed = {dataset: pd.read_parquet(at_budget(path, budget)) for dataset, path in sm.params.files.items()}
    convergence = {
        dataset: {kind: pd.read_parquet(at_budget(path, budget)) for kind, path in files.items()} for dataset, files in sm.params.convergence.items()
    }
    table = summarise_portability(per_seed, sm.params.conditions, convergence)
    write_table(table, sm.output, portability_markdown(table), budget)
    logging.info(f"{budget} budget:\n" + table[["dataset", "reference", "partition", "arm", "metric", "raw_median", "median"]].to_string())
