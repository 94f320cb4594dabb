"""The determinism tests again, on CPU kernel paths this machine would not take by itself.

Machines of one kind differ (some have AVX-512 and bf16, some not), and torch, MKL and oneDNN
pick their kernels from what the CPU offers. A bit-identity claim or a rounding bound that holds
on one path only would pass here and fail on the next machine. So the tests marked
``determinism`` run once natively (the ordinary suite) and again here with the instruction set
capped, in a fresh process (the caps are read when torch loads).
"""

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# torch's own kernels (ATen), MKL's and oneDNN's, each capped to the same level.
PATHS = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "baseline": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41"},
}
EXPECTED_CAPABILITY = {"avx2": "AVX2", "baseline": "DEFAULT"}


def _env(path: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PATHS["avx2"]}
    return {**env, **PATHS[path]}


@pytest.mark.parametrize("path", list(PATHS))
def test_determinism_claims_hold_on_a_capped_cpu_path(path):
    if path == "avx2" and platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(f"AVX2 is an x86-64 path; this machine is {platform.machine()}")
    probe = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
        env=_env(path), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert probe.stdout.strip() == EXPECTED_CAPABILITY[path], f"torch did not take the {path} path: {probe.stdout}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "determinism", "-p", "no:cacheprovider", str(ROOT / "tests")],
        env=_env(path), capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, f"determinism tests failed on the {path} path:\n{result.stdout[-4000:]}"
    assert " passed" in result.stdout and " deselected" in result.stdout
