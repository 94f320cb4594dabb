#!/usr/bin/env bash
# Set up, then run the test suite. Exits non-zero if any test fails or none is collected.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
# The report test drives Debian's headless Chromium; install it when we can (root with apt).
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 ||
        echo "could not install chromium; the report-rendering test will be skipped" >&2
fi
exec .venv/bin/python -m pytest "$@"
