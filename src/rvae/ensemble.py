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
(``rvae.experiment.retrain_block``).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from rvae.atomic import atomic_path
from rvae.device import configure_runtime, resolve_device
from rvae.losses import RosettaLoss, batch_loss
from rvae.models import ArchitectureSpec, VAE, build_vae
from rvae.plan import block_of, seed_blocks  # noqa: F401  (re-exported: blocks are planning)
from rvae.trainer import (
    CHECKPOINT_FORMAT,
    TrainConfig,
    Trainer,
    TrainingDiverged,
    _data_identity,
    _stream_seeds,
    checked_training_data,
    epoch_record,
    evaluate,
    format_epoch,
    read_checkpoint,
)

MODES = ("auto", "vmap", "loop")


def choose_mode(mode: str, spec: ArchitectureSpec, device: str) -> str:
    if mode not in MODES:
        raise ValueError(f"ensemble mode must be one of {MODES}, got {mode!r}")
    if mode != "auto":
        return mode
    return "vmap" if resolve_device(device).type == "cuda" or spec.family == "mlp" else "loop"


class _StepLoss(nn.Module):
    """One model's loss parts as a single tensor, so ``functional_call`` + ``vmap`` can batch it."""

    def __init__(self, vae: VAE, beta: float, obs_precision: float, rosetta: RosettaLoss | None):
        super().__init__()
        self.vae = vae
        self.beta, self.obs_precision = beta, obs_precision
        self.rosetta = rosetta

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        parts = batch_loss(self.vae, x, eps, self.beta, self.obs_precision, self.rosetta)
        return torch.stack([parts.total, parts.recon, parts.kl, parts.rosetta])


