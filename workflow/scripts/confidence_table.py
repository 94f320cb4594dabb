"""Do Bob's per-point scores predict his error? The table and its figure, from the portability runs."""

import logging

from rvae import defaults
from rvae.paper.confidence_table import auto_choices, confidence_markdown, confidence_table, figure_confidence, replay
from rvae.workflow.script import start, write_table

sm = snakemake  # noqa: F821
start(sm)
replayed = {dataset: replay(f["runs"], f["template"], f["rosetta"], defaults.ALIGN) for dataset, f in sm.params.files.items()}
table, choices = confidence_table(replayed), auto_choices(replayed)
write_table(table, sm.output, confidence_markdown(table, choices))
figure_confidence(replayed, sm.output.png, sm.output.pdf)
logging.info("\n" + table.to_string() + "\n" + choices.to_string())
