"""The anchor-budget table: every arm's held-out distance to Alice's coordinates over k."""

import json
import logging
from pathlib import Path

import pandas as pd

from rvae.paper.anchor_budget import markdown, summarise
from rvae.workflow.script import start, write_table

sm = snakemake  # noqa: F821
start(sm)
files = sm.params.files
per_seed = {d: {int(k): pd.read_parquet(path) for k, path in by_k.items()} for d, by_k in files["per_seed"].items()}
convergence = {
    d: {int(k): {kind: pd.read_parquet(path) for kind, path in runs.items()} for k, runs in by_k.items()}
    for d, by_k in files["convergence"].items()
}
conditions = {d: {int(k): c for k, c in by_k.items()} for d, by_k in files["conditions"].items()}
templates = {d: json.loads(Path(path).read_text())["d1"] for d, path in files["templates"].items()}
table = summarise(per_seed, conditions, files["latent_dims"], convergence, templates)
write_table(table, sm.output, markdown(table))
logging.info(table[["dataset", "partition", "k", "arm", "median", "iqr"]].to_string())
