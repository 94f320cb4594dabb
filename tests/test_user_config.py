"""A config builds what it names: dry runs on an empty folder count exactly the jobs expected.

Each count is the "total" of ``snakemake -n``'s job stats, written as the sum of what the config
asks for, so a reader can check it against the config. The work folders hold a copy of the
repository's ``config/`` (as a fresh clone does), so a user config merged into
``config/config.yaml`` would show up as extra jobs.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rvae.workflow.config_checks import ConfigError
from rvae.workflow.user_config import apply_extends, merge

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
GUIDE = (ROOT / "docs" / "workflow.md").read_text()  # docs/workflow.md, "Your own config": its examples as written


def dry_run(workdir: Path, *args: str) -> tuple[dict, str]:
    """Rule -> planned jobs (with "total") of ``snakemake -n`` in ``workdir``, and its stderr."""
    cmd = [SNAKEMAKE, "-n", "--cores", "2", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    stats = done.stdout.split("Job stats:")[1].split("\n\n")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}, done.stderr


def fresh_clone(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    return tmp_path


def readme_yaml(marker: str) -> str:
    block = GUIDE.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
    return block.split("```yaml\n")[1].split("```")[0]


# The default's retrainings on the 8 Gaussians: Table 1's 4 models and 3 per extra k of Table 3
# (reproducibility), Table 2's 3 and 3 per extra k of Table 6 (sequential)
GAUSSIANS_RETRAININGS = 4 + 3 * 3 + 3 + 3 * 3


def all_tables_jobs(reproducibility: int, sequential: int, n_seeds: int) -> dict:
    """Jobs from retraining on, for a config building all ten tables on the four datasets in one
    seed block per retraining (the default and the paper config)."""
    return {
        "retrain": reproducibility + sequential,
        "seed_result": n_seeds * (reproducibility + sequential),
        "convergence": reproducibility + sequential,  # diagnostics of each retraining
        "template_diagnostics": 4,  # per dataset a table uses
        "retraining_variability": reproducibility + 6,  # + Table 9/10's RV: the k-means R-VAE, 3 methods, 2 archs
        "similarity_panel": 4 * 3,  # Table 1's panel: 4 model kinds x 3 datasets
        "latent_space_distortion": sequential,
        "portability_per_seed": 4,  # per Table 2 dataset
        "portability_table": 1,
        "figure_portability": 1,
        "figure_reproducibility": 1,
        "figure_sequential": 2,
        "figure_training_curves": 1,
        "figure_linear_maps": 1,
        "make_table": 10,
        "findings": 1,
        "figure_findings": 1,
        "confidence_table": 1,  # Bob's per-point scores against the true error, on the portability runs
        "all": 1,
    }


@pytest.mark.slow  # a Snakemake dry run (the paper's DAG takes about a minute)
def test_no_configfile_runs_the_default_config(tmp_path):
    """(a) The default config: four datasets, ten tables, 3 seeds in one block per run."""
    jobs, stderr = dry_run(tmp_path)  # an empty folder, no --configfile: the Snakefile's default
    reproducibility = 4 * 3 + 3 * 3 + 3 + 1 * 3  # Table 1: 4 models x 3 datasets; 3-5: 3 models per extra k
    sequential = 3 * 4 + 3 * 3 + 3 + 3 + 3 + 2  # Table 2: 3 models x 4 datasets; 6-8; 9: 3 methods; 10: 2 archs
    expected = {
        "prepare_data": 4,
        "plot_datasets": 1,
        "train_template": 4 * 2,  # joint and D1 per dataset
        "budget": 4,  # every dataset's budget record: its plateau or its cap (birdsong, chairs)
        "select_rosetta": 4 + 2 + 6 + 1,  # gaussians k 2,4,8,16; mnist 32,64; birdsong 4,16,32 + 3 methods; chairs 32
        "results_page": 1,
        **all_tables_jobs(reproducibility, sequential, n_seeds=3),
    }
    # the 8 Gaussians' 25 retrainings (13 + 12) train as one pool (config `pool: true`), not in 25 blocks
    expected.update(retrain=expected["retrain"] - GAUSSIANS_RETRAININGS, retrain_pool=1)
    assert jobs == {**expected, "total": sum(expected.values())} and jobs["total"] == 432 - GAUSSIANS_RETRAININGS + 1
    assert "config/config.yaml (3 seeds, device cpu)" in stderr
    assert len(re.findall(r"^  dataset ", stderr, re.M)) == 4 and len(re.findall(r"^  table\d+:", stderr, re.M)) == 10


@pytest.mark.slow  # a Snakemake dry run (the paper's DAG takes about a minute)
def test_sharing_config_builds_only_the_sharing_targets(tmp_path):
    """(b) config/sharing.yaml in a fresh clone with results/ empty: Alice's export and Bob's run."""
    from rvae.cli import main as rvae

    workdir = fresh_clone(tmp_path)
    assert rvae(["example-data", "--out", str(workdir / "example"), "--per-digit", "5"]) == 0
    jobs, stderr = dry_run(workdir, "--configfile", "config/sharing.yaml")
    expected = {
        "prepare_data": 2,  # alice, bob
        "train_template": 1,  # Alice's joint template, from which she exports
        "export_rosetta": 1,
        "train_shared": 1,  # Bob's R-VAE on Alice's points
        "figure_shared": 1,
        "all": 1,
    }
    assert jobs == {**expected, "total": 7}, jobs
    assert (
        "  dataset alice: folder (example/alice), conv latent 8, 120 steps (fixed, below the plateau rule's first judgement "
        "at step 1,020: every run flagged not converged) -> export k=24 kmeans"
    ) in stderr
    assert not re.findall(r"^  table\d+:", stderr, re.M)


@pytest.mark.slow  # a Snakemake dry run (the paper's DAG takes about a minute)
def test_readme_one_dataset_config_builds_exactly_its_table(tmp_path):
    """(c) docs/workflow.md's minimal config, as written there: Table 1 on the 8 Gaussians."""
    workdir = fresh_clone(tmp_path)
    (workdir / "my_config.yaml").write_text(readme_yaml("own-config"))
    jobs, stderr = dry_run(workdir, "--configfile", "my_config.yaml")
    models = 4  # VAE, beta-VAE, VAE (same seed), R-VAE
    expected = {
        "prepare_data": 1,
        "plot_datasets": 1,
        "train_template": 2,  # D1 (Table 1's runs) and joint (the templates' diagnostics compare both)
        "budget": 1,  # the fixed budget's record: is the joint template's curve flat after 2,000 steps?
        "template_diagnostics": 1,
        "select_rosetta": 1,  # k-means, k = 8
        "retrain": models,  # one block holds the schema's default 3 seeds
        "seed_result": models * 3,
        "convergence": models,
        "retraining_variability": models,
        "similarity_panel": models,
        "figure_reproducibility": 1,  # Figure 2
        "make_table": 1,
        "findings": 1,  # the scorecard of the paper's claims, and its figure
        "figure_findings": 1,
        "results_page": 1,
        "all": 1,
    }
    assert jobs == {**expected, "total": 41}, jobs
    assert "runs 41 jobs" in GUIDE
    assert re.findall(r"^  (\w+.*)$", stderr, re.M)[:2] == [
        "dataset gaussians: gaussians (generated), mlp latent 2, 2000 steps -> table1",
        "table1: reproducibility, gaussians k=8",
    ]


