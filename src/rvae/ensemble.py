"""Several seeds of one condition trained in one process: a seed block.

Two ways to run a block, chosen by ``mode``:

- ``vmap``: the block's models are stacked (``torch.func.stack_module_state``) and one batched
  forward/backward (``torch.func.vmap``) trains them all. One Adam over the stacked parameters
  equals one Adam per model, because Adam is elementwise and the block's loss is the sum of
  each model's own loss. Each seed keeps its own data order, noise stream and checkpoint.
- ``loop``: the seeds are trained one after another by ``Trainer`` in the same process; it
  saves the per-job start-up and is faster than ``vmap`` for convolutions on a CPU, where a
  batched convolution runs as a slower grouped one (benchmarks/README.md).

``auto`` takes ``vmap`` on a GPU and for MLPs, ``loop`` otherwise. Rerunning a block gives the
same bytes, and a seed's result does not depend on how many seeds follow it in its block (its
slot is fixed: seed s sits at s % size). A vmap slot agrees with the seed trained alone only to
float32 rounding, per step: vectorised kernels (e.g. AVX-512) may round each slot differently,
and Adam turns rounding-level gradients into full steps, so whole trajectories differ like two
valid float32 runs (tests/test_ensemble.py). "VAE (same seed)" is therefore never a vmap block
(``rvae.paper.experiment.retrain_block``).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from rvae.convergence import PLATEAU
from rvae.device import resolve_device
from rvae.losses import RosettaLoss, batch_loss
from rvae.models import ArchitectureSpec, VAE, build_vae
from rvae.trainer import TrainConfig, Trainer, TrainingLoop
from rvae.vocabulary import block_mode

log = logging.getLogger(__name__)


def choose_mode(mode: str, family: str, device: str) -> str:
    """``vmap`` or ``loop`` for a block of ``family`` nets on the config's ``device``."""
    return block_mode(mode, family, resolve_device(device).type)


