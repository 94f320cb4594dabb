"""The anchor-budget table: every arm's held-out distance to Alice's coordinates over k."""

import logging


from rvae.paper.anchor_budget import markdown, read_inputs, summarise
from rvae.workflow.script import start, write_table

sm = snakemake  # noqa: F821
start(sm)
files = sm.params.files
per_seed, convergence, templates = read_inputs(files)
conditions = {d: {int(k): c for k, c in by_k.items()} for d, by_k in files["conditions"].items()}
table = summarise(per_seed, conditions, files["latent_dims"], convergence, templates)
write_table(table, sm.output, markdown(table))
logging.info(table[["dataset", "partition", "k", "arm", "median", "iqr"]].to_string())
