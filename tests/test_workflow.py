"""The Snakemake workflow: DAG per table target, an end-to-end tiny run, rerun triggers."""

import os
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rvae.workflow.config_checks import validate_config

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TINY = ROOT / "tests" / "workflow" / "config.yaml"


def snakemake(workdir, *args, config=None, check=True):
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir)]
    if config is not None:
        cmd += ["--configfile", str(config)]
    result = subprocess.run(cmd + list(args), capture_output=True, text=True, cwd=workdir)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def planned_jobs(output: str) -> dict:
    """Rule -> count from a dry run's job stats."""
    stats = output.split("Job stats:")[1].split("Reasons:")[0] if "Job stats:" in output else ""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M) if m.group(1) != "total"}


def test_default_dag_and_each_table_target(tmp_path):
    everything = snakemake(tmp_path, "-n", "--cores", "2", config=ROOT / "config" / "config.yaml")
    jobs = planned_jobs(everything.stdout)
    assert jobs["make_table"] == 10 and jobs["seed_result"] > 100
    # 3 seeds: one block each, but the 8 Gaussians' runs (an MLP) train as one pool (config `pool`)
    from rvae.paper.plan import all_retrainings

    pooled = [r for r in all_retrainings(yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["tables"]) if r.dataset == "gaussians"]
    assert jobs["retrain_pool"] == 1 and jobs["retrain"] * 3 + len(pooled) * 3 == jobs["seed_result"]
    for n in range(1, 11):
        out = snakemake(tmp_path, "-n", "--cores", "2", f"results/tables/table{n}.csv", config=ROOT / "config" / "config.yaml").stdout
        table_jobs = planned_jobs(out)
        assert table_jobs["make_table"] == 1
        assert table_jobs["seed_result"] < jobs["seed_result"]
        if n in (1, 3, 4, 5):
            assert "results/embeddings/sequential" not in out
        else:
            assert "results/embeddings/reproducibility" not in out
        if n == 2:  # exactly table 2's conditions, no other number of Rosetta points
            conditions = set(re.findall(r"results/embeddings/sequential/(\w+)/([\w-]+)/", out))
            assert conditions == {
                ("gaussians", "kmeans-k8-same"), ("mnist", "kmeans-k64-same"),
                ("birdsong", "kmeans-k32-same"), ("chairs", "kmeans-k32-same"),
            }  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny")
    shutil.copy(TINY, workdir / "config.yaml")
    result = snakemake(workdir, "--cores", "2", config=workdir / "config.yaml")
    return workdir, result


@pytest.mark.slow
@pytest.mark.computed
def test_tiny_run_builds_every_table(tiny_run):
    workdir, _ = tiny_run
    for n in range(1, 11):
        csv = pd.read_csv(workdir / f"results/tables/table{n}.csv")
        parquet = pd.read_parquet(workdir / f"results/tables/table{n}.parquet")
        assert len(csv) == len(parquet) > 0
        assert {"dataset", "partition", "model", "condition", "estimator", "median", "iqr"} <= set(csv.columns)
        must_be_finite = parquet[parquet["model"] != "vae_same_seed"]
        assert np.isfinite(must_be_finite["median"]).all(), f"table {n}:\n{must_be_finite}"
        reference_rows = parquet[parquet["reference"] == parquet["condition"] + "/" + parquet["model"]]
        assert len(reference_rows) and (reference_rows["median"] == 0.0).all(), "a reference against itself is 0 by construction"
        md = (workdir / f"results/tables/table{n}.md").read_text()
        assert md.startswith(f"# Table {n}:") and "|---" in md
    from PIL import Image

    with Image.open(workdir / "results/figures/datasets.png") as image:
        assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 300
    table1 = pd.read_parquet(workdir / "results/tables/table1.parquet")
    rv = table1[table1["metric"] == "rv"]  # the rest is the similarity panel
    assert set(rv["estimator"]) == {"ledoit_wolf"} and set(table1.loc[table1["metric"] != "rv", "estimator"]) == {""}
    same_seed = rv[rv["model"] == "vae_same_seed"]
    assert (same_seed["median"] == -np.inf).all() and same_seed["note"].str.contains("bit-identical").all()


