"""Start-up of the workflow's scripts: logging to the rule's log file, the inputs of a training job.

A script runs under Snakemake, or alone for debugging (pypsa-eur's habit), from the repository root::

    python -m rvae.workflow.script retrain experiment=sequential dataset=gaussians method=kmeans \
        k=8 variant=same model_kind=rvae block=0

or, in a notebook, ``sm = mock_snakemake("retrain", experiment=..., ...)`` and then the script's
lines as they are (``sm`` holds ``input``, ``output``, ``params``, ``wildcards``, ``threads``,
``log`` and ``config`` of that job).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)


def start(snakemake) -> None:
    """Send stderr, warnings and every ``logging`` record to the rule's log, line-buffered, plain lines."""
    if snakemake.log:
        Path(snakemake.log[0]).parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(snakemake.log[0], "a", buffering=1)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s", force=True)
    logging.captureWarnings(True)
    log.info(f"job started at {time.time():.3f}")


def finish() -> None:
    """The job's last line: with ``job started at``, the wall-clock span a GPU was held (checked by tests)."""
    log.info(f"job finished at {time.time():.3f}")


def write_table(table, output, markdown: str, budget: str = "full") -> None:
    """A tidy table's three files, each written whole or not at all: ``output.csv``,
    ``output.parquet`` and ``output.md`` (its ``markdown``), as every table rule names them; at
    the half budget ``output.half_csv`` and so on."""
    from rvae.atomic import atomic_path

    prefix = "" if budget == "full" else f"{budget}_"
    for path, write in (
        (output[f"{prefix}csv"], lambda p: table.to_csv(p, index=False)),
        (output[f"{prefix}parquet"], lambda p: table.to_parquet(p, index=False)),
        (output[f"{prefix}md"], lambda p: p.write_text(markdown)),
    ):
        with atomic_path(path) as tmp:
            write(tmp)


def by_budget(snakemake, inputs: str):
    """``(budget, input files, output file)`` for the full budget and the half: a metric job's
    ``input.<inputs>`` and ``input.half_<inputs>`` with ``output.full`` and ``output.half``
    (``rvae.workflow.paths.BUDGETS``)."""
    return [
        ("full", list(getattr(snakemake.input, inputs)), snakemake.output.full),
        ("half", list(getattr(snakemake.input, f"half_{inputs}")), snakemake.output.half),
    ]


def training_until(snakemake, training: dict, joint: bool = False) -> dict:
    """A job's training params with its budget resolved into ``until``
    (``rvae.workflow.params.resolve_until``; under ``steps: auto`` from its budget file)."""
    import json

    from rvae.workflow.params import AUTO, resolve_until

    training = dict(training)
    steps, factor = training.pop("steps"), training.pop("budget_factor")
    budget = None
    if steps == AUTO and not joint:
        budget = json.loads(Path(snakemake.input.budget).read_text())["steps"]
    until = resolve_until(steps, factor, joint, budget)
    source = f"the joint template's budget of {budget} steps ({snakemake.input.budget})" if budget is not None else f"steps: {steps}"
    log.info(f"training until {until}: {source}, budget_factor {factor}" + (" (the joint template sets the budget)" if joint else ""))
    return {**training, "until": until}


def train_config(snakemake, training: dict, **overrides):
    """A job's ``TrainConfig``: its params (what changes results, so edits rerun) with the job's
    threads and, from config, what changes no result (checkpoint spacing, the compile cache)."""
    from rvae.trainer import TrainConfig

    return TrainConfig(
        **{**training, **overrides},
        threads=snakemake.threads,
        checkpoint_every=snakemake.config["checkpoint_every"],
        compile_cache=snakemake.config["compile_cache"],
    )


