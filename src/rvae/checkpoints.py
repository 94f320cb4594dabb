"""Checkpoints of one seed: what identifies them, how they are written and when one is resumed.

Both trainers (one run, a seed block) write one file per seed through these functions, so the
rules for resuming are the same everywhere: a checkpoint is resumed only for the same
configuration (``TrainConfig.identity``), the same kind of trainer and the same training data
and Rosetta anchors; anything else, or an unreadable file, costs steps, never the run.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch

from rvae.atomic import atomic_path

CHECKPOINT_FORMAT = 4  # 3: runs counted in optimiser steps, with the current permutation and its cursor; 4: with the half-budget snapshot

log = logging.getLogger(__name__)


def data_identity(x: torch.Tensor, rosetta=None, x_val: torch.Tensor | None = None) -> str:
    """Cheap fingerprint of the training data, the anchors and the validation data (the plateau
    rule reads the validation curve), so a checkpoint is never resumed on other data."""
    parts = [tuple(x.shape), float(x.double().sum()), float(x[:: max(1, x.shape[0] // 97)].double().pow(2).sum())]
    if x_val is not None:
        parts += ["val", tuple(x_val.shape), float(x_val.double().sum()), float(x_val[:: max(1, x_val.shape[0] // 97)].double().pow(2).sum())]
    if rosetta is not None:
        parts += [tuple(rosetta.x_r.shape), float(rosetta.x_r.double().sum()), float(rosetta.z_r.double().sum())]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def write_checkpoint(path: Path, state: dict) -> None:
    """Atomically, so a kill while writing leaves the previous checkpoint intact."""
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)


def read_checkpoint(path: Path, config, data_id: str, kind: str) -> dict | None:
    """A checkpoint's state if it belongs to this config, data and kind of trainer; else None, saying why."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        log.info(f"checkpoint {path} is unreadable ({type(err).__name__}: {err}); starting afresh")
        return None
    if (
        state.get("format") != CHECKPOINT_FORMAT
        or state.get("kind", "single") != kind
        or state.get("config_identity") != config.identity()
    ):
        log.info(f"checkpoint {path} was written for another configuration; starting afresh")
        return None
    if state.get("data_identity") != data_id:
        log.info(f"checkpoint {path} was written for other training data; starting afresh")
        return None
    if state["step"] > config.max_steps:
        log.info(f"checkpoint {path} is past the configured {config.max_steps} steps; starting afresh")
        return None
    return state
