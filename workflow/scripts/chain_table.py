"""The chain table: every chain dataset's arms per hop, median and IQR over seeds, with convergence."""

import logging

import pandas as pd

from rvae.paper.chains import chain_markdown, covers_all_labels, summarise_chain
from rvae.workflow.script import start, write_table

sm = snakemake  # noqa: F821
start(sm)
files = sm.params.files
per_seed = {dataset: pd.read_parquet(f["arms"]) for dataset, f in files.items()}
covers = {dataset: covers_all_labels(sm.params.chains[dataset]["parts"], pd.read_parquet(f["points"])["label"].unique()) for dataset, f in files.items()}
table = summarise_chain(per_seed, sm.params.chains, covers)
write_table(table, sm.output, chain_markdown(table))
logging.info(table[["dataset", "hop", "arm", "metric", "median", "iqr", "converged"]].to_string())
