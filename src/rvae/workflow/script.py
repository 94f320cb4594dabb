"""Start-up of the workflow's scripts: logging to the rule's log file, the inputs of a training job.

A script runs under Snakemake, or alone for debugging (pypsa-eur's habit)::

    from rvae.workflow.script import mock_snakemake
    sm = mock_snakemake("retrain", experiment="sequential", dataset="gaussians", method="kmeans",
                        k=8, variant="same", model_kind="rvae", block=0)

then the script's lines run as they are (``sm`` holds ``input``, ``output``, ``params``,
``wildcards``, ``threads``, ``log`` and ``config`` of that job).
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


def run_inputs(snakemake):
    """Prepared data, the architecture spec and the checked Rosetta points of a training job."""
    from rvae.data.store import load_prepared
    from rvae.paper.experiment import architecture
    from rvae.portable import load_rosetta_points

    data = load_prepared(Path(snakemake.input.x).parent)
    spec = architecture(data, **snakemake.params.architecture)
    points = load_rosetta_points(snakemake.input.rosetta, spec.input_shape, spec.latent_dim)
    return data, spec, points


def mock_snakemake(rule: str, configfile: str = "config/config.yaml", snakefile: str = "Snakefile", **wildcards):
    """The ``snakemake`` object a rule's script would get for these wildcards, without running the workflow.

    Run from the repository root (or pass ``snakefile``); inputs must exist for the script to
    read them, as under Snakemake.
    """
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
    from snakemake.script import Snakemake

    with SnakemakeApi(OutputSettings(quiet=True)) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1),
            config_settings=ConfigSettings(configfiles=[Path(configfile)]),
            snakefile=Path(snakefile),
        )
        workflow = workflow_api._workflow
        workflow.include(workflow.main_snakefile, overwrite_default_target=True)
        job = workflow.get_rule(rule)
        wildcards = {key: str(value) for key, value in wildcards.items()}
        io = job.expand_input(wildcards)[0], job.expand_output(wildcards)[0], job.expand_params(wildcards, *job.expand_input(wildcards)[:1], None, None)
        log_files = job.expand_log(wildcards)
        return Snakemake(
            io[0], io[1], io[2], wildcards, threads=1, resources=None, log=log_files, config=workflow.config,
            rulename=rule, bench_iteration=None, scriptdir=str(Path(snakefile).parent / "workflow" / "scripts"),
        )  # fmt: skip
