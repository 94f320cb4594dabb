"""Rosetta VAE: reproducible, portable VAE latent spaces anchored by a few Rosetta points.

Three floors that only look down (tests/test_layers.py):

- the library (``rvae.*``: vocabulary, models, losses, trainer, ensemble, checkpoints,
  inference, rosetta, rosetta_file, metrics, alignment, data, sharing, cli): what another lab imports;
- ``rvae.paper``: the paper's experiments, the plan of its tables, figures and sweeps;
- ``rvae.workflow``: Snakemake glue (config checks, params, the path registry).

The names a lab uses are importable from here; see ``README.md`` for a ten-line example.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rosetta-vae")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# Names are imported on first use, so that light scripts (tables, metrics) do not pay for torch.
_EXPORTS = {
    "RosettaLoss": "rvae.losses",
    "kl_full_covariance": "rvae.losses",
    "negative_elbo": "rvae.losses",
    "linear_cka": "rvae.metrics",
    "linear_map_analysis": "rvae.metrics",
    "lsd": "rvae.metrics",
    "normalise_lsd": "rvae.metrics",
    "normalise_rv": "rvae.metrics",
    "normalised_median_iqr": "rvae.metrics",
    "procrustes_distance": "rvae.metrics",
    "angular_procrustes_distance": "rvae.metrics",
    "heldout_lsd": "rvae.alignment",
    "portability": "rvae.alignment",
    "fit_map": "rvae.alignment",
    "heldout_distances": "rvae.alignment",
    "retraining_variability": "rvae.metrics",
    "ArchitectureSpec": "rvae.models",
    "VAE": "rvae.models",
    "build_vae": "rvae.models",
    "RosettaPoints": "rvae.rosetta_file",
    "load_rosetta_points": "rvae.rosetta_file",
    "save_rosetta_points": "rvae.rosetta_file",
    "make_rosetta_points": "rvae.rosetta",
    "select_rosetta_points": "rvae.rosetta",
    "TrainConfig": "rvae.trainer",
    "Trainer": "rvae.trainer",
    "TrainingDiverged": "rvae.trainer",
    "train_vae": "rvae.trainer",
    "SeedBlockTrainer": "rvae.ensemble",
    "encode_means": "rvae.inference",
    "evaluate": "rvae.inference",
}


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rvae' has no attribute {name!r}")


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
    "train_vae",
    "SeedBlockTrainer",
    "encode_means",
    "evaluate",
    "select_rosetta_points",
    "make_rosetta_points",
    "RosettaPoints",
    "save_rosetta_points",
    "load_rosetta_points",
    "lsd",
    "retraining_variability",
    "normalise_lsd",
    "normalise_rv",
    "normalised_median_iqr",
    "linear_map_analysis",
    "procrustes_distance",
    "angular_procrustes_distance",
    "linear_cka",
    "heldout_lsd",
    "portability",
    "fit_map",
    "heldout_distances",
]
