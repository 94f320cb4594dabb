"""Checks of the workflow config that a JSON schema cannot express, run before any job starts."""

from __future__ import annotations

import math
import re

import numpy as np

from pathlib import Path

from rvae import defaults
from rvae.data.common import DataError
from rvae.data.registry import dataset_facts
from rvae import vocabulary
from rvae.vocabulary import input_shape_problem
from rvae.paper.plan import TABLE_NUMBERS, ConfigError, all_retrainings, hyperparameter, rosetta_needs
from rvae.workflow import paths

__all__ = ["ConfigError", "fill_defaults", "validate_config", "check_config", "budget_warnings", "expected_train", "check_data_paths", "check_sharing", "check_chains", "declared_input_shape", "expected_d1_train"]


SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


def fill_defaults(config: dict) -> dict:
    """The library's defaults (``rvae.defaults``) for every key of ``config`` that lacks one; the
    schema's own defaults follow in ``validate``. Keys of the wrong type are left to the schema."""
    defaults.fill(config, defaults.config_defaults(), whole=frozenset(vocabulary.HYPERPARAMETERS))
    entries = [config.get("hyperparameters")]
    for settings in (config.get("datasets") or {}).values() if isinstance(config.get("datasets"), dict) else []:
        if isinstance(settings, dict):
            own = defaults.dataset_defaults()
            if "export" not in settings:
                own.pop("export")
            if isinstance(settings.get("training"), dict):
                defaults.fill(settings["training"], own.pop("training"))
            defaults.fill(settings, {key: value for key, value in own.items() if key != "training"})
            entries.append(settings.get("hyperparameters"))
    runs = config.get("shared")
    entries += [{"rho": run.get("rho")} for run in runs.values() if isinstance(run, dict)] if isinstance(runs, dict) else []
    for run in runs.values() if isinstance(runs, dict) else []:
        if isinstance(run, dict):
            run.setdefault("align", defaults.ALIGN)
    for group in entries:
        for entry in (group or {}).values() if isinstance(group, dict) else []:
            if isinstance(entry, dict):
                entry.setdefault("epochs", defaults.SWEEP_EPOCHS)
    return config


def validate_config(config: dict, schema: str | Path = SCHEMA) -> dict:
    """``config`` with the library's defaults, validated by the schema (which fills in its own)."""
    from snakemake.utils import validate

    validate(fill_defaults(config), str(schema))
    return config


def expected_d1_train(config: dict, dataset: str) -> int | None:
    """How many D1 training points a dataset will have, when its loader knows that without loading it."""
    return expected_train(config, dataset, ("D1",))


def expected_train(config: dict, dataset: str, partitions=("D1", "D2")) -> int | None:
    """How many training points the ``partitions`` of a dataset will have (D1 and D2: the joint
    template's), when its loader knows that without loading it."""
    settings = config["datasets"][dataset]
    facts = dataset_facts(settings["kind"], settings.get("load") or {})
    if facts.layout is not None:  # the split depends on recordings: run it on the layout
        from rvae.data.partition import split_points

        labels, partition, recording, interval = facts.layout
        split = config["split"]
        plan = split_points(partition, labels, recording, interval, split["train_fraction"], split["seed"], settings.get("max_points"))
        return int((np.isin(partition[plan.rows], partitions) & (plan.split == "train")).sum())
    if facts.d1_points is None:
        return None
    total = facts.total_points
    points = facts.d1_points if tuple(partitions) == ("D1",) else total
    max_points = settings.get("max_points")
    if max_points and max_points < total:
        points = int(points * max_points / total)
    return int(round(config["split"]["train_fraction"] * points))


