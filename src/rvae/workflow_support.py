"""Glue for the workflow's scripts: logging to the rule's log file, reading the rule's params."""

from __future__ import annotations

import logging
import sys
from typing import Callable


def start(snakemake) -> Callable[[str], None]:
    """Send stderr, warnings and the returned ``log`` callable to the rule's log, line-buffered."""
    if snakemake.log:
        handle = open(snakemake.log[0], "a", buffering=1)
        sys.stderr = handle
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s", force=True)
    logging.captureWarnings(True)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    # Wall-clock bounds of the job in its own log (the load test checks GPU jobs never overlap).
    import atexit
    import time

    log(f"job started at {time.time():.3f}")
    atexit.register(lambda: log(f"job finished at {time.time():.3f}"))
    return log


def named_inputs(snakemake) -> dict:
    """Inputs named ``{dataset}__{rest}`` regrouped as ``{dataset: {rest: path}}``."""
    grouped: dict = {}
    for name, path in snakemake.input.items():
        dataset, rest = name.split("__", 1)
        grouped.setdefault(dataset, {})[rest] = path
    return grouped


def run_inputs(snakemake):
    """Prepared data, the architecture spec and the checked Rosetta points of a training job."""
    from pathlib import Path

    from rvae.data.store import load_prepared
    from rvae.experiment import architecture
    from rvae.portable import load_rosetta_points

    data = load_prepared(Path(snakemake.input.x).parent)
    spec = architecture(data, **snakemake.params.architecture)
    rosetta = load_rosetta_points(snakemake.input.rosetta, spec.input_shape, spec.latent_dim)
    return data, spec, rosetta


# A seed block's job writes every seed's files into one folder; the stable per-seed paths are
# copies made by the local rule `seed_result` (its shell command spells these names out).
BLOCK_FILES = {"model": "seed{seed}.pt", "embedding": "seed{seed}.parquet", "history": "seed{seed}.history.parquet"}


def block_file(block_dir, seed, kind: str):
    from pathlib import Path

    return Path(block_dir) / BLOCK_FILES[kind].format(seed=int(seed))
