"""Chain figure: each hop's distance to Alice's coordinates and LSD, one line per arm, per dataset."""

import logging

import pandas as pd

from rvae.paper.chains import figure_chain
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
figure_chain(pd.read_parquet(sm.input[0]), sm.output.png, sm.output.pdf)
logging.info(f"wrote {sm.output.png}")
