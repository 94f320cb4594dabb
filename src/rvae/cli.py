"""``rvae``: share a latent space between labs without Snakemake.

    rvae example-data --out example            # Alice's (digits 0-4) and Bob's (5-9) MNIST folders
    rvae train --data example/alice --out example/alice_model
    rvae export-rosetta --model example/alice_model/model.pt --data example/alice --k 32 --out example/rosetta.parquet
    rvae train --data example/bob --rosetta example/rosetta.parquet --out example/bob_model

A data folder holds ``x.npy`` (N x ...), optional ``labels.npy`` or ``labels.parquet``, and
``dataset.yaml`` naming ``input_shape`` and ``family`` (mlp, conv, ava), optionally ``latent_dim``.
The same library functions run the workflow's export and portable targets.

Defaults: those the workflow's config also has (batch size, learning rate, split, export k and
method, sweep epochs) are the schema's (``workflow/schemas/config.schema.yaml``, the one place a
default is decided); the command holds a copy because an installed package has no workflow
folder to read, and tests/test_layers.py checks the copy against the schema.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

# The schema's defaults (split.train_fraction, split.seed, datasets.*.export.k), checked by tests.
TRAIN_FRACTION = 0.6
SPLIT_SEED = 0
EXPORT_K = 32


class CliError(ValueError):
    """Bad input to an ``rvae`` command: one line naming the file or option, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (exit 2), pointing to --help for usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def _load_folder(path):
    from rvae.data.folder import load_folder, read_meta
    from rvae.data.store import prepare

    data = prepare(load_folder(path), TRAIN_FRACTION, SPLIT_SEED)
    return data, read_meta(path)


def _spec(data, meta, args, latent_dim=None):
    from rvae.models import ArchitectureSpec
    from rvae.vocabulary import FAMILIES

    where = Path(args.data) / "dataset.yaml"
    family = args.family or meta.get("family")
    if family is None:
        raise CliError(f"{where} names no 'family' and --family was not given")
    if family not in FAMILIES:
        raise CliError(f"{where}: family {family!r} is not one of {', '.join(FAMILIES)}")
    latent = next((v for v in (latent_dim, args.latent_dim, meta.get("latent_dim")) if v is not None), 16)
    if not isinstance(latent, int) or isinstance(latent, bool) or latent < 1:
        raise CliError(f"{where}: latent_dim should be a positive whole number, got {latent!r}")
    return ArchitectureSpec(family=family, input_shape=data.input_shape, latent_dim=latent)


