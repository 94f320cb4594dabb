"""Device, thread and determinism settings, decided once from config."""

from __future__ import annotations

import os

import torch

DEVICE_CHOICES = ("cpu", "cuda", "auto")


def resolve_device(name: str) -> torch.device:
    """Turn a config value (``cpu``, ``cuda``, ``cuda:N``, ``auto``) into a torch device.

    ``cuda`` on a machine without a GPU is an error rather than a silent CPU fallback, so a
    workstation run that asked for a GPU never quietly takes days on the CPU.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {name!r} was requested in config but torch sees no CUDA device "
                f"(torch {torch.__version__}); set device: cpu or auto, or install a CUDA build"
            )
        return torch.device(name)
    raise ValueError(f"device must be one of {DEVICE_CHOICES} (or cuda:N), got {name!r}")


def configure_runtime(threads: int | None = None, deterministic: bool = True) -> None:
    """Match torch's thread pool to the job's share of cores and pin down nondeterminism.

    Snakemake gives each job ``threads`` cores; torch would otherwise take every core and
    several concurrent jobs would oversubscribe the machine.
    """
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))
    if deterministic:
        # cuBLAS needs a fixed workspace for deterministic matmuls; harmless on CPU.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
