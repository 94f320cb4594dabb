"""Figures 6 and 7: spectra and identity distance of the linear maps, and their biases."""

from rvae.figures import figure_linear_maps
from rvae.workflow_support import named_inputs, start

sm = snakemake  # noqa: F821
log = start(sm)
out = sm.output
figure_linear_maps(named_inputs(sm), out.png6, out.pdf6, out.png7, out.pdf7)
log(f"wrote {out.png6} and {out.png7}")
