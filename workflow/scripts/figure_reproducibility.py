"""Figure 2: D1 latent spaces of the template and one run per model, and RV per model."""

from rvae.figures import figure_reproducibility
from rvae.workflow_support import named_inputs, start

sm = snakemake  # noqa: F821
log = start(sm)
files = named_inputs(sm)
panels = {d: {"template": f["template"], **{m: f[m] for m in ("vae", "beta_vae", "rvae")}} for d, f in files.items()}
rv = {d: {m: f[f"rv__{m}"] for m in ("vae", "beta_vae", "vae_same_seed", "rvae")} for d, f in files.items()}
figure_reproducibility(panels, rv, sm.output.png, sm.output.pdf)
log(f"wrote {sm.output.png}")
