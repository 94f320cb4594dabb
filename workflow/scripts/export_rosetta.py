"""Alice's side: Rosetta points from the joint template over all training points, plus a summary card."""

import logging
from pathlib import Path

from rvae.data.store import load_prepared
from rvae.models import load_model
from rvae.rosetta_file import save_rosetta_points
from rvae.sharing import export_rosetta, summary_markdown
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
data = load_prepared(Path(sm.input.x).parent)
settings = sm.params.export
points = export_rosetta(
    load_model(sm.input.model), data, settings["k"], settings["method"], sm.params.seed, dataset=sm.wildcards.dataset,
    preprocessing=sm.params.preprocessing,
)
save_rosetta_points(points, sm.output.points)
Path(sm.output.summary).write_text(summary_markdown(points, Path(sm.output.points).name))
logging.info(f"exported {len(points)} Rosetta points ({settings['method']}): {points.point_ids.tolist()}")
