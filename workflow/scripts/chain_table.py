"""The chain table: every chain dataset's arms per hop, median and IQR over seeds, with convergence."""

import logging

import pandas as pd

from rvae.atomic import atomic_path
from rvae.paper.chains import chain_markdown, covers_all_labels, summarise_chain
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
files = sm.params.files
per_seed = {dataset: pd.read_parquet(f["arms"]) for dataset, f in files.items()}
covers = {dataset: covers_all_labels(sm.params.chains[dataset]["parts"], pd.read_parquet(f["points"])["label"].unique()) for dataset, f in files.items()}
table = summarise_chain(per_seed, sm.params.chains, covers)
for path, write in (
    (sm.output.csv, lambda p: table.to_csv(p, index=False)),
    (sm.output.parquet, lambda p: table.to_parquet(p, index=False)),
    (sm.output.md, lambda p: p.write_text(chain_markdown(table))),
):
    with atomic_path(path) as tmp:
        write(tmp)
logging.info(table[["dataset", "hop", "arm", "metric", "median", "iqr", "converged"]].to_string())
