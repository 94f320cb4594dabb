"""Training loop: resident tensors, seeded RNG streams, atomic checkpoints, exact resume.

A run's randomness comes from two generators of its own (data order, reparameterisation
noise) seeded from ``TrainConfig.seed``; the global RNG is never used. Their states are saved
in each checkpoint with the model and the optimiser, so a run killed after a checkpoint and
resumed ends bit-identical to an uninterrupted one on CPU.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from rvae.atomic import atomic_path
from rvae.device import configure_runtime, resolve_device
from rvae.losses import RosettaLoss, batch_loss, gaussian_nll, kl_full_covariance
from rvae.models import VAE

CHECKPOINT_FORMAT = 1


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; nothing from this run should be saved."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int = 64
    lr: float = 1e-3
    beta: float = 1.0
    rho: float = 0.0
    obs_precision: float = 10.0
    seed: int = 0
    checkpoint_every: int = 10
    device: str = "cpu"
    threads: int | None = None
    deterministic: bool = True

    def __post_init__(self):
        for name in ("epochs", "batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("beta", "rho", "lr", "obs_precision"):
            value = float(getattr(self, name))
            if not np.isfinite(value) or value < 0 or (name in ("lr", "obs_precision") and value == 0):
                raise ValueError(f"{name} must be a finite number > 0 (>= 0 for beta, rho), got {value}")

    def identity(self) -> str:
        """Hash of everything that changes the trajectory (not epochs: a longer run extends a shorter one)."""
        keep = {k: v for k, v in asdict(self).items() if k not in ("epochs", "checkpoint_every", "threads")}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def make_adam(params, lr: float) -> torch.optim.Adam:
    """Adam with the fused kernel: one kernel for all parameters instead of a dozen per tensor.

    Measured 2.5 vs 3.3 ms per step for the 8-Gaussians MLP on 2 CPU cores (benchmarks/README.md);
    deterministic like the default, but not bit-identical to it.
    """
    return torch.optim.Adam(params, lr=lr, fused=True)


def _stream_seeds(seed: int) -> tuple[int, int]:
    """Two independent seeds (data order, noise) from one run seed."""
    a, b = np.random.SeedSequence(int(seed)).generate_state(2)
    return int(a), int(b)


def read_checkpoint(path: Path, config: TrainConfig, data_id: str, kind: str, log) -> dict | None:
    """A checkpoint's state if it belongs to this config, data and kind of run; else None, saying why.

    A corrupt or foreign checkpoint costs epochs, never the run.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        log(f"checkpoint {path} is unreadable ({type(err).__name__}: {err}); starting afresh")
        return None
    if (
        state.get("format") != CHECKPOINT_FORMAT
        or state.get("kind", "single") != kind
        or state.get("config_identity") != config.identity()
    ):
        log(f"checkpoint {path} was written for another configuration; starting afresh")
        return None
    if state.get("data_identity") != data_id:
        log(f"checkpoint {path} was written for other training data; starting afresh")
        return None
    if state["epoch"] > config.epochs:
        log(f"checkpoint {path} is past the configured {config.epochs} epochs; starting afresh")
        return None
    return state


def checked_training_data(x: torch.Tensor, device) -> torch.Tensor:
    """On the device as float32; an empty or non-finite training set stops the run before epoch 1."""
    x = x.to(device, torch.float32)
    if x.shape[0] == 0:
        raise ValueError("the training set is empty")
    if not torch.isfinite(x).all():
        raise ValueError("the training data contain NaN or infinite values")
    return x


