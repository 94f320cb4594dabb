"""The training loop: resident tensors, seeded RNG streams, atomic checkpoints, exact resume.

A run trains *until U*: U a number of optimiser steps (the budget its dataset's joint template
set), or the plateau rule (``rvae.convergence``), which the joint template and a lab without one
train by. Steps are the unit; epochs only say how the data order wraps: each pass over the data
draws a fresh permutation from the run's own stream, and a run may stop part-way through one.

One loop (:class:`TrainingLoop`) serves every trainer: it resumes, runs the steps, stops on a
non-finite loss, validates every ``rule.eval_every`` steps, keeps the history and checkpoints
each seed. A trainer supplies only its step: :class:`Trainer` trains one model;
``rvae.ensemble.SeedBlockTrainer`` trains a block of seeds as one batched computation.

A run's randomness comes from two generators of its own (data order, reparameterisation
noise) seeded from ``TrainConfig.seed``; the global RNG is never used. Their states, and where
the run is in its current permutation, are saved in each checkpoint with the model and the
optimiser, so a run killed after a checkpoint and resumed ends bit-identical to an
uninterrupted one on CPU.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from rvae.checkpoints import data_identity, read_checkpoint, write_checkpoint
from rvae import defaults
from rvae.convergence import PLATEAU, PlateauRule, judged_curve, plateau_step
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

    # what the run trains until: a number of optimiser steps, or "plateau" (the rule below, capped
    # at its max_steps). Part of the identity: a checkpoint trained under another budget or rule
    # is never resumed as this run
    until: int | str
    batch_size: int = defaults.BATCH_SIZE  # points per optimisation step (the last batch of a pass may be smaller)
    lr: float = defaults.LR  # Adam's learning rate
    beta: float = 1.0  # weight of the KL term (1: VAE, > 1: beta-VAE)
    rho: float = 0.0  # weight of the Rosetta anchor term (R-VAE); unused without Rosetta points
    obs_precision: float = defaults.OBS_PRECISION  # precision of the Gaussian decoder, 1 / sigma^2 (spec, "Losses")
    seed: int = 0  # initial weights come from build_vae(seed); data order and noise from this seed's streams
    # the validation grid (eval_every) and the plateau rule: where a run stops under "plateau",
    # and by which every run is judged converged on its own curve
    rule: PlateauRule = field(default_factory=PlateauRule)
    checkpoint_every: int = defaults.CHECKPOINT_EVERY  # optimiser steps between checkpoints (and always after the last); no effect on results
    device: str = defaults.DEVICE  # cpu, cuda, cuda:N or auto (rvae.device.resolve_device)
    threads: int | None = None  # torch's CPU threads; None leaves torch's choice; no effect on results
    deterministic: bool = defaults.DETERMINISTIC  # deterministic kernels (rvae.device.configure_runtime)
    # fp32, bf16 (autocast, fp32 weights and sums) or auto (bf16 where native and measured to pay;
    # rvae.device.resolve_precision); the trainer resolves it, so identities name fp32 or bf16
    precision: str = defaults.PRECISION
    # torch.compile the training step: on, off, or auto (on for CUDA only: on 2 CPU cores it paid
    # 1.0-1.14x per step at the default's batch sizes for 13-25 s of compiling per graph, benchmarks/README.md)
    compile: str = defaults.COMPILE
    compile_cache: str | None = None  # inductor's on-disk cache, shared by a run's jobs; no effect on results
    # layout of the convolutions while training: channels_last, contiguous, or auto (channels_last for
    # the AVA net on a CPU, where it paid 1.14-1.23x; rvae.device.resolve_memory_format). The same
    # arithmetic in another order, so it is part of the identity; trained models come back contiguous
    memory_format: str = defaults.MEMORY_FORMAT
    # keep the weights at this step too (the half budget, spec "Where no plateau comes"): the
    # weights a run of that many steps would end with, since a run is a function of its seed and
    # step count. Part of the identity: a checkpoint written without the snapshot never resumes
    # a run that needs one
    snapshot_step: int | None = None

    def __post_init__(self):
        if self.precision not in PRECISION_CHOICES:
            raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {self.precision!r}")
        if self.compile not in COMPILE_CHOICES:
            raise ValueError(f"compile must be one of {COMPILE_CHOICES}, got {self.compile!r}")
        if self.memory_format not in MEMORY_FORMAT_CHOICES:
            raise ValueError(f"memory_format must be one of {MEMORY_FORMAT_CHOICES}, got {self.memory_format!r}")
        if isinstance(self.rule, dict):
            object.__setattr__(self, "rule", PlateauRule(**self.rule))
        if self.until != PLATEAU and not (isinstance(self.until, (int, np.integer)) and not isinstance(self.until, bool) and self.until >= 1):
            raise ValueError(f"until must be a number of steps >= 1 or {PLATEAU!r}, got {self.until!r}")
        if self.snapshot_step is not None:
            if self.until == PLATEAU:
                raise ValueError("snapshot_step needs a number of steps to train, not until='plateau'")
            if not (isinstance(self.snapshot_step, (int, np.integer)) and not isinstance(self.snapshot_step, bool) and 1 <= self.snapshot_step < int(self.until)):
                raise ValueError(f"snapshot_step must be a step in 1..{int(self.until) - 1}, got {self.snapshot_step!r}")
        for name in ("batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("beta", "rho", "lr", "obs_precision"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value < 0 or (name in ("lr", "obs_precision") and value == 0):
                raise ValueError(f"{name} must be a finite number > 0 (>= 0 for beta, rho), got {value}")

    @property
    def max_steps(self) -> int:
        """The steps the run takes at most: its budget, or the rule's cap."""
        return self.rule.max_steps if self.until == PLATEAU else int(self.until)

    def identity(self) -> str:
        """Hash of everything that decides the run: its trajectory, its budget and its rule."""
        drop = ("checkpoint_every", "threads", "compile_cache")
        keep = {k: v for k, v in asdict(self).items() if k not in drop}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def half_budget(steps: int) -> int | None:
    """The step whose weights stand for a half-size budget, ``floor(S/2)`` (None when ``S < 2``)."""
    return int(steps) // 2 if int(steps) >= 2 else None


