"""Figure 2: D1 latent spaces of the template and one run per model kind, and RV per model kind."""

import logging

from rvae.paper.figures import figure_reproducibility
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
figure_reproducibility(sm.params.files["panels"], sm.params.files["rv"], sm.output.png, sm.output.pdf)
logging.info(f"wrote {sm.output.png}")
