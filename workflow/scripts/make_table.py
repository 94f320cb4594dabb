"""Aggregate the metric files of one paper table into CSV, Parquet and Markdown."""

import pandas as pd

from rvae.atomic import atomic_path
from rvae.plan import table_cells, table_runs
from rvae.tables import TITLES, markdown, summarise
from rvae.workflow_support import start

sm = snakemake  # noqa: F821
log = start(sm)
number = int(sm.wildcards.n)
runs = table_runs(number, sm.params.tables)
frames = {}
for (metric, run), path in zip(runs, sm.input.metrics):
    assert path.endswith(f"{metric}/{run.path}.parquet"), f"input {path} is not the metric file of {run}"
    frames[(metric, run)] = pd.read_parquet(path)
table = summarise(table_cells(number, sm.params.tables), frames, sm.params.estimator, pd.read_csv(sm.input.paper))
for path, write in (
    (sm.output.csv, lambda p: table.to_csv(p, index=False)),
    (sm.output.parquet, lambda p: table.to_parquet(p, index=False)),
    (sm.output.md, lambda p: p.write_text(markdown(table, TITLES[number], sm.params.estimator))),
):
    with atomic_path(path) as tmp:
        write(tmp)
log(table[["row", "column", "median", "iqr", "paper_median"]].to_string())
