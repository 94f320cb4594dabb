"""Pick the candidate with the lowest validation yardstick."""

import json

from rvae.atomic import atomic_path
from rvae.sweep import choose
from rvae.workflow_support import start

sm = snakemake  # noqa: F821
log = start(sm)
chosen = choose([json.loads(open(path).read()) for path in sm.input])
log(f"chose {sm.wildcards.param} = {chosen['value']} (score {chosen['score']:.6g})")
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(chosen, indent=2))
