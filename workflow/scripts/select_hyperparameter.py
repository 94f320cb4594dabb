"""Pick the candidate with the lowest validation yardstick."""

import json
import logging

from rvae.atomic import atomic_path
from rvae.inference import choose
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
chosen = choose(json.loads(open(sm.input[0]).read()))
logging.info(f"chose {sm.wildcards.param} = {chosen['value']} (score {chosen['score']:.6g})")
with atomic_path(sm.output[0]) as tmp:
    tmp.write_text(json.dumps(chosen, indent=2))
