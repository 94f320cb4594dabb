"""Bob's points in the shared latent space, with Alice's Rosetta points marked."""

from rvae.embeddings import latents, read_embedding, read_embedding_metadata
from rvae.models import load_model
from rvae.paper.figures import figure_shared
from rvae.paper.plots import save_figure
from rvae.rosetta_file import load_rosetta_points
from rvae.workflow.script import start

sm = snakemake  # noqa: F821
start(sm)
frame = read_embedding(sm.input.embedding)
model = load_model(sm.input.model)
points = load_rosetta_points(sm.input.rosetta, model.spec.input_shape, model.spec.latent_dim)
arm = read_embedding_metadata(sm.input.embedding)["models"][0]["alignment"]["arm"]  # the map train_shared chose
fig = figure_shared(latents(frame), frame["label"].to_numpy(), points, model, sm.wildcards.name, arm)
save_figure(fig, sm.output[0])
