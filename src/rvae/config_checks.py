"""Checks of the workflow config that a JSON schema cannot express, run before any job starts."""

from __future__ import annotations

from rvae.plan import TABLE_NUMBERS, all_runs, rosetta_needs


class ConfigError(ValueError):
    """A config that cannot run; the message names the key."""


def hyperparameter(config: dict, dataset: str, name: str) -> dict:
    """The beta/rho setting of a dataset: its own override, else the global one."""
    own = config["datasets"][dataset].get("hyperparameters", {}).get(name)
    if own is not None:
        return own
    value = config.get("hyperparameters", {}).get(name)
    if value is None:
        raise ConfigError(f"hyperparameters.{name}: missing (give `value:` or `grid:`, globally or under datasets.{dataset})")
    return value


def expected_d1_train(config: dict, dataset: str) -> int | None:
    """How many D1 training points a dataset will have, when that is known without loading it."""
    settings = config["datasets"][dataset]
    load = settings.get("load", {}) or {}
    kind = settings["kind"]
    d1 = None
    total = None
    if kind == "gaussians":
        ppc = load.get("points_per_cluster", 250)
        d1, total = 4 * ppc, 8 * ppc
    elif kind == "mnist" and load.get("source", "embedded") == "embedded":
        digits = load.get("d1_digits", [0, 1, 2, 3, 4])
        d1, total = 500 * len(digits), 5000
    elif kind == "birdsong" and load.get("source", "embedded") == "embedded":
        return _embedded_birdsong_d1_train(config, settings)
    elif kind == "chairs" and load.get("source", "synthetic") == "synthetic":
        from rvae.data.chairs import VIEWS_PER_CHAIR

        n = load.get("n_chairs", 20)
        d1, total = (n // 2) * VIEWS_PER_CHAIR, n * VIEWS_PER_CHAIR
    if d1 is None:
        return None
    max_points = settings.get("max_points")
    if max_points and max_points < total:
        d1 = int(d1 * max_points / total)
    return int(round(config.get("split", {}).get("train_fraction", 0.6) * d1))


def _embedded_birdsong_d1_train(config: dict, settings: dict) -> int:
    """Exact: the real subsample and time-block split (which drops overlapping windows) on the window layout."""
    from rvae.data.birdsong import embedded_layout
    from rvae.data.partition import split_points

    load = settings.get("load", {}) or {}
    split = config.get("split", {})
    labels, partition, recording, interval = embedded_layout(load.get("d1_birds"), load.get("spectrogram"), load.get("segmentation"))
    plan = split_points(
        partition, labels, recording, interval, split.get("train_fraction", 0.6), split.get("seed", 0), settings.get("max_points")
    )
    return int(((partition[plan.rows] == "D1") & (plan.split == "train")).sum())


def check_config(config: dict) -> None:
    datasets = config["datasets"]
    tables = config["tables"]
    for number in TABLE_NUMBERS:
        spec = tables.get(f"table{number}")
        if spec is None:
            continue
        names = [spec["dataset"]] if number in (9, 10) else list(spec)
        for name in names:
            if name not in datasets:
                raise ConfigError(f"tables.table{number}: dataset {name!r} is not defined under datasets (defined: {list(datasets)})")
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
        fraction = config.get("max_rosetta_fraction", 0.25)
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
    models_used = {run.model for run in all_runs(tables)}
    for dataset in {run.dataset for run in all_runs(tables)}:
        if "beta_vae" in models_used:
            hyperparameter(config, dataset, "beta")
        if "rvae" in models_used:
            hyperparameter(config, dataset, "rho")
    check_data_paths(config)
    check_sharing(config)


EMBEDDED_SOURCES = {"embedded", "synthetic"}


def check_data_paths(config: dict) -> None:
    """A dataset read from disk must name a path that exists, before hours of other jobs run."""
    from pathlib import Path

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


EXPORT_PATH = "results/export/{dataset}/rosetta.parquet"


def check_sharing(config: dict) -> None:
    """``portable`` entries: a defined dataset, and a Rosetta file that exists (or that an export
    target builds) and fits the dataset's architecture, checked before any job runs."""
    from pathlib import Path

    from rvae.portable import RosettaFileError, load_rosetta_points

    datasets = config["datasets"]
    for name, run in (config.get("portable") or {}).items():
        where = f"portable.{name}"
        if run["dataset"] not in datasets:
            raise ConfigError(f"{where}.dataset: {run['dataset']!r} is not defined under datasets (defined: {list(datasets)})")
        settings = datasets[run["dataset"]]
        path = Path(run["rosetta"])
        exported = {EXPORT_PATH.format(dataset=d) for d in datasets}
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
        if "rho" not in run:
            hyperparameter(config, run["dataset"], "rho")


def declared_input_shape(settings: dict):
    """Input shape known without loading the data: a folder's dataset.yaml, or the fixed kinds."""
    from pathlib import Path

    import yaml

    kind = settings["kind"]
    if kind == "folder":
        meta = Path(str((settings.get("load") or {}).get("path", ""))) / "dataset.yaml"
        if meta.is_file():
            shape = (yaml.safe_load(meta.read_text()) or {}).get("input_shape")
            return tuple(int(s) for s in shape) if shape else None
        return None
    fixed = {"mnist": (1, 28, 28), "birdsong": (1, 128, 128), "chairs": (1, 64, 64)}
    if kind == "gaussians":
        return (2 + int((settings.get("load") or {}).get("noise_dims", 3)),)
    return fixed.get(kind)
