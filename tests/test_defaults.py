"""One home per default: rvae.defaults. The library, the CLI and the workflow read it; a second
definition of any of its keys (a schema default, a literal in a signature) fails here."""

import ast
import copy
import inspect
from pathlib import Path

import pytest
import yaml

from rvae import defaults

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


def _default_paths(node, path=()):
    """Every (path, default) the schema itself gives, walking properties and definitions."""
    if isinstance(node, dict):
        if "default" in node:
            yield path, node["default"]
        for key, value in node.items():
            if key != "default":
                yield from _default_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _default_paths(value, (*path, i))


def _library_keys(tree, path=()):
    for key, value in tree.items():
        yield (*path, key)
        if isinstance(value, dict) and key not in ("beta", "rho"):
            yield from _library_keys(value, (*path, key))


def test_the_schema_defines_no_default_that_rvae_defaults_holds():
    library = {path[-1] for path in _library_keys(defaults.config_defaults())}
    library |= {path[-1] for path in _library_keys(defaults.dataset_defaults())} | {"epochs"}
    schema = {path[-1]: value for path, value in _default_paths(SCHEMA) if path and path[-1] not in ("load", "max_points")}
    # keys whose names the workflow uses for its own settings too (a shared run's seed, seed_block.size)
    own = {"seed_block", "size", "mode", "shared", "tables", "seed", "compile_cache"}
    twice = sorted(set(schema) & library - own)
    assert not twice, f"defaults given both in the schema and in rvae.defaults: {twice}"


def test_filling_then_validating_gives_every_library_default():
    from rvae.workflow.config_checks import validate_config

    config = {"datasets": {"g": {"kind": "gaussians", "architecture": {"family": "mlp", "latent_dim": 2},
                                 "training": {"steps": 10}, "export": {}}}}  # fmt: skip
    validate_config(config)
    assert config["plateau"] == defaults.PLATEAU and config["optimizer"] == {"lr": defaults.LR}
    assert config["checkpoint_every"] == defaults.CHECKPOINT_EVERY and config["obs_precision"] == defaults.OBS_PRECISION
    assert config["hyperparameters"] == {"beta": {"value": defaults.BETA, "epochs": defaults.SWEEP_EPOCHS},
                                         "rho": {"value": defaults.RHO, "epochs": defaults.SWEEP_EPOCHS}}  # fmt: skip
    assert config["split"] == {"train_fraction": defaults.TRAIN_FRACTION, "seed": defaults.SPLIT_SEED}
    dataset = config["datasets"]["g"]
    assert dataset["training"]["batch_size"] == defaults.BATCH_SIZE
    assert dataset["export"] == {"k": defaults.ROSETTA_K, "method": defaults.SELECTION_METHOD}
    assert (config["device"], config["deterministic"], config["precision"]) == (defaults.DEVICE, defaults.DETERMINISTIC, defaults.PRECISION)
    # the schema's own defaults still come in after
    assert config["n_seeds"] == SCHEMA["properties"]["n_seeds"]["default"]


def test_a_users_values_win_and_a_grid_is_never_given_a_value():
    from rvae.workflow.config_checks import fill_defaults

    config = {"plateau": {"tol": 0.05}, "hyperparameters": {"rho": {"grid": [1, 2]}}, "datasets": {"g": {"training": {"batch_size": 8}}}}
    fill_defaults(config)
    assert config["plateau"] == {**defaults.PLATEAU, "tol": 0.05}
    assert config["hyperparameters"]["rho"] == {"grid": [1, 2], "epochs": defaults.SWEEP_EPOCHS}
    assert config["hyperparameters"]["beta"]["value"] == defaults.BETA
    assert config["datasets"]["g"]["training"] == {"batch_size": 8} and "export" not in config["datasets"]["g"]


def test_the_library_and_the_cli_take_their_defaults_from_rvae_defaults(monkeypatch):
    """By construction: changing a value in rvae.defaults changes what the CLI offers."""
    from rvae.cli import parser
    from rvae.convergence import PlateauRule
    from rvae.trainer import TrainConfig

    library = TrainConfig(until=1)
    assert PlateauRule().as_dict() == defaults.PLATEAU and library.rule == PlateauRule()
    assert (library.batch_size, library.lr, library.obs_precision, library.checkpoint_every) == (
        defaults.BATCH_SIZE, defaults.LR, defaults.OBS_PRECISION, defaults.CHECKPOINT_EVERY)  # fmt: skip
    monkeypatch.setattr(defaults, "ROSETTA_K", 7)
    monkeypatch.setattr(defaults, "RHO", 0.25)
    monkeypatch.setattr(defaults, "SWEEP_EPOCHS", 3)
    train = parser().parse_args(["train", "--data", "d", "--out", "o"])
    assert (train.rho, train.sweep_epochs) == (0.25, 3)
    for command in (["export-rosetta", "--model", "m", "--data", "d", "--out", "o"], ["compare", "--reference", "a", "--model", "b", "--data", "d"]):
        args = parser().parse_args(command)
        assert (args.k, args.method) == (7, defaults.SELECTION_METHOD)


# each value of rvae.defaults that a signature could repeat, with the argument name it goes by;
# 0, 1, booleans and "cpu" are too common as literals to attribute
ARGUMENTS = {"BATCH_SIZE": "batch_size", "LR": "lr", "OBS_PRECISION": "obs_precision", "CHECKPOINT_EVERY": "checkpoint_every",
             "BETA": "beta", "RHO": "rho", "SWEEP_EPOCHS": "sweep_epochs", "TRAIN_FRACTION": "train_fraction",
             "ROSETTA_K": "k", "SELECTION_METHOD": "method", "PRECISION": "precision", "COMPILE": "compile",
             "MEMORY_FORMAT": "memory_format"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_no_signature_in_the_package_repeats_a_default_as_a_literal(name):
    """A keyword default equal to a value of rvae.defaults must be spelled ``defaults.NAME``."""
    value = getattr(defaults, name)
    argument = ARGUMENTS[name]
    found = []
    for path in sorted((ROOT / "src/rvae").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.args + node.args.kwonlyargs
                given = node.args.defaults
                pairs = list(zip(node.args.args[len(node.args.args) - len(given):], given)) + list(zip(node.args.kwonlyargs, node.args.kw_defaults))
                found += [f"{path.name}:{node.name}" for arg, d in pairs if arg.arg == argument and isinstance(d, ast.Constant) and d.value == value]
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == argument:
                if isinstance(node.value, ast.Constant) and node.value.value == value:
                    found.append(f"{path.name}:{argument}")
    assert not found, f"{name} = {value!r} repeated as a literal in {found}"
