"""Bob's side: an R-VAE on his data anchored on another lab's Rosetta file (rho fixed or swept),
its embedding in the file's coordinates by the run's ``align`` (as `rvae embed --align`), after
the file's promises are checked (preprocessing, input range) as `rvae train --rosetta` checks them."""

import json
import logging
from pathlib import Path

import pandas as pd

from rvae.data.store import load_prepared
from rvae.embeddings import write_embedding
from rvae.models import save_model
from rvae.paper.experiment import architecture
from rvae.rosetta_file import load_rosetta_points
from rvae.sharing import check_promises, embed_folder, shared_point_errors, train_on_shared_points
from rvae.workflow.script import finish, start, train_config, training_until

sm = snakemake  # noqa: F821
start(sm)
data = load_prepared(Path(sm.input.x).parent)
spec = architecture(data, **sm.params.architecture)
points = load_rosetta_points(sm.input.rosetta, spec.input_shape, spec.latent_dim)
for line in check_promises(points, x=data.x, file_name=f"the Rosetta file {sm.input.rosetta}", **sm.params.promise):
    logging.warning(line)  # as `rvae train --rosetta` warns; a mismatch not accepted stops the job
rho = sm.params.rho  # the schema's hyperparameter entry: value or grid, and the sweep's epochs
config = train_config(sm, training_until(sm, sm.params.training), rho=float(rho.get("value", 0.0)))
model, history, choice = train_on_shared_points(data, points, spec, config, rho.get("grid"), rho["epochs"])
errors = shared_point_errors(model, points)
logging.info(f"mean distance of the shared inputs' latents to the file's: {errors['distance'].mean():.4f}")
save_model(model, sm.output.model, {"history": history, "rosetta_file": str(sm.input.rosetta)})
landed = embed_folder([model], data, points, sm.params.align, names=[str(sm.output.model)])  # as `rvae embed` does
logging.info(landed.choices[0].reason)
write_embedding(landed.frame, sm.output.embedding, {**landed.metadata, "rosetta_file": str(sm.input.rosetta)})
pd.DataFrame(history).to_parquet(sm.output.history, index=False)
errors.to_parquet(sm.output.shared, index=False)
Path(sm.output.rho).write_text(json.dumps(choice, indent=2))
finish()
