"""The anchor-budget figure: held-out distance to Alice's coordinates against k, per arm."""

import pandas as pd

from rvae.paper.anchor_budget import figure
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
figure(pd.read_parquet(sm.input[0]), sm.output.png, sm.output.pdf)
