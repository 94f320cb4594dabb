"""The workflow through Snakemake's SLURM executor against a real one-node SLURM cluster.

The test runs the README's command (``snakemake --profile profiles/slurm --configfile ...``)
with the shipped profile, changed only in entries it marks SITE (partition, memory, CPUs of
this machine, one GPU) and, because this cluster has no accounting database, with its
``slurm-status-command: squeue`` SITE line switched on. ``test_slurm_accounting.py`` runs the
same profile against a cluster with slurmdbd, where the plugin's default (sacct) applies.
The command line adds only ``TEST_FLAGS`` (faster polling, kept job logs), which change no result.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from slurm_cluster import ClusterUnavailable, SlurmCluster

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
CONFIG = ROOT / "tests" / "slurm" / "config.yaml"
TRAINING_RULES = ("train_template", "retrain", "sweep")

pytestmark = pytest.mark.slow


SHIPPED_PROFILE = ROOT / "profiles/slurm/config.yaml"
# Not site values, so on the command line and not in the profile: how often the plugin polls,
# how long it waits for files (a local disk here), and keeping the job logs the tests read.
TEST_FLAGS = ["--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2", "--latency-wait", "5",
           "--slurm-keep-successful-logs"]  # fmt: skip


def site_entries() -> set[tuple[str, ...]]:
    """Entries (key paths) the shipped profile marks SITE, set or commented out: all a site edits."""
    entries, path = set(), []
    for line in SHIPPED_PROFILE.read_text().splitlines():
        entry = re.match(r"^( *)(?:# *)?([\w-]+):(.*)$", line)
        if entry:
            path = path[: len(entry.group(1)) // 2] + [entry.group(2)]
            if re.search(r"\bSITE\b", entry.group(3)):
                entries.add(tuple(path))
    return entries


def changed_entries(shipped, edited, path=()) -> set[tuple[str, ...]]:
    """Key paths whose value differs between two profiles."""
    if isinstance(shipped, dict) and isinstance(edited, dict):
        return {p for key in set(shipped) | set(edited) for p in changed_entries(shipped.get(key), edited.get(key), (*path, key))}
    return set() if shipped == edited else {path}


def site_profile(folder: Path, **site) -> Path:
    """profiles/slurm with this test cluster's SITE values; ``site`` adds more of them
    (``slurm_account``/``gpu_model`` for every job, or ``slurm-status-command``)."""
    shipped = yaml.safe_load(SHIPPED_PROFILE.read_text())
    profile = yaml.safe_load(SHIPPED_PROFILE.read_text())
    profile["default-resources"].update(slurm_partition="debug", mem_mb=1000, runtime=10)
    for rule in TRAINING_RULES:
        profile["set-resources"][rule].update(slurm_partition="debug", mem_mb=1000, runtime=10, cpus_per_task=1)
        profile["set-threads"][rule] = 1
    profile["resources"]["gpu"] = 1  # the node's one (fake) GPU
    for key, value in site.items():
        if key.startswith("slurm-"):
            profile[key] = value
        elif key == "gpu_model":
            for rule in TRAINING_RULES:
                profile["set-resources"][rule][key] = value
        else:
            profile["default-resources"][key] = value
    assert changed_entries(shipped, profile) <= site_entries(), changed_entries(shipped, profile) - site_entries()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        running = SlurmCluster(tmp_path_factory.mktemp("slurm"))
        running.start()
    except ClusterUnavailable as why:
        running.stop()
        pytest.skip(f"no SLURM cluster for this test: {why}")
    pids = [process.pid for process in running.processes.values()]
    yield running
    running.stop()
    left = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert not left, f"daemons still running after stop: {left}"


def write_lab_data(workdir: Path, poisoned: bool) -> None:
    folder = workdir / "lab_data"
    folder.mkdir(exist_ok=True)
    x = np.random.default_rng(0).normal(size=(60, 5)).astype(np.float32)
    if poisoned:
        x[7, 2] = np.nan
    np.save(folder / "x.npy", x)
    (folder / "dataset.yaml").write_text("input_shape: [5]\nfamily: mlp\n")


def run(cluster, workdir, profile, *targets, env=None):
    cmd = [SNAKEMAKE, *targets, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--profile", str(profile), *TEST_FLAGS, "--configfile", str(CONFIG)]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, env=env or cluster.env, timeout=900)


def slurm_jobs(output: str) -> dict[int, str]:
    """SLURM job id -> rule, from Snakemake's submission lines (the log path names the rule)."""
    found = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/", output)
    return {int(job_id): rule for job_id, rule in found}


