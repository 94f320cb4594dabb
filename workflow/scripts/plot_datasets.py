"""A few examples per dataset and partition: the datasets figure."""

import logging
from pathlib import Path

from rvae.data.store import load_prepared
from rvae.paper.plots import plot_dataset_examples
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
datasets = {name: load_prepared(Path(path).parent) for name, path in zip(sm.params.datasets, sm.input)}
plot_dataset_examples(datasets, sm.output[0])
logging.info(f"wrote {sm.output[0]}")
