"""Malformed configs are refused before any job runs, with the key named."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from rvae.workflow.config_checks import validate_config

from rvae.workflow.config_checks import ConfigError, check_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def default_config():
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def check(config):
    validate_config(config, SCHEMA)
    check_config(config)


SHIPPED = ["config/config.yaml", "config/paper.yaml", "config/sharing.yaml", "tests/slurm/config.yaml",
           "tests/workflow/config.yaml", "tests/workflow/mini.yaml"]  # fmt: skip


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_configs_are_valid_on_their_own(name, tmp_path, monkeypatch):
    """Each config alone (nothing merged into it), with the schema's defaults filled in."""
    from conftest import paper_data_layout
    from rvae.cli import main as rvae
    from test_slurm import write_lab_data

    monkeypatch.chdir(paper_data_layout(tmp_path))  # paper.yaml's data paths are relative
    assert rvae(["example-data", "--out", "example", "--per-digit", "2"]) == 0  # sharing.yaml's folders
    write_lab_data(tmp_path, poisoned=False)  # the SLURM config's folder dataset
    config = yaml.safe_load((ROOT / name).read_text())
    check(config)
    assert config["hyperparameters"]["beta"] and config["hyperparameters"]["rho"]


def test_schema_supplies_every_default_a_short_config_leaves_out():
    """A user config is not merged into config/config.yaml: what it leaves out is these defaults
    (the list config/README.md gives under "Which config runs")."""
    config = {"datasets": {"g": {"kind": "gaussians", "architecture": {"family": "mlp", "latent_dim": 2}, "training": {"steps": 1}}}}
    check(config)
    assert config == {
        "datasets": {"g": {"kind": "gaussians", "architecture": {"family": "mlp", "latent_dim": 2}, "load": {}, "max_points": None,
                           "training": {"steps": 1, "batch_size": 64}}},
        "n_seeds": 3, "seed_block": {"size": 5, "mode": "auto"}, "pool": False, "device": "cpu", "deterministic": True, "threads_per_job": 1,
        "precision": "auto", "compile": "auto", "memory_format": "auto", "compile_cache": "results/.cache/torchinductor",
        "checkpoint_every": 200, "root_seed": 0, "same_seed": 0, "rv_estimator": "ledoit_wolf", "max_rosetta_fraction": 0.25,
        "hyperparameters": {"beta": {"value": 2.5, "epochs": 20}, "rho": {"value": 1.5, "epochs": 20}},
        "split": {"train_fraction": 0.6, "seed": 0}, "optimizer": {"lr": 0.001}, "obs_precision": 10.0,
        "plateau": {"eval_every": 20, "min_steps": 1000, "min_window": 1000, "patience": 0.5, "tol": 0.02, "max_steps": 20000},
        "budget_factor": 1,
        "tables": {}, "shared": {}, "chains": {},
    }  # fmt: skip


def _set(path, value):
    def edit(config):
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    return edit


def _delete(path):
    def edit(config):
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        del node[path[-1]]

    return edit


