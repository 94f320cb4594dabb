#!/usr/bin/env bash
# Create .venv and install rosetta-vae with the workflow and test tools.
# torch comes first, unless .venv already has one: RVAE_TORCH is the requirement (default
# torch==2.13.0) and RVAE_TORCH_INDEX the index pip takes it from (--index-url; default: pip's own
# configuration, on an ordinary machine PyPI, whose Linux torch is the CUDA build, several GB).
#   the CPU build:   RVAE_TORCH_INDEX=https://download.pytorch.org/whl/cpu bash setup.sh
#   a CUDA build:    RVAE_TORCH_INDEX=<the index the PyTorch install selector gives for your driver> bash setup.sh
# GPU users: docs/workflow.md, "GPU users".
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${RVAE_TORCH:-torch==2.13.0}
TORCH_INDEX=()
if [ -n "${RVAE_TORCH_INDEX:-}" ]; then TORCH_INDEX=(--index-url "$RVAE_TORCH_INDEX"); fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip_install() { .venv/bin/python -m pip install -q --disable-pip-version-check "$@"; }
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    # Installing torch first, pinned, keeps pip from choosing a torch for the unpinned
    # requirement in pyproject.toml.
    pip_install "${TORCH_INDEX[@]}" "$TORCH_SPEC"
fi
pip_install -e ".[workflow,dev]"
