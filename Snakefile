# Rosetta VAE: the paper as a DAG. Every table is a target:
#   snakemake results/tables/table2.csv --cores all
# On a GPU machine, with `device: cuda` in the config, one GPU job at a time:
#   snakemake --configfile config/paper.yaml --cores 8 --resources gpu=1
# See README.md and config/README.md.
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# The default config only when none is given: a --configfile replaces it rather than being
# merged into it; `extends:` in a config opts in to a base (config/README.md, "Which config runs").
if not workflow.config_settings.configfiles:

    configfile: str(Path(workflow.basedir) / "config" / "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/rosetta.smk"
include: "workflow/rules/retrain.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/anchor_budget.smk"
include: "workflow/rules/sharing.smk"
include: "workflow/rules/chains.smk"


rule all:
    default_target: True
    input:
        targets.all_targets(config),