@pytest.mark.slow
@pytest.mark.computed
def test_the_joint_templates_plateau_sets_every_models_steps_and_convergence_is_reported(tiny_run):
    """`steps: auto` (gaussians in the tiny config): the step at which the joint template's curve
    plateaued, or its cap, is the budget of the D1 template and every retraining; non-convergence
    reaches the tables and Snakemake's output."""
    import json

    from rvae.convergence import PlateauRule, judged_curve, plateau_step

    workdir, result = tiny_run
    chosen = json.loads((workdir / "results/budget/gaussians.json").read_text())
    joint = pd.read_parquet(workdir / "results/history/templates/gaussians/joint.parquet")
    rule = PlateauRule(**chosen["rule"])
    assert rule.max_steps == 1500 and rule.eval_every == 5
    assert chosen["steps"] == joint["step"].iloc[-1] and chosen["converged"] == (chosen["plateau_step"] is not None)
    if chosen["converged"]:  # the template stopped where the rule first held, not later
        assert chosen["steps"] == plateau_step(*judged_curve(joint.to_dict("records")), rule)
    d1 = pd.read_parquet(workdir / "results/history/templates/gaussians/d1.parquet")
    run = pd.read_parquet(workdir / "results/history/sequential/gaussians/kmeans-k8-same/vae/seed1.parquet")
    rvae = pd.read_parquet(workdir / "results/history/sequential/gaussians/kmeans-k8-same/rvae/seed1.parquet")
    assert d1["step"].iloc[-1] == run["step"].iloc[-1] == rvae["step"].iloc[-1] == chosen["steps"]  # budget_factor 1
    # passes over each model's own points: the R-VAE's n D2 training points, the VAE's n + R (k = 8)
    points = pd.read_parquet(workdir / "results/data/gaussians/points.parquet")
    n = int(((points["partition"] == "D2") & (points["split"] == "train")).sum())

    def passes(size, steps=chosen["steps"], batch=64):
        per_pass = -(-size // batch)
        return steps // per_pass + min((steps % per_pass) * batch, size) / size

    assert rvae["epoch"].iloc[-1] == pytest.approx(passes(n)) and run["epoch"].iloc[-1] == pytest.approx(passes(n + 8))
    fixed = json.loads((workdir / "results/budget/birdsong.json").read_text())  # a fixed budget has its record too
    assert fixed["source"] == "fixed" and fixed["steps"] == 2 and not fixed["judged"] and not fixed["converged"]
    templates = json.loads((workdir / "results/metrics/templates/gaussians.json").read_text())
    assert templates["d1"]["knn_accuracy"] > 0.9 and templates["d1"]["active_dims"] == 2
    table = pd.read_parquet(workdir / "results/tables/table2.parquet")
    assert table["converged"].notna().all() and "collapsed_runs" in table
    convergence = pd.read_parquet(workdir / "results/metrics/convergence/sequential/gaussians/kmeans-k8-same/vae.parquet")
    assert (convergence["steps"] == chosen["steps"]).all() and convergence["budget_converged"].all()
    for row in convergence.itertuples():  # each run judged on its own curve
        own = pd.read_parquet(workdir / f"results/history/sequential/gaussians/kmeans-k8-same/vae/seed{row.seed}.parquet")
        steps, values = judged_curve(own.to_dict("records"))
        best = np.minimum.accumulate(values)
        back = best[np.searchsorted(steps, steps[-1] - rule.window(int(steps[-1])), side="right") - 1]
        assert row.converged == bool(back - best[-1] < rule.tol * abs(best[-1]))
    # every run records its arithmetic; the MLP (Gaussians) is fp32 whatever the CPU (precision auto)
    assert set(table.loc[table["dataset"] == "gaussians", "precision"]) == {"fp32"}
    assert set(run["precision"]) == {"fp32"}
    markdown = (workdir / "results/tables/table2.md").read_text()
    assert "Training precision: gaussians fp32" in markdown
    # and its weights' layout (memory_format auto): channels_last for the AVA (birdsong) net on a CPU only
    assert set(table["memory_format"]) == {"contiguous"} and "Memory layout: gaussians contiguous." in markdown
    table8 = pd.read_parquet(workdir / "results/tables/table8.parquet")
    assert set(table8.loc[table8["dataset"] == "birdsong", "memory_format"]) == {"channels_last"}
    assert "Memory layout: birdsong channels_last." in (workdir / "results/tables/table8.md").read_text()
    not_converged = table[~table["converged"].astype(bool)]
    assert len(not_converged) and not_converged["note"].str.contains("not converged").all()
    warnings = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if line.startswith("WARNING not converged")]
    capped = any("gaussians joint template reached plateau.max_steps" in line for line in warnings)
    assert capped == (not chosen["converged"])  # the warning exactly when the budget file says so
    # birdsong's runs take 2 steps (fixed in the tiny config): none can be converged, and Snakemake says so
    birdsong = pd.read_parquet(workdir / "results/metrics/convergence/sequential/birdsong/kmeans-k4-same/rvae.parquet")
    assert not birdsong["converged"].any()
    assert any("sequential/birdsong/kmeans-k4-same/rvae" in line for line in warnings)
    assert any("birdsong joint template trained a fixed 2 steps, too short for the plateau rule to judge" in line for line in warnings)
    # and every birdsong cell says why: its fixed budget was too short to judge
    table5 = pd.read_parquet(workdir / "results/tables/table5.parquet")
    assert (~table5["converged"]).all() and table5["note"].str.contains("a fixed budget too short for the plateau rule to judge").all()
    assert (birdsong["budget_source"] == "fixed").all() and not birdsong["budget_converged"].any() and not birdsong["budget_judged"].any()


