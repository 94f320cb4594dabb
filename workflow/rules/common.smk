# Config validation, wildcard constraints and the targets' input functions (no rules here).
# The decisions live in the package: the paper's plan (rvae.paper.plan), the files each target
# needs (rvae.workflow.targets), the params each job gets (rvae.workflow.params) and every
# results path (rvae.workflow.paths); these functions only hand them the config and wildcards.
import os
import re
import sys

from rvae import seeds
from rvae import vocabulary as vocab
from rvae.paper import chains
from rvae.paper import claims as paper_claims
from rvae.workflow import paths, targets
from rvae.workflow import params as job_params
from rvae.workflow.config_checks import budget_warnings, check_config, validate_config
from rvae.workflow.user_config import apply_aliases, apply_extends, describe

# A --configfile is the whole config (the Snakefile reads the default only without one);
# `extends:` merges it over a base. validate_config() fills in the defaults (rvae.defaults, then
# the schema's own) and validates the config against the schema.
CONFIG_FILES = [
    *workflow.configfiles,
    *apply_extends(config, workflow.config_settings.configfiles),
]
for warning in apply_aliases(config):
    print(f"warning: {warning}", file=sys.stderr)
validate_config(
    config, Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
)
check_config(config)
if workflow.is_main_process:  # once per run, not in every job's own Snakemake
    print("\n".join(describe(config, CONFIG_FILES)), file=sys.stderr)
    for warning in budget_warnings(config):
        print(f"warning: {warning}", file=sys.stderr)

DATASETS = list(config["datasets"])
GPU = 0 if config["device"] == "cpu" else 1
# The paper's printed values and its claims: package data of rvae.paper.
PAPER_VALUES = str(paper_claims.PAPER_VALUES)
PAPER_CLAIMS = str(paper_claims.PAPER_CLAIMS)


wildcard_constraints:
    dataset="|".join(DATASETS),
    experiment="|".join(vocab.EXPERIMENTS),
    model_kind="|".join(vocab.MODEL_KINDS),
    method="|".join(vocab.SELECTION_METHODS),
    variant="|".join(vocab.VARIANTS),
    which="|".join(vocab.TEMPLATES),
    param="|".join(vocab.HYPERPARAMETERS),
    k=r"\d+",
    seed=r"\d+",
    block=r"\d+",
    part=r"\d+",
    n=r"\d+",
    value=r"[0-9]+(\.[0-9]+)?",
    name=r"[A-Za-z][A-Za-z0-9_]*",
    lab="|".join(chains.RUNS),
    run="|".join(
        re.escape(run) for run in dict.fromkeys(r for _, r in chains.lab_runs())
    ),


def gpu_resource(wildcards):
    return GPU


def dataset_data(wildcards):
    return paths.data_files(wildcards.dataset)


def raw_data_files(wildcards):
    return job_params.raw_data_files(config, wildcards.dataset)


def chosen_hyperparameter(wildcards):
    return job_params.chosen_hyperparameter(
        config, wildcards.experiment, wildcards.dataset, wildcards.model_kind
    )


def seed_block_output(wildcards):
    return job_params.seed_output(config, dict(wildcards.items()))


def pool_inputs(wildcards):
    return job_params.pool_inputs(config, wildcards.dataset, wildcards.variant)


def block_checkpoints(wildcards):
    return targets.block_checkpoints(config, wildcards)


def run_embeddings(wildcards):
    return targets.run_embeddings(config, wildcards)


def half_run_embeddings(wildcards):
    return targets.at_budget(targets.run_embeddings(config, wildcards), "half")


def run_histories(wildcards):
    return targets.run_histories(config, wildcards)


def budget_input(wildcards):
    which = getattr(wildcards, "which", None)
    return job_params.budget_input(config, wildcards.dataset, which)


def budget_record(wildcards):
    return job_params.budget_record(wildcards.dataset)


def sweep_part_files(wildcards):
    return job_params.sweep_part_files(
        config, wildcards.experiment, wildcards.dataset, wildcards.param
    )


def sweep_rosetta(wildcards):
    return targets.sweep_rosetta(config, wildcards.experiment, wildcards.dataset)


def table_inputs(wildcards):
    return targets.at_both_budgets(targets.table_inputs(config, int(wildcards.n)))


def findings_inputs(wildcards):
    return targets.findings_inputs(config)


def table_convergence(wildcards):
    return targets.at_both_budgets(targets.table_convergence(config, int(wildcards.n)))


def shared_inputs(wildcards):
    return targets.shared_inputs(config, wildcards.name)


def portability_input_files(wildcards):
    w = wildcards
    return targets.portability_inputs(config, w.dataset, w.method, w.k, w.variant)


def portability_inputs(wildcards):
    return targets.at_both_budgets(portability_input_files(wildcards), "runs")


def anchor_budget_input_files(wildcards):
    w = wildcards
    return targets.anchor_budget_inputs(config, w.dataset, w.method, w.k, w.variant)


def anchor_budget_inputs(wildcards):
    return targets.files_in(anchor_budget_input_files(wildcards))


def chain_run_inputs(wildcards):
    w = wildcards
    return targets.chain_run_inputs(config, w.dataset, w.lab, w.run, w.seed)


def chain_convergence_files(wildcards):
    return targets.chain_convergence_files(config, wildcards.dataset)


def chain_arm_files(wildcards):
    return targets.files_in(targets.chain_arm_inputs(config, wildcards.dataset))


onsuccess:
    for line in targets.convergence_warnings(config):
        print(line)


def results_page_files():
    return targets.results_page_inputs(config)
