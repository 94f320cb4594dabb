"""The ``rvae`` command: the lab-to-lab flows without Snakemake (its help text is ``USAGE``).

The package's top floor, the application (tests/test_layers.py): it may import the library and
the paper's reproduction (``rvae findings`` scores a run with ``rvae.paper.findings``, the findings
rule's code) and, of the workflow floor, only the path registry (``rvae.workflow.paths``, plain
strings), since reading a results folder must go through it. Nothing imports this module.

Defaults the workflow's config also has (batch size, learning rate, split, export k and method,
sweep epochs) are the schema's (``workflow/schemas/config.schema.yaml``); the command holds a copy
because an installed package has no workflow folder to read, and tests/test_layers.py checks the
copy against the schema. Bad input ends in one ``error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from rvae import defaults


class CliError(ValueError):
    """Bad input to an ``rvae`` command: one line naming the file or option, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (exit 2), pointing to --help for usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Help(argparse.RawDescriptionHelpFormatter):
    """The description and example as written; every option that has a default says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) and "default" not in text:
            text += " (default: %(default)s)"
        return text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _tolerance(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def _load_folder(path):
    from rvae.data.folder import load_folder, read_meta
    from rvae.data.store import prepare

    data = prepare(load_folder(path), defaults.TRAIN_FRACTION, defaults.SPLIT_SEED)
    return data, read_meta(path)


def _spec(data, meta, args, latent_dim=None):
    """The network for a folder: its dataset.yaml, with the command's flags and the Rosetta file's
    latent size (``latent_dim``) taking precedence (docs/own-data.md)."""
    from rvae.data.folder import architecture
    from rvae.models import ArchitectureSpec

    flags = {"family": args.family, "latent_dim": next((v for v in (latent_dim, args.latent_dim) if v is not None), None)}
    described = architecture({**meta, **{k: v for k, v in flags.items() if v is not None}}, {}, str(Path(args.data) / "dataset.yaml"), "--family")
    return ArchitectureSpec(family=described["family"], input_shape=data.input_shape, latent_dim=described["latent_dim"])


def _check_out(folder: Path, given: str) -> None:
    """A file where ``--out given`` needs a folder is refused, naming it (before anything is computed)."""
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise CliError(f"--out {given}: {blocking} is a file, not a folder")


def _out_folder(folder: Path, given: str) -> Path:
    """``folder`` created for ``--out given``; a file in its way is refused, naming it."""
    _check_out(folder, given)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _received(args, data, meta, models=(), names=()):
    """The Rosetta file of ``--rosetta``, checked first against the shapes it must fit (each of
    ``models``, or without models the folder's inputs and ``--latent-dim``), then against the
    folder's preprocessing and input range (a mismatch refused, far-off inputs warned on stderr);
    None without the option. Called before anything is written."""
    from rvae.rosetta_file import load_rosetta_points
    from rvae.sharing import check_promises

    if not args.rosetta:
        return None
    points = load_rosetta_points(args.rosetta)
    if not models:
        points.check_compatible(data.input_shape, points.latent_dim, f"the Rosetta file {args.rosetta}")
        if getattr(args, "latent_dim", None) is not None and args.latent_dim != points.latent_dim:
            raise CliError(f"--latent-dim {args.latent_dim} but the Rosetta file {args.rosetta} has latent size {points.latent_dim}")
    for model, name in zip(models, names):
        points.check_compatible(model.spec.input_shape, model.latent_dim, f"Rosetta file {args.rosetta} (for {name})")
    for line in check_promises(points, meta.get("preprocessing"), data.x, f"the Rosetta file {args.rosetta}", args.data, args.accept_preprocessing):
        print(f"warning: {line}", file=sys.stderr)
    return points


class _Progress(logging.Handler):
    """On a terminal, one line rewritten in place per history row: step, losses, time left (at most,
    under the plateau rule, whose cap is the most it can run)."""

    def __init__(self, stream):
        super().__init__(logging.INFO)
        self.stream = stream
        self.start: float | None = None

    def emit(self, record):
        import time

        row = getattr(record, "progress", None)
        if row is None:
            self.stream.write("\r\033[K" + record.getMessage() + "\n")
            return
        now = time.perf_counter()
        if self.start is None:
            self.start = now - row["seconds"]
        per_step = (now - self.start) / max(1, row["step"])
        left = per_step * (row["max_steps"] - row["step"])
        from rvae.convergence import PLATEAU

        bound = "at most " if row["until"] == PLATEAU else ""
        val = f" validation {row['val_neg_elbo']:.4g}" if "val_neg_elbo" in row else ""
        self.stream.write(
            f"\r\033[Kstep {row['step']}/{row['max_steps']} loss {row['loss']:.4g}{val}, {bound}{left:.0f} s left"
        )
        self.stream.flush()


def _training_output(args, out: Path) -> list[logging.Handler]:
    """Plain lines to ``train.log`` in the output folder; on a terminal a progress line, else the
    same plain lines on stdout (``--quiet``: warnings only). Returns the handlers, to remove after."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    to_file = logging.FileHandler(out / "train.log", mode="w")
    to_file.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(to_file)
    screen = _Progress(sys.stdout) if sys.stdout.isatty() else logging.StreamHandler(sys.stdout)
    screen.setLevel(logging.WARNING if args.quiet else logging.INFO)
    screen.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(screen)
    return [to_file, screen]


def _until(args, data) -> int | str:
    """``--steps N``, else the plateau rule on the run's own validation curve (a lab without a joint
    template has no budget to borrow); ``--epochs E`` is kept as E passes over the training split."""
    from rvae.convergence import PLATEAU
    from rvae.trainer import steps_for_passes

    if args.epochs is not None:
        n = len(data.rows(split="train"))
        steps = steps_for_passes(args.epochs, n, args.batch_size)
        logging.getLogger(__name__).warning(
            f"--epochs is deprecated: training counts optimiser steps; --epochs {args.epochs} = --steps {steps} "
            f"({n} training points, batch {args.batch_size})"
        )
        return steps
    return args.steps if args.steps is not None else PLATEAU


def _check_device(name: str) -> None:
    """A device this machine lacks is refused before anything is read or written."""
    from rvae.device import resolve_device

    try:
        resolve_device(name)
    except ValueError as err:
        raise CliError(f"--device {name}: {str(err).split(': ', 1)[-1]}") from None


def cmd_train(args) -> int:
    """Every flag, the folder and the Rosetta file checked before --out is created: bad input leaves nothing."""
    _check_device(args.device)
    _check_out(Path(args.out), args.out)
    if args.epochs is not None and args.steps is not None:
        raise CliError("give --steps or --epochs, not both")
    data, meta = _load_folder(args.data)
    points = _received(args, data, meta)
    spec = _spec(data, meta, args, latent_dim=points.latent_dim if points is not None else None)
    rule = _plateau_rule(args)
    holdout = _holdout(args, points)
    out = _out_folder(Path(args.out), args.out)
    handlers = _training_output(args, out)
    try:
        return _train(args, out, data, spec, rule, points, holdout)
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
            handler.close()


def _holdout(args, points):
    """Indices of the file's pairs --holdout-pairs keeps out of the anchor loss (empty without it)."""
    from rvae.sharing import holdout_pairs

    if args.holdout_pairs is None:
        return ()
    if points is None:
        raise CliError("--holdout-pairs needs --rosetta: it keeps some of the file's pairs out of training")
    try:
        return holdout_pairs(len(points), args.holdout_pairs)
    except ValueError as err:
        raise CliError(f"{err} ({args.rosetta})") from None


def _plateau_rule(args):
    """The plateau rule with the command's --eval-every, --max-steps and --min-steps."""
    from rvae.convergence import PlateauRule

    defaults = PlateauRule()
    shortest = args.min_steps or defaults.min_steps
    given = {"eval_every": args.eval_every or defaults.eval_every, "max_steps": args.max_steps or defaults.max_steps,
             "min_steps": shortest, "min_window": min(defaults.min_window, shortest) if args.min_steps else defaults.min_window}  # fmt: skip
    try:
        rule = PlateauRule(**{**defaults.as_dict(), **given})
    except ValueError as err:
        words = {"plateau.eval_every": "--eval-every", "plateau.max_steps": "--max-steps", "plateau.min_steps": "--min-steps", "plateau.min_window": "--min-steps"}
        message = str(err)
        for key, flag in words.items():
            message = message.replace(key, flag)
        raise CliError(message) from None
    return rule


def _train(args, out: Path, data, spec, rule, points, holdout=()) -> int:
    import pandas as pd

    from rvae.embeddings import write_embedding
    from rvae.models import save_model
    from rvae.sharing import embed, shared_point_errors, train_on_shared_points, train_plain
    from rvae.trainer import TrainConfig

    config = TrainConfig(
        until=_until(args, data), batch_size=args.batch_size, lr=args.lr, beta=args.beta, rho=args.rho, rule=rule,
        seed=args.seed, device=args.device, threads=args.threads, precision=args.precision, compile=args.compile,
        memory_format=args.memory_format,
    )  # fmt: skip
    if points is None:
        model, history = train_plain(data, spec, config)
    else:
        model, history, choice = train_on_shared_points(data, points, spec, config, args.rho_grid, args.sweep_epochs, holdout)
        errors = shared_point_errors(model, points)
        errors.to_parquet(out / "shared_points.parquet", index=False)
        (out / "rho.json").write_text(json.dumps(choice, indent=2))
        print(f"shared points: mean distance to the file's latents {errors['distance'].mean():.4f}")
        _report_rosetta(model, points, out)
    model.extra = {"history": history}
    if len(holdout):
        from rvae.sharing import holdout_record

        model.extra["holdout_pairs"] = holdout_record(points, holdout)
        print(f"kept {len(holdout)} of the file's {len(points)} pairs out of the anchor loss (point ids "
              f"{model.extra['holdout_pairs']['point_ids']}, recorded in model.pt): `rvae embed --align auto` scores the maps on them")  # fmt: skip
    save_model(model, out / "model.pt", model.extra)
    write_embedding(embed(model, data), out / "embedding.parquet")
    pd.DataFrame(history).to_parquet(out / "history.parquet", index=False)
    print(f"wrote {out / 'model.pt'}, {out / 'embedding.parquet'}, {out / 'history.parquet'}, {out / 'train.log'}")
    if points is not None:
        _write_aligned(model, data, points, args, out)
    return 0


def _write_aligned(model, data, points, args, out: Path) -> None:
    """``embedding_aligned.parquet``: the folder in the file's coordinates by the library's align, as
    `rvae embed --rosetta` (and a workflow shared run's embedding.parquet) writes it."""
    from rvae import defaults as library
    from rvae.embeddings import write_embedding
    from rvae.sharing import embed_folder

    try:
        landed = embed_folder([model], data, points, library.ALIGN, names=[str(out / "model.pt")], rosetta_name=str(args.rosetta))
    except ValueError as err:  # no map fits (a collapsed model): the trained model stays, nothing aligned is written
        print(f"warning: {out / 'embedding_aligned.parquet'} not written: {err}", file=sys.stderr)
        return
    print(landed.choices[0].reason)
    write_embedding(landed.frame, out / "embedding_aligned.parquet", {**landed.metadata, "data": args.data, "rosetta_file": args.rosetta})
    print(f"wrote {out / 'embedding_aligned.parquet'}")


# What `rvae train --out` holds afterwards (its --help lists them; tests/test_sharing.py checks the list)
TRAIN_FILES = ("model.pt", "embedding.parquet", "history.parquet", "train.log")
SHARED_TRAIN_FILES = ("shared_points.parquet", "rho.json", "portability.csv", "embedding_aligned.parquet")


def _report_rosetta(model, points, out: Path) -> None:
    """Bob's model on Alice's Rosetta inputs, each scored by maps fitted on the other pairs."""
    from rvae.atomic import atomic_path
    from rvae.sharing import format_alignment, rosetta_report

    report = rosetta_report(model, points)
    with atomic_path(out / "portability.csv") as tmp:
        report.to_csv(tmp, index=False)
    print(f"on the file's {len(points)} Rosetta inputs (maps fitted on the other {len(points) - 1} pairs; "
          f"distance: 0 = Alice's coordinates, 1 = no better than her mean):")  # fmt: skip
    for line in format_alignment(report):
        print("  " + line)
    print(f"wrote {out / 'portability.csv'}")


def cmd_export(args) -> int:
    from rvae.models import load_model
    from rvae.rosetta_file import save_rosetta_points
    from rvae.sharing import export_rosetta, export_rosetta_from_latents, summary_markdown

    out = Path(args.out)
    _check_out(out.parent, args.out)
    data, meta = _load_folder(args.data)
    name = args.name or meta.get("name") or Path(args.data).name
    if args.latents:
        z = _load_latents(args.latents)
        points = export_rosetta_from_latents(z, data, args.k, args.method, args.seed, dataset=name, where=args.latents, preprocessing=meta.get("preprocessing"))
    else:
        model = load_model(args.model)
        if tuple(model.spec.input_shape) != tuple(data.input_shape):
            raise CliError(f"{args.model} takes inputs of shape {tuple(model.spec.input_shape)} but {args.data} holds {data.input_shape}")
        points = export_rosetta(model, data, args.k, args.method, args.seed, dataset=name, preprocessing=meta.get("preprocessing"))
    _out_folder(out.parent, args.out)
    save_rosetta_points(points, out)
    out.with_suffix(".md").write_text(summary_markdown(points, out.name))
    print(f"wrote {len(points)} Rosetta points to {out} (summary: {out.with_suffix('.md')})")
    return 0


def cmd_embed(args) -> int:
    """Bob's folder through his model(s), with --rosetta in the file's coordinates, per-point scores beside."""
    from rvae import defaults as library
    from rvae.embeddings import write_embedding
    from rvae.models import load_model
    from rvae.sharing import embed_folder

    if args.align is not None and not args.rosetta:
        raise CliError("--align needs --rosetta: the map is fitted on the Rosetta file's pairs")
    out = Path(args.out)
    _check_out(out.parent, args.out)
    data, meta = _load_folder(args.data)
    models = [load_model(path) for path in args.model]
    for model, path in zip(models, args.model):
        if tuple(model.spec.input_shape) != tuple(data.input_shape):
            raise CliError(f"{path} takes inputs of shape {tuple(model.spec.input_shape)} but {args.data} holds {data.input_shape}")
    points = _received(args, data, meta, models, args.model)
    align = args.align or library.ALIGN
    result = embed_folder(models, data, points, align, names=args.model, rosetta_name=str(args.rosetta))
    for path, choice in zip(args.model, result.choices):
        print(f"{path}: {choice.reason}")
    _out_folder(out.parent, args.out)
    write_embedding(result.frame, out, {**result.metadata, "data": args.data, "rosetta_file": args.rosetta})
    scores = [c for c in ("anchor_distance", "model_spread") if c in result.frame]
    told = "; " + ", ".join(f"{c} median {result.frame[c].median():.3g}" for c in scores) if scores else ""
    print(f"wrote {out}: {len(result.frame)} points, latent size {models[0].latent_dim} (z0.., var0..{', ' + ', '.join(scores) if scores else ''}){told}")
    return 0


def cmd_verify(args) -> int:
    """The file's inputs through a model against the file's latents: 0 within the tolerance, 1 outside."""
    from rvae.models import load_model
    from rvae.rosetta_file import load_rosetta_points
    from rvae.verify import verdict_line, verify_points

    if args.out:
        _check_out(Path(args.out).parent, args.out)
    model = load_model(args.model)
    points = load_rosetta_points(args.rosetta)
    result = verify_points(model, points, args.tol, where=f"Rosetta file {args.rosetta}")
    print(f"{args.model} on the {len(points)} inputs of {args.rosetta} (error: distance to the file's latent, in latent units)")
    bound = "tolerance" if result.passed is not None else ""
    print(f"  {'point':>8} {'error':>11} {bound:>11}")
    for row in result.points.itertuples():
        print(f"  {row.point:>8} {row.error:>11.3g} {row.bound:>11.3g}" if bound else f"  {row.point:>8} {row.error:>11.3g}")
    if args.out:
        from rvae.atomic import atomic_path

        _out_folder(Path(args.out).parent, args.out)
        with atomic_path(args.out) as tmp:
            result.points.to_csv(tmp, index=False)
        print(f"wrote {args.out}")
    print(verdict_line(result))
    return 1 if result.passed is False else 0


def _load_latents(path: str):
    """An external encoder's (N, latent) means from a .npy file; never unpickles."""
    import numpy as np

    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ValueError(f"latents file {path} does not exist") from None
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"latents file {path} is not a plain .npy array ({' '.join(str(err).split())})") from None
    if not isinstance(z, np.ndarray):
        raise ValueError(f"latents file {path} is an .npz archive; save one (N, latent) array with numpy.save")
    return z