def job_record(cluster, job_id: int) -> dict:
    out = subprocess.run(["scontrol", "show", "job", "-o", str(job_id)], capture_output=True, text=True, env=cluster.env)
    assert out.returncode == 0, f"SLURM does not know job {job_id}: {out.stderr}"
    return dict(field.split("=", 1) for field in out.stdout.split() if "=" in field)


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm_workdir")
    write_lab_data(workdir, poisoned=False)
    profile = site_profile(workdir / "profile", **{"slurm-status-command": "squeue"})  # no slurmdbd here
    result = run(cluster, workdir, profile, "results/tables/table1.csv")
    assert result.returncode == 0, result.stderr[-4000:] + cluster.logs()
    return workdir, profile, result


def test_table_builds_through_slurm(cluster, slurm_run):
    workdir, _, result = slurm_run
    table = pd.read_csv(workdir / "results/tables/table1.csv").query("metric == 'rv'")
    rvae = table[(table["model"] == "rvae") & (table["partition"] == "R1")]["median"].iloc[0]
    vae = table[(table["model"] == "vae") & (table["partition"] == "R1")]["median"].iloc[0]
    assert np.isfinite(rvae) and rvae < vae, table
    jobs = slurm_jobs(result.stderr)
    rules = set(jobs.values())
    assert {"prepare_data", "train_template", "select_rosetta", "retrain"} <= rules, jobs
    assert len(jobs) >= 10
    records = {job_id: job_record(cluster, job_id) for job_id in jobs}
    assert all(r["JobState"] == "COMPLETED" for r in records.values()), records
    for job_id, rule in jobs.items():  # training jobs asked SLURM for the GPU; others did not
        gpus = "gres/gpu=1" in records[job_id].get("TRES", "") or "gpu:1" in records[job_id].get("TresPerJob", "")
        assert gpus == (rule in ("train_template", "retrain")), (rule, records[job_id])
    assert all(r["WorkDir"] == str(workdir) for r in records.values())


def test_config_summary_is_printed_once_not_by_each_job(slurm_run):
    workdir, _, result = slurm_run
    assert result.stderr.count("rosetta-vae config:") == 1
    assert "  table1: reproducibility, gaussians k=8" in result.stderr
    job_logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(job_logs) >= 10 and all("rule " in log.read_text() for log in job_logs)
    assert not [log for log in job_logs if "rosetta-vae config:" in log.read_text()]


def test_gpu_jobs_never_overlap_on_the_one_gpu(cluster, slurm_run):
    _, _, result = slurm_run
    spans = []
    for job_id, rule in slurm_jobs(result.stderr).items():
        if rule in ("train_template", "retrain"):
            record = job_record(cluster, job_id)
            spans.append((datetime.fromisoformat(record["StartTime"]), datetime.fromisoformat(record["EndTime"])))
    spans.sort()
    assert len(spans) >= 5  # the D1 template and one seed block per model
    # second resolution: a job may start in the second the previous one ended
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:])), spans


def test_failed_slurm_job_is_reported_and_a_rerun_completes_it(cluster, slurm_run):
    workdir, profile, _ = slurm_run
    write_lab_data(workdir, poisoned=True)
    failed = run(cluster, workdir, profile, "results/data/lab/info.json")
    assert failed.returncode != 0
    assert "Error in rule prepare_data" in failed.stderr
    assert "NaN or infinite values in 1 point(s), first rows [7]" in "".join(
        p.read_text() for p in (workdir / "results/logs/prepare_data").glob("lab.log")
    )
    failed_ids = [j for j, rule in slurm_jobs(failed.stderr).items() if rule == "prepare_data"]
    assert failed_ids and all(job_record(cluster, j)["JobState"] == "FAILED" for j in failed_ids)
    assert not (workdir / "results/data/lab/info.json").exists()
    assert (workdir / "results/tables/table1.csv").exists(), "earlier results are untouched"
    write_lab_data(workdir, poisoned=False)
    rerun = run(cluster, workdir, profile, "results/data/lab/info.json")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (workdir / "results/data/lab/info.json").exists()
    assert slurm_jobs(rerun.stderr), "the rerun went through SLURM too"
