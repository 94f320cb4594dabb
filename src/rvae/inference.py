"""What one does with a trained model: encode data, score it on validation, keep the best candidate."""

from __future__ import annotations

import numpy as np
import torch

from rvae import defaults
from rvae.losses import RosettaLoss, gaussian_nll, kl_full_covariance
from rvae.models import VAE


@torch.no_grad()
def encode_means(model: VAE, x, batch_size: int = 1024, device: str | torch.device | None = None) -> np.ndarray:
    """Posterior means of every row of ``x`` (numpy or tensor), as a float32 (N, k) array."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(device).eval()
    out = []
    for first in range(0, len(x), batch_size):
        chunk = x[first : first + batch_size]
        if not isinstance(chunk, torch.Tensor):  # numpy or a read-only memory map: copy the chunk
            chunk = torch.from_numpy(np.array(chunk, dtype=np.float32))
        mu, _ = model.encode(chunk.to(device, torch.float32))
        out.append(mu.cpu().numpy())
    if not out:
        return np.zeros((0, model.latent_dim), dtype=np.float32)
    return np.concatenate(out).astype(np.float32)


@torch.no_grad()
def evaluate(
    model: VAE,
    x: torch.Tensor,
    rosetta: RosettaLoss | None = None,
    obs_precision: float = defaults.OBS_PRECISION,
    seed: int = 0,
    batch_size: int = 1024,
) -> dict:
    """Validation yardsticks: negative ELBO at beta = 1 and the unweighted Rosetta anchor error.

    ``selection_score`` is what a hyperparameter sweep minimises (spec, "Hyperparameters"). The
    noise is drawn from a generator of its own, so evaluating never perturbs training.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rng = torch.Generator(device=device).manual_seed(int(seed) + 7919)
    recon_sum = kl_sum = 0.0
    for first in range(0, x.shape[0], batch_size):
        batch = x[first : first + batch_size].to(device, torch.float32)
        eps = torch.randn(batch.shape[0], model.latent_dim, generator=rng, device=device)
        mean, mu, scale = model(batch, eps)
        recon = gaussian_nll(batch, mean, obs_precision)
        kl = kl_full_covariance(mu, scale)
        recon_sum += float(recon.sum())
        kl_sum += float(kl.sum())
    n = max(1, x.shape[0])
    total = (recon_sum + kl_sum) / n
    out = {"neg_elbo": total, "recon": recon_sum / n, "kl": kl_sum / n}
    if rosetta is not None:
        out["anchor_error"] = float(rosetta.anchor_error(model))
        out["selection_score"] = total + out["anchor_error"]
    else:
        out["selection_score"] = total
    model.train(was_training)
    return out


def choose(candidates: list[dict]) -> dict:
    """The candidate with the lowest ``score``; ties go to the smaller ``value`` (the simpler model)."""
    if not candidates:
        raise ValueError("no sweep candidates to choose from")
    return min(candidates, key=lambda c: (c["score"], c["value"]))
