"""Training curves of the sequential runs, per dataset and model kind."""

import logging

from rvae.paper.figures import figure_training_curves
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
histories = {(dataset, kind): files for dataset, per_kind in sm.params.files.items() for kind, files in per_kind.items()}
figure_training_curves(histories, sm.output.png, sm.output.pdf)
logging.info(f"wrote {sm.output.png}")
