"""A few examples per dataset and partition: results/figures/datasets.png."""

from pathlib import Path

from rvae.data.store import load_prepared
from rvae.plots import plot_dataset_examples
from rvae.workflow_support import start

sm = snakemake  # noqa: F821
log = start(sm)
datasets = {name: load_prepared(Path(path).parent) for name, path in zip(sm.params.datasets, sm.input)}
plot_dataset_examples(datasets, sm.output[0])
log(f"wrote {sm.output[0]}")