def budget_warnings(config: dict) -> list[str]:
    """Each dataset whose cap (``steps: auto``) or fixed ``steps`` lies below the paper's passes
    over its joint training split (spec, "Where no plateau comes", item 1): allowed for quick
    runs, and every claim on that dataset will be ``not comparable``."""
    from rvae.paper.plan import paper_passes
    from rvae.trainer import steps_for_passes
    from rvae.workflow.params import AUTO, plateau_rule

    out = []
    for name, settings in config["datasets"].items():
        n = expected_train(config, name)
        if n is None:
            continue
        training = settings["training"]
        passes = paper_passes(settings["kind"])
        needed = steps_for_passes(passes, n, training["batch_size"])
        if training["steps"] == AUTO:
            value = plateau_rule(config, name)["max_steps"]
            key = f"datasets.{name}.training.plateau.max_steps" if "max_steps" in training.get("plateau", {}) else "plateau.max_steps"
        else:
            value, key = int(training["steps"]), f"datasets.{name}.training.steps"
        if value < needed:
            unless = " unless its joint template plateaus before the cap" if training["steps"] == AUTO else ""
            out.append(
                f"{key} = {value} is below the paper's {passes} passes over {name}'s {n} joint training points "
                f"({needed} steps at batch size {training['batch_size']}): every claim on {name} will be not comparable "
                f"(trained below the paper's passes){unless}"
            )
    return out


def declared_input_shape(settings: dict):
    """Input shape known without loading the data (the loader's facts: a folder's dataset.yaml, the fixed kinds)."""
    return dataset_facts(settings["kind"], settings.get("load") or {}).input_shape


def check_training(config: dict) -> None:
    """Budget and plateau settings that cannot work, named by key (most bounds are the schema's)."""
    from rvae.convergence import PlateauRule
    from rvae.workflow.params import plateau_rule

    factor = config.get("budget_factor", 1)
    if not _positive_number(factor):
        raise ConfigError(f"budget_factor must be a finite number > 0, got {factor!r}")
    for name, settings in config["datasets"].items():
        if not _positive_number(settings["training"].get("budget_factor", factor)):
            raise ConfigError(f"datasets.{name}.training.budget_factor must be a finite number > 0, got {settings['training']['budget_factor']!r}")
        own = settings["training"].get("plateau", {})
        try:
            PlateauRule(**plateau_rule(config, name))
        except (TypeError, ValueError) as err:
            # each key named where its value comes from: the dataset's own, or the top level
            message = re.sub(r"plateau\.(\w+)", lambda m: f"datasets.{name}.training.plateau.{m.group(1)}" if m.group(1) in own else m.group(0), str(err))
            raise ConfigError(f"dataset {name!r}: {message}") from err


def _positive_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def describe_folders(config: dict) -> None:
    """Fill in each folder dataset's architecture from its ``dataset.yaml``, the one description of
    the data that the workflow and the ``rvae`` command both read (docs/own-data.md); the config
    may add to it but not contradict it."""
    from rvae.data.common import DataError
    from rvae.data.folder import architecture, read_meta

    for name, settings in config["datasets"].items():
        if settings["kind"] != "folder":
            continue
        path = settings["load"].get("path")
        if not path:
            raise ConfigError(f"datasets.{name}.load.path: a folder dataset names its folder (x.npy, dataset.yaml)")
        given = settings.get("architecture", {})
        try:
            described = architecture(read_meta(path), given, f"{path}/dataset.yaml", f"datasets.{name}.architecture")
        except DataError as err:
            raise ConfigError(f"datasets.{name}: {err}") from err
        settings["architecture"] = {**given, **described}


