"""Device, thread and determinism settings, decided once from config."""

from __future__ import annotations

import os

import torch

from functools import lru_cache

from rvae.vocabulary import BF16_FAMILIES, CHANNELS_LAST_FAMILIES, COMPILE_CHOICES, MEMORY_FORMAT_CHOICES, PRECISION_CHOICES

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
        try:
            device = torch.device(name)
        except RuntimeError:
            raise ValueError(f"device must be one of {DEVICE_CHOICES} (or cuda:N), got {name!r}") from None
        if not torch.cuda.is_available():
            raise DeviceUnavailable(
                f"device {name!r}: torch sees no CUDA device (torch {torch.__version__}); "
                f"use cpu or auto, or install a CUDA build of torch"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceUnavailable(f"device {name!r}: torch sees {torch.cuda.device_count()} CUDA device(s), numbered from 0")
        return device
    raise ValueError(f"device must be one of {DEVICE_CHOICES} (or cuda:N), got {name!r}")


class DeviceUnavailable(ValueError):
    """A device asked for that this machine does not have: an error, never a silent CPU fallback."""


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


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 arithmetic runs natively: a GPU that supports it, or a CPU whose oneDNN
    kernels may use AVX512-BF16 or AMX (so ``ONEDNN_MAX_CPU_ISA=AVX2`` turns it off)."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu" or not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    return bool({"avx512_bf16", "amx_bf16"} & cpu_info()[1])


def cpu_info(cpuinfo: str | None = None) -> tuple[str, frozenset]:
    """The CPU's model name and flags from ``/proc/cpuinfo`` (or the text given); empty where unknown."""
    if cpuinfo is None:
        return _machine_cpu_info()
    model, flags = "", frozenset()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not model:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = frozenset(value.split())
    return model, flags


@lru_cache(maxsize=1)
def _machine_cpu_info() -> tuple[str, frozenset]:
    try:
        return cpu_info(open("/proc/cpuinfo").read())
    except OSError:
        return "", frozenset()


def resolve_precision(choice: str, device: torch.device, family: str) -> str:
    """``fp32`` or ``bf16`` for a config's ``precision``: ``auto`` takes bf16 only where the
    hardware has it natively and the family was measured to gain from it (vocabulary.BF16_FAMILIES)."""
    if choice not in PRECISION_CHOICES:
        raise ValueError(f"precision must be one of {PRECISION_CHOICES}, got {choice!r}")
    if choice != "auto":
        return choice
    return "bf16" if family in BF16_FAMILIES and native_bf16(device) else "fp32"


def autocast(device: torch.device, precision: str):
    """bf16 autocast around a model's forward (weights stay fp32), or a no-op for fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def resolve_compile(choice: str, device: torch.device) -> str:
    """``on`` or ``off`` for a config's ``compile``: ``auto`` compiles on CUDA only (on CPU cores it
    did not pay for its compile time at the default's sizes, benchmarks/README.md)."""
    if choice not in COMPILE_CHOICES:
        raise ValueError(f"compile must be one of {COMPILE_CHOICES}, got {choice!r}")
    if choice != "auto":
        return choice
    return "on" if device.type == "cuda" else "off"


def resolve_memory_format(choice: str, device: torch.device, family: str) -> str:
    """``channels_last`` or ``contiguous`` for a config's ``memory_format``: ``auto`` takes
    channels_last on a CPU for the families measured to gain from it (vocabulary.CHANNELS_LAST_FAMILIES);
    GPUs keep the default layout, which is untested there rather than measured slower."""
    if choice not in MEMORY_FORMAT_CHOICES:
        raise ValueError(f"memory_format must be one of {MEMORY_FORMAT_CHOICES}, got {choice!r}")
    if choice != "auto":
        return choice
    return "channels_last" if device.type == "cpu" and family in CHANNELS_LAST_FAMILIES else "contiguous"


def torch_memory_format(name: str) -> torch.memory_format:
    return torch.channels_last if name == "channels_last" else torch.contiguous_format
