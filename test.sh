#!/usr/bin/env bash
# Set up, then run the test suite. Exits non-zero if any test fails or none is collected.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
exec .venv/bin/python -m pytest "$@"
