#!/usr/bin/env bash
# Set up, then run the test suite. Exits non-zero if any test fails or none is collected.
# Run as root, the suite installs system packages with apt and starts daemons: Debian's
# headless Chromium (below) for the report-rendering test, and SLURM, munge and MariaDB, started
# as a one-node cluster, for tests/test_slurm*.py. RVAE_NO_INSTALL=1 installs nothing outside
# .venv and starts no daemon: the SLURM tests then skip, and the report test runs only where
# chromium is already installed.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
if [ "${RVAE_NO_INSTALL:-0}" = 0 ] && ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 ||
        echo "could not install chromium; the report-rendering test will be skipped" >&2
fi
exec .venv/bin/python -m pytest "$@"
