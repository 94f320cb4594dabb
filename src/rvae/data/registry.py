"""One entry point for every dataset kind, driven by the config's ``datasets.<name>`` mapping."""

from __future__ import annotations

import importlib

from rvae.data.common import DataError, DatasetFacts, RawDataset
from rvae.vocabulary import DATASET_KINDS


def load_dataset(kind: str, settings: dict) -> RawDataset:
    """Load one dataset from its config settings (see ``config/README.md``)."""
    settings = dict(settings)
    source = settings.pop("source", None)
    if kind == "gaussians":
        from rvae.data.gaussians import generate_gaussians

        return generate_gaussians(**settings)
    if kind == "mnist":
        from rvae.data.mnist import D1_DIGITS, IDX_PARTS, load_mnist_embedded, load_mnist_idx

        d1 = settings.get("d1_digits", list(D1_DIGITS))
        if source in (None, "embedded"):
            return load_mnist_embedded(d1)
        if source == "idx":
            return load_mnist_idx(settings.get("path"), settings.get("parts", list(IDX_PARTS)), d1)
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


def dataset_facts(kind: str, load: dict) -> DatasetFacts:
    """Input shape and sizes a dataset kind's loader knows from its settings alone (``rvae.data.<kind>.facts``)."""
    if kind not in DATASET_KINDS:
        raise DataError(f"unknown dataset kind {kind!r}; choose one of {DATASET_KINDS}")
    return importlib.import_module(f"rvae.data.{kind}").facts(dict(load or {}))