@pytest.mark.slow  # a Snakemake dry run (the paper's DAG takes about a minute)
def test_readme_extends_config_changes_only_what_it_says(tmp_path):
    """docs/workflow.md's `extends:` example: the default with 10 seeds (two blocks of 5 per run),
    MNIST at a fixed 1,200 steps and no Table 5 (whose own runs are birdsong k=4's three)."""
    workdir = fresh_clone(tmp_path)
    (workdir / "more_seeds.yaml").write_text(readme_yaml("extends-config"))
    jobs, stderr = dry_run(workdir, "--configfile", "more_seeds.yaml")
    runs = 59 - 3  # the default's runs (test above) less Table 5's own
    assert jobs["retrain"] == 2 * (runs - GAUSSIANS_RETRAININGS) and jobs["retrain_pool"] == 1
    assert jobs["seed_result"] == 10 * runs and jobs["convergence"] == runs
    assert jobs["make_table"] == 9 and jobs["select_rosetta"] == 13 - 1  # birdsong k=4 was Table 5's only (Table 8 uses k=16)
    assert jobs["budget"] == 4  # every dataset's budget has its record, MNIST's fixed 1,200 steps too
    assert "dataset mnist: mnist (embedded), conv latent 16, 1200 steps" in stderr
    assert f"more_seeds.yaml + {workdir / 'config' / 'config.yaml'} (10 seeds" in stderr


