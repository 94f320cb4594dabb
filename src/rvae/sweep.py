"""Choosing a hyperparameter on validation data: one procedure for the paper's grids and the CLI's.

Every candidate trains from a stream of its own (``rvae.seeds.sweep_role``) for a fixed budget,
and is scored with one yardstick (spec, "Hyperparameters"): validation negative ELBO at beta = 1,
plus the unweighted Rosetta anchor error for R-VAE candidates (else rho = 0 would always win).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Sequence

import torch

from rvae.ensemble import fit_block
from rvae.inference import evaluate
from rvae.losses import RosettaLoss
from rvae.models import ArchitectureSpec
from rvae.seeds import role_seed, sweep_role
from rvae.trainer import TrainConfig

log = logging.getLogger(__name__)

def candidate_configs(
    config: TrainConfig, param: str, values: Sequence[float], steps: int, experiment: str, dataset: str, root: int
) -> list[TrainConfig]:
    """``config`` with each value of ``param``, ``steps`` steps, and the candidate's role seed under ``root``."""
    return [
        replace(config, **{param: float(value)}, until=int(steps), seed=role_seed(root, sweep_role(experiment, dataset, param, value)))
        for value in values
    ]


def score_candidates(
    spec: ArchitectureSpec,
    param: str,
    configs: Sequence[TrainConfig],
    x_train: torch.Tensor,
    x_val: torch.Tensor,
    rosetta: RosettaLoss | None,
    checkpoints: Sequence[str | None] | None = None,
    mode: str = "auto",
) -> list[dict]:
    """Train the candidates as one block and score each on ``x_val``.

    The block is vmapped where that pays (MLPs, GPUs; ``rvae.ensemble.choose_mode``), else trained
    one candidate after another. A vmapped candidate agrees with the same candidate trained alone
    to float32 rounding per step, not bit for bit: adding a value to a grid moves the others at
    rounding level.
    """
    trained = fit_block(spec, configs, x_train, x_val, rosetta, checkpoints or [None] * len(configs), mode)
    out = []
    for config, (model, history, _) in zip(configs, trained):
        # rosetta is None for beta; for rho, evaluate() adds the unweighted anchor error
        scores = evaluate(model, x_val, rosetta, config.obs_precision, seed=config.seed)
        out.append(
            {
                "param": param,
                "value": getattr(config, param),
                "seed": config.seed,
                "score": scores["selection_score"],
                "validation": scores,
                "steps": history[-1]["step"],
            }
        )
        log.info(f"{param} candidate {out[-1]['value']}: validation score {out[-1]['score']:.4f}")
    return out