def cmd_compare(args) -> int:
    import pandas as pd

    from rvae.models import load_model
    from rvae.rosetta_file import load_rosetta_points
    from rvae.sharing import compare_models, format_comparison

    if args.out:
        _out_folder(Path(args.out).parent, args.out)
    data, _ = _load_folder(args.data)
    reference, model = load_model(args.reference), load_model(args.model)
    points = load_rosetta_points(args.rosetta) if args.rosetta else None
    result = compare_models(
        reference, model, data, points, args.k, args.method, args.seed,
        names=(args.reference, args.model), data_name=args.data, rosetta_name=f"Rosetta file {args.rosetta}",
    )  # fmt: skip
    print(f"{args.model} in the coordinates of {args.reference}, on {args.data}")
    for line in format_comparison(result):
        print(line)
    if args.out:
        from rvae.atomic import atomic_path

        lsd_rows = [{"partition": g, "arm": arm, "mse": v} for arm, values in (("lsd", result.lsd), ("heldout_lsd", result.heldout_lsd)) for g, v in values.items()]
        with atomic_path(args.out) as tmp:
            pd.concat([result.table, pd.DataFrame(lsd_rows)], ignore_index=True).to_csv(tmp, index=False)
        print(f"wrote {args.out}")
    return 0


# The example's labs and their digits: two labs, or a chain of three (spec, "Chains")
PAIR_LABS = (("alice", range(0, 5)), ("bob", range(5, 10)))
CHAIN_LABS = (("alice", range(0, 4)), ("bob", range(4, 7)), ("carol", range(7, 10)))


