"""Tests that compare computed numbers, again on CPU kernel paths this machine would not take by itself.

Machines of our kind come with two CPUs (AVX2 only; AVX-512 with bf16), and torch, MKL and oneDNN
pick their kernels from what the CPU offers, so sums and reductions can round differently. A test
that holds on one path only passes where it was written and fails on the next machine. So the
tests that assert on computed numbers run once natively (the ordinary suite) and again here, in a
fresh process with the instruction set capped (the caps are read when torch loads):

- on the AVX2 path, the other CPU of our kind: the tests marked ``determinism`` (bit-identity and
  rounding claims) and ``computed`` (numbers out of a model, a sum, a median: the tiny workflow's
  tables and findings, the metrics, losses and statistics);
- on the baseline path (no vector extensions), the ``determinism`` tests only.
"""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

# torch's own kernels (ATen), MKL's and oneDNN's, each capped to the same level.
PATHS = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "baseline": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41"},
}
EXPECTED_CAPABILITY = {"avx2": "AVX2", "baseline": "DEFAULT"}
# The tests each path reruns (pytest -m expressions over the markers in pyproject.toml).
SELECTION = {"avx2": "determinism or computed", "baseline": "determinism"}


def _env(path: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PATHS["avx2"]}
    return {**env, **PATHS[path]}


def _cannot_take(path: str) -> str | None:
    """Why this machine cannot run ``path`` as a second path, or None."""
    if path == "baseline":
        return None
    if platform.machine() not in ("x86_64", "AMD64"):
        return f"AVX2 is an x86-64 path; this machine is {platform.machine()}"
    native = torch.backends.cpu.get_cpu_capability()
    if native not in ("AVX2", "AVX512"):
        return f"this CPU offers torch no AVX2 kernels (capability {native})"
    if all(os.environ.get(k) == v for k, v in PATHS["avx2"].items()):
        return "this suite already runs on the AVX2 path (all three caps set)"
    return None


def rerun_on_path(path: str, selection: str, tests: Path = ROOT / "tests") -> subprocess.CompletedProcess:
    """pytest over ``tests`` in a fresh process on ``path``, only the tests ``selection`` marks."""
    probe = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
        env=_env(path), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert probe.stdout.strip() == EXPECTED_CAPABILITY[path], f"torch did not take the {path} path: {probe.stdout}"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", selection, "-p", "no:cacheprovider", str(tests)],
        env=_env(path), capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("path", list(PATHS))
def test_computed_numbers_hold_on_a_capped_cpu_path(path):
    reason = _cannot_take(path)
    if reason:
        pytest.skip(reason)
    result = rerun_on_path(path, SELECTION[path])
    assert result.returncode == 0, f"tests failed on the {path} path ({SELECTION[path]}):\n{result.stdout[-4000:]}"
    assert " passed" in result.stdout and " deselected" in result.stdout and " failed" not in result.stdout