@pytest.mark.slow  # a Snakemake dry run (the paper's DAG takes about a minute)
def test_paper_config_builds_its_whole_dag(tmp_path):
    """(d) config/paper.yaml (DAG only; empty stand-ins for its data): 10 seeds in one block per
    run, beta and rho chosen by 20-epoch sweeps (11 and 21 candidates)."""
    from conftest import paper_data_layout

    workdir = paper_data_layout(fresh_clone(tmp_path))
    jobs, _ = dry_run(workdir, "--configfile", "config/paper.yaml")
    reproducibility = 4 * 3 + 3 * 3 + 3 + 3 * 4  # Table 1; Tables 3-5's extra k (birdsong 4, 8, 16, 32)
    sequential = 3 * 4 + 3 * 3 + 3 + 3 + 3 + 2  # as in the default config
    swept = 4 * 2  # the sweeps figure shows every dataset in both experiments
    used = 3 + 4  # (dataset, experiment) pairs the tables train: 3 reproducibility, 4 sequential
    expected = {
        "prepare_data": 4,
        "plot_datasets": 1,
        "train_template": 8,
        "budget": 4,  # every dataset trains until its joint template plateaus (Appendix B), in steps
        "select_rosetta": 4 + 2 + 8 + 1,  # birdsong: 4, 8, 16, 32, 64 and 3 other methods at 32
        "sweep": swept * 2,  # one job per grid on the paper's GPU: beta (11 candidates) and rho (21)
        "gather_sweep": swept * 2,
        "select_hyperparameter": used * 2,
        "figure_sweeps": 1,
        "results_page": 1,
        **all_tables_jobs(reproducibility, sequential, n_seeds=10),
    }
    assert jobs == {**expected, "total": sum(expected.values())} and jobs["total"] == 1011
    # on CPUs the conv grids (MNIST, birdsong, chairs) train one candidate after another, so each
    # is split into parts of at most seed_block.size (10): beta's 11 in 2 parts, rho's 21 in 3
    on_cpu, _ = dry_run(workdir, "--configfile", "config/paper.yaml", "--config", "device=cpu")
    assert on_cpu["sweep"] == 3 * 2 * (2 + 3) + 2 * 2 and on_cpu["gather_sweep"] == swept * 2


@pytest.mark.slow  # a Snakemake dry run (the paper's DAG takes about a minute)
def test_slurm_test_config_builds_table1_and_its_lab_data(tmp_path):
    """(e) tests/slurm/config.yaml: Table 1 on the Gaussians (as the docs/workflow.md example: 41 jobs) and
    the unused `lab` folder dataset, prepared only for the datasets figure."""
    from test_slurm import CONFIG, write_lab_data

    write_lab_data(tmp_path, poisoned=False)
    everything, _ = dry_run(tmp_path, "--configfile", str(CONFIG))
    assert everything["total"] == 41 + 1 and everything["prepare_data"] == 2
    table, _ = dry_run(tmp_path, "results/tables/table1.csv", "--configfile", str(CONFIG))
    # the table alone: no figures, scorecard, template diagnostics, results page or `all`; the joint
    # template stays, since its curve decides whether the fixed budget behind every cell was enough
    assert table["total"] == 41 - 7
    assert table["seed_result"] == 4 * 3 and table["prepare_data"] == 1 and table["train_template"] == 2 and table["budget"] == 1