def cmd_example(args) -> int:
    import numpy as np

    from rvae.data.mnist import load_mnist_embedded

    raw = load_mnist_embedded()
    out = _out_folder(Path(args.out), args.out)
    labs = CHAIN_LABS if args.chain else PAIR_LABS
    for lab, digits in labs:
        keep = np.flatnonzero(np.isin(raw.labels, list(digits)))
        keep = np.concatenate([keep[raw.labels[keep] == d][: args.per_digit] for d in digits])
        folder = out / lab
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "x.npy", raw.x[keep].astype(np.float32))
        np.save(folder / "labels.npy", raw.labels[keep].astype(np.int64))
        (folder / "dataset.yaml").write_text(
            f"name: mnist_{lab}\ninput_shape: [1, 28, 28]\nfamily: conv\nlatent_dim: 8\n"
            "# how x.npy was made; a Rosetta file records it and Bob's side must match it\n"
            "preprocessing: {source: embedded MNIST, scaling: pixel / 255}\n"
            "# no d1_labels: the folder's points are split in two halves (D1, D2) for the workflow\n"
        )
        print(f"wrote {folder}: {len(keep)} MNIST digits {list(digits)}")
    return 0


def cmd_findings(args) -> int:
    """Score a finished run's tables against the paper's claims and print the counts (writes nothing)."""
    from rvae.paper.findings import build_findings
    from rvae.paper.plan import TABLE_NUMBERS
    from rvae.paper.report import summary_text
    from rvae.workflow import paths

    results = Path(args.results_dir)
    table_files = {n: Path(paths.rooted(paths.fill(paths.TABLE, n=n, ext="parquet"), results)) for n in TABLE_NUMBERS}
    tables = {n: path for n, path in table_files.items() if path.exists()}
    if not tables:
        raise FileNotFoundError(
            f"{table_files[1].parent}: no tables (table1.parquet ... table10.parquet); build some first, "
            f"e.g. snakemake {paths.fill(paths.TABLE, n=2, ext='csv')}"
        )
    half_tables = {n: paths.rooted(paths.at_budget(paths.fill(paths.TABLE, n=n, ext="parquet"), "half"), results) for n in tables}
    if not any(Path(p).exists() for p in half_tables.values()):
        print(f"note: {results} has no half-budget tables (a run from before the half budget): verdict_half repeats the full budget's\n")
        half_tables = None
    findings = build_findings(
        tables, lambda *key: paths.rooted(paths.metric_file_of(*key), results),
        half_table_files=half_tables,
        half_metric_file=lambda *key: paths.rooted(paths.at_budget(paths.metric_file_of(*key), "half"), results),
    )  # fmt: skip
    print(f"Findings for {results}: which of the paper's claims hold (95% bootstrap intervals)\n")
    print(summary_text(findings, [n for n in TABLE_NUMBERS if n not in tables]), end="")
    return 0


