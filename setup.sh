#!/usr/bin/env bash
# Create .venv and install rosetta-vae with the workflow and test tools.
# torch: the CPU build by default (small, and what CI uses). GPU users: see docs/workflow.md, "GPU users".
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${RVAE_TORCH:-torch==2.13.0}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip_install() { .venv/bin/python -m pip install -q --disable-pip-version-check "$@"; }
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    # Installing torch first, pinned, keeps pip from pulling a multi-GB CUDA build for the
    # unpinned requirement in pyproject.toml.
    pip_install "$TORCH_SPEC"
fi
pip_install -e ".[workflow,dev]"