BAD = [
    ("n_seeds as text", _set(["n_seeds"], "ten"), "n_seeds"),
    ("one seed", _set(["n_seeds"], 1), "n_seeds"),
    ("unknown top-level key", _set(["n_seed"], 3), "n_seed"),
    ("unknown device", _set(["device"], "tpu"), "device"),
    ("negative rho", _set(["hyperparameters", "rho", "value"], -1.0), "rho|minimum"),
    ("negative beta", _set(["hyperparameters", "beta", "value"], -0.5), "beta|minimum"),
    ("empty beta grid", _set(["hyperparameters", "beta"], {"grid": []}), "grid|beta"),
    ("zero steps", _set(["datasets", "gaussians", "training", "steps"], 0), "steps"),
    ("epochs instead of steps", _set(["datasets", "gaussians", "training"], {"epochs": "auto"}), "epochs"),
    ("zero eval_every", _set(["plateau", "eval_every"], 0), "eval_every"),
    ("zero budget_factor", _set(["budget_factor"], 0), "budget_factor"),
    ("negative budget_factor", _set(["budget_factor"], -1.5), "budget_factor"),
    ("a dataset's zero budget_factor", _set(["datasets", "gaussians", "training", "budget_factor"], 0), "budget_factor"),
    ("patience of 1", _set(["plateau", "patience"], 1.0), "patience"),
    ("patience of 0", _set(["plateau", "patience"], 0), "patience"),
    ("negative tol", _set(["plateau", "tol"], -0.01), "tol"),
    ("min_steps above max_steps", _set(["plateau", "min_steps"], 30000), "plateau.min_steps"),
    ("a dataset's max_steps below the min_steps", _set(["datasets", "gaussians", "training", "plateau"], {"max_steps": 100}), "datasets.gaussians.training.plateau.max_steps \\(100\\)"),
    ("a cap before the rule's first judgement", _set(["plateau"], {"min_steps": 100, "min_window": 100, "max_steps": 110}), "plateau.max_steps \\(110\\) is below the first step"),
    ("an infinite budget_factor", _set(["budget_factor"], float("inf")), "budget_factor must be a finite number"),
    ("negative batch", _set(["datasets", "mnist", "training", "batch_size"], -8), "batch_size"),
    ("unknown dataset kind", _set(["datasets", "mnist", "kind"], "cifar"), "kind"),
    ("unknown architecture family", _set(["datasets", "mnist", "architecture", "family"], "resnet"), "family"),
    ("zero latent size", _set(["datasets", "mnist", "architecture", "latent_dim"], 0), "latent_dim"),
    ("train fraction 1", _set(["split", "train_fraction"], 1.0), "train_fraction"),
    ("unknown RV estimator", _set(["rv_estimator"], "det"), "rv_estimator"),
    ("unknown selection method", _set(["tables", "table9", "methods"], ["kmeans", "spectral"]), "methods"),
    ("table 9 without k-means", _set(["tables", "table9", "methods"], ["gmm"]), "methods"),
    ("table of undefined dataset", _set(["tables", "table2"], {"cifar": 8}), "cifar"),
    ("k larger than D1", _set(["tables", "table2"], {"gaussians": 10000}), "10000 Rosetta points"),
    ("anchor budget of undefined dataset", _set(["tables", "anchor_budget"], {"cifar": [4]}), "tables.anchor_budget: dataset .cifar."),
    ("anchor budget k larger than D1", _set(["tables", "anchor_budget"], {"gaussians": [4, 10000]}), "10000 Rosetta points"),
    ("zero Rosetta points", _set(["tables", "table3"], {"gaussians": [0, 2]}), "table3|minimum"),
    ("no datasets", _set(["datasets"], {}), "datasets"),
    ("missing training section", _delete(["datasets", "gaussians", "training"]), "training"),
    ("unknown architecture variant", _set(["tables", "table10", "architectures"], ["same", "huge"]), "architectures"),
    ("variants on an MLP dataset", _set(["tables", "table10"], {"dataset": "gaussians", "k": 8, "architectures": ["same", "simple"]}), "ava"),
    ("rho without value or grid", _set(["hyperparameters", "rho"], {"epochs": 5}), "rho"),
    ("unknown table", _set(["tables", "table11"], {"gaussians": 8}), "table11"),
    ("duplicate selection methods", _set(["tables", "table9", "methods"], ["kmeans", "kmeans"]), "methods|unique"),
    ("duplicate grid values", _set(["hyperparameters", "beta"], {"grid": [1.0, 1.0]}), "beta|unique"),
    ("zero seed block", _set(["seed_block"], {"size": 0}), "seed_block|size|minimum"),
    ("unknown ensemble mode", _set(["seed_block"], {"mode": "parallel"}), "mode|parallel"),
    ("missing MNIST files", _set(["datasets", "mnist", "load"], {"source": "idx", "path": "/nonexistent/mnist"}), "datasets.mnist.load.path"),
    ("folder without a path", _set(["datasets", "mnist"], {"kind": "folder", "architecture": {"family": "conv", "latent_dim": 2}, "training": {"steps": 1}}), "datasets.mnist.load.path"),
    ("shared file not found", _set(["shared"], {"bob": {"dataset": "gaussians", "rosetta": "/nonexistent/alice.parquet"}}), "shared.bob.rosetta"),
    ("shared run on undefined data", _set(["shared"], {"bob": {"dataset": "carol", "rosetta": "x.parquet"}}), "shared.bob.dataset"),
    ("export k of zero", _set(["datasets", "gaussians", "export"], {"k": 0}), "export|minimum"),
    ("chair images the conv net cannot halve twice", _set(["datasets", "chairs", "load", "size"], 30), r"datasets\.chairs.*divisible by 4"),
    ("spectrograms the AVA net cannot halve four times", _set(["datasets", "birdsong", "load", "spectrogram"], {"size": 40}), r"datasets\.birdsong.*divisible by 16"),
    ("resized AVA HDF5 spectrograms", _set(["datasets", "birdsong", "load"], {"source": "hdf5", "path": "/nonexistent", "spectrogram": {"size": 64}}), "128x128"),
    ("dataset name with a slash", _set(["datasets", "my/data"], {"kind": "gaussians", "architecture": {"family": "mlp", "latent_dim": 2}, "training": {"steps": 1}}), "my/data"),
]


@pytest.mark.parametrize("name,edit,key", BAD, ids=[b[0] for b in BAD])
def test_bad_config_is_refused_naming_the_key(name, edit, key):
    config = copy.deepcopy(default_config())
    edit(config)
    with pytest.raises((WorkflowError, ConfigError)) as err:
        check(config)
    import re

    assert re.search(key, str(err.value)), f"{name}: error does not name {key!r}:\n{err.value}"