# The README's lab-to-lab commands, as `rvae --help` shows them (tests/test_sharing.py runs the README's copy).
QUICKSTART = (
    "rvae example-data --out example --per-digit 150",
    "rvae train --data example/alice --out example/alice_model --steps 120",
    "rvae export-rosetta --model example/alice_model/model.pt --data example/alice --k 24 --out example/rosetta.parquet",
    "rvae train --data example/bob --rosetta example/rosetta.parquet --rho 5 --out example/bob_model --steps 80",
    "rvae embed --model example/bob_model/model.pt --data example/bob --rosetta example/rosetta.parquet --align auto --out example/bob_embedding.parquet",
    "rvae verify --model example/alice_model/model.pt --rosetta example/rosetta.parquet",
    "rvae verify --model example/bob_model/model.pt --rosetta example/rosetta.parquet",
    "rvae compare --reference example/alice_model/model.pt --model example/bob_model/model.pt --data example/alice --rosetta example/rosetta.parquet",
)

USAGE = f"""Share a VAE latent space between labs with Rosetta points (inputs and their latents).

Alice (MNIST digits 0-4) trains a model and exports Rosetta points; Bob (digits 5-9) trains an
R-VAE anchored on them, puts his data in Alice's coordinates (embed), and either lab checks a
model against the file (verify); compare needs both models and Alice's data:

{chr(10).join("  " + line for line in QUICKSTART)}

`embed --model A --model B` (Bob's R-VAEs of several seeds, `train --seed`) averages them and adds
model_spread, how far they disagree at each point. A data folder holds x.npy, optional labels.npy, and dataset.yaml (input_shape, family,
optional preprocessing); see docs/own-data.md. `rvae COMMAND --help` shows a command's options,
their defaults and an example; docs/sharing.md walks through both labs' side."""

