"""The one home of every default that the library, the ``rvae`` command line and the workflow share.

The library's dataclasses take their field defaults from here, the CLI its options' defaults, and
the workflow fills a config's missing keys from :func:`config_defaults` and
:func:`dataset_defaults` before validating it: its schema declares these keys without a default
of its own (``tests/test_defaults.py`` fails on a second definition). The reasons for each value
are in config/README.md, "The defaults and why".
"""

from __future__ import annotations

import copy

# the plateau rule (spec, "Training budget"): chosen on the recorded curves of benchmarks/curves/
PLATEAU = {"eval_every": 20, "min_steps": 1000, "min_window": 1000, "patience": 0.5, "tol": 0.02, "max_steps": 20000}
# one optimiser step's settings and the decoder's precision 1 / sigma^2 (spec, "Losses")
BATCH_SIZE = 64
LR = 1e-3
OBS_PRECISION = 10.0
CHECKPOINT_EVERY = 200  # optimiser steps between checkpoints; changes no result
# how a run is computed (rvae.device); deterministic kernels make reruns on one machine bit-identical
DEVICE = "cpu"
DETERMINISTIC = True
PRECISION = "auto"
COMPILE = "auto"
MEMORY_FORMAT = "auto"
# the method's hyperparameters (spec, "Hyperparameters") and a grid candidate's fixed budget
BETA = 2.5
RHO = 1.5
SWEEP_EPOCHS = 20
# the train/validation split (spec, "Splits without leakage"); how many Rosetta points, and how
# chosen, where nothing else says (a lab's export, the CLI)
TRAIN_FRACTION = 0.6
SPLIT_SEED = 0
ROSETTA_K = 32
SELECTION_METHOD = "kmeans"
# how Bob's latents are put in the Rosetta file's coordinates (`rvae embed --align`, a shared run's
# `align`): the map with the lowest leave-one-out error on the file's pairs, no map among them
ALIGN = "auto"


def config_defaults() -> dict:
    """The workflow config's top-level keys that default to the values above."""
    return copy.deepcopy(
        {
            "device": DEVICE,
            "deterministic": DETERMINISTIC,
            "precision": PRECISION,
            "compile": COMPILE,
            "memory_format": MEMORY_FORMAT,
            "checkpoint_every": CHECKPOINT_EVERY,
            "plateau": PLATEAU,
            "split": {"train_fraction": TRAIN_FRACTION, "seed": SPLIT_SEED},
            "optimizer": {"lr": LR},
            "obs_precision": OBS_PRECISION,
            "hyperparameters": {"beta": {"value": BETA}, "rho": {"value": RHO}},
        }
    )


def dataset_defaults() -> dict:
    """A ``datasets.<name>`` entry's keys that default to the values above (``export`` only where given)."""
    return {"training": {"batch_size": BATCH_SIZE}, "export": {"k": ROSETTA_K, "method": SELECTION_METHOD}}


def fill(config: dict, defaults: dict, whole: frozenset = frozenset()) -> dict:
    """``config`` with every key of ``defaults`` it lacks, dicts filled key by key; a key in
    ``whole`` is taken as a unit (a hyperparameter is a ``value`` or a ``grid``, never both)."""
    for key, value in defaults.items():
        if key not in config:
            config[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(config[key], dict) and key not in whole:
            fill(config[key], value, whole)
    return config