def _out_folder(folder: Path, given: str) -> Path:
    """``folder`` created for ``--out given``; a file in its way is refused, naming it."""
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise CliError(f"--out {given}: {blocking} is a file, not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cmd_train(args) -> int:
    import pandas as pd

    from rvae.embeddings import write_embedding
    from rvae.models import save_model
    from rvae.portable import load_rosetta_points
    from rvae.sharing import embed, shared_point_errors, train_on_shared_points, train_plain
    from rvae.trainer import TrainConfig

    logging.basicConfig(stream=sys.stdout, level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")

    data, meta = _load_folder(args.data)
    points = load_rosetta_points(args.rosetta) if args.rosetta else None
    spec = _spec(data, meta, args, latent_dim=points.latent_dim if points is not None else None)
    if points is not None and args.latent_dim is not None and args.latent_dim != points.latent_dim:
        raise CliError(f"--latent-dim {args.latent_dim} but the Rosetta file {args.rosetta} has latent size {points.latent_dim}")
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, beta=args.beta, rho=args.rho,
        seed=args.seed, device=args.device, threads=args.threads,
    )  # fmt: skip
    out = _out_folder(Path(args.out), args.out)
    if points is None:
        model, history = train_plain(data, spec, config)
    else:
        model, history, choice = train_on_shared_points(data, points, spec, config, args.rho_grid, args.sweep_epochs)
        errors = shared_point_errors(model, points)
        errors.to_parquet(out / "shared_points.parquet", index=False)
        (out / "rho.json").write_text(json.dumps(choice, indent=2))
        print(f"shared points: mean distance to the file's latents {errors['distance'].mean():.4f}")
    save_model(model, out / "model.pt", {"history": history})
    write_embedding(embed(model, data), out / "embedding.parquet")
    pd.DataFrame(history).to_parquet(out / "history.parquet", index=False)
    print(f"wrote {out / 'model.pt'}, {out / 'embedding.parquet'}, {out / 'history.parquet'}")
    return 0


def cmd_export(args) -> int:
    from rvae.models import load_model
    from rvae.portable import save_rosetta_points
    from rvae.sharing import export_rosetta, summary_markdown

    out = Path(args.out)
    _out_folder(out.parent, args.out)
    data, meta = _load_folder(args.data)
    model = load_model(args.model)
    if tuple(model.spec.input_shape) != tuple(data.input_shape):
        raise CliError(f"{args.model} takes inputs of shape {tuple(model.spec.input_shape)} but {args.data} holds {data.input_shape}")
    points = export_rosetta(model, data, args.k, args.method, args.seed, dataset=args.name or meta.get("name") or Path(args.data).name)
    save_rosetta_points(points, out)
    out.with_suffix(".md").write_text(summary_markdown(points, out.name))
    print(f"wrote {len(points)} Rosetta points to {out} (summary: {out.with_suffix('.md')})")
    return 0


def cmd_example(args) -> int:
    import numpy as np

    from rvae.data.mnist import load_mnist_embedded

    raw = load_mnist_embedded()
    out = _out_folder(Path(args.out), args.out)
    for lab, digits in (("alice", range(0, 5)), ("bob", range(5, 10))):
        keep = np.flatnonzero(np.isin(raw.labels, list(digits)))
        keep = np.concatenate([keep[raw.labels[keep] == d][: args.per_digit] for d in digits])
        folder = out / lab
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "x.npy", raw.x[keep].astype(np.float32))
        np.save(folder / "labels.npy", raw.labels[keep].astype(np.int64))
        (folder / "dataset.yaml").write_text(
            f"name: mnist_{lab}\ninput_shape: [1, 28, 28]\nfamily: conv\nlatent_dim: 8\n"
            "# no d1_labels: the folder's points are split in two halves (D1, D2) for the workflow\n"
        )
        print(f"wrote {folder}: {len(keep)} MNIST digits {list(digits)}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="rvae", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    from rvae import __version__
    from rvae.sharing import SWEEP_EPOCHS
    from rvae.trainer import TrainConfig
    from rvae.vocabulary import FAMILIES, SELECTION_METHODS

    library = TrainConfig(epochs=1)  # the library's defaults, which the schema's agree with

    top.add_argument("--version", action="version", version=f"rosetta-vae {__version__}")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a VAE on a data folder, or an R-VAE anchored on a Rosetta file")
    train.add_argument("--data", required=True, help="folder with x.npy and dataset.yaml")
    train.add_argument("--out", required=True, help="folder for model.pt, embedding.parquet, history.parquet")
    train.add_argument("--rosetta", help="a Rosetta-points file from another lab (Parquet); trains an R-VAE")
    train.add_argument("--rho", type=float, default=1.5, help="weight of the Rosetta loss (default 1.5)")
    train.add_argument("--rho-grid", type=_float_list, help="comma-separated rho values; the best on validation is kept")
    train.add_argument("--sweep-epochs", type=_positive_int, default=SWEEP_EPOCHS, help=f"epochs per rho candidate (default {SWEEP_EPOCHS})")
    train.add_argument("--family", choices=FAMILIES, help="default: dataset.yaml's family")
    train.add_argument("--latent-dim", type=_positive_int, help="default: the Rosetta file's, dataset.yaml's, or 16")
    train.add_argument("--epochs", type=_positive_int, default=20)
    train.add_argument("--batch-size", type=_positive_int, default=library.batch_size)
    train.add_argument("--lr", type=float, default=library.lr)
    train.add_argument("--beta", type=float, default=library.beta)
    train.add_argument("--seed", type=int, default=library.seed)
    train.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    train.add_argument("--threads", type=_positive_int, help="torch threads (default: torch's choice)")
    train.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    train.set_defaults(run=cmd_train)

    export = sub.add_parser("export-rosetta", help="select Rosetta points from a trained model and write the portable file")
    export.add_argument("--model", required=True, help="model.pt written by `rvae train` or the workflow")
    export.add_argument("--data", required=True, help="the folder the model was trained on")
    export.add_argument("--out", required=True, help="output .parquet (a .md summary is written beside it)")
    export.add_argument("--k", type=_positive_int, default=EXPORT_K, help=f"number of Rosetta points (default {EXPORT_K})")
    export.add_argument("--method", default=SELECTION_METHODS[0], choices=SELECTION_METHODS)
    export.add_argument("--seed", type=int, default=0)
    export.add_argument("--name", help="dataset name recorded in the file (default: dataset.yaml's name)")
    export.set_defaults(run=cmd_export)

    example = sub.add_parser("example-data", help="write Alice's and Bob's example folders from the embedded MNIST")
    example.add_argument("--out", required=True)
    example.add_argument("--per-digit", type=_positive_int, default=300)
    example.set_defaults(run=cmd_example)
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
