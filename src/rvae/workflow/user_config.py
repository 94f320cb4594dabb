"""What a user's config means: its optional ``extends:`` base, and a one-line-per-target summary.

A ``--configfile`` replaces the default config instead of being merged into it (the Snakefile
reads ``config/config.yaml`` only when no config file is given), so a config builds what it
names and nothing else; what it leaves out takes its default (``rvae.defaults``, then the schema). ``extends: <path>`` opts in to a
base config: the base is read (path relative to the directory of the file that names it) and
the user's keys are merged over it, dicts key by key, other values replaced, ``null`` deleting
the base's key.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rvae.workflow.config_checks import ConfigError
from rvae.workflow.params import plateau_rule
from rvae.paper.plan import TABLE_NUMBERS


# second spellings of config keys: read under the key's name, with a warning
ALIASES = {"portable": "shared"}


def apply_aliases(config: dict) -> list[str]:
    """Read each aliased key under its name (``ALIASES``); the warnings to show. Both spellings
    at once is an error, since one would silently win."""
    warnings = []
    for alias, name in ALIASES.items():
        if alias in config:
            if name in config:
                raise ConfigError(f"{alias}: the same key as {name}; give only {name}")
            config[name] = config.pop(alias)
            warnings.append(f"config key {alias!r} is read as {name!r}; rename it, {alias!r} will go")
    return warnings


def read_yaml(path: Path, what: str) -> dict:
    """A config file as a mapping; a missing, unreadable or malformed file is a ConfigError naming it."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"{what}: file {str(path)!r} not found") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{what}: cannot read {str(path)!r} ({err})") from err
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{what}: {str(path)!r} is not valid YAML{line} ({problem})") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what}: {str(path)!r} holds a {type(data).__name__}, not a mapping of config keys")
    return data


def merge(base: dict, over: dict) -> dict:
    """``over`` merged onto ``base``: dicts key by key, anything else replaced; ``None`` deletes."""
    merged = dict(base)
    for key, value in over.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _origin(configfiles: Sequence[Path], value) -> Path | None:
    """The config file that names ``extends``: the last one naming it (later files win in
    Snakemake's merge); None when it came from ``--config extends=...``."""
    for path in reversed([Path(p) for p in configfiles]):
        if read_yaml(path, "config file").get("extends") == value:
            return path.resolve()
    return None


def apply_extends(config: dict, configfiles: Sequence[Path]) -> list[Path]:
    """Merge ``config`` over the chain of files its ``extends:`` names, in place.

    Returns the base files read, nearest first (empty without ``extends``)."""
    value = config.get("extends")
    if value is None:
        return []
    origin = _origin(configfiles, value)
    seen = [] if origin is None else [origin]
    chain: list[Path] = []
    layers = [config]
    where, directory = "extends", Path.cwd() if origin is None else origin.parent
    while value is not None:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: must be the path of a config file, got {value!r}")
        path = (directory / value).resolve()
        if path in seen:
            raise ConfigError(f"{where}: {value!r} extends itself ({' -> '.join(str(p) for p in [*seen, path])})")
        seen.append(path)
        if not path.is_file():
            raise ConfigError(f"{where}: {value!r} not found (looked for {path}, relative to {directory})")
        chain.append(path)
        layer = read_yaml(path, where)
        layers.append(layer)
        where, directory, value = f"extends of {path}", path.parent, layer.get("extends")
    merged: dict = {}
    for layer in reversed(layers):
        merged = merge(merged, layer)
    config.clear()
    config.update(merged)
    return chain


def _ks(value) -> str:
    return ", ".join(str(k) for k in (value if isinstance(value, list) else [value]))


def _table_line(number: int, spec: dict) -> str:
    if number in (9, 10):
        which = "methods" if number == 9 else "architectures"
        return f"table{number}: sequential, {spec['dataset']} k={spec['k']}, {which} {', '.join(spec[which])}"
    experiment = "reproducibility" if number in (1, 3, 4, 5) else "sequential"
    return f"table{number}: {experiment}, " + "; ".join(f"{d} k={_ks(k)}" for d, k in spec.items())