def check_config(config: dict) -> None:
    """Everything a schema cannot say; folder datasets first take their architecture from dataset.yaml."""
    describe_folders(config)
    datasets = config["datasets"]
    tables = config["tables"]
    check_training(config)
    for name, settings in datasets.items():
        try:
            shape = declared_input_shape(settings)
        except DataError as err:
            raise ConfigError(f"datasets.{name}.load: {err}") from err
        problem = shape is not None and input_shape_problem(settings["architecture"]["family"], shape)
        if problem:
            raise ConfigError(f"datasets.{name}: its inputs do not fit architecture.family: {problem} (change the image size in load, or the family)")
    for key in [f"table{number}" for number in TABLE_NUMBERS] + ["anchor_budget"]:
        spec = tables.get(key)
        if spec is None:
            continue
        names = [spec["dataset"]] if key in ("table9", "table10") else list(spec)
        for name in names:
            if name not in datasets:
                raise ConfigError(f"tables.{key}: dataset {name!r} is not defined under datasets (defined: {list(datasets)})")
    t10 = tables.get("table10")
    if t10 and set(t10["architectures"]) - {"same"}:
        family = datasets[t10["dataset"]]["architecture"]["family"]
        if family != "ava":
            raise ConfigError(
                f"tables.table10: architectures simple/complex exist only for the 'ava' family, "
                f"but dataset {t10['dataset']!r} uses {family!r}"
            )
    for dataset, needs in rosetta_needs(tables).items():
        available = expected_d1_train(config, dataset)
        if available is None:
            continue
        fraction = config["max_rosetta_fraction"]
        for method, k in sorted(needs):
            if k > available:
                raise ConfigError(
                    f"tables: {k} Rosetta points asked for dataset {dataset!r} ({method}), but its D1 train split "
                    f"will hold only {available} points; lower k or enlarge datasets.{dataset}"
                )
            if k > fraction * available:
                raise ConfigError(
                    f"tables: {k} Rosetta points for dataset {dataset!r} ({method}) are {k / available:.0%} of its "
                    f"{available} D1 training points, above max_rosetta_fraction = {fraction:g}: 'rest of D1' would be "
                    f"mostly validation data. Lower k, enlarge datasets.{dataset}, or raise max_rosetta_fraction "
                    f"(up to 1) to allow it explicitly"
                )
    kinds_used = {r.model_kind for r in all_retrainings(tables)}
    for dataset in {r.dataset for r in all_retrainings(tables)}:
        if "beta_vae" in kinds_used:
            hyperparameter(config, dataset, "beta")
        if "rvae" in kinds_used:
            hyperparameter(config, dataset, "rho")
    check_data_paths(config)
    check_sharing(config)
    check_chains(config)


EMBEDDED_SOURCES = {"embedded", "synthetic"}


def check_data_paths(config: dict) -> None:
    """A dataset read from disk must name a path that exists, before hours of other jobs run."""
    for name, settings in config["datasets"].items():
        load = settings.get("load") or {}
        source = load.get("source")
        reads_disk = settings["kind"] == "folder" or (source is not None and source not in EMBEDDED_SOURCES)
        if not reads_disk:
            continue
        if settings["kind"] == "birdsong":  # one folder or file per bird
            for bird, path in (load.get("birds") or {}).items():
                if not Path(str(path)).exists():
                    raise ConfigError(f"datasets.{name}.load.birds.{bird}: {path!r} does not exist")
            continue
        path = load.get("path")
        if not path:
            raise ConfigError(f"datasets.{name}.load.path: missing (kind {settings['kind']!r}, source {source!r} reads files)")
        if not Path(str(path)).exists():
            raise ConfigError(f"datasets.{name}.load.path: {path!r} does not exist")


def check_sharing(config: dict) -> None:
    """``shared`` entries: a defined dataset, and a Rosetta file that exists (or that an export
    target builds), fits the dataset's architecture and promises its preprocessing, checked
    before any job runs."""
    from rvae.rosetta_file import RosettaFileError, load_rosetta_points
    from rvae.sharing import check_promises
    from rvae.workflow.params import shared_promise

    datasets = config["datasets"]
    for name, run in (config.get("shared") or {}).items():
        where = f"shared.{name}"
        if run["dataset"] not in datasets:
            raise ConfigError(f"{where}.dataset: {run['dataset']!r} is not defined under datasets (defined: {list(datasets)})")
        settings = datasets[run["dataset"]]
        path = Path(run["rosetta"])
        exported = {paths.fill(paths.EXPORT, dataset=d) for d in datasets}
        if not path.exists():
            if run["rosetta"] in exported:
                continue  # built by this workflow's export target
            raise ConfigError(f"{where}.rosetta: file {run['rosetta']!r} not found")
        try:
            points = load_rosetta_points(path)
        except RosettaFileError as err:
            raise ConfigError(f"{where}.rosetta: {err}") from err
        latent = settings["architecture"]["latent_dim"]
        if points.latent_dim != latent:
            raise ConfigError(
                f"{where}.rosetta: the file's latent size is {points.latent_dim} but "
                f"datasets.{run['dataset']}.architecture.latent_dim is {latent}"
            )
        shape = declared_input_shape(settings)
        if shape is not None and tuple(shape) != points.input_shape:
            raise ConfigError(
                f"{where}.rosetta: the file's inputs have shape {points.input_shape} but "
                f"datasets.{run['dataset']} holds inputs of shape {tuple(shape)}"
            )
        try:  # the file's recorded preprocessing, as `rvae train --rosetta` checks it (the range needs the data: the job warns)
            check_promises(points, x=(), file_name=f"the Rosetta file {run['rosetta']}", **shared_promise(config, name))
        except ValueError as err:
            raise ConfigError(f"{where}.rosetta: {err}") from None
        if "rho" not in run:
            hyperparameter(config, run["dataset"], "rho")


