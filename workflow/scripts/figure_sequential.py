"""Figures 4 and 5: sequentially trained latent spaces with and without the linear correction."""

from rvae.figures import figure_sequential
from rvae.workflow_support import named_inputs, start

sm = snakemake  # noqa: F821
log = start(sm)
figure_sequential(named_inputs(sm), sm.wildcards.number == "4", sm.output.png, sm.output.pdf)
log(f"wrote {sm.output.png}")