EXAMPLES = {
    "train": "example: rvae train --data example/bob --rosetta example/rosetta.parquet --out example/bob_model\n"
    "(without --steps: until the run's own validation curve plateaus; progress on the terminal, plain lines in OUT/train.log)",
    "export-rosetta": "example: rvae export-rosetta --model example/alice_model/model.pt --data example/alice --k 24 --out example/rosetta.parquet\n"
    "(the .parquet file and a .md card beside it are what Alice sends; they hold data, never code)",
    "embed": "example: rvae embed --model example/bob_model/model.pt --data example/bob --rosetta example/rosetta.parquet "
    "--align auto --out example/bob_embedding.parquet\n"
    "(columns: point, partition, split, is_rosetta, label (a code) and label_name (the folder's own), z0.. posterior means, var0.. their variances, and with --rosetta\n"
    "anchor_distance, with several --model also model_spread: distances in units of the Rosetta latents' spacing)",
    "verify": "example: rvae verify --model example/alice_model/model.pt --rosetta example/rosetta.parquet\n"
    "(exit status 0 within the tolerance, 1 outside it; for the file's own template the tolerance is float32 rounding)",
    "compare": "example: rvae compare --reference example/alice_model/model.pt --model example/bob_model/model.pt "
    "--data example/alice --rosetta example/rosetta.parquet",
    "example-data": "example: rvae example-data --out example --per-digit 150",
    "findings": "example: rvae findings results   (the results folder of a workflow run that built some tables)",
}


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="rvae", description=USAGE, formatter_class=_Help)
    from rvae import __version__
    from rvae.trainer import TrainConfig
    from rvae.vocabulary import ALIGN_CHOICES, COMPILE_CHOICES, FAMILIES, MEMORY_FORMAT_CHOICES, PRECISION_CHOICES, SELECTION_METHODS

    library = TrainConfig(until=1)  # the library's defaults (rvae.defaults)

    top.add_argument("--version", action="version", version=f"rosetta-vae {__version__}")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", epilog=EXAMPLES["train"], formatter_class=_Help, help="train a VAE on a data folder, or an R-VAE anchored on a Rosetta file")
    train.add_argument("--data", required=True, help="folder with x.npy and dataset.yaml")
    train.add_argument("--out", required=True, help=f"folder it writes: {', '.join(TRAIN_FILES)}; with --rosetta also {', '.join(SHARED_TRAIN_FILES)}")
    train.add_argument("--rosetta", help="a Rosetta-points file from another lab (Parquet); trains an R-VAE")
    train.add_argument("--rho", type=float, default=defaults.RHO, help=f"weight of the Rosetta loss (default {defaults.RHO})")
    train.add_argument("--holdout-pairs", type=_positive_int, metavar="M",
                       help="with --rosetta: keep M of the file's pairs out of the anchor loss (recorded in model.pt), so that "
                            "`embed --align auto` scores the maps on pairs the model never fitted (default: none, all pairs train)")  # fmt: skip
    train.add_argument("--rho-grid", type=_float_list, help="comma-separated rho values; the best on validation is kept (rho.json lists each score)")
    train.add_argument("--accept-preprocessing", action="store_true", help="go on when dataset.yaml's preprocessing differs from the Rosetta file's")
    train.add_argument("--sweep-epochs", type=_positive_int, default=defaults.SWEEP_EPOCHS, help=f"epochs per rho candidate (default {defaults.SWEEP_EPOCHS})")
    train.add_argument("--family", choices=FAMILIES, help="default: dataset.yaml's family")
    train.add_argument("--latent-dim", type=_positive_int, help="default: the Rosetta file's, dataset.yaml's, or 16")
    train.add_argument("--steps", type=_positive_int, help="optimiser steps to train (default: until the run's own validation curve plateaus)")
    train.add_argument("--eval-every", type=_positive_int, help=f"steps between validation evaluations (default {library.rule.eval_every})")
    train.add_argument("--max-steps", type=_positive_int, help=f"the plateau rule's cap (default {library.rule.max_steps})")
    train.add_argument("--min-steps", type=_positive_int,
                       help=f"no plateau before this step, nor over a shorter window (default {library.rule.min_steps}); lower it with --max-steps for short runs")  # fmt: skip
    train.add_argument("--epochs", type=_positive_int, help=argparse.SUPPRESS)  # deprecated: passes, converted to --steps
    train.add_argument("--batch-size", type=_positive_int, default=library.batch_size, help="points per optimiser step")
    train.add_argument("--lr", type=float, default=library.lr, help="Adam learning rate")
    train.add_argument("--beta", type=float, default=library.beta, help="weight of the KL term")
    train.add_argument("--seed", type=int, default=library.seed, help="seed of the initial weights and the batches")
    train.add_argument("--device", default=library.device, help="cpu, cuda, cuda:N or auto")
    train.add_argument("--threads", type=_positive_int, help="torch threads (default: torch's choice)")
    train.add_argument("--precision", choices=PRECISION_CHOICES, default=library.precision,
                       help="fp32, bf16 autocast, or auto: bf16 for conv/AVA nets where the hardware has it (default auto)")
    train.add_argument("--compile", choices=COMPILE_CHOICES, default=library.compile,
                       help="torch.compile the training step (default auto: on CUDA only)")  # fmt: skip
    train.add_argument("--memory-format", choices=MEMORY_FORMAT_CHOICES, default=library.memory_format,
                       help="layout of the convolutions (default auto: channels_last for AVA nets on a CPU)")  # fmt: skip
    train.add_argument("--quiet", action="store_true", help="no progress lines (train.log keeps them)")
    train.set_defaults(run=cmd_train)

    export = sub.add_parser("export-rosetta", epilog=EXAMPLES["export-rosetta"], formatter_class=_Help, help="select Rosetta points from a trained model and write the Rosetta file")
    template = export.add_mutually_exclusive_group(required=True)
    template.add_argument("--model", help="model.pt written by `rvae train` or the workflow")
    template.add_argument("--latents", help="Z.npy: another encoder's latent means, one row per row of the data's x.npy")
    export.add_argument("--data", required=True, help="the folder the model was trained on")
    export.add_argument("--out", required=True, help="output .parquet (a .md summary is written beside it)")
    export.add_argument("--k", type=_positive_int, default=defaults.ROSETTA_K, help=f"number of Rosetta points (default {defaults.ROSETTA_K})")
    export.add_argument("--method", default=defaults.SELECTION_METHOD, choices=SELECTION_METHODS, help="how the k points are selected from the latents")
    export.add_argument("--seed", type=int, default=0, help="seed of the selection")
    export.add_argument("--name", help="dataset name recorded in the file (default: dataset.yaml's name)")
    export.set_defaults(run=cmd_export)

    embed = sub.add_parser("embed", epilog=EXAMPLES["embed"], formatter_class=_Help, help="posterior means and variances of a folder's points, in a Rosetta file's coordinates with --rosetta")
    embed.add_argument("--model", required=True, action="append", help="model.pt; repeat for several models (seeds): their mean, and model_spread")
    embed.add_argument("--data", required=True, help="folder with x.npy and dataset.yaml")
    embed.add_argument("--out", required=True, help="output .parquet (metadata key rvae.embedding: models, file, chosen map and why)")
    embed.add_argument("--rosetta", help="the Rosetta file whose coordinates to land in; maps are fitted on its pairs only")
    embed.add_argument("--align", choices=ALIGN_CHOICES,
                       help=f"map fitted on the file's pairs; auto: the lowest leave-one-out error there (default with --rosetta: {defaults.ALIGN})")  # fmt: skip
    embed.add_argument("--accept-preprocessing", action="store_true", help="go on when dataset.yaml's preprocessing differs from the Rosetta file's")
    embed.set_defaults(run=cmd_embed)

    verify = sub.add_parser("verify", epilog=EXAMPLES["verify"], formatter_class=_Help, help="does a model reproduce a Rosetta file's latents? exit 0 within the tolerance, 1 outside")
    verify.add_argument("--model", required=True, help="model.pt: the file's template (Alice) or any model of its latent size (Bob)")
    verify.add_argument("--rosetta", required=True, help="the Rosetta file")
    verify.add_argument("--tol", type=_tolerance,
                        help="largest allowed distance of a point's latent from the file's (default: for the file's template, float32 rounding of one forward pass, derived per point; for other models none, it only reports)")  # fmt: skip
    verify.add_argument("--out", help="also write the per-point errors and tolerances to this CSV")
    verify.set_defaults(run=cmd_verify)

    compare = sub.add_parser(
        "compare", epilog=EXAMPLES["compare"], formatter_class=_Help, help="how well one model's latents land in another's coordinates (raw and aligned on Rosetta pairs)"
    )
    compare.add_argument("--reference", required=True, help="Alice's model.pt: the coordinates to land in")
    compare.add_argument("--model", required=True, help="Bob's model.pt, same latent size")
    compare.add_argument("--data", required=True, help="folder with x.npy and dataset.yaml; every point but the Rosetta inputs is scored")
    compare.add_argument("--rosetta", help="the Rosetta file the pairs come from (default: select --k points from the reference)")
    compare.add_argument("--k", type=_positive_int, default=defaults.ROSETTA_K, help=f"Rosetta points to select without --rosetta (default {defaults.ROSETTA_K})")
    compare.add_argument("--method", default=defaults.SELECTION_METHOD, choices=SELECTION_METHODS, help="selection without --rosetta")
    compare.add_argument("--seed", type=int, default=0, help="seed of the selection without --rosetta")
    compare.add_argument("--out", help="also write the numbers per partition to this CSV")
    compare.set_defaults(run=cmd_compare)

    example = sub.add_parser("example-data", epilog=EXAMPLES["example-data"], formatter_class=_Help, help="write Alice's and Bob's (and with --chain Carol's) example folders from the embedded MNIST")
    example.add_argument("--out", required=True, help="folder for the labs' data folders")
    example.add_argument("--per-digit", type=_positive_int, default=300, help="images per digit in each lab's folder")
    example.add_argument("--chain", action="store_true", help="three labs, a chain: alice 0-3, bob 4-6, carol 7-9 (default: alice 0-4, bob 5-9)")
    example.set_defaults(run=cmd_example)

    findings = sub.add_parser("findings", epilog=EXAMPLES["findings"], formatter_class=_Help, help="print which of the paper's claims a finished workflow run reproduces")
    findings.add_argument("results_dir", metavar="RESULTS_DIR", help="the workflow's results folder (holds tables/ and metrics/)")
    findings.set_defaults(run=cmd_findings)
    return top


def main(argv=None) -> int:
    """Run a command; bad input (data, files, options) ends in one ``error:`` line and status 2."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, OSError) as err:  # DataError, RosettaFileError, CliError are ValueErrors
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