def expected_part_train(config: dict, dataset: str, labels) -> int | None:
    """How many training points the part with these labels will have, when the loader knows its
    labels without loading: exact where the split runs on a known layout (embedded birdsong), else
    the expected count (the split shuffles within D1 and D2, so a part's share varies by a point or two)."""
    settings = config["datasets"][dataset]
    facts = dataset_facts(settings["kind"], settings.get("load") or {})
    split = config["split"]
    wanted = [int(label) for label in labels]
    if facts.layout is not None:
        from rvae.data.partition import split_points

        layout_labels, partition, recording, interval = facts.layout
        plan = split_points(partition, layout_labels, recording, interval, split["train_fraction"], split["seed"], settings.get("max_points"))
        return int((np.isin(layout_labels[plan.rows], wanted) & (plan.split == "train")).sum())
    if facts.label_counts is None:
        return None
    counts, total = facts.label_counts, sum(facts.label_counts.values())
    max_points = settings.get("max_points")
    if max_points and max_points < total:  # stratified by label (rvae.data.partition.stratified_subsample)
        counts = {label: min(n, max(1, int(round(n * max_points / total)))) for label, n in counts.items()}
    return int(round(split["train_fraction"] * sum(counts.get(label, 0) for label in wanted)))


def check_chains(config: dict) -> None:
    """``chains`` entries: a defined dataset and three non-empty parts of distinct labels the data
    has; P1 and P2 (the parts Rosetta points are chosen from) must hold k within
    ``max_rosetta_fraction`` of their training split. Where the loader knows labels and sizes
    without loading, here; otherwise the chain jobs refuse with the same keys."""
    datasets = config["datasets"]
    fraction = config["max_rosetta_fraction"]
    for name, chain in (config.get("chains") or {}).items():
        where = f"chains.{name}"
        if name not in datasets:
            raise ConfigError(f"{where}: dataset {name!r} is not defined under datasets (defined: {list(datasets)})")
        parts, k = chain["parts"], int(chain["k"])
        if len(parts) != 3:
            raise ConfigError(f"{where}.parts: a chain has three parts (P1 for Alice, P2 for Bob, P3 for Carol), got {len(parts)}")
        seen: dict[int, int] = {}
        for number, labels in enumerate(parts, 1):
            if not labels:
                raise ConfigError(f"{where}.parts: part {number} (P{number}) is empty; give it at least one label")
            for label in labels:
                if label in seen:
                    again = "twice in part" if seen[label] == number else f"in parts {seen[label]} and"
                    raise ConfigError(f"{where}.parts: label {label} is {again} {number}; each label belongs to one part")
                seen[label] = number
        settings = datasets[name]
        try:
            facts = dataset_facts(settings["kind"], settings.get("load") or {})
        except DataError as err:
            raise ConfigError(f"datasets.{name}.load: {err}") from err
        if facts.label_counts is not None:
            unknown = sorted(set(seen) - set(facts.label_counts))
            if unknown:
                raise ConfigError(f"{where}.parts: labels {unknown} are not labels of dataset {name!r} (its labels: {sorted(facts.label_counts)})")
        for number, labels in enumerate(parts, 1):
            available = expected_part_train(config, name, labels)
            if available is None:
                continue
            if available == 0:
                raise ConfigError(f"{where}.parts: part {number} (labels {labels}) will have no training points")
            if number < 3 and k > fraction * available:
                raise ConfigError(
                    f"{where}.k: {k} Rosetta points are {k / available:.0%} of the about {available} training points of part "
                    f"{number} (labels {labels}), above max_rosetta_fraction = {fraction:g}; lower k, enlarge the part or "
                    f"datasets.{name}, or raise max_rosetta_fraction (up to 1) to allow it explicitly"
                )
        hyperparameter(config, name, "rho")