@pytest.mark.slow
def test_the_results_page_says_what_the_run_was(tiny_run):
    """results/results.md, written by the workflow from the run's own files."""
    import json

    workdir, _ = tiny_run
    page = (workdir / "results/results.md").read_text()
    for heading in ("## Machine", "## Time", "## Training budgets", "## Convergence", "## Findings", "## Files"):
        assert heading in page
    assert "config `" in page and "CPU: " in page and "torch " in page
    opening = page.split("\n\n")[1]  # names the run's commit and machine, as docs/results.md must (tests/test_docs.py)
    assert re.search(r"commit `[^`]+`, on .+ \(\d+ cores, ", opening), opening
    chosen = json.loads((workdir / "results/budget/gaussians.json").read_text())
    flat = "yes" if chosen["converged"] else r"\*\*no\*\*"
    assert re.search(rf"\| gaussians +\| {chosen['steps']:,} steps, the joint template's plateau; the paper's 200 passes: 1,000 steps +\| {flat} ", page)
    assert re.search(r"\| birdsong +\| 2 steps, fixed, \*\*below the paper's 300 passes \(300 steps\): not comparable\*\* +\| \*\*no\*\* ", page)
    findings = pd.read_parquet(workdir / "results/tables/findings.parquet")
    kinds = findings["kind"].value_counts()
    assert f"{kinds['table']} table claims, {kinds['text']} text claims." in page
    for verdict, frame in findings.groupby("verdict"):
        table, text = int((frame["kind"] == "table").sum()), int((frame["kind"] == "text").sum())
        assert re.search(rf"\| {re.escape(verdict)} +\| +{table} \| +{text} \|", page), verdict
    paper = findings[findings["kind"].isin(("table", "text"))]
    # birdsong's 2 steps are below the paper's passes; a claim with a collapsed run is counted under that first
    blocked = paper["reason"].str.contains("below the paper's passes|collapsed") & (paper["verdict"] == "not comparable")
    shown = {m.group(1): int(m.group(2)) for m in re.finditer(r"\| run +\| (collapsed run|trained below the paper's passes) +\| +(\d+) \|", page)}
    assert blocked.any() and sum(shown.values()) == int(blocked.sum()), shown
    suspect = (paper["verdict"] == "paper suspect") & ~paper["reason"].str.contains("equal medians")
    assert re.search(rf"\| paper +\| paper: suspect reference +\| +{int(suspect.sum())} \|", page)
    assert "verdicts_by_budget.png" in page and "At the half budget, floor(S/2)" in page
    runs = pd.concat(pd.read_parquet(f) for f in (workdir / "results/metrics/convergence").rglob("*.parquet") if "/gaussians/" in str(f))
    row = next(line for line in page.splitlines() if line.startswith("| gaussians ") and "kNN" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:4] == [str(len(runs)), str(int((~runs["converged"]).sum())), str(int(runs["collapsed"].sum()))]
    birdsong = next(line for line in page.splitlines() if line.startswith("| birdsong ") and "kNN" in line)
    flagged = [c.strip() for c in birdsong.strip("|").split("|")]
    assert flagged[4] == flagged[1]  # a budget the joint template was not flat after flags every run
    assert "(../results/tables/table1.md)" in page and "(../results/figures/figure2.png)" in page
    job_rules = {line.split("|")[1].strip() for line in page.split("## Time")[1].split("##")[0].splitlines() if line.startswith("| ")}
    assert {"retrain", "retrain_pool", "train_template"} <= job_rules
    # the cost model's short table: each training rule's job-seconds per dataset split into parts
    cost = page.split("Where the training jobs' seconds went")[1].split("##")[0]
    for rule, dataset in (("retrain_pool", "gaussians"), ("retrain", "birdsong")):
        jobs = [b for b in (workdir / "results/benchmarks" / rule).rglob("*.tsv") if f"{dataset}/" in str(b)]
        row = next(line for line in cost.splitlines() if re.match(rf"\| {rule} +\| {dataset} ", line))
        cells = [float(c.strip().replace(",", "")) for c in row.strip("|").split("|")[2:]]
        job_s = sum(float(pd.read_csv(b, sep="\t")["s"].iloc[-1]) for b in jobs)
        assert cells[0] == len(jobs) and abs(cells[1] - job_s) <= 0.5
        fixed, steps, validation = cells[2:5]
        assert fixed > 0 and steps > 0 and validation >= 0 and abs(fixed + steps + validation - job_s) <= 1.5  # each rounded to 1 s


