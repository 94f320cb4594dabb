"""Portability figure: arms' distances to Alice's space, and Bob's points in her coordinates."""

import logging

from rvae.paper.portability import figure_portability
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
figure_portability(sm.params.files, sm.output.png, sm.output.pdf)
logging.info(f"wrote {sm.output.png}")
