"""Figures 4 and 5: sequentially trained latent spaces with and without the linear correction."""

import logging

from rvae.paper.figures import figure_sequential
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
figure_sequential(sm.params.files, sm.wildcards.number == "4", sm.output.png, sm.output.pdf)
logging.info(f"wrote {sm.output.png}")
