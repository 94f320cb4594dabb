"""The plan of tables, figures and sweeps, the files each target needs and each job's params, without Snakemake."""

from pathlib import Path

import pytest
import yaml
from rvae.workflow.config_checks import validate_config

from rvae.paper.plan import (
    ConfigError,
    Retraining,
    figure_names,
    hyperparameter,
    sweep_k,
    sweeps,
    table_cells,
    table_retrainings,
)
from rvae import seeds
from rvae.workflow import params, paths, targets

ROOT = Path(__file__).resolve().parents[1]


def tiny():
    config = yaml.safe_load((ROOT / "tests" / "workflow" / "config.yaml").read_text())
    validate_config(config)  # fills the defaults
    return config


def test_table_cells_name_their_retrainings_and_references():
    config = tiny()
    cells = table_cells(1, config["tables"])
    assert len(cells) == 2 * 4  # R1 and rest of D1, four model kinds
    assert {c.partition for c in cells} == {"R1", "rest_D1"}
    assert {c.reference.model_kind for c in cells} == {"vae"}
    assert cells[1].row == "RV(R1) beta-VAE" and cells[1].retraining.condition == "kmeans-k8-same"
    ten = table_cells(10, config["tables"])
    assert {c.retraining.variant for c in ten} == {"simple", "same"} and {c.reference.variant for c in ten} == {"same"}
    assert len(table_retrainings(9, config["tables"])) == 4  # lsd and rv of kmeans and random
    with pytest.raises(ValueError, match="tables are 1..10"):
        table_cells(11, {"table11": {}})


def test_sweeps_follow_the_dataset_override_then_the_global_setting():
    config = tiny()
    assert sweeps(config) == [("gaussians", "beta")]  # rho fixed globally, beta swept for gaussians only
    assert hyperparameter(config, "birdsong", "beta") == {"value": 2.5, "epochs": 20}
    config["hyperparameters"]["rho"] = {"grid": [1.0, 2.0], "epochs": 20}
    assert set(sweeps(config)) == {("gaussians", "beta"), ("gaussians", "rho"), ("birdsong", "rho")}
    del config["hyperparameters"]["rho"]
    with pytest.raises(ConfigError, match="hyperparameters.rho"):
        hyperparameter(config, "gaussians", "rho")


def test_sweeps_use_the_main_tables_k():
    tables = {"table1": {"gaussians": 8}, "table2": {"gaussians": 32}, "table5": {"birdsong": [4, 2]}}
    assert sweep_k(tables, "reproducibility", "gaussians") == 8
    assert sweep_k(tables, "sequential", "gaussians") == 32
    assert sweep_k(tables, "sequential", "birdsong") == 2  # in neither main table: the smallest k used
    assert sweep_k({}, "sequential", "mnist") == 8


def test_figures_follow_the_tables():
    config = tiny()
    assert figure_names(config) == [
        "datasets", "sweeps", "figure2", "figure4", "figure5", "figure6", "figure7", "training_curves",
    ]  # fmt: skip
    config["tables"] = {"table3": {"gaussians": [8]}}
    config["datasets"]["gaussians"]["hyperparameters"] = {}
    assert figure_names(config) == ["datasets"]


def test_figure_inputs_are_registry_paths_with_their_structure():
    config = tiny()
    fig2 = targets.reproducibility_figure(config)
    assert list(fig2["panels"]["gaussians"]) == ["template", "vae", "beta_vae", "rvae"]
    assert list(fig2["rv"]["gaussians"]) == ["vae", "beta_vae", "vae_same_seed", "rvae"]
    assert fig2["panels"]["gaussians"]["rvae"] == "results/embeddings/reproducibility/gaussians/kmeans-k8-same/rvae/seed0.parquet"
    assert fig2["rv"]["gaussians"]["vae"] == "results/metrics/rv/reproducibility/gaussians/kmeans-k8-same/vae.parquet"
    curves = targets.training_curves_figure(config)
    assert curves["gaussians"]["vae"][2] == "results/history/sequential/gaussians/kmeans-k8-same/vae/seed2.parquet"
    assert len(targets.files_in(curves)) == 3 * 3
    candidates = targets.sweeps_figure(config)
    assert [(c["experiment"], Path(c["file"]).name) for c in candidates] == [
        ("reproducibility", "beta.json"), ("sequential", "beta.json"),
    ]  # one file per grid (all its candidates), one per experiment


