"""Gather a sweep's parts into one file: every candidate of the grid, in grid order."""

import json
from pathlib import Path

from rvae.atomic import atomic_path
from rvae.workflow.script import finish, start

sm = snakemake  # noqa: F821
start(sm)
candidates = [candidate for part in sm.input for candidate in json.loads(Path(part).read_text())]
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(candidates, indent=2))
finish()
