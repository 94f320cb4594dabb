"""One entry point for every dataset kind, driven by the config's ``datasets.<name>`` mapping."""

from __future__ import annotations

from rvae.data.common import DataError, RawDataset

DATASET_KINDS = ("gaussians", "mnist", "birdsong", "chairs", "folder")


def load_dataset(kind: str, settings: dict) -> RawDataset:
    """Load one dataset from its config settings (see ``config/README.md``)."""
    settings = dict(settings)
    source = settings.pop("source", None)
    if kind == "gaussians":
        from rvae.data.gaussians import generate_gaussians

        return generate_gaussians(**settings)
    if kind == "mnist":
        from rvae.data.mnist import load_mnist_embedded, load_mnist_idx

        d1 = settings.get("d1_digits", [0, 1, 2, 3, 4])
        if source in (None, "embedded"):
            return load_mnist_embedded(d1)
        if source == "idx":
            return load_mnist_idx(settings.get("path"), settings.get("parts", ["train", "t10k"]), d1)
        raise DataError(f"datasets.mnist.source must be embedded or idx, got {source!r}")
    if kind == "birdsong":
        from rvae.data.birdsong import load_birdsong

        return load_birdsong(source or "embedded", **settings)
    if kind == "chairs":
        from rvae.data.chairs import load_chairs

        return load_chairs(source or "synthetic", **settings)
    if kind == "folder":
        from rvae.data.folder import load_folder

        return load_folder(settings.get("path"))
    raise DataError(f"unknown dataset kind {kind!r}; choose one of {DATASET_KINDS}")
