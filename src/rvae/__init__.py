"""Rosetta VAE: reproducible, portable VAE latent spaces anchored by a few Rosetta points.

The science lives here so that the Snakemake workflow stays a thin shell and a lab can use
the R-VAE from plain Python. See ``README.md`` for a ten-line example.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rosetta-vae")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from rvae.losses import RosettaLoss, kl_full_covariance, negative_elbo
from rvae.metrics import (
    linear_cka,
    linear_map_analysis,
    lsd,
    normalise_lsd,
    normalise_rv,
    procrustes_distance,
    retraining_variability,
)
from rvae.models import ArchitectureSpec, VAE, build_vae
from rvae.portable import RosettaPoints, load_rosetta_points, save_rosetta_points
from rvae.rosetta import make_rosetta_points, select_rosetta_points
from rvae.trainer import TrainConfig, Trainer, TrainingDiverged

__all__ = [
    "__version__",
    "ArchitectureSpec",
    "VAE",
    "build_vae",
    "kl_full_covariance",
    "negative_elbo",
    "RosettaLoss",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "select_rosetta_points",
    "make_rosetta_points",
    "RosettaPoints",
    "save_rosetta_points",
    "load_rosetta_points",
    "lsd",
    "retraining_variability",
    "normalise_lsd",
    "normalise_rv",
    "linear_map_analysis",
    "procrustes_distance",
    "linear_cka",
]