def _budget(steps, rule: dict) -> str:
    from rvae.convergence import PlateauRule
    from rvae.workflow.params import AUTO

    if steps == AUTO:
        return "steps set by the joint template's plateau"
    first = PlateauRule(**rule).first_judgement
    if int(steps) < first:  # said before any work: these runs cannot be judged converged
        return f"{steps} steps (fixed, below the plateau rule's first judgement at step {first:,}: every run flagged not converged)"
    return f"{steps} steps"


def _dataset_line(name: str, settings: dict, config: dict) -> str:
    load = settings.get("load") or {}
    source = load.get("path") or load.get("source") or "generated"
    arch = settings["architecture"]
    uses = []
    tables = [f"table{n}" for n in TABLE_NUMBERS if name in _table_datasets(config["tables"].get(f"table{n}"), n)]
    if name in (config["tables"].get("anchor_budget") or {}):
        tables.append("anchor budget")
    if tables:
        uses.append(", ".join(tables))
    if "export" in settings:
        uses.append(f"export k={settings['export']['k']} {settings['export']['method']}")
    uses += [f"shared run {run}" for run, spec in (config.get("shared") or {}).items() if spec["dataset"] == name]
    if name in (config.get("chains") or {}):
        uses.append(f"chain k={config['chains'][name]['k']}")
    unused = "only in the datasets figure" if config["tables"] else "unused, nothing built"
    return (
        f"dataset {name}: {settings['kind']} ({source}), {arch['family']} latent {arch['latent_dim']}, "
        f"{_budget(settings['training']['steps'], plateau_rule(config, name))} -> {'; '.join(uses) or unused}"
    )


def _table_datasets(spec, number: int) -> list[str]:
    if spec is None:
        return []
    return [spec["dataset"]] if number in (9, 10) else list(spec)


def describe(config: dict, sources: Sequence[Path | str]) -> list[str]:
    """One line for the config files read, one per dataset, table and shared run it builds."""
    lines = [
        f"rosetta-vae config: {' + '.join(str(s) for s in sources)} "
        f"({config['n_seeds']} seeds, device {config['device']})"
    ]
    lines += [f"  {_dataset_line(name, settings, config)}" for name, settings in config["datasets"].items()]
    lines += [f"  {_table_line(n, config['tables'][f'table{n}'])}" for n in TABLE_NUMBERS if f"table{n}" in config["tables"]]
    if config["tables"].get("anchor_budget"):
        grid = config["tables"]["anchor_budget"]
        lines.append("  anchor budget (sequential VAE vs R-VAE over k): " + "; ".join(f"{d} k={ks}" for d, ks in grid.items()))
        for dataset, ks in grid.items():
            latent = config["datasets"][dataset]["architecture"]["latent_dim"]
            if min(ks if isinstance(ks, list) else [ks]) > latent:
                lines.append(f"  warning: tables.anchor_budget.{dataset}: no k at or below the latent size {latent}; the curve will not show where the maps start to work")
    for dataset, chain in (config.get("chains") or {}).items():
        latent = config["datasets"][dataset]["architecture"]["latent_dim"]
        if chain["k"] <= latent:
            lines.append(
                f"  warning: chains.{dataset}.k: {chain['k']} pairs at or below the latent size {latent} leave the post-hoc maps "
                "under-determined, so the chain compares k with the latent size rather than anchoring with aligning"
            )
    for run, spec in (config.get("shared") or {}).items():
        lines.append(f"  shared run {run}: R-VAE on {spec['dataset']} anchored on {spec['rosetta']}")
    for dataset, chain in (config.get("chains") or {}).items():
        parts = " / ".join(",".join(str(label) for label in part) for part in chain["parts"])
        lines.append(f"  chain on {dataset}: labels {parts} (Alice / Bob / Carol), k={chain['k']}")
    if len(lines) == 1 + len(config["datasets"]):
        lines.append("  no tables, exports, shared runs or chains: nothing to build")
    return lines
