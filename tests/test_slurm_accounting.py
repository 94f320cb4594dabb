"""The SLURM path as sites run it: a cluster with accounting (slurmdbd on MariaDB), where the
executor plugin takes job status from ``sacct`` (its default) and every job runs under an account.

The shipped profile with this cluster's SITE values, ``slurm_account`` and the GPU model among
them, and no ``slurm-status-command``. A smaller target than ``test_slurm.py`` (which covers the
cluster without accounting): one R-VAE seed block of the Gaussians, i.e. four SLURM jobs (data,
D1 template, Rosetta points, the block), two of them on the GPU.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from slurm_cluster import ACCOUNT, GPU_MODEL, ClusterUnavailable, SlurmCluster
from test_slurm import job_record, run, site_profile, slurm_jobs, write_lab_data

pytestmark = pytest.mark.slow
TARGET = "results/embeddings/reproducibility/gaussians/kmeans-k8-same/rvae/seed0.parquet"
ACCOUNT_LINES = r"^.*(?:SLURM account|account was given|account for).*$"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        running = SlurmCluster(tmp_path_factory.mktemp("slurm_accounting"), accounting=True)
        running.start()
    except ClusterUnavailable as why:
        running.stop()
        pytest.skip(f"no SLURM cluster for this test: {why}")
    pids = [process.pid for process in running.processes.values()]
    assert {"mariadbd", "slurmdbd"} <= set(running.processes)
    yield running
    running.stop()
    left = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert not left, f"daemons still running after stop: {left}"


def logging_env(cluster, folder: Path) -> tuple[dict, Path]:
    """The cluster's environment with ``sacct`` and ``squeue`` wrapped to log their calls."""
    folder.mkdir(parents=True, exist_ok=True)
    calls = folder / "calls.log"
    for tool in ("sacct", "squeue"):
        wrapper = folder / tool
        wrapper.write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\nexec /usr/bin/{tool} "$@"\n')
        wrapper.chmod(0o755)
    return {**cluster.env, "PATH": f"{folder}{os.pathsep}{cluster.env['PATH']}"}, calls


def sacct_records(cluster, job_ids) -> dict[int, dict]:
    """JobID -> the accounting database's Account and State of each job."""
    out = subprocess.run(["sacct", "-X", "-n", "--parsable2", "-o", "JobID,Account,State", "-j", ",".join(map(str, job_ids))],
                         capture_output=True, text=True, env=cluster.env, check=True).stdout  # fmt: skip
    return {int(i): {"Account": a, "State": s} for i, a, s in (line.split("|") for line in out.split())}


@pytest.fixture(scope="module")
def accounted_run(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("accounting_workdir")
    write_lab_data(workdir, poisoned=False)
    profile = site_profile(workdir / "profile", slurm_account=ACCOUNT, gpu_model=GPU_MODEL)
    assert "slurm-status-command" not in (profile / "config.yaml").read_text()
    env, calls = logging_env(cluster, workdir / "wrappers")
    result = run(cluster, workdir, profile, TARGET, env=env)
    assert result.returncode == 0, result.stderr[-4000:] + cluster.logs()
    return workdir, result, calls


def test_jobs_run_under_the_site_account_with_sacct_status(cluster, accounted_run):
    workdir, result, calls = accounted_run
    assert (workdir / TARGET).exists()
    jobs = slurm_jobs(result.stderr)
    assert sorted(jobs.values()) == ["prepare_data", "retrain", "select_rosetta", "train_template"], jobs
    records = sacct_records(cluster, jobs)
    assert records == {job_id: {"Account": ACCOUNT, "State": "COMPLETED"} for job_id in jobs}, records
    status_queries = [line for line in calls.read_text().splitlines() if "--name" in line]
    assert status_queries and all(line.startswith("sacct ") for line in status_queries), calls.read_text()
    for job_id, rule in jobs.items():  # the GPU model reached SLURM: --gpus=fake:1
        asked = job_record(cluster, job_id).get("TresPerJob", "")
        assert (f"gpu:{GPU_MODEL}:1" in asked) == (rule in ("train_template", "retrain")), (rule, asked)
    assert not re.findall(ACCOUNT_LINES, result.stderr, re.M), "an account was given: no guessing"


def test_without_an_account_the_plugin_guesses_and_sbatch_uses_the_default(cluster, accounted_run, tmp_path):
    """The shipped profile's `slurm_account` left unset: what the plugin says, and which account
    the job runs under (the user's default account, set by the site's sacctmgr)."""
    workdir, _, _ = accounted_run
    profile = site_profile(tmp_path / "profile", gpu_model=GPU_MODEL)
    result = run(cluster, workdir, profile, "results/data/lab/info.json")
    assert result.returncode == 0, result.stderr[-3000:]
    said = re.findall(ACCOUNT_LINES, result.stderr, re.M)
    print("plugin on accounts:", *said, sep="\n  ")
    assert any("No SLURM account given, trying to guess." in line for line in said), said
    assert any("Unable to guess SLURM account" in line or f"Guessed SLURM account: {ACCOUNT}" in line for line in said), said
    jobs = slurm_jobs(result.stderr)
    assert list(jobs.values()) == ["prepare_data"]
    assert sacct_records(cluster, jobs) == {job_id: {"Account": ACCOUNT, "State": "COMPLETED"} for job_id in jobs}