def test_all_targets_and_table_inputs():
    config = tiny()
    everything = targets.all_targets(config)
    assert "results/tables/table10.md" in everything and "results/figures/datasets.png" in everything
    assert "results/figures/datasets.pdf" not in everything and "results/figures/sweeps.pdf" in everything
    inputs = targets.table_inputs(config, 2)
    retraining = Retraining("sequential", "gaussians", "kmeans", 8, "same", "rvae")
    assert inputs[("lsd", retraining)] == "results/metrics/lsd/sequential/gaussians/kmeans-k8-same/rvae.parquet"
    assert targets.sweep_rosetta(config, "sequential", "gaussians") == "results/rosetta/gaussians/kmeans-k8.parquet"


def test_the_registry_fills_some_wildcards_and_keeps_the_others():
    assert paths.fill(paths.METRIC, metric="rv") == "results/metrics/rv/{experiment}/{dataset}/{method}-k{k}-{variant}/{model_kind}.parquet"
    assert paths.block_file("results/blocks/x/block0", 3, "history") == "results/blocks/x/block0/seed3.history.parquet"
    assert paths.log("retrain", paths.RETRAINING, "block{block}").startswith("results/logs/retrain/{experiment}/")


def test_job_params():
    config = tiny()
    training = params.training_params(config, "birdsong", 0)
    assert training["batch_size"] == 32 and training["lr"] == 0.003 and training["rho"] == 0.0
    assert training["steps"] == 2 and training["budget_factor"] == 1 and training["rule"]["eval_every"] == 20
    # the dataset's own budget_factor and plateau keys over the config's
    config["datasets"]["birdsong"]["training"]["budget_factor"] = 1.5
    assert params.training_params(config, "birdsong", 0)["budget_factor"] == 1.5
    assert params.training_params(config, "gaussians", 0)["budget_factor"] == config["budget_factor"]
    assert params.training_params(config, "gaussians", 0)["rule"] == {**config["plateau"], "eval_every": 5, "min_steps": 50, "min_window": 25, "max_steps": 1500}
    sweep = params.sweep_params(config, "sequential", "gaussians", "beta", 0)
    assert sweep["epochs"] == 10 and "steps" not in sweep["training"] and "budget_factor" not in sweep["training"]
    values = [c["value"] for c in sweep["candidates"]]
    candidate_seeds = [c["seed"] for c in sweep["candidates"]]
    assert values == [1.0, 4.0] and len(set(candidate_seeds)) == 2  # every candidate from a stream of its own
    assert candidate_seeds[0] == params.seed_of(config, seeds.sweep_role("sequential", "gaussians", "beta", 1.0))
    assert params.fixed_hyperparameter(config, "gaussians", "beta_vae") is None  # swept
    assert params.fixed_hyperparameter(config, "gaussians", "rvae") == 3.0
    assert params.fixed_hyperparameter(config, "gaussians", "vae") is None
    assert params.chosen_hyperparameter(config, "sequential", "gaussians", "beta_vae") == {
        "chosen": "results/hyperparameters/sequential/gaussians/beta.json"
    }
    assert params.architecture_params(config, "birdsong", "simple")["variant"] == "simple"


def test_until_is_resolved_in_one_place():
    """Spec, "Training budget": the joint template trains to its plateau (auto) or the configured
    steps; every other model the budget times budget_factor, rounded up."""
    from rvae.convergence import PLATEAU

    assert params.resolve_until("auto", 1.5, joint=True) == PLATEAU
    assert params.resolve_until(300, 1.5, joint=True) == 300  # the joint template sets the budget, unscaled
    assert params.resolve_until("auto", 1.0, joint=False, budget_steps=1234) == 1234
    assert params.resolve_until("auto", 1.5, joint=False, budget_steps=1001) == 1502
    assert params.resolve_until(300, 0.5, joint=False) == 150
    with pytest.raises(ValueError, match="budget file"):
        params.resolve_until("auto", 1.0, joint=False)
    config = tiny()
    assert params.budget_input(config, "gaussians", "joint") == {}
    assert params.budget_input(config, "gaussians", "d1") == {"budget": "results/budget/gaussians.json"}
    assert params.budget_input(config, "birdsong", "d1") == {}  # fixed steps: no plateau to wait for