def _seed_data_id(data_id: str | Sequence[str], i: int) -> str:
    return data_id if isinstance(data_id, str) else data_id[i]


def steps_for_passes(passes: int, n: int, batch_size: int) -> int:
    """The optimiser steps of ``passes`` passes over ``n`` points in batches of ``batch_size``
    (the last batch of a pass may be short): how a budget given in epochs becomes steps."""
    return int(passes) * -(-int(n) // int(batch_size))


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


class TrainingLoop:
    """The step loop shared by every trainer; a subclass supplies the step and its optimiser state.

    Subclasses implement ``_step`` (one optimiser step of every model on its batch, returning
    each model's loss parts) and ``_step_state``/``_load_step_state`` (one seed's share of what
    the step keeps besides the model's weights: the optimiser, stacked copies), for its
    checkpoint; ``_sync_models`` copies trained weights into ``models``.
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
        self.step = 0
        # the current pass over the data: each seed's permutation, how far into it, how many drawn
        self.orders: list[torch.Tensor] | None = None
        self.cursor = 0
        self.passes = 0
        self.histories: list[list[dict]] = [[] for _ in models]
        self.plateau_steps: list[int | None] = [None for _ in models]  # where the rule first held
        self.snapshots: list[dict | None] = [None for _ in models]  # each seed's weights at config.snapshot_step

    # -- the step (subclasses) ----------------------------------------------------------
    def _step(self, x_train: torch.Tensor, idx: list[torch.Tensor], eps: list[torch.Tensor], rosetta) -> torch.Tensor:
        """One optimiser step of every model on its batch ``x_train[idx[i]]`` with noise ``eps[i]``;
        returns the (models, 4) loss parts (total, recon, KL, anchor) of the step."""
        raise NotImplementedError

    def _step_state(self, i: int) -> dict:
        raise NotImplementedError

    def _load_step_state(self, i: int, state: dict) -> None:
        raise NotImplementedError

    def _sync_models(self) -> None:
        """Make ``models`` hold the trained weights (a no-op when the step trains them in place)."""

    def _train_mode(self) -> None:
        for model in self.models:
            model.train()

    # -- data order: passes wrap, a run may stop part-way through one ------------------
    def _next_batch(self, n: int) -> list[torch.Tensor]:
        """Each seed's indices for the next step; a fresh permutation from its order stream at the
        start of every pass over the ``n`` points (the last batch of a pass may be smaller)."""
        if self.orders is None or self.cursor >= n:
            self.orders = [torch.randperm(n, generator=g).to(self.device) for g in self.order_rngs]
            self.cursor = 0
            self.passes += 1
        first = self.cursor
        self.cursor = min(n, first + self.config.batch_size)
        return [order[first : self.cursor] for order in self.orders]

    def _train_steps(self, x_train: torch.Tensor, rosetta, count: int) -> tuple[list[list[float]], int]:
        """``count`` steps; each seed's loss parts averaged over the points they saw, and that count."""
        self._train_mode()
        n, k = x_train.shape[0], self.models[0].latent_dim
        sums = torch.zeros(len(self.models), 4, device=self.device, dtype=torch.float64)
        seen = 0
        for _ in range(count):
            idx = self._next_batch(n)
            size = idx[0].shape[0]
            eps = [torch.randn(size, k, generator=g, device=self.device) for g in self.noise_rngs]
            parts = self._step(x_train, idx, eps, rosetta)
            sums += parts.detach().double() * size
            seen += size
        return (sums / seen).tolist(), seen

    # -- checkpoints (one per seed, so each seed can resume on its own) -----------------
    def _say(self, i: int, message: str, progress: dict | None = None) -> None:
        """A plain log line; ``progress`` (a history row with the run's target) rides along for a
        terminal display (``rvae train``)."""
        extra = {"progress": progress} if progress is not None else None
        log.info(f"seed {self.configs[i].seed} {message}" if self.label_seeds else message, extra=extra)

    def save_checkpoints(self, data_id: str | Sequence[str]) -> None:
        """Each seed's checkpoint; ``data_id`` is the data's identity, or one per seed (a pool)."""
        self._sync_models()
        for i, path in enumerate(self.checkpoint_paths):
            if path is None:
                continue
            state = {
                "kind": self.kind,
                "config_identity": self.configs[i].identity(),
                "data_identity": _seed_data_id(data_id, i),
                "step": self.step,
                "model": self.models[i].state_dict(),
                "step_state": self._step_state(i),
                "order_rng": self.order_rngs[i].get_state(),
                "noise_rng": self.noise_rngs[i].get_state().cpu(),
                "order": None if self.orders is None else self.orders[i].cpu(),
                "cursor": self.cursor,
                "passes": self.passes,
                "history": self.histories[i],
                "snapshot": self.snapshots[i],
            }
            write_checkpoint(path, state)

    def try_resume(self, data_id: str | Sequence[str]) -> bool:
        """Resume when every seed has a valid checkpoint, all at the same step; say why if not."""
        states = []
        for i, path in enumerate(self.checkpoint_paths):
            if path is None or not path.exists():
                return False
            state = read_checkpoint(path, self.configs[i], _seed_data_id(data_id, i), self.kind)
            if state is None:
                return False
            states.append(state)
        if len({s["step"] for s in states}) != 1:
            log.info("the block's checkpoints are at different steps; starting the block afresh")
            return False
        for i, state in enumerate(states):
            self.models[i].load_state_dict(state["model"])
            self._load_step_state(i, state["step_state"])
            self.order_rngs[i].set_state(state["order_rng"])
            self.noise_rngs[i].set_state(state["noise_rng"].to(self.noise_rngs[i].get_state().device))
            self.histories[i] = list(state["history"])
            self.snapshots[i] = state.get("snapshot")
        self.step = int(states[0]["step"])
        self.cursor, self.passes = int(states[0]["cursor"]), int(states[0]["passes"])
        self.orders = None if states[0]["order"] is None else [s["order"].to(self.device) for s in states]
        for i, path in enumerate(self.checkpoint_paths):
            self._say(i, f"resumed from checkpoint {path} at step {self.step}/{self.config.max_steps}")
        return True

    # -- the loop ----------------------------------------------------------------------
    def fit(
        self, x_train: torch.Tensor, rosetta: RosettaLoss | None = None, x_val: torch.Tensor | None = None
    ) -> list[list[dict]]:
        """Train until the config's ``until``: its steps, or every seed's plateau (by the rule,
        on the validation curve, or the training loss without ``x_val``); returns each seed's
        history, one row per ``rule.eval_every`` steps and one at the last step."""
        x_train = checked_training_data(x_train, self.device)
        rosetta = rosetta.to(self.device) if rosetta is not None else None
        x_val = x_val.to(self.device, torch.float32) if x_val is not None else None
        return self._fit(x_train, rosetta, x_val, data_identity(x_train, rosetta, x_val))

    def _fit(self, x_train, rosetta, x_val, data_id) -> list[list[dict]]:
        """``fit`` on data already checked and on the device; ``data_id`` as for the checkpoints."""
        start = time.perf_counter()
        try:
            self._set_memory_format(self.config.memory_format)  # resolved, as precision and compile
            self._fit_steps(x_train, rosetta, x_val, data_id)
        finally:  # also on a failure: what a saved and reloaded model has, so embeddings agree bit for bit
            self._set_memory_format("contiguous")
        # the span a job spends training: its benchmark's seconds minus these are its fixed cost
        # (benchmarks/job_overhead.py)
        runs = f"{len(self.models)} runs" if len(self.models) > 1 else "1 run"
        log.info(f"training span: {runs} to step {self.step} in {time.perf_counter() - start:.3f} s")
        for model in self.models:
            model.eval()
        return self.histories

    def _at_plateau(self) -> bool:
        """Under ``until = "plateau"``: has the rule held on every seed's curve?"""
        if self.config.until != PLATEAU or not all(self.histories):
            return False
        self.plateau_steps = [plateau_step(*judged_curve(h), self.config.rule) for h in self.histories]
        return all(step is not None for step in self.plateau_steps)

    def _fit_steps(self, x_train, rosetta, x_val, data_id) -> None:
        cfg = self.config
        every, target = cfg.rule.eval_every, cfg.max_steps
        self.try_resume(data_id)
        stopped = self._at_plateau()
        saved = self.step
        snap = cfg.snapshot_step
        if snap is not None and self.step > snap and any(s is None for s in self.snapshots):
            raise RuntimeError(f"resumed at step {self.step} past the snapshot step {snap} without the snapshot")
        while self.step < target and not stopped:
            count = min(every - self.step % every, target - self.step)
            if snap is not None and self.step < snap:
                count = min(count, snap - self.step)  # a history row, and the snapshot, at exactly that step
            start = time.perf_counter()
            means, seen = self._train_steps(x_train, rosetta, count)
            seconds = time.perf_counter() - start
            self.step += count
            self._sync_models()
            for i, seed_means in enumerate(means):
                seed = self.configs[i].seed
                if not np.all(np.isfinite(seed_means)):
                    raise TrainingDiverged(
                        f"loss became non-finite (loss={seed_means[0]}) by step {self.step} of seed {seed}; "
                        f"lower the learning rate or check the data; nothing was saved for these steps"
                    )
                passes = self._passes(i, x_train.shape[0])
                record = history_row(self.step, passes, seed_means, seconds, seen * len(self.models), cfg.precision, cfg.memory_format)
                record.update(self._validation(i, x_val, rosetta))
                self.histories[i].append(record)
                self._say(i, format_row(record, cfg), {**record, "max_steps": target, "until": cfg.until})
            if self.step == snap:
                self.snapshots = [{name: value.detach().cpu().clone() for name, value in m.state_dict().items()} for m in self.models]
            stopped = self._at_plateau()
            if self.step // cfg.checkpoint_every > saved // cfg.checkpoint_every or self.step == target or stopped:
                self.save_checkpoints(data_id)
                saved = self.step
        if cfg.until == PLATEAU:
            for i, reached in enumerate(self.plateau_steps):
                where = f"the plateau rule held at step {reached}" if reached is not None else f"no plateau by the cap of {target} steps"
                self._say(i, where)

    def snapshot_models(self) -> list[VAE | None]:
        """Each seed's model at ``config.snapshot_step`` (None without a snapshot), contiguous, in eval mode."""
        import copy

        out = []
        for model, state in zip(self.models, self.snapshots):
            if state is None:
                out.append(None)
                continue
            half = copy.deepcopy(model)
            half.load_state_dict(state)
            half.to(memory_format=torch.contiguous_format)
            out.append(half.eval())
        return out

    def _passes(self, i: int, n: int) -> float:
        """The passes seed ``i`` has made over its ``n`` training points (fractional)."""
        return self.passes - 1 + self.cursor / n

    def _validation(self, i: int, x_val, rosetta) -> dict:
        """Seed ``i``'s validation yardsticks for its history row (none without validation data)."""
        if x_val is None:
            return {}
        val = evaluate(self.models[i], x_val, rosetta, self.config.obs_precision, seed=self.configs[i].seed)
        return {f"val_{key}": value for key, value in val.items()}

    def _set_memory_format(self, name: str) -> None:
        """Lay the models' weights out as ``name``; the Parameters stay the same objects (the
        optimiser keeps them), and a no-op for layouts that do not apply (the MLP's 2-D weights)."""
        for model in self.models:
            model.to(memory_format=torch_memory_format(name))


class Trainer(TrainingLoop):
    """Adam on one model; ``fit`` returns its history."""

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

    def _step(self, x_train, idx, eps, rosetta):
        cfg = self.config
        batch = x_train.index_select(0, idx[0])
        parts = self._loss(self.model, batch, eps[0], cfg.beta, cfg.obs_precision, rosetta, cfg.rho, cfg.precision)
        self.optimizer.zero_grad(set_to_none=True)
        parts.total.backward()
        self.optimizer.step()
        return torch.stack([parts.total, parts.recon, parts.kl, parts.rosetta])[None]

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

    def fit(self, x_train, rosetta=None, x_val=None) -> list[dict]:
        return super().fit(x_train, rosetta=rosetta, x_val=x_val)[0]


def train_vae(
    spec: ArchitectureSpec,
    config: TrainConfig,
    x_train: torch.Tensor,
    x_val: torch.Tensor | None = None,
    rosetta: RosettaLoss | None = None,
    checkpoint: str | Path | None = None,
) -> tuple[VAE, list[dict]]:
    """Build the seeded model and train it until ``config.until``: the one path every template, run and sweep takes."""
    model = build_vae(spec, seed=config.seed)
    history = Trainer(model, config, checkpoint).fit(x_train, rosetta=rosetta, x_val=x_val)
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


def history_row(
    step: int, passes: float, means, seconds: float, samples: int, precision: str = "fp32", memory_format: str = "contiguous"
) -> dict:
    """One history row: the step reached, the passes over the data so far, the mean loss terms
    (total, recon, KL, anchor) since the last row, their speed and the arithmetic and layout
    they ran in."""
    return {
        "step": int(step),
        "epoch": float(passes),
        "loss": means[0],
        "recon": means[1],
        "kl": means[2],
        "rosetta": means[3],
        "seconds": seconds,
        "samples_per_s": samples / seconds if seconds > 0 else float("inf"),
        "precision": precision,
        "memory_format": memory_format,
    }


def format_row(record: dict, config: TrainConfig) -> str:
    """One plain log line per history row (no progress bars in log files)."""
    fields = " ".join(
        f"{key}={value:.6g}"
        for key, value in record.items()
        if key not in ("step", "epoch", "seconds", "samples_per_s", "precision", "memory_format")
    )
    target = f"{config.max_steps}" + (" (cap)" if config.until == PLATEAU else "")
    return (
        f"step {record['step']}/{target} epoch={record['epoch']:.2f} {fields} "
        f"seconds={record['seconds']:.3f} samples_per_s={record['samples_per_s']:.0f} precision={record['precision']}"
    )