class EnsembleTrainer:
    """Train a block of models that differ only in seed as one batched computation."""

    def __init__(
        self,
        models: Sequence[VAE],
        configs: Sequence[TrainConfig],
        checkpoint_paths: Sequence[str | Path | None] | None = None,
        log: Callable[[str], None] = print,
    ):
        if not models or len(models) != len(configs):
            raise ValueError(f"{len(models)} models for {len(configs)} configs")
        shared = {name: value for name, value in configs[0].__dict__.items() if name != "seed"}
        for config in configs[1:]:
            if {name: value for name, value in config.__dict__.items() if name != "seed"} != shared:
                raise ValueError("a seed block's runs must differ only in their seed")
        self.config = configs[0]
        configure_runtime(self.config.threads, self.config.deterministic)
        self.configs = list(configs)
        self.device = resolve_device(self.config.device)
        self.models = [m.to(self.device) for m in models]
        params, buffers = stack_module_state(self.models)
        self.params = {name: p.detach().clone().requires_grad_(True) for name, p in params.items()}
        self.buffers = buffers
        # Not the fused kernel: its vector/tail split depends on the stacked size, which would
        # make a seed's result depend on how many seeds share its block.
        self.optimizer = torch.optim.Adam(list(self.params.values()), lr=self.config.lr)
        self.checkpoint_paths = [Path(p) if p else None for p in (checkpoint_paths or [None] * len(models))]
        self.log = log
        self.order_rngs, self.noise_rngs = [], []
        for config in self.configs:
            order_seed, noise_seed = _stream_seeds(config.seed)
            self.order_rngs.append(torch.Generator(device="cpu").manual_seed(order_seed))
            self.noise_rngs.append(torch.Generator(device=self.device).manual_seed(noise_seed))
        self.epoch = 0
        self.histories: list[list[dict]] = [[] for _ in models]

    # -- per-seed views of the stacked state --------------------------------------------
    def _sync_models(self) -> None:
        """Copy each stacked slice back into its ``VAE`` (for evaluation, checkpoints, saving)."""
        with torch.no_grad():
            for i, model in enumerate(self.models):
                for name, param in model.named_parameters():
                    param.copy_(self.params[name][i])

    def _optimizer_slice(self, i: int) -> dict:
        out = {}
        for name, param in self.params.items():
            state = self.optimizer.state.get(param, {})
            out[name] = {key: (value[i] if value.dim() > 0 else value) for key, value in state.items()}
        return out

    def _load_optimizer_slice(self, i: int, state: dict) -> None:
        for name, param in self.params.items():
            slot = self.optimizer.state.setdefault(param, {})
            for key, value in state[name].items():
                value = value.to(param.device)
                if value.dim() == 0:
                    slot[key] = value.clone()
                else:
                    slot.setdefault(key, torch.zeros_like(param))
                    slot[key][i] = value

    # -- checkpoints (one per seed, so each seed can resume on its own) -----------------
    def _save_checkpoints(self, data_id: str) -> None:
        self._sync_models()
        for i, path in enumerate(self.checkpoint_paths):
            if path is None:
                continue
            state = {
                "format": CHECKPOINT_FORMAT,
                "kind": "ensemble",
                "config_identity": self.configs[i].identity(),
                "data_identity": data_id,
                "epoch": self.epoch,
                "model": self.models[i].state_dict(),
                "optimizer_slice": self._optimizer_slice(i),
                "order_rng": self.order_rngs[i].get_state(),
                "noise_rng": self.noise_rngs[i].get_state().cpu(),
                "history": self.histories[i],
            }
            with atomic_path(path) as tmp:
                torch.save(state, tmp)

    def _try_resume(self, data_id: str) -> bool:
        """Resume when every seed of the block has a valid checkpoint at the same epoch."""
        states = []
        for i, path in enumerate(self.checkpoint_paths):
            if path is None or not path.exists():
                return False
            state = read_checkpoint(path, self.configs[i], data_id, "ensemble", self.log)
            if state is None:
                return False
            states.append(state)
        if len({s["epoch"] for s in states}) != 1:
            self.log("the block's checkpoints are at different epochs; starting the block afresh")
            return False
        with torch.no_grad():
            for i, state in enumerate(states):
                self.models[i].load_state_dict(state["model"])
                for name, param in self.models[i].named_parameters():
                    self.params[name][i] = param.detach()
                self._load_optimizer_slice(i, state["optimizer_slice"])
                self.order_rngs[i].set_state(state["order_rng"])
                self.noise_rngs[i].set_state(state["noise_rng"].to(self.noise_rngs[i].get_state().device))
                self.histories[i] = list(state["history"])
        self.epoch = int(states[0]["epoch"])
        for path in self.checkpoint_paths:
            self.log(f"resumed from checkpoint {path} at epoch {self.epoch}/{self.config.epochs}")
        return True

    # -- training ----------------------------------------------------------------------
    def batched_loss(self, rosetta: RosettaLoss | None = None) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """``(x, eps) -> (models, 4)`` loss parts of every model, ``x`` and ``eps`` stacked per model.

        One vmapped computation over the stacked parameters; gradients land in ``self.params``.
        """
        cfg = self.config
        base = _StepLoss(copy.deepcopy(self.models[0]), cfg.beta, cfg.obs_precision, rosetta)
        prefixed = {f"vae.{name}": value for name, value in self.buffers.items()}

        def one_model(params, buffers, x, eps):
            named = {f"vae.{name}": value for name, value in params.items()}
            return functional_call(base, (named, buffers), (x, eps))

        batched = vmap(one_model, in_dims=(0, 0, 0, 0))
        return lambda x, eps: batched(self.params, prefixed, x, eps)

    def fit(
        self, x_train: torch.Tensor, rosetta: RosettaLoss | None = None, x_val: torch.Tensor | None = None
    ) -> list[list[dict]]:
        cfg = self.config
        x_train = checked_training_data(x_train, self.device)
        rosetta = rosetta.to(self.device) if rosetta is not None else None
        x_val = x_val.to(self.device, torch.float32) if x_val is not None else None
        data_id = _data_identity(x_train, rosetta)
        self._try_resume(data_id)
        batched = self.batched_loss(rosetta)
        n, k, b = x_train.shape[0], self.models[0].latent_dim, len(self.models)
        while self.epoch < cfg.epochs:
            start = time.perf_counter()
            orders = torch.stack([torch.randperm(n, generator=g) for g in self.order_rngs]).to(self.device)
            sums = torch.zeros(b, 4, device=self.device, dtype=torch.float64)
            for first in range(0, n, cfg.batch_size):
                idx = orders[:, first : first + cfg.batch_size]
                batch = x_train[idx]  # (models, batch, ...)
                eps = torch.stack(
                    [torch.randn(idx.shape[1], k, generator=g, device=self.device) for g in self.noise_rngs]
                )
                parts = batched(batch, eps)  # (models, 4)
                self.optimizer.zero_grad(set_to_none=True)
                parts[:, 0].sum().backward()
                self.optimizer.step()
                sums += parts.detach().double() * idx.shape[1]
            means = (sums / n).tolist()
            seconds = time.perf_counter() - start
            self.epoch += 1
            self._sync_models()
            for i, model_means in enumerate(means):
                seed = self.configs[i].seed
                if not np.all(np.isfinite(model_means)):
                    raise TrainingDiverged(
                        f"loss became non-finite (loss={model_means[0]}) in epoch {self.epoch} of seed {seed}; "
                        f"lower the learning rate or check the data; nothing was saved for this epoch"
                    )
                record = epoch_record(self.epoch, model_means, seconds, n * b)
                if x_val is not None:
                    val = evaluate(self.models[i], x_val, rosetta, cfg.obs_precision, seed=seed)
                    record.update({f"val_{key}": value for key, value in val.items()})
                self.histories[i].append(record)
                self.log(f"seed {seed} " + format_epoch(record, cfg.epochs))
            if self.epoch % cfg.checkpoint_every == 0 or self.epoch == cfg.epochs:
                self._save_checkpoints(data_id)
        for model in self.models:
            model.eval()
        return self.histories


def fit_block(
    spec: ArchitectureSpec,
    configs: Sequence[TrainConfig],
    x_train: torch.Tensor,
    x_val: torch.Tensor | None,
    rosetta_loss: RosettaLoss | None,
    checkpoints: Sequence[str | Path | None],
    log: Callable[[str], None],
    mode: str = "auto",
) -> list[tuple[VAE, list[dict]]]:
    """Train a seed block; returns (model, history) per config, in order."""
    mode = choose_mode(mode, spec, configs[0].device)
    models = [build_vae(spec, seed=config.seed) for config in configs]
    log(f"seed block {[c.seed for c in configs]}: {mode}")
    if mode == "loop" or len(configs) == 1:
        out = []
        for model, config, checkpoint in zip(models, configs, checkpoints):
            history = Trainer(model, config, checkpoint, lambda line, s=config.seed: log(f"seed {s} {line}"))
            out.append((model, history.fit(x_train, rosetta=rosetta_loss, x_val=x_val)))
        return out
    histories = EnsembleTrainer(models, configs, checkpoints, log).fit(x_train, rosetta=rosetta_loss, x_val=x_val)
    return list(zip(models, histories))