def test_merge_semantics():
    base = {"n_seeds": 3, "tables": {"table1": {"gaussians": 8, "mnist": 64}, "table5": {"birdsong": [4]}}, "x": [1, 2]}
    over = {"tables": {"table1": {"mnist": None}, "table5": None}, "x": [3]}
    assert merge(base, over) == {"n_seeds": 3, "tables": {"table1": {"gaussians": 8}}, "x": [3]}
    assert base["tables"]["table1"] == {"gaussians": 8, "mnist": 64}, "the base is not modified"


def _write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_extends_is_relative_to_the_file_that_names_it(tmp_path, monkeypatch):
    base = _write(tmp_path / "base" / "paper.yaml", {"n_seeds": 10, "device": "cuda", "datasets": {"a": {"kind": "gaussians"}}})
    middle = _write(tmp_path / "base" / "middle.yaml", {"extends": "paper.yaml", "device": "cpu"})
    user = _write(tmp_path / "mine" / "user.yaml", {"extends": "../base/middle.yaml", "n_seeds": 4})
    monkeypatch.chdir(tmp_path / "mine")
    config = yaml.safe_load(user.read_text())
    assert apply_extends(config, [user]) == [middle.resolve(), base.resolve()]
    assert config == {"extends": "../base/middle.yaml", "n_seeds": 4, "device": "cpu", "datasets": {"a": {"kind": "gaussians"}}}


@pytest.mark.parametrize(
    "base, message",
    [
        (None, r"extends: 'base.yaml' not found \(looked for .*/base.yaml"),
        ("datasets: [a\n", r"extends: '.*/base.yaml' is not valid YAML at line 2"),
        ("- 1\n- 2\n", "holds a list, not a mapping"),
        ("extends: user.yaml\n", "extends itself"),
    ],
    ids=["missing", "malformed", "not-a-mapping", "cycle"],
)
def test_bad_extends_is_refused_naming_the_file(tmp_path, base, message):
    user = _write(tmp_path / "user.yaml", "extends: base.yaml\nn_seeds: 4\n")
    if base is not None:
        _write(tmp_path / "base.yaml", base)
    with pytest.raises(ConfigError, match=message):
        apply_extends(yaml.safe_load(user.read_text()), [user])


@pytest.mark.slow  # a Snakemake dry run (the paper's DAG takes about a minute)
def test_bad_extends_stops_snakemake_before_any_job(tmp_path):
    _write(tmp_path / "user.yaml", "extends: nowhere.yaml\n")
    done = subprocess.run([SNAKEMAKE, "-n", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                           "--configfile", str(tmp_path / "user.yaml")], capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode != 0 and "extends: 'nowhere.yaml' not found" in done.stdout + done.stderr
    assert not (tmp_path / "results").exists()


def test_the_summary_warns_of_an_anchor_budget_grid_above_the_latent_size():
    from rvae.workflow.config_checks import validate_config
    from rvae.workflow.user_config import describe

    config = {"datasets": {"g": {"kind": "gaussians", "architecture": {"family": "mlp", "latent_dim": 2}, "training": {"steps": 10}}},
              "tables": {"anchor_budget": {"g": [4, 8]}}}  # fmt: skip
    validate_config(config)
    lines = describe(config, ["my.yaml"])
    assert any("anchor budget" in line and "g k=[4, 8]" in line for line in lines)
    assert any("warning: tables.anchor_budget.g: no k at or below the latent size 2" in line for line in lines)
    config["tables"]["anchor_budget"]["g"] = [2, 8]
    assert not any("warning" in line for line in describe(config, ["my.yaml"]))


def test_the_summary_warns_of_a_chain_whose_k_leaves_the_maps_under_determined():
    from rvae.workflow.config_checks import validate_config
    from rvae.workflow.user_config import describe

    config = {"datasets": {"g": {"kind": "gaussians", "architecture": {"family": "mlp", "latent_dim": 2}, "training": {"steps": 10}}},
              "chains": {"g": {"parts": [[0, 1, 2], [3, 4, 5], [6, 7]], "k": 2}}}  # fmt: skip
    validate_config(config)
    assert any("warning: chains.g.k: 2 pairs at or below the latent size 2" in line for line in describe(config, ["my.yaml"]))
    config["chains"]["g"]["k"] = 8
    assert not any("warning" in line for line in describe(config, ["my.yaml"]))