def test_k_above_the_rosetta_fraction_of_d1_is_refused_unless_allowed():
    """Spec, "Rosetta points and D1": k above 25% of the D1 training split needs an explicit yes."""
    config = default_config()
    config["max_rosetta_fraction"] = 0.25
    config["tables"] = {"table1": {"gaussians": 8, "birdsong": 64}}
    with pytest.raises(ConfigError, match=r"max_rosetta_fraction = 0\.25.*") as error:
        check(config)
    assert "'birdsong'" in str(error.value) and "50% of its 129 D1 training points" in str(error.value)
    config["tables"] = {"table1": {"gaussians": 8, "birdsong": 32}}  # 25% of 129 is 32.25
    check(config)
    del config["max_rosetta_fraction"]  # the schema's default is the spec's 0.25
    config["tables"] = {"table1": {"birdsong": 33}}
    with pytest.raises(ConfigError, match="max_rosetta_fraction"):
        check(config)
    config["max_rosetta_fraction"] = 1.0
    check(config)


def test_the_beyond_config_extends_the_default_with_the_anchor_budget_and_chains_alone():
    """config/beyond.yaml (README: the command for the anchor budget and chains) builds what the default leaves out,
    on the default's datasets and settings, so the runs both need train once."""
    from rvae.workflow.targets import all_targets
    from rvae.workflow.user_config import apply_extends

    path = ROOT / "config/beyond.yaml"
    config = yaml.safe_load(path.read_text())
    apply_extends(config, [path])
    check(config)
    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    check(default)
    assert set(config["datasets"]) == {"gaussians", "mnist"} and list(config["tables"]) == ["anchor_budget"]
    assert set(config["chains"]) == {"gaussians", "mnist"} and not default["chains"]
    assert all(config["datasets"][d] == default["datasets"][d] for d in config["datasets"])
    built = all_targets(config)
    assert {"results/tables/anchor_budget.md", "results/tables/chain.md", "results/tables/findings.md"} <= set(built)
    assert not any("table1." in t for t in built)
    shipped = {p.name for p in (ROOT / "config").glob("*.yaml")}
    assert shipped == {"config.yaml", "paper.yaml", "sharing.yaml", "beyond.yaml"}, "a new shipped config needs a test here"


# -- The cap: at least the paper's passes (spec, "Where no plateau comes", item 1) ---------------
@pytest.mark.parametrize("name", ["config/config.yaml", "config/paper.yaml"])
def test_every_shipped_cap_is_at_least_the_papers_passes(name, tmp_path, monkeypatch):
    from conftest import paper_data_layout
    from rvae.paper.plan import paper_passes
    from rvae.trainer import steps_for_passes
    from rvae.workflow.config_checks import budget_warnings, expected_train
    from rvae.workflow.params import plateau_rule

    monkeypatch.chdir(paper_data_layout(tmp_path))
    config = yaml.safe_load((ROOT / name).read_text())
    check(config)
    assert budget_warnings(config) == []
    for dataset, settings in config["datasets"].items():
        n = expected_train(config, dataset)
        if n is None or name != "config/config.yaml":  # the paper's data sizes are stated beside each cap
            continue
        assert settings["training"]["steps"] == "auto", f"{dataset}: the default trains every dataset to its plateau or its cap"
        needed = steps_for_passes(paper_passes(settings["kind"]), n, settings["training"]["batch_size"])
        assert plateau_rule(config, dataset)["max_steps"] >= needed, dataset


def test_a_cap_or_fixed_steps_below_the_papers_passes_is_warned_naming_the_key():
    from rvae.workflow.config_checks import budget_warnings

    config = default_config()
    config["datasets"]["birdsong"]["training"]["plateau"] = {"max_steps": 600}
    config["datasets"]["chairs"]["training"] = {"steps": 100, "batch_size": 32}
    config["plateau"] = {"max_steps": 900, "min_steps": 500, "min_window": 500}  # the Gaussians' cap comes from the top level: 1,000 steps needed
    check(config)
    warnings = budget_warnings(config)
    assert len(warnings) == 4, warnings  # MNIST takes the top-level cap too
    assert warnings[0].startswith("plateau.max_steps = 900 is below the paper's 200 passes over gaussians's 1200 joint training points (1000 steps at batch size 256)")
    assert warnings[1].startswith("plateau.max_steps = 900 is below the paper's 200 passes over mnist's 660")
    warnings = warnings[1:]
    assert warnings[1].startswith("datasets.birdsong.training.plateau.max_steps = 600 is below the paper's 300 passes") and "2400 steps" in warnings[1]
    assert "unless its joint template plateaus before the cap" in warnings[1]
    assert warnings[2].startswith("datasets.chairs.training.steps = 100 is below the paper's 300 passes") and "not comparable" in warnings[2]
    assert "unless" not in warnings[2]