def _data_identity(x: torch.Tensor, rosetta: RosettaLoss | None) -> str:
    """Cheap fingerprint of the training data, so a checkpoint is never resumed on other data."""
    parts = [tuple(x.shape), float(x.double().sum()), float(x[:: max(1, x.shape[0] // 97)].double().pow(2).sum())]
    if rosetta is not None:
        parts += [tuple(rosetta.x_r.shape), float(rosetta.x_r.double().sum()), float(rosetta.z_r.double().sum())]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


class Trainer:
    """Adam on one model; ``fit`` returns the per-epoch history."""

    def __init__(
        self,
        model: VAE,
        config: TrainConfig,
        checkpoint_path: str | Path | None = None,
        log: Callable[[str], None] = print,
    ):
        configure_runtime(config.threads, config.deterministic)
        self.config = config
        self.device = resolve_device(config.device)
        self.model = model.to(self.device)
        self.optimizer = make_adam(self.model.parameters(), config.lr)
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.log = log
        order_seed, noise_seed = _stream_seeds(config.seed)
        self.order_rng = torch.Generator(device="cpu").manual_seed(order_seed)
        self.noise_rng = torch.Generator(device=self.device).manual_seed(noise_seed)
        self.epoch = 0
        self.history: list[dict] = []

    # -- checkpoints -------------------------------------------------------------------
    def _state(self, data_id: str) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "config_identity": self.config.identity(),
            "data_identity": data_id,
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "order_rng": self.order_rng.get_state(),
            "noise_rng": self.noise_rng.get_state().cpu(),
            "history": self.history,
        }

    def save_checkpoint(self, data_id: str) -> None:
        if self.checkpoint_path is None:
            return
        with atomic_path(self.checkpoint_path) as tmp:
            torch.save(self._state(data_id), tmp)

    def try_resume(self, data_id: str) -> bool:
        """Resume from the checkpoint if it belongs to this config and data; say why if not."""
        path = self.checkpoint_path
        if path is None or not path.exists():
            return False
        state = read_checkpoint(path, self.config, data_id, "single", self.log)
        if state is None:
            return False
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.order_rng.set_state(state["order_rng"])
        self.noise_rng.set_state(state["noise_rng"].to(self.noise_rng.get_state().device))
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])
        self.log(f"resumed from checkpoint {path} at epoch {self.epoch}/{self.config.epochs}")
        return True

    # -- training ----------------------------------------------------------------------
    def fit(
        self,
        x_train: torch.Tensor,
        rosetta: RosettaLoss | None = None,
        x_val: torch.Tensor | None = None,
    ) -> list[dict]:
        cfg = self.config
        x_train = checked_training_data(x_train, self.device)
        if rosetta is not None:
            rosetta = rosetta.to(self.device)
        if x_val is not None:
            x_val = x_val.to(self.device, torch.float32)
        data_id = _data_identity(x_train, rosetta)
        self.try_resume(data_id)
        n, k = x_train.shape[0], self.model.latent_dim

        while self.epoch < cfg.epochs:
            self.model.train()
            start = time.perf_counter()
            order = torch.randperm(n, generator=self.order_rng).to(self.device)
            sums = torch.zeros(4, device=self.device, dtype=torch.float64)
            for first in range(0, n, cfg.batch_size):
                idx = order[first : first + cfg.batch_size]
                batch = x_train.index_select(0, idx)
                eps = torch.randn(batch.shape[0], k, generator=self.noise_rng, device=self.device)
                parts = batch_loss(self.model, batch, eps, cfg.beta, cfg.obs_precision, rosetta)
                self.optimizer.zero_grad(set_to_none=True)
                parts.total.backward()
                self.optimizer.step()
                weight = batch.shape[0]
                sums += torch.stack([parts.total, parts.recon, parts.kl, parts.rosetta]).detach().double() * weight
            means = (sums / n).tolist()
            seconds = time.perf_counter() - start
            self.epoch += 1
            if not np.all(np.isfinite(means)):
                raise TrainingDiverged(
                    f"loss became non-finite (loss={means[0]}) in epoch {self.epoch} of seed {cfg.seed}; "
                    f"lower the learning rate or check the data; nothing was saved for this epoch"
                )
            record = epoch_record(self.epoch, means, seconds, n)
            if x_val is not None:
                val = evaluate(self.model, x_val, rosetta, cfg.obs_precision, seed=cfg.seed)
                record.update({f"val_{key}": value for key, value in val.items()})
            self.history.append(record)
            self.log(format_epoch(record, cfg.epochs))
            if self.epoch % cfg.checkpoint_every == 0 or self.epoch == cfg.epochs:
                self.save_checkpoint(data_id)
        self.model.eval()
        return self.history


def epoch_record(epoch: int, means, seconds: float, samples: int) -> dict:
    """One history row: the epoch's mean loss terms (total, recon, KL, anchor) and its speed."""
    return {
        "epoch": epoch,
        "loss": means[0],
        "recon": means[1],
        "kl": means[2],
        "rosetta": means[3],
        "seconds": seconds,
        "samples_per_s": samples / seconds if seconds > 0 else float("inf"),
    }


def format_epoch(record: dict, epochs: int) -> str:
    """One plain log line per epoch (no progress bars in log files)."""
    fields = " ".join(
        f"{key}={value:.6g}" for key, value in record.items() if key not in ("epoch", "seconds", "samples_per_s")
    )
    return (
        f"epoch {record['epoch']}/{epochs} {fields} "
        f"seconds={record['seconds']:.3f} samples_per_s={record['samples_per_s']:.0f}"
    )


@torch.no_grad()
def evaluate(
    model: VAE,
    x: torch.Tensor,
    rosetta: RosettaLoss | None = None,
    obs_precision: float = 10.0,
    seed: int = 0,
    batch_size: int = 1024,
) -> dict:
    """Validation yardsticks: negative ELBO at beta = 1 and the unweighted Rosetta anchor error.

    The noise is drawn from a generator of its own, so evaluating never perturbs training.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rng = torch.Generator(device=device).manual_seed(int(seed) + 7919)
    recon_sum = kl_sum = 0.0
    for first in range(0, x.shape[0], batch_size):
        batch = x[first : first + batch_size].to(device, torch.float32)
        eps = torch.randn(batch.shape[0], model.latent_dim, generator=rng, device=device)
        mean, mu, scale = model(batch, eps)
        recon = gaussian_nll(batch, mean, obs_precision)
        kl = kl_full_covariance(mu, scale)
        recon_sum += float(recon.sum())
        kl_sum += float(kl.sum())
    n = max(1, x.shape[0])
    total = (recon_sum + kl_sum) / n
    out = {"neg_elbo": total, "recon": recon_sum / n, "kl": kl_sum / n}
    if rosetta is not None:
        out["anchor_error"] = float(rosetta.anchor_error(model))
        out["selection_score"] = total + out["anchor_error"]
    else:
        out["selection_score"] = total
    model.train(was_training)
    return out


@torch.no_grad()
def encode_means(model: VAE, x, batch_size: int = 1024, device: str | torch.device | None = None) -> np.ndarray:
    """Posterior means of every row of ``x`` (numpy or tensor), as a float32 (N, k) array."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(device).eval()
    out = []
    for first in range(0, len(x), batch_size):
        chunk = x[first : first + batch_size]
        if not isinstance(chunk, torch.Tensor):  # numpy or a read-only memory map: copy the chunk
            chunk = torch.from_numpy(np.array(chunk, dtype=np.float32))
        mu, _ = model.encode(chunk.to(device, torch.float32))
        out.append(mu.cpu().numpy())
    if not out:
        return np.zeros((0, model.latent_dim), dtype=np.float32)
    return np.concatenate(out).astype(np.float32)
