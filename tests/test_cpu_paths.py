"""Tests that compare computed numbers, again on CPU kernel paths this machine would not take by itself.

Machines of our kind come with two CPUs (AVX2 only; AVX-512 with bf16), and torch, MKL and oneDNN
pick their kernels from what the CPU offers, so sums and reductions can round differently. A test
that holds on one path only passes where it was written and fails on the next machine. So the
tests that assert on computed numbers run once natively (the ordinary suite) and again here, in a
fresh process with the instruction set capped (the caps are read when torch loads):

- on the AVX2 path, the other CPU of our kind (torch's, MKL's, oneDNN's and numpy's own kernels
  capped at AVX2; OpenBLAS is left as the machine sets it): the tests marked ``determinism``
  (bit-identity and rounding claims) and ``computed`` (numbers out of a model, a sum, a median: the
  tiny workflow's tables and findings, the metrics, losses and statistics);
- on the baseline path (no vector extensions), the ``determinism`` tests only.
"""

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from numpy._core import _multiarray_umath as _numpy_cpu

ROOT = Path(__file__).resolve().parents[1]

# torch's own kernels (ATen), MKL's and oneDNN's, each capped to the same level.
PATHS = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "baseline": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41"},
}
EXPECTED_CAPABILITY = {"avx2": "AVX2", "baseline": "DEFAULT"}
# The tests each path reruns (pytest -m expressions over the markers in pyproject.toml).
SELECTION = {"avx2": "determinism or computed", "baseline": "determinism"}
# At least this many tests each path must have run (a little under the suite's counts, 114 and 15
# at 69587a3), so a marker lost from a module cannot make a path test nearly nothing.
MIN_SELECTED = {"avx2": 100, "baseline": 12}


# numpy's own SIMD dispatch (its medians, percentiles, sums) capped too: its targets above AVX2
# that this build has and this CPU runs. OpenBLAS (numpy's linear algebra) is not capped: the
# workplace sets OPENBLAS_CORETYPE itself on some processors and tests must leave it alone.
NUMPY_ABOVE_AVX2 = [t for t in _numpy_cpu.__cpu_dispatch__ if (t.startswith("AVX512") or t == "X86_V4") and _numpy_cpu.__cpu_features__.get(t)]


def _env(path: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in PATHS["avx2"] and k != "NPY_DISABLE_CPU_FEATURES"}
    numpy_cap = {"NPY_DISABLE_CPU_FEATURES": " ".join(NUMPY_ABOVE_AVX2)} if NUMPY_ABOVE_AVX2 else {}
    return {**env, **PATHS[path], **numpy_cap}


def _cannot_take(path: str) -> str | None:
    """Why this machine cannot run ``path`` as a second path, or None."""
    if path == "baseline":
        return None
    if platform.machine() not in ("x86_64", "AMD64"):
        return f"AVX2 is an x86-64 path; this machine is {platform.machine()}"
    native = torch.backends.cpu.get_cpu_capability()
    if native not in ("AVX2", "AVX512"):
        return f"this CPU offers torch no AVX2 kernels (capability {native})"
    if native == "AVX2":
        return "this machine's own kernels are the AVX2 path: the ordinary suite ran it"
    return None


def rerun_on_path(path: str, selection: str, tests: Path = ROOT / "tests") -> subprocess.CompletedProcess:
    """pytest over ``tests`` in a fresh process on ``path``, only the tests ``selection`` marks."""
    probe = subprocess.run(
        [sys.executable, "-c", "import torch; from numpy._core import _multiarray_umath as m; "
         "print(torch.backends.cpu.get_cpu_capability(), m.__cpu_features__.get('X86_V4', False))"],
        env=_env(path), capture_output=True, text=True, check=True,
    )  # fmt: skip
    capability, numpy_avx512 = probe.stdout.split()
    assert capability == EXPECTED_CAPABILITY[path], f"torch did not take the {path} path: {probe.stdout}"
    assert numpy_avx512 == "False", f"numpy still dispatches AVX-512 kernels on the {path} path"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "--strict-markers", "-m", selection, "-p", "no:cacheprovider", str(tests)],
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
    summary = result.stdout.strip().splitlines()[-1]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    # every selected test ran: none skipped on the capped path, and as many as this suite selects
    assert " failed" not in summary and " skipped" not in summary and " deselected" in summary, summary
    assert passed >= MIN_SELECTED[path], f"only {passed} tests ran on the {path} path: {summary}"