def test_snakemake_warns_for_each_budget_and_retraining_short_of_a_plateau(tmp_path, monkeypatch):
    """targets.convergence_warnings on a results folder made here: a capped plateau budget, a
    fixed budget not flat at its end, a retraining with a run short of its plateau, and good ones."""
    import json

    from rvae.workflow import paths, targets

    monkeypatch.chdir(tmp_path)
    config = {"datasets": {"a": {}, "b": {}, "c": {}}, "tables": {"table1": {"a": 8}}}
    records = {"a": {"steps": 900, "source": "plateau", "converged": False}, "b": {"steps": 50, "source": "fixed", "converged": False}, "c": {"steps": 70, "source": "plateau", "converged": True}}
    for dataset, record in records.items():
        Path(paths.fill(paths.BUDGET, dataset=dataset)).parent.mkdir(parents=True, exist_ok=True)
        Path(paths.fill(paths.BUDGET, dataset=dataset)).write_text(json.dumps(record))
    runs = pd.DataFrame({"seed": [0, 1, 2], "converged": [True, False, True], "collapsed": [False, False, True]})
    for _, r in targets.table_retrainings(1, config["tables"]):
        path = Path(paths.fill(paths.CONVERGENCE, **paths.retraining_values(r)))
        path.parent.mkdir(parents=True, exist_ok=True)
        (runs if r.model_kind == "rvae" else runs.assign(converged=True, collapsed=False)).to_parquet(path)
    warnings = targets.convergence_warnings(config)
    assert warnings[:2] == [
        "WARNING not converged: a joint template reached plateau.max_steps without a plateau (a capped dataset: its claims are decided by the half-budget check) (results/budget/a.json)",
        "WARNING not converged: b joint template not flat after its fixed 50 steps (results/budget/b.json)",
    ]
    assert len(warnings) == 3 and "reproducibility/a/kmeans-k8-same/rvae: 2 of 3 runs (seeds [1, 2]; collapsed 1)" in warnings[2]


def test_a_joint_template_at_its_cap_makes_every_cell_of_its_dataset_not_converged():
    """Spec, "Training budget", item 1: never a silent number from a budget that was not a plateau."""
    from rvae.paper.plan import Retraining
    from rvae.paper.tables import runs_state

    ok = pd.DataFrame({"seed": [0, 1], "converged": [True, True], "collapsed": [False, False], "budget_converged": [True, True]})
    capped = ok.assign(budget_converged=False)
    assert runs_state(ok, ok) == (True, 0)
    assert runs_state(capped, ok) == (False, 0) and runs_state(ok, capped) == (False, 0)