def test_sweep_parts_split_only_grids_trained_one_after_another():
    """A vmapped grid (MLP on a CPU) is one job; an AVA grid on a CPU trains its candidates one after
    another, so it is split into near-equal parts of at most seed_block.size, in grid order."""
    config = tiny()
    grid = [0.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0]
    for dataset in ("gaussians", "birdsong"):
        config["datasets"][dataset]["hyperparameters"] = {"beta": {"grid": grid, "epochs": 5}}
    assert params.sweep_parts(config, "gaussians", "beta") == [grid]
    parts = params.sweep_parts(config, "birdsong", "beta")  # seed_block.size 3: 7 candidates in 3 parts
    assert parts == [[0.0, 2.5], [5.0, 7.5], [10.0, 12.5, 15.0]]
    config["seed_block"]["mode"] = "vmap"
    assert params.sweep_parts(config, "birdsong", "beta") == [grid]
    config["seed_block"]["mode"] = "loop"
    assert params.sweep_parts(config, "gaussians", "beta") == parts
    part = params.sweep_params(config, "sequential", "gaussians", "beta", 1)
    assert [c["value"] for c in part["candidates"]] == [5.0, 7.5]
    assert params.sweep_part_files(config, "sequential", "gaussians", "beta") == [
        f"results/sweeps/sequential/gaussians/beta/part{i}.json" for i in range(3)
    ]


def test_fixed_seed_blocks():
    assert params.seed_blocks(range(7), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert params.seed_blocks([2, 3], 3) == [[2], [3]], "a seed's block never depends on which others exist"
    with pytest.raises(ValueError):
        params.seed_blocks(range(3), 0)
    config = {"n_seeds": 7, "seed_block": {"size": 3}, "same_seed": 0, "root_seed": 0}
    assert params.block_seeds(config, 2) == [6]
    retraining = "reproducibility/gaussians/kmeans-k8-same"
    assert params.retrain_roles(config, f"{retraining}/vae_same_seed", "vae_same_seed", 1) == [f"retrain/{retraining}/vae_same_seed/0"] * 3
    assert params.retrain_roles(config, f"{retraining}/rvae", "rvae", 1) == [f"retrain/{retraining}/rvae/{s}" for s in (3, 4, 5)]
    same = params.training_seeds(config, f"{retraining}/vae_same_seed", "vae_same_seed", 1)
    assert len(set(same)) == 1, "VAE (same seed): one role, one seed"
    assert len(set(params.training_seeds(config, f"{retraining}/rvae", "rvae", 1))) == 3


def test_a_script_can_get_its_job_without_running_the_workflow(monkeypatch):
    """pypsa-eur's mock_snakemake: a script's ``snakemake`` object for debugging outside Snakemake."""
    from rvae.workflow.script import mock_snakemake

    monkeypatch.chdir(ROOT)
    sm = mock_snakemake(
        "retrain", experiment="sequential", dataset="gaussians", method="kmeans", k=8, variant="same", model_kind="rvae", block=0
    )
    assert sm.output[0] == "results/blocks/sequential/gaussians/kmeans-k8-same/rvae/block0"
    assert sm.params.seed_roles == [f"retrain/sequential/gaussians/kmeans-k8-same/rvae/{s}" for s in (0, 1, 2)]
    assert sm.params.training_seeds == [params.seed_of(sm.config, role) for role in sm.params.seed_roles]
    assert sm.input.rosetta == "results/rosetta/gaussians/kmeans-k8.parquet"
    assert sm.params.training["rho"] == 0.0 and sm.params.hyperparameter == 1.5  # the default config's rho