def run_inputs(snakemake):
    """Prepared data, the architecture spec and the checked Rosetta points of a training job."""
    from rvae.data.store import load_prepared
    from rvae.paper.experiment import architecture
    from rvae.rosetta_file import load_rosetta_points

    data = load_prepared(Path(snakemake.input.x).parent)
    spec = architecture(data, **snakemake.params.architecture)
    points = load_rosetta_points(snakemake.input.rosetta, spec.input_shape, spec.latent_dim)
    return data, spec, points


def mock_snakemake(rule: str, configfile: str | None = None, **wildcards):
    """The ``snakemake`` object a rule's script would get for these wildcards, without running the workflow.

    Run from the repository root; inputs must exist for the script to read them, as under Snakemake.
    """
    from snakemake.api import Workflow  # first: snakemake.api, .dag and .workflow import each other
    from snakemake.dag import DAG
    from snakemake.jobs import Job
    from snakemake.logging import LoggerManager, logger
    from snakemake.script import Snakemake
    from snakemake.settings.types import (
        ConfigSettings, DAGSettings, OutputSettings, ResourceSettings, StorageSettings, WorkflowSettings,
    )  # fmt: skip

    configfiles = [Path(configfile)] if configfile else []
    workflow = Workflow(
        config_settings=ConfigSettings(configfiles=configfiles), resource_settings=ResourceSettings(),
        workflow_settings=WorkflowSettings(), logger_manager=LoggerManager(logger, OutputSettings()),
        storage_settings=StorageSettings(), dag_settings=DAGSettings(rerun_triggers=[]), storage_provider_settings={},
    )  # fmt: skip
    workflow.include(Path("Snakefile").resolve())
    for path in configfiles:
        workflow.configfile(path)
    workflow.global_resources = {}
    found = workflow.get_rule(rule)
    job = Job(found, DAG(workflow, rules=[found]), {k: str(v) for k, v in wildcards.items()})
    snakemake = Snakemake(
        job.input, job.output, job.params, job.wildcards, job.threads, job.resources, job.log,
        workflow.config, rule, None,
    )  # fmt: skip
    snakemake.script_path = Path(found.basedir.get_path_or_uri(secret_free=True)) / str(found.script) if found.script else None
    return snakemake


def main(argv=None) -> None:
    """``python -m rvae.workflow.script RULE [wildcard=value ...]``: one job's script in this process (for a debugger).

    Uses ``config/config.yaml`` as Snakemake would; the job's inputs must exist.
    """
    import runpy

    rule, *pairs = argv if argv is not None else sys.argv[1:]
    snakemake = mock_snakemake(rule, **dict(pair.split("=", 1) for pair in pairs))
    runpy.run_path(str(snakemake.script_path), init_globals={"snakemake": snakemake}, run_name="__main__")


if __name__ == "__main__":
    main()


def write_run(folder: str, seed: int, role: str, training_seed: int, run, half: int, data, points) -> None:
    """One retraining run's files in its block's or pool's folder (``rvae.workflow.paths.BLOCK_FILES``):
    its model, embedding and history, and its model and embedding at the half budget ``half``."""
    import pandas as pd

    from rvae.embeddings import write_embedding
    from rvae.models import save_model
    from rvae.paper.experiment import embed_all
    from rvae.workflow.paths import block_file

    Path(folder).mkdir(parents=True, exist_ok=True)
    meta = {"seed": training_seed, "seed_role": role}
    save_model(run.model, block_file(folder, seed, "model"), {**meta, "history": run.history})
    write_embedding(embed_all(run.model, data, points.point_ids), block_file(folder, seed, "embedding"))
    pd.DataFrame(run.history).to_parquet(block_file(folder, seed, "history"), index=False)
    if run.half is None:
        raise RuntimeError(f"seed {seed}: a budget of {run.history[-1]['step']} steps has no half budget to keep")
    save_model(run.half, block_file(folder, seed, "half_model"), {**meta, "steps": half, "history": [r for r in run.history if r["step"] <= half]})
    write_embedding(embed_all(run.half, data, points.point_ids), block_file(folder, seed, "half_embedding"))
