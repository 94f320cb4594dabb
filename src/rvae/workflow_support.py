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

    return log


def named_inputs(snakemake) -> dict:
    """Inputs named ``{dataset}__{rest}`` regrouped as ``{dataset: {rest: path}}``."""
    grouped: dict = {}
    for name, path in snakemake.input.items():
        dataset, rest = name.split("__", 1)
        grouped.setdefault(dataset, {})[rest] = path
    return grouped
