"""Training curves of the sequential runs, per dataset and model."""

from rvae.figures import figure_training_curves
from rvae.workflow_support import named_inputs, start

sm = snakemake  # noqa: F821
log = start(sm)
histories = {}
for dataset, files in named_inputs(sm).items():
    for key, path in files.items():
        model, _seed = key.rsplit("__", 1)
        histories.setdefault((dataset, model), []).append(path)
figure_training_curves(histories, sm.output.png, sm.output.pdf)
log(f"wrote {sm.output.png}")