class _StepLoss(nn.Module):
    """One model's loss parts as a single tensor, so ``functional_call`` + ``vmap`` can batch it."""

    def __init__(self, vae: VAE, config: TrainConfig, rosetta: RosettaLoss | None):
        super().__init__()
        self.vae = vae
        self.config = config
        self.rosetta = rosetta

    def forward(self, x: torch.Tensor, eps: torch.Tensor, beta: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        parts = batch_loss(self.vae, x, eps, beta, cfg.obs_precision, self.rosetta, rho, cfg.precision)
        return torch.stack([parts.total, parts.recon, parts.kl, parts.rosetta])


class SeedBlockTrainer(TrainingLoop):
    """Train a block of models as one batched computation (the step).

    The models may differ in seed and in beta and rho (per-model tensors under ``vmap``), so a
    whole hyperparameter grid trains as one block (``rvae.paper.sweep.score_grid``).
    """

    kind = "ensemble"
    free_fields = ("seed", "beta", "rho")

    def __init__(
        self,
        models: Sequence[VAE],
        configs: Sequence[TrainConfig],
        checkpoint_paths: Sequence[str | Path | None] | None = None,
    ):
        super().__init__(models, configs, checkpoint_paths, label_seeds=True)
        if self.config.until == PLATEAU and len(self.models) > 1:
            # the block would stop only once every seed's curve is flat, so a seed's result would
            # depend on its companions: a block trains a step budget (each seed judged after)
            raise ValueError("a block of several models trains a number of steps, not until='plateau'; train each model alone to its plateau")
        # the vmapped step is not compiled and its stacked weights keep the default layout: say so
        # in the histories and the identities its checkpoints carry
        self.configs = [replace(config, compile="off", memory_format="contiguous") for config in self.configs]
        self.config = self.configs[0]
        params, buffers = stack_module_state(self.models)
        self.params = {name: p.detach().clone().requires_grad_(True) for name, p in params.items()}
        self.buffers = {f"vae.{name}": value for name, value in buffers.items()}
        # Not the fused kernel: its vector/tail split depends on the stacked size, which would
        # make a seed's result depend on how many seeds share its block.
        self.optimizer = torch.optim.Adam(list(self.params.values()), lr=self.config.lr)
        self._batched = None

    # -- per-seed views of the stacked state --------------------------------------------
    def _sync_models(self) -> None:
        """Copy each stacked slice back into its ``VAE`` (for evaluation, checkpoints, saving)."""
        with torch.no_grad():
            for i, model in enumerate(self.models):
                for name, param in model.named_parameters():
                    param.copy_(self.params[name][i])

    def _step_state(self, i: int) -> dict:
        out = {}
        for name, param in self.params.items():
            state = self.optimizer.state.get(param, {})
            out[name] = {key: (value[i] if value.dim() > 0 else value) for key, value in state.items()}
        return out

    def _load_step_state(self, i: int, state: dict) -> None:
        with torch.no_grad():
            for name, param in self.models[i].named_parameters():
                self.params[name][i] = param.detach()
        for name, param in self.params.items():
            slot = self.optimizer.state.setdefault(param, {})
            for key, value in state[name].items():
                value = value.to(param.device)
                if value.dim() == 0:
                    slot[key] = value.clone()
                else:
                    slot.setdefault(key, torch.zeros_like(param))
                    slot[key][i] = value

    # -- the step -------------------------------------------------------------------------
    def batched_loss(self, rosetta: RosettaLoss | None = None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """``(x, eps) -> (models, 4)`` loss parts of every model, ``x`` and ``eps`` stacked per model.

        One vmapped computation over the stacked parameters; gradients land in ``self.params``.
        """
        base = _StepLoss(copy.deepcopy(self.models[0]), self.config, rosetta)

        def one_model(params, buffers, x, eps, beta, rho):
            named = {f"vae.{name}": value for name, value in params.items()}
            return functional_call(base, (named, buffers), (x, eps, beta, rho))

        batched = vmap(one_model, in_dims=(0, 0, 0, 0, 0, 0))
        beta = torch.tensor([c.beta for c in self.configs], device=self.device)
        rho = torch.tensor([c.rho for c in self.configs], device=self.device)
        return lambda x, eps: batched(self.params, self.buffers, x, eps, beta, rho)

    def _train_mode(self) -> None:
        """The stacked step calls the models functionally; nothing to switch."""

    def _step(self, x_train, idx, eps, rosetta):
        if self._batched is None:
            self._batched = self.batched_loss(rosetta)
        batch = x_train[torch.stack(idx)]  # (models, batch, ...)
        parts = self._batched(batch, torch.stack(eps))  # (models, 4)
        self.optimizer.zero_grad(set_to_none=True)
        parts[:, 0].sum().backward()
        self.optimizer.step()
        return parts


class Trained(NamedTuple):
    """One trained run: the model after its budget, its history, and its model at
    ``config.snapshot_step`` (the half budget; None without a snapshot)."""

    model: VAE
    history: list[dict]
    half: VAE | None = None


def fit_block(
    spec: ArchitectureSpec,
    configs: Sequence[TrainConfig],
    x_train: torch.Tensor,
    x_val: torch.Tensor | None,
    rosetta: RosettaLoss | None,
    checkpoints: Sequence[str | Path | None],
    mode: str = "auto",
) -> list[Trained]:
    """Train a block (seeds of one condition, or a hyperparameter grid); one :class:`Trained` per config, in order."""
    mode = choose_mode(mode, spec.family, configs[0].device)
    models = [build_vae(spec, seed=config.seed) for config in configs]
    log.info(f"block of {len(configs)} runs (seeds {[c.seed for c in configs]}): {mode}")
    if mode == "loop" or len(configs) == 1:
        out = []
        for model, config, checkpoint in zip(models, configs, checkpoints):
            trainer = Trainer(model, config, checkpoint, label_seed=True)
            history = trainer.fit(x_train, rosetta=rosetta, x_val=x_val)
            out.append(Trained(model, history, trainer.snapshot_models()[0]))
        return out
    trainer = SeedBlockTrainer(models, configs, checkpoints)
    histories = trainer.fit(x_train, rosetta=rosetta, x_val=x_val)
    return [Trained(*run) for run in zip(models, histories, trainer.snapshot_models())]
