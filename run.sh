#!/usr/bin/env bash
# Set up, then run the main job (the whole workflow on the embedded default data).
# Extra arguments go to snakemake, e.g. `bash run.sh results/tables/table2.csv`.
set -euo pipefail
cd "$(dirname "$0")"
bash setup.sh
exec .venv/bin/snakemake --cores all "$@"
