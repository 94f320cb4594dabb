"""Hyperparameter selection with one yardstick for every candidate (spec, "Hyperparameters").

beta-VAE candidates: validation negative ELBO at beta = 1. R-VAE candidates: validation
negative ELBO plus the unweighted Rosetta anchor error (else rho = 0 would always win).
"""

from __future__ import annotations

from typing import Callable

from rvae.data.store import PreparedDataset
from rvae.experiment import retrain
from rvae.losses import RosettaLoss
from rvae.models import ArchitectureSpec
from rvae.portable import RosettaPoints
from rvae.trainer import TrainConfig, evaluate
import torch

PARAM_MODEL = {"beta": "beta_vae", "rho": "rvae"}


def score_candidate(
    data: PreparedDataset,
    experiment: str,
    param: str,
    rosetta: RosettaPoints,
    spec: ArchitectureSpec,
    config: TrainConfig,
    log: Callable[[str], None] = print,
) -> dict:
    model_kind = PARAM_MODEL[param]
    model, history = retrain(data, experiment, model_kind, rosetta, spec, config, None, log)
    part = {"reproducibility": "D1", "sequential": "D2"}[experiment]
    x_val = torch.from_numpy(data.x[data.rows(part, "val")].astype("float32"))
    anchors = RosettaLoss(torch.from_numpy(rosetta.x), torch.from_numpy(rosetta.z), 1.0) if param == "rho" else None
    scores = evaluate(model, x_val, anchors, config.obs_precision, seed=config.seed)
    value = getattr(config, param)
    return {"param": param, "value": value, "score": scores["selection_score"], "validation": scores, "epochs": len(history)}


def choose(candidates: list[dict]) -> dict:
    """The lowest score; ties go to the smaller value (the simpler model)."""
    if not candidates:
        raise ValueError("no sweep candidates to choose from")
    return min(candidates, key=lambda c: (c["score"], c["value"]))