@pytest.mark.slow
def test_every_run_keeps_its_half_budget_and_every_table_exists_at_both(tiny_run):
    """Spec, "Where no plateau comes", item 2: each run's weights and embedding at floor(S/2),
    written by its own job; metric files and tables at both budgets."""
    import json

    import torch

    from rvae.workflow import paths

    workdir, _ = tiny_run
    results = workdir / "results"
    budget = json.loads((results / "budget/gaussians.json").read_text())
    steps = math.ceil(budget["steps"])  # the tiny config's budget_factor is 1
    run = "sequential/gaussians/kmeans-k8-same/vae/seed0"
    half = torch.load(results / f"half/models/{run}.pt", weights_only=True)
    history = pd.read_parquet(results / f"history/{run}.parquet")
    assert half["extra"]["steps"] == steps // 2 and history["step"].iloc[-1] == steps
    assert (history["step"] == steps // 2).sum() == 1, "a history row at exactly floor(S/2)"
    full_z, half_z = pd.read_parquet(results / f"embeddings/{run}.parquet"), pd.read_parquet(results / f"half/embeddings/{run}.parquet")
    assert full_z["point"].tolist() == half_z["point"].tolist() and not np.allclose(full_z["z0"], half_z["z0"])
    for n in range(1, 11):
        full_t, half_t = (pd.read_parquet(paths.rooted(paths.at_budget(paths.fill(paths.TABLE, n=n, ext="parquet"), b), results)) for b in paths.BUDGETS)
        assert full_t[["row", "column"]].equals(half_t[["row", "column"]]), n
    assert (results / "half/tables/portability.parquet").exists()
    convergence = pd.read_parquet(results / "half/metrics/convergence/sequential/gaussians/kmeans-k8-same/vae.parquet")
    assert (convergence["steps"] == steps // 2).all() and "budget_capped" in convergence


@pytest.mark.slow
@pytest.mark.computed
def test_rvae_is_more_reproducible_than_vae_on_gaussians(tiny_run):
    """The paper's main claim, on the tiny run: R-VAE's RV well below the VAE's. The VAE row is the
    table's reference, so its median is its own median minus itself: 0 exactly on any CPU path."""
    workdir, _ = tiny_run
    table = pd.read_parquet(workdir / "results/tables/table1.parquet").query("metric == 'rv'").set_index(["partition", "model"])
    for group in ("R1", "rest_D1"):
        assert table.loc[(group, "rvae"), "median"] < -2.0
        assert table.loc[(group, "vae"), "median"] == 0.0


@pytest.mark.slow
@pytest.mark.computed
def test_the_tiny_run_builds_the_findings_scorecard_and_the_command_agrees(tiny_run, tmp_path, capsys):
    """The default target scores every table; the same code again gives the same bytes and leaves the tables alone."""
    from rvae.cli import main
    from rvae.paper.findings import OUTPUTS, build_findings
    from rvae.paper.report import summary_counts
    from rvae.paper.statistics import NOT_COMPARABLE, NOT_RUN, REPRODUCED
    from rvae.workflow import paths

    workdir, _ = tiny_run
    results = workdir / "results"
    tables = results / "tables"
    built = {name: workdir / path for name, path in paths.FINDINGS.items()}
    findings = pd.read_parquet(built["parquet"]).set_index("claim_id")
    before = {p.name: p.read_bytes() for p in sorted(tables.glob("table*"))}
    table_files = {n: tables / f"table{n}.parquet" for n in range(1, 11)}
    locate = lambda *key: paths.rooted(paths.metric_file_of(*key), results)  # noqa: E731
    build_findings(
        table_files, locate, {name: tmp_path / name for name in OUTPUTS},
        half_table_files={n: paths.rooted(paths.at_budget(paths.fill(paths.TABLE, n=n, ext="parquet"), "half"), results) for n in table_files},
        half_metric_file=lambda *key: paths.rooted(paths.at_budget(paths.metric_file_of(*key), "half"), results),
    )  # fmt: skip
    assert {p.name: p.read_bytes() for p in sorted(tables.glob("table*"))} == before and len(before) == 30
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == built[name].read_bytes(), name
    # Table 1 on 8 Gaussians: the R-VAE's RV below the VAE's, on R1 and on the rest of D1, at both
    # budgets; a claim whose cells did not converge is decided at S and flagged
    table1 = pd.read_parquet(tables / "table1.parquet").set_index(["row", "column"])
    for claim, rows in {"T1-02": ("RV(R1) VAE", "RV(R1) R-VAE"), "T1-17": ("RV(rest of D1) VAE", "RV(rest of D1) R-VAE")}.items():
        converged = all(bool(table1.loc[(row, "gaussians"), "converged"]) for row in rows)
        assert findings.loc[claim, "our_difference"] > 5, "the R-VAE's RV is well below the VAE's"
        assert findings.loc[claim, "verdict"] == REPRODUCED
        assert findings.loc[claim, "our_difference_half"] > 0 and findings.loc[claim, "verdict_half"] in (REPRODUCED, "same direction, not significant")
        assert converged or "not converged" in findings.loc[claim, "flags"]
    # birdsong trains 2 steps in the tiny config, below the paper's passes: its claims are not comparable
    birdsong = findings[(findings["dataset"] == "birdsong") & (findings["kind"] == "table")]
    assert len(birdsong) and birdsong["verdict"].isin((NOT_COMPARABLE, NOT_RUN, "paper suspect")).all()
    assert birdsong.loc[birdsong["verdict"] == NOT_COMPARABLE, "reason"].str.contains("below the paper's passes").all()
    counts = summary_counts(findings.reset_index())
    assert counts.loc["all claims", "total"] == 163 and counts.loc["Table 4", NOT_RUN] == 6  # MNIST is not in the tiny run
    md = built["md"].read_text()
    assert "Every table was built." in md and md.index("| all claims |") < md.index("## Table 1")
    assert main(["findings", str(results)]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("all claims"))
    assert line.split()[2:] == [str(v) for v in counts.loc["all claims"]]


def test_findings_after_a_partial_config_builds_only_the_tables_it_lists(tmp_path):
    """A partial run is a config listing fewer tables: the scorecard waits for those alone."""
    config = yaml.safe_load(TINY.read_text())
    config["tables"] = {"table2": config["tables"]["table2"]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    out = snakemake(tmp_path, "-n", "--cores", "2", "results/tables/findings.md", config=tmp_path / "config.yaml").stdout
    jobs = planned_jobs(out)
    assert jobs["findings"] == 1 and jobs["make_table"] == 1 and "results/tables/table2.parquet" in out
    assert "results/embeddings/reproducibility" not in out and "figure_findings" not in jobs


@pytest.mark.slow
@pytest.mark.computed
def test_embedding_and_rosetta_files_have_the_documented_layout(tiny_run):
    workdir, _ = tiny_run
    from rvae.rosetta_file import load_rosetta_points

    emb = pd.read_parquet(workdir / "results/embeddings/sequential/gaussians/kmeans-k8-same/rvae/seed1.parquet")
    assert list(emb.columns) == ["point", "partition", "split", "is_rosetta", "label", "z0", "z1"]
    assert emb["is_rosetta"].sum() == 8 and set(emb["partition"]) == {"D1", "D2"} and set(emb["split"]) == {"train", "val"}
    template = pd.read_parquet(workdir / "results/embeddings/templates/gaussians/joint.parquet")
    assert len(template) == len(emb) == 480
    points = load_rosetta_points(workdir / "results/rosetta/gaussians/kmeans-k8.parquet", (5,), 2)
    assert len(points) == 8 and set(points.point_ids) == set(emb.loc[emb["is_rosetta"], "point"])
    from rvae.workflow import params

    config = yaml.safe_load(TINY.read_text())
    validate_config(config)
    members = params.pool_members(config, "gaussians", "same")
    # a seed block's checkpoints are removed after success; a pool keeps its runs' final ones, to read
    # back on a rerun (VAE (same seed) is one run, trained once: its first seed's)
    trained = [m for m in members if m["model_kind"] != "vae_same_seed" or m["seed"] == 0]
    assert sorted(map(str, (workdir / "results/checkpoints").rglob("*.ckpt"))) == sorted(str(workdir / m["checkpoint"]) for m in trained)
    log = (workdir / "results/logs/retrain_pool/gaussians/same.log").read_text()
    seeds = params.training_seeds(config, "sequential/gaussians/kmeans-k8-same/rvae", "rvae", 0)
    assert len(set(seeds)) == 3, "each run's seed is derived from its role"
    assert seeds == [m["training_seed"] for m in members if m["retraining"] == "sequential/gaussians/kmeans-k8-same/rvae"]
    assert re.search(rf"^seed {seeds[1]} step (\d+)/\1 epoch=[\d.]+ loss=", log, re.M)
    copies = len(members) - len(trained)
    assert f"pool of {len(members)} runs: 0 read back from their finished checkpoints, {len(trained)} to train, {copies} the same run as another (copied)" in log


@pytest.mark.slow
def test_nothing_to_do_after_a_finished_run(tiny_run):
    workdir, _ = tiny_run
    out = snakemake(workdir, "-n", "--cores", "2", config=workdir / "config.yaml").stdout
    assert "Nothing to be done" in out


def _edited(workdir, name, edit):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    edit(config)
    path = workdir / name
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_editing_beta_reruns_only_the_beta_vae_runs(tiny_run):
    workdir, _ = tiny_run
    config = _edited(workdir, "beta.yaml", lambda c: c["hyperparameters"]["beta"].update(value=5.0))
    out = snakemake(workdir, "-n", "--cores", "2", config=config).stdout
    # birdsong's beta-VAE blocks; not the 8 Gaussians' pool, whose beta its own sweep chooses
    retrained = set(re.findall(r"results/blocks/\S+/(\w+)/block\d+", out))
    assert retrained == {"beta_vae"} and "retrain_pool" not in planned_jobs(out)  # the Gaussians choose beta by a sweep
    assert planned_jobs(out).get("train_template") is None and planned_jobs(out).get("select_rosetta") is None


@pytest.mark.slow
def test_adding_seeds_trains_only_the_new_seeds(tiny_run):
    workdir, _ = tiny_run
    config = _edited(workdir, "seeds.yaml", lambda c: c.update(n_seeds=4))
    out = snakemake(workdir, "-n", "--cores", "2", config=config).stdout
    seeds = set(re.findall(r"results/models/\w+/birdsong/\S+/seed(\d+)\.pt", out))
    assert seeds == {"3"}
    assert set(re.findall(r"results/blocks/\S+/block(\d+)", out)) == {"1"}, "only the new block trains"
    jobs = planned_jobs(out)
    assert jobs["make_table"] == 10 and "train_template" not in jobs


@pytest.mark.slow
def test_editing_one_tables_k_trains_only_its_new_runs(tiny_run, tmp_path):
    """Table 3 at k = 4 and 8 on the 8 Gaussians instead of 8: the pool's job reruns (its runs
    changed) and trains the new condition's runs only; every other run is read back from its
    final checkpoint, bit-identical, and no seed block of another dataset reruns."""
    from rvae.workflow import params

    workdir, _ = tiny_run
    copy = tmp_path / "tiny"
    # a copy of the run with Snakemake's records: the big files hard-linked (a job replaces its outputs,
    # never writes into them), the files written in place (logs, benchmarks, records) copied
    shutil.copytree(workdir, copy, copy_function=os.link, ignore=shutil.ignore_patterns(".snakemake", "logs", "benchmarks"))
    for folder in (".snakemake", "results/logs", "results/benchmarks"):
        shutil.copytree(workdir / folder, copy / folder, dirs_exist_ok=True)
    config = _edited(copy, "k.yaml", lambda c: c["tables"]["table3"].update(gaussians=[4, 8]))
    out = snakemake(copy, "--cores", "2", config=config)
    ran = re.findall(r"^(?:local)?rule (\w+):$", out.stdout + out.stderr, re.M)
    assert ran.count("retrain_pool") == 1 and "retrain" not in ran and "train_template" not in ran, ran
    tiny, edited = yaml.safe_load(TINY.read_text()), yaml.safe_load(config.read_text())
    validate_config(tiny)
    validate_config(edited)
    before = {m["checkpoint"] for m in params.pool_members(tiny, "gaussians", "same")}
    members = params.pool_members(edited, "gaussians", "same")
    new = [m for m in members if m["checkpoint"] not in before]
    assert {m["retraining"] for m in new} == {f"reproducibility/gaussians/kmeans-k4-same/{kind}" for kind in ("vae", "beta_vae", "rvae")}
    log = (copy / "results/logs/retrain_pool/gaussians/same.log").read_text()
    copies = sum(m["model_kind"] == "vae_same_seed" and m["seed"] > 0 for m in members)
    assert f"pool of {len(members)} runs: {len(members) - len(new) - copies} read back from their finished checkpoints, {len(new)} to train, {copies} the same run as another (copied)" in log
    for m in members:
        if m not in new:
            name = f"results/embeddings/{m['retraining']}/seed{m['seed']}.parquet"
            assert (copy / name).read_bytes() == (workdir / name).read_bytes(), name


FIGURES = ["datasets", "figure2", "figure4", "figure5", "figure6", "figure7", "training_curves", "sweeps", "findings", "portability", "confidence"]


@pytest.mark.slow
def test_tiny_run_builds_every_figure(tiny_run):
    from PIL import Image

    workdir, _ = tiny_run
    for name in FIGURES:
        with Image.open(workdir / f"results/figures/{name}.png") as image:
            image.verify()
        with Image.open(workdir / f"results/figures/{name}.png") as image:
            assert image.size[0] >= 400 and image.size[1] >= 250, (name, image.size)
            assert len(np.unique(np.asarray(image.convert("L")))) > 20, f"{name} looks blank"
        if name != "datasets":
            assert (workdir / f"results/figures/{name}.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.slow
@pytest.mark.computed
def test_tiny_run_builds_the_portability_table_from_the_embedding_files(tiny_run):
    """Portability: one cell recomputed from the files other tools read (embeddings, Rosetta file)."""
    from rvae.embeddings import latents, read_embedding
    from rvae.alignment import normalised_distance, procrustes_alignment
    from rvae.paper.portability import ARMS
    from rvae.rosetta_file import load_rosetta_points

    workdir, _ = tiny_run
    table = pd.read_parquet(workdir / "results/tables/portability.parquet")
    assert len(pd.read_csv(workdir / "results/tables/portability.csv")) == len(table) == 2 * 3 * len(ARMS) * 3
    assert set(table["dataset"]) == {"gaussians"} and (table["k"] == 8).all() and (table["n"] == 3).all()
    assert np.isfinite(table["raw_median"]).all() and np.isfinite(table["median"]).all()
    assert np.allclose(table.loc[(table["model"] == "vae") & (table["alignment"] == "raw"), "median"], 1.0)
    template = read_embedding(workdir / "results/embeddings/templates/gaussians/d1.parquet")
    d1 = (template["partition"] == "D1").to_numpy()
    z_alice = latents(template)[d1]
    rosetta = load_rosetta_points(workdir / "results/rosetta/gaussians/kmeans-k8.parquet")
    rows = np.searchsorted(template["point"].to_numpy()[d1], rosetta.point_ids)
    held = np.setdiff1d(np.arange(d1.sum()), rows)
    distances = []
    for seed in range(3):
        z = latents(read_embedding(workdir / f"results/embeddings/sequential/gaussians/kmeans-k8-same/vae/seed{seed}.parquet"))[d1]
        mapped = procrustes_alignment(z[rows], rosetta.z)(z)
        distances.append(normalised_distance(mapped[held], z_alice[held]))
    cell = table[(table["reference"] == "d1") & (table["partition"] == "D1") & (table["arm"] == "VAE + Procrustes") & (table["metric"] == "distance")]
    assert cell["raw_median"].item() == pytest.approx(float(np.median(distances)), rel=1e-6)
    md = (workdir / "results/tables/portability.md").read_text()
    assert md.startswith("# Portability") and "| R-VAE (as trained) |" in md
    table2 = pd.read_parquet(workdir / "results/tables/table2.parquet")
    lsd = table2[table2["metric"] == "lsd"]
    for metric in ("heldout_lsd", "angular_procrustes", "cka"):
        panel = table2[table2["metric"] == metric]
        assert len(panel) == len(lsd) and np.isfinite(panel["median"]).all(), metric
    table1 = pd.read_parquet(workdir / "results/tables/table1.parquet")
    rv = table1[table1["metric"] == "rv"]
    for metric in ("angular_procrustes", "cka"):
        assert len(table1[table1["metric"] == metric]) == len(rv), metric


@pytest.mark.slow
@pytest.mark.computed
def test_tiny_run_checks_bobs_per_point_scores_on_the_portability_runs(tiny_run):
    """results/tables/confidence.*: one correlation recomputed from the embedding files, as `rvae embed` scores them."""
    from rvae.confidence import anchor_distance, anchor_spacing, rank_correlation
    from rvae.embeddings import latents, read_embedding
    from rvae.rosetta_file import load_rosetta_points
    from rvae.sharing import choose_alignment

    workdir, _ = tiny_run
    table = pd.read_parquet(workdir / "results/tables/confidence.parquet")
    assert len(pd.read_csv(workdir / "results/tables/confidence.csv")) == len(table) == 3 * 3  # all/D1/D2 x three scores
    assert set(table["dataset"]) == {"gaussians"} and table["spearman"].between(-1, 1).all()
    template = read_embedding(workdir / "results/embeddings/templates/gaussians/d1.parquet")
    rosetta = load_rosetta_points(workdir / "results/rosetta/gaussians/kmeans-k8.parquet")
    rows = np.searchsorted(template["point"].to_numpy(), rosetta.point_ids)
    held = np.setdiff1d(np.arange(len(template)), rows)
    z_alice = latents(template)[held]
    rhos = []
    for seed in range(3):
        z = latents(read_embedding(workdir / f"results/embeddings/sequential/gaussians/kmeans-k8-same/rvae/seed{seed}.parquet"))
        mapped = choose_alignment(z[rows], rosetta.z, "auto")(z[held])
        rhos.append(rank_correlation(anchor_distance(mapped, rosetta.z, anchor_spacing(rosetta.z)), ((mapped - z_alice) ** 2).sum(1)))
    cell = table[(table["partition"] == "all") & (table["score"] == "anchor_distance") & (table["models"] == "one")]
    assert cell["spearman"].item() == pytest.approx(float(np.median(rhos)), rel=1e-9)
    md = (workdir / "results/tables/confidence.md").read_text()
    assert md.startswith("# Do Bob's per-point scores predict his error?") and "auto chose the truly best arm in " in md
    assert (workdir / "results/figures/confidence.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.slow
def test_html_report_holds_every_table_and_figure(tiny_run):
    workdir, _ = tiny_run
    snakemake(workdir, "--report", "results/report.html", config=workdir / "config.yaml")
    html = (workdir / "results/report.html").read_text(errors="replace")
    assert len(html) > 100_000
    for name in ["table1.csv", "table10.csv", "figure2.png", "figure6.png", "training_curves.png", "findings.csv", "cell_intervals.csv", "findings.png", "portability.csv", "portability.png", "scorecard.csv", "verdicts_by_budget.png"]:
        assert name in html, name
    assert "Rosetta VAE workflow" in html
    # the front page shows the scorecard's counts (findings.rst, written by the findings rule)
    assert "Findings: does this run reproduce the paper?" in html and "same direction, not significant" in html


@pytest.mark.slow
@pytest.mark.computed
def test_sweep_chose_beta_from_its_candidates(tiny_run):
    import json

    workdir, _ = tiny_run
    for experiment in ("reproducibility", "sequential"):
        chosen = json.loads((workdir / f"results/hyperparameters/{experiment}/gaussians/beta.json").read_text())
        candidates = json.loads((workdir / f"results/sweeps/{experiment}/gaussians/beta.json").read_text())
        assert sorted(c["value"] for c in candidates) == [1.0, 4.0]
        assert len({c["seed"] for c in candidates}) == 2, "each candidate trains from a stream of its own"
        assert chosen["score"] == min(c["score"] for c in candidates)
        sweep_log = (workdir / f"results/logs/sweep/{experiment}/gaussians/beta/part0.log").read_text()
        assert "block of 2 runs" in sweep_log and ": vmap" in sweep_log, "the whole grid is one vmapped job"
        assert not (workdir / f"results/checkpoints/sweeps/{experiment}").exists() or not any(
            (workdir / f"results/checkpoints/sweeps/{experiment}").rglob("*.ckpt")
        ), "the grid's checkpoints are removed after success"
        log = (workdir / "results/logs/retrain_pool/gaussians/same.log").read_text()
        beta_vae = re.findall(rf"^{experiment} beta_vae seed \d+: .* beta=([\d.]+),", log, re.M)
        assert beta_vae == [str(chosen["value"])] * 3, beta_vae  # the pool's beta-VAE runs of this experiment


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="chromium not installed (test.sh installs Debian's chromium when run as root)")
def test_report_renders_in_headless_chromium(tiny_run):
    """The HTML report opens in a real browser; the screenshot is kept under results/ for people."""
    workdir, _ = tiny_run
    report = workdir / "results/report.html"
    if not report.exists():
        snakemake(workdir, "--report", str(report), config=workdir / "config.yaml")
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={workdir / 'chromium-profile'}", "--virtual-time-budget=8000",
    ]  # fmt: skip
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "table1.csv" in dom.stdout and "figure2.png" in dom.stdout
    # the landing page at the widths where the workflow graph's labels once lay over a wide scorecard:
    # now a caption and one line per verdict (rvae.paper.report.summary_rst), the scorecard its own page
    assert "Findings: does this run reproduce the paper?" in dom.stdout and "budget-sensitive" in dom.stdout
    from PIL import Image

    for width in (1280, 1920):
        shot = workdir / f"results/report_screenshot_{width}.png"
        subprocess.run(
            [_chromium(), *flags, f"--window-size={width},1000", f"--screenshot={shot}", report.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
        with Image.open(shot) as image:
            pixels = np.asarray(image.convert("L"))
        assert image.size == (width, 1000) and pixels.std() > 5, "the report rendered blank"
    (ROOT / "results").mkdir(exist_ok=True)
    shutil.copy(shot, ROOT / "results" / "report_screenshot.png")
