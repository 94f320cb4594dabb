"""The cost model of a run (rvae.workflow.cost) over a results folder made here with known seconds."""

import os

import pandas as pd
import pytest

from rvae.workflow.cost import cost_table, job_cost, run_datasets, short_table

BLOCK = "sequential/gaussians/kmeans-k8-same/rvae/block0"


def _benchmark(results, rule, name, seconds, end):
    path = results / "benchmarks" / rule / f"{name}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:{int(seconds):02d}\t500.0\n")
    os.utime(path, (end, end))


def _log(results, rule, name, text):
    path = results / "logs" / rule / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _history(path, seconds, samples_per_s):
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"step": [5 * (i + 1) for i in range(len(seconds))], "seconds": seconds, "samples_per_s": samples_per_s}).to_parquet(path)


@pytest.fixture
def results(tmp_path):
    results = tmp_path / "results"
    (results / "data" / "gaussians").mkdir(parents=True)
    # a vmapped block of 3 runs: one span, rows carrying the block's seconds and samples (3 x 64 x 5 a row)
    _benchmark(results, "retrain", BLOCK, 12.5, end=2_000)
    _log(results, "retrain", BLOCK, "job started at 900.0\njob started at 1990.0\ntraining until 10\n"
         "training span: 3 runs to step 10 in 6.000 s\noutputs written: 3 runs in 1.500 s\njob finished at 1999.5\n")  # fmt: skip
    for seed in range(3):
        _history(results / "blocks" / BLOCK / f"seed{seed}.history.parquet", [2.0, 2.5], [960 / 2.0, 960 / 2.5])
    # a template: one run, one span
    _benchmark(results, "train_template", "gaussians/joint", 5.0, end=1_500)
    _log(results, "train_template", "gaussians/joint", "job started at 1496.0\ntraining span: 1 run to step 10 in 3.000 s\noutputs written: 1 run in 0.250 s\njob finished at 1499.75\n")
    _history(results / "history" / "templates" / "gaussians" / "joint.parquet", [1.0, 1.25], [640 / 1.0, 640 / 1.25])
    # a job without a log of its own
    _benchmark(results, "prepare_data", "gaussians", 0.75, end=1_000)
    return results


def test_a_jobs_seconds_split_into_start_up_set_up_training_validation_and_writing(results):
    row = job_cost(results, {"rule": "retrain", "name": BLOCK, "seconds": 12.5, "end": 2_000}, run_datasets(results))
    # only the last attempt counts: started 1990.0, finished 1999.5 -> 9.5 s inside the script
    assert row["dataset"] == "gaussians" and row["startup_s"] == pytest.approx(3.0)
    assert row["fixed_s"] == pytest.approx(6.5) and row["writing_s"] == pytest.approx(1.5)
    assert row["setup_s"] == pytest.approx(6.5 - 3.0 - 1.5)
    # three histories of one trainer of 3 runs: its 4.5 s of steps once, not three times
    assert row["training_s"] == pytest.approx(4.5) and row["validation_s"] == pytest.approx(1.5)
    assert row["samples"] == pytest.approx(2 * 960)


def test_the_table_sums_per_rule_and_dataset_and_the_short_one_keeps_the_training_rules(results):
    table = cost_table(results).set_index("rule")
    assert list(table.index) == ["retrain", "train_template", "prepare_data"]  # largest job-seconds first
    template = table.loc["train_template"]
    assert template["training_s"] == pytest.approx(2.25) and template["validation_s"] == pytest.approx(0.75)
    assert template["fixed_s"] == pytest.approx(2.0) and template["startup_s"] == pytest.approx(1.25)
    assert pd.isna(table.loc["prepare_data", "fixed_s"]) and table.loc["prepare_data", "job_s"] == 0.75
    # a job that ended before `since` is an earlier run's
    assert list(cost_table(results, since=1_200)["rule"]) == ["retrain", "train_template"]
    short = short_table(results)
    assert list(short["rule"]) == ["retrain", "train_template"]
    assert list(short.iloc[0])[3:] == ["12", "6", "4", "2"]  # job-s, fixed, training steps, validation and checkpoints


def test_a_run_copied_from_another_counts_once(tmp_path):
    """VAE (same seed) trains one run and copies it to its repeats: three histories, one trainer."""
    results = tmp_path / "results"
    (results / "data" / "gaussians").mkdir(parents=True)
    name = "reproducibility/gaussians/kmeans-k8-same/vae_same_seed/block0"
    _benchmark(results, "retrain", name, 6.0, end=100)
    _log(results, "retrain", name, "job started at 95.0\ntraining span: 1 run to step 10 in 2.000 s\noutputs written: 3 runs in 0.500 s\njob finished at 99.0\n")
    for seed in range(3):
        _history(results / "blocks" / name / f"seed{seed}.history.parquet", [0.5, 1.0], [320 / 0.5, 320 / 1.0])
    row = job_cost(results, {"rule": "retrain", "name": name, "seconds": 6.0, "end": 100}, run_datasets(results))
    assert row["training_s"] == pytest.approx(1.5) and row["validation_s"] == pytest.approx(0.5) and row["samples"] == pytest.approx(640)
