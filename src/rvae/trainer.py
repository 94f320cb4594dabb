"""The training loop: resident tensors, seeded RNG streams, atomic checkpoints, exact resume.

One epoch loop (:class:`EpochLoop`) serves every trainer: it resumes, runs the epochs, stops on
a non-finite loss, validates, keeps the history and checkpoints each seed. A trainer supplies
only its step: :class:`Trainer` trains one model; ``rvae.ensemble.SeedBlockTrainer`` trains a
block of seeds as one batched computation.

A run's randomness comes from two generators of its own (data order, reparameterisation
noise) seeded from ``TrainConfig.seed``; the global RNG is never used. Their states are saved
in each checkpoint with the model and the optimiser, so a run killed after a checkpoint and
resumed ends bit-identical to an uninterrupted one on CPU.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from rvae.checkpoints import data_identity, read_checkpoint, write_checkpoint
from rvae.device import (
    configure_runtime,
    resolve_compile,
    resolve_device,
    resolve_memory_format,
    resolve_precision,
    torch_memory_format,
)
from rvae.inference import evaluate
from rvae.losses import RosettaLoss, batch_loss
from rvae.models import ArchitectureSpec, VAE, build_vae
from rvae.vocabulary import COMPILE_CHOICES, MEMORY_FORMAT_CHOICES, PRECISION_CHOICES

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; nothing from this run should be saved."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's trajectory, plus how it is run.

    ``identity()`` hashes the fields that change the result, so a checkpoint is resumed only by
    the same configuration.
    """

    epochs: int  # passes over the training set; a longer run extends a shorter one's checkpoint
    batch_size: int = 64  # points per optimisation step (the last batch of an epoch may be smaller)
    lr: float = 1e-3  # Adam's learning rate
    beta: float = 1.0  # weight of the KL term (1: VAE, > 1: beta-VAE)
    rho: float = 0.0  # weight of the Rosetta anchor term (R-VAE); unused without Rosetta points
    obs_precision: float = 10.0  # precision of the Gaussian decoder, 1 / sigma^2 (spec, "Losses")
    seed: int = 0  # initial weights come from build_vae(seed); data order and noise from this seed's streams
    checkpoint_every: int = 10  # epochs between checkpoints (and always after the last); no effect on results
    device: str = "cpu"  # cpu, cuda, cuda:N or auto (rvae.device.resolve_device)
    threads: int | None = None  # torch's CPU threads; None leaves torch's choice; no effect on results
    deterministic: bool = True  # deterministic kernels (rvae.device.configure_runtime)
    # optimiser steps per epoch; None: one pass, ceil(n / batch_size). Fewer steps than a pass make
    # every model of a comparison take the same number of steps (spec, "Equal optimisation")
    steps_per_epoch: int | None = None
    # fp32, bf16 (autocast, fp32 weights and sums) or auto (bf16 where native and measured to pay;
    # rvae.device.resolve_precision); the trainer resolves it, so identities name fp32 or bf16
    precision: str = "auto"
    # torch.compile the training step: on, off, or auto (on for CUDA only: on 2 CPU cores it paid
    # 1.0-1.14x per step at the default's batch sizes for 13-25 s of compiling per graph, benchmarks/README.md)
    compile: str = "auto"
    compile_cache: str | None = None  # inductor's on-disk cache, shared by a run's jobs; no effect on results
    # layout of the convolutions while training: channels_last, contiguous, or auto (channels_last for
    # the AVA net on a CPU, where it paid 1.14-1.23x; rvae.device.resolve_memory_format). The same
    # arithmetic in another order, so it is part of the identity; trained models come back contiguous
    memory_format: str = "auto"

    def __post_init__(self):
        if self.precision not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {self.precision!r}")
        if self.compile not in COMPILE_CHOICES:
            raise ValueError(f"compile must be one of {COMPILE_CHOICES}, got {self.compile!r}")
        if self.memory_format not in MEMORY_FORMAT_CHOICES:
            raise ValueError(f"memory_format must be one of {MEMORY_FORMAT_CHOICES}, got {self.memory_format!r}")
        if self.steps_per_epoch is not None and int(self.steps_per_epoch) < 1:
            raise ValueError(f"steps_per_epoch must be >= 1 or None, got {self.steps_per_epoch}")
        for name in ("epochs", "batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("beta", "rho", "lr", "obs_precision"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value < 0 or (name in ("lr", "obs_precision") and value == 0):
                raise ValueError(f"{name} must be a finite number > 0 (>= 0 for beta, rho), got {value}")

    def identity(self) -> str:
        """Hash of everything that changes the trajectory (not epochs: a longer run extends a shorter one)."""
        drop = ("epochs", "checkpoint_every", "threads", "compile_cache")
        keep = {k: v for k, v in asdict(self).items() if k not in drop}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def make_adam(params, lr: float) -> torch.optim.Adam:
    """Adam with the fused kernel: one kernel for all parameters instead of a dozen per tensor.

    Measured 2.5 vs 3.3 ms per step for the 8-Gaussians MLP on 2 CPU cores (benchmarks/README.md);
    deterministic like the default, but not bit-identical to it.
    """
    return torch.optim.Adam(params, lr=lr, fused=True)


def stream_seeds(seed: int) -> tuple[int, int]:
    """Two independent seeds (data order, noise) from one run seed."""
    a, b = np.random.SeedSequence(int(seed)).generate_state(2)
    return int(a), int(b)


def checked_training_data(x: torch.Tensor, device) -> torch.Tensor:
    """On the device as float32; an empty or non-finite training set stops the run before epoch 1."""
    x = x.to(device, torch.float32)
    if x.shape[0] == 0:
        raise ValueError("the training set is empty")
    if not torch.isfinite(x).all():
        raise ValueError("the training data contain NaN or infinite values")
    return x


class EpochLoop:
    """The epoch loop shared by every trainer; a subclass supplies the step and its optimiser state.

    Subclasses implement ``_train_epoch`` (one pass over the data, returning each seed's mean
    loss parts) and ``_step_state``/``_load_step_state`` (one seed's share of what the step
    keeps besides the model's weights: the optimiser, stacked copies), for its checkpoint;
    ``_sync_models`` copies trained weights into ``models``.
    """

    kind = "single"  # recorded in checkpoints: a seed block's checkpoint never resumes a single run
    free_fields: tuple[str, ...] = ("seed",)  # the config fields in which a block's runs may differ

    def __init__(
        self,
        models: Sequence[VAE],
        configs: Sequence[TrainConfig],
        checkpoint_paths: Sequence[str | Path | None] | None = None,
        label_seeds: bool = False,
    ):
        if not models or len(models) != len(configs):
            raise ValueError(f"{len(models)} models for {len(configs)} configs")
        free = self.free_fields
        shared = {name: value for name, value in configs[0].__dict__.items() if name not in free}
        for config in configs[1:]:
            if {name: value for name, value in config.__dict__.items() if name not in free} != shared:
                raise ValueError(f"a block's runs may differ only in {', '.join(free)}")
        configure_runtime(configs[0].threads, configs[0].deterministic)
        self.device = resolve_device(configs[0].device)
        # "auto" becomes what this machine runs, so a checkpoint's identity names it
        resolved = {
            "precision": resolve_precision(configs[0].precision, self.device, models[0].spec.family),
            "compile": resolve_compile(configs[0].compile, self.device),
            "memory_format": resolve_memory_format(configs[0].memory_format, self.device, models[0].spec.family),
        }
        self.configs = [replace(config, **resolved) for config in configs]
        self.config = self.configs[0]
        self.models = [m.to(self.device) for m in models]
        self.checkpoint_paths = [Path(p) if p else None for p in (checkpoint_paths or [None] * len(models))]
        self.label_seeds = label_seeds
        self.order_rngs, self.noise_rngs = [], []
        for config in self.configs:
            order_seed, noise_seed = stream_seeds(config.seed)
            self.order_rngs.append(torch.Generator(device="cpu").manual_seed(order_seed))
            self.noise_rngs.append(torch.Generator(device=self.device).manual_seed(noise_seed))
        self.epoch = 0
        self.histories: list[list[dict]] = [[] for _ in models]

    # -- the step (subclasses) ----------------------------------------------------------
    def _train_epoch(self, x_train: torch.Tensor, rosetta: RosettaLoss | None) -> list[list[float]]:
        raise NotImplementedError

    def _step_state(self, i: int) -> dict:
        raise NotImplementedError

    def _load_step_state(self, i: int, state: dict) -> None:
        raise NotImplementedError

    def _sync_models(self) -> None:
        """Make ``models`` hold the trained weights (a no-op when the step trains them in place)."""

    def _epoch_batches(self, n: int) -> range:
        """Where each step's batch starts in the epoch's permutation: one pass, or the first
        ``steps_per_epoch`` batches of it (each epoch draws a fresh permutation, so every point
        has the same chance of being seen)."""
        cfg = self.config
        passes = -(-n // cfg.batch_size)
        steps = passes if cfg.steps_per_epoch is None else int(cfg.steps_per_epoch)
        if steps > passes:
            raise ValueError(
                f"steps_per_epoch = {steps} needs more than one pass over {n} points in batches of {cfg.batch_size} "
                f"({passes} steps); lower it or the batch size"
            )
        return range(0, min(n, steps * cfg.batch_size), cfg.batch_size)

    # -- checkpoints (one per seed, so each seed can resume on its own) -----------------
    def _say(self, i: int, message: str) -> None:
        log.info(f"seed {self.configs[i].seed} {message}" if self.label_seeds else message)

    def save_checkpoints(self, data_id: str) -> None:
        self._sync_models()
        for i, path in enumerate(self.checkpoint_paths):
            if path is None:
                continue
            state = {
                "kind": self.kind,
                "config_identity": self.configs[i].identity(),
                "data_identity": data_id,
                "epoch": self.epoch,
                "model": self.models[i].state_dict(),
                "step": self._step_state(i),
                "order_rng": self.order_rngs[i].get_state(),
                "noise_rng": self.noise_rngs[i].get_state().cpu(),
                "history": self.histories[i],
            }
            write_checkpoint(path, state)

    def try_resume(self, data_id: str) -> bool:
        """Resume when every seed has a valid checkpoint, all at the same epoch; say why if not."""
        states = []
        for i, path in enumerate(self.checkpoint_paths):
            if path is None or not path.exists():
                return False
            state = read_checkpoint(path, self.configs[i], data_id, self.kind)
            if state is None:
                return False
            states.append(state)
        if len({s["epoch"] for s in states}) != 1:
            log.info("the block's checkpoints are at different epochs; starting the block afresh")
            return False
        for i, state in enumerate(states):
            self.models[i].load_state_dict(state["model"])
            self._load_step_state(i, state["step"])
            self.order_rngs[i].set_state(state["order_rng"])
            self.noise_rngs[i].set_state(state["noise_rng"].to(self.noise_rngs[i].get_state().device))
            self.histories[i] = list(state["history"])
        self.epoch = int(states[0]["epoch"])
        for i, path in enumerate(self.checkpoint_paths):
            self._say(i, f"resumed from checkpoint {path} at epoch {self.epoch}/{self.config.epochs}")
        return True

    # -- the loop ----------------------------------------------------------------------
    def fit(
        self,
        x_train: torch.Tensor,
        rosetta: RosettaLoss | None = None,
        x_val: torch.Tensor | None = None,
        stop: Callable[[list[dict]], bool] | None = None,
    ) -> list[list[dict]]:
        """Train to ``config.epochs``, or until ``stop(history)`` says so after an epoch (every
        seed's); returns each seed's per-epoch history. A resumed run asks ``stop`` again."""
        x_train = checked_training_data(x_train, self.device)
        rosetta = rosetta.to(self.device) if rosetta is not None else None
        x_val = x_val.to(self.device, torch.float32) if x_val is not None else None
        data_id = data_identity(x_train, rosetta)
        start = time.perf_counter()
        try:
            self._set_memory_format(self.config.memory_format)  # resolved, as precision and compile
            self._fit_epochs(x_train, rosetta, x_val, stop, data_id)
        finally:  # also on a failure: what a saved and reloaded model has, so embeddings agree bit for bit
            self._set_memory_format("contiguous")
        # the span a job spends training: its benchmark's seconds minus these are its fixed cost
        # (benchmarks/job_overhead.py)
        runs = f"{len(self.models)} runs" if len(self.models) > 1 else "1 run"
        log.info(f"training span: {runs} to epoch {self.epoch} in {time.perf_counter() - start:.3f} s")
        for model in self.models:
            model.eval()
        return self.histories

    def _fit_epochs(self, x_train, rosetta, x_val, stop, data_id) -> None:
        cfg = self.config
        self.try_resume(data_id)
        n = x_train.shape[0]
        seen = min(n, self._epoch_batches(n).stop)  # points per epoch, and a bad steps_per_epoch fails here
        stopped = stop is not None and self.epoch > 0 and all(stop(h) for h in self.histories)
        while self.epoch < cfg.epochs and not stopped:
            start = time.perf_counter()
            means = self._train_epoch(x_train, rosetta)
            seconds = time.perf_counter() - start
            self.epoch += 1
            self._sync_models()
            for i, seed_means in enumerate(means):
                seed = self.configs[i].seed
                if not np.all(np.isfinite(seed_means)):
                    raise TrainingDiverged(
                        f"loss became non-finite (loss={seed_means[0]}) in epoch {self.epoch} of seed {seed}; "
                        f"lower the learning rate or check the data; nothing was saved for this epoch"
                    )
                record = epoch_record(self.epoch, seed_means, seconds, seen * len(self.models), cfg.precision, cfg.memory_format)
                if x_val is not None:
                    val = evaluate(self.models[i], x_val, rosetta, cfg.obs_precision, seed=seed)
                    record.update({f"val_{key}": value for key, value in val.items()})
                self.histories[i].append(record)
                self._say(i, format_epoch(record, cfg.epochs))
            stopped = stop is not None and all(stop(h) for h in self.histories)
            if self.epoch % cfg.checkpoint_every == 0 or self.epoch == cfg.epochs or stopped:
                self.save_checkpoints(data_id)

    def _set_memory_format(self, name: str) -> None:
        """Lay the models' weights out as ``name``; the Parameters stay the same objects (the
        optimiser keeps them), and a no-op for layouts that do not apply (the MLP's 2-D weights)."""
        for model in self.models:
            model.to(memory_format=torch_memory_format(name))


class Trainer(EpochLoop):
    """Adam on one model; ``fit`` returns the per-epoch history."""

    def __init__(
        self, model: VAE, config: TrainConfig, checkpoint_path: str | Path | None = None, label_seed: bool = False
    ):
        super().__init__([model], [config], [checkpoint_path], label_seed)
        self.model = self.models[0]
        self.optimizer = make_adam(self.model.parameters(), config.lr)
        self._loss = compiled(batch_loss, self.config)

    @property
    def history(self) -> list[dict]:
        return self.histories[0]

    def _train_epoch(self, x_train, rosetta):
        cfg, model, n = self.config, self.model, x_train.shape[0]
        model.train()
        order = torch.randperm(n, generator=self.order_rngs[0]).to(self.device)
        sums = torch.zeros(4, device=self.device, dtype=torch.float64)
        batches = self._epoch_batches(n)
        for first in batches:
            idx = order[first : first + cfg.batch_size]
            batch = x_train.index_select(0, idx)
            eps = torch.randn(batch.shape[0], model.latent_dim, generator=self.noise_rngs[0], device=self.device)
            parts = self._loss(model, batch, eps, cfg.beta, cfg.obs_precision, rosetta, cfg.rho, cfg.precision)
            self.optimizer.zero_grad(set_to_none=True)
            parts.total.backward()
            self.optimizer.step()
            weight = batch.shape[0]
            sums += torch.stack([parts.total, parts.recon, parts.kl, parts.rosetta]).detach().double() * weight
        return [(sums / min(n, batches.stop)).tolist()]

    def _set_memory_format(self, name: str) -> None:
        """The weights and Adam's moments together: the fused kernel takes strides as given, and a
        moment laid out unlike its weight would pair the wrong elements."""
        super()._set_memory_format(name)
        layout = torch_memory_format(name)
        for state in self.optimizer.state.values():
            for key, value in state.items():
                if isinstance(value, torch.Tensor) and value.dim() == 4:
                    state[key] = value.contiguous(memory_format=layout)

    def _step_state(self, i: int) -> dict:
        return self.optimizer.state_dict()

    def _load_step_state(self, i: int, state: dict) -> None:
        self.optimizer.load_state_dict(state)

    def fit(self, x_train, rosetta=None, x_val=None, stop=None) -> list[dict]:
        return super().fit(x_train, rosetta=rosetta, x_val=x_val, stop=stop)[0]


def train_vae(
    spec: ArchitectureSpec,
    config: TrainConfig,
    x_train: torch.Tensor,
    x_val: torch.Tensor | None = None,
    rosetta: RosettaLoss | None = None,
    checkpoint: str | Path | None = None,
    stop: Callable[[list[dict]], bool] | None = None,
) -> tuple[VAE, list[dict]]:
    """Build the seeded model and train it: the one path every template, run and sweep takes."""
    model = build_vae(spec, seed=config.seed)
    history = Trainer(model, config, checkpoint).fit(x_train, rosetta=rosetta, x_val=x_val, stop=stop)
    return model, history


def compiled(step: Callable, config: TrainConfig) -> Callable:
    """``step`` through ``torch.compile`` when the (resolved) config says so, with inductor's
    on-disk cache in ``config.compile_cache``: the jobs of a run compile each graph once; a
    missing or stale cache only costs compile time."""
    if config.compile != "on":
        return step
    if config.compile_cache:
        import os

        Path(config.compile_cache).mkdir(parents=True, exist_ok=True)
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(Path(config.compile_cache).resolve())
    if config.deterministic:
        import torch._inductor.config as inductor

        # no autotuning by timing: the kernels chosen, and so the numbers, must not vary by run
        inductor.deterministic = True
    return torch.compile(step)


def epoch_record(
    epoch: int, means, seconds: float, samples: int, precision: str = "fp32", memory_format: str = "contiguous"
) -> dict:
    """One history row: the epoch's mean loss terms (total, recon, KL, anchor), its speed and
    the arithmetic and layout it ran in."""
    return {
        "epoch": epoch,
        "loss": means[0],
        "recon": means[1],
        "kl": means[2],
        "rosetta": means[3],
        "seconds": seconds,
        "samples_per_s": samples / seconds if seconds > 0 else float("inf"),
        "precision": precision,
        "memory_format": memory_format,
    }


def format_epoch(record: dict, epochs: int) -> str:
    """One plain log line per epoch (no progress bars in log files)."""
    fields = " ".join(
        f"{key}={value:.6g}"
        for key, value in record.items()
        if key not in ("epoch", "seconds", "samples_per_s", "precision", "memory_format")
    )
    return (
        f"epoch {record['epoch']}/{epochs} {fields} "
        f"seconds={record['seconds']:.3f} samples_per_s={record['samples_per_s']:.0f} precision={record['precision']}"
    )
