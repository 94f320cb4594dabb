"""Figures 6 and 7: spectra and identity distance of the linear maps, and their biases."""

import logging

from rvae.paper.figures import figure_linear_maps
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
out = sm.output
figure_linear_maps(sm.params.files, out.png6, out.pdf6, out.png7, out.pdf7)
logging.info(f"wrote {out.png6} and {out.png7}")
