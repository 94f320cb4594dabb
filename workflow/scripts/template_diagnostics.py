"""Convergence and label accuracy of a dataset's two templates (is the latent space trained?)."""

import json
import logging

import pandas as pd

from rvae.atomic import atomic_path
from rvae.convergence import PlateauRule
from rvae.embeddings import read_embedding
from rvae.paper.experiment import template_diagnostics
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
embeddings = {which: read_embedding(sm.input[which]) for which in ("joint", "d1")}
histories = {which: pd.read_parquet(sm.input[f"{which}_history"]).to_dict("records") for which in ("joint", "d1")}
report = template_diagnostics(embeddings, histories, PlateauRule(**sm.params.rule))
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(report, indent=2))
logging.info(json.dumps(report))
