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
def encode_posterior(model: VAE, x, weight: np.ndarray | None = None, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means (N, k) and the diagonal of each posterior covariance ``L L^T`` (N, k).

    With ``weight`` (k, k_ref), the covariance of the mapped latent ``z @ weight + offset``
    (``weight^T L L^T weight``), so variances follow a map into another lab's coordinates;
    the means are returned unmapped. float32 like :func:`encode_means`, computed in fp32.
    """
    device = next(model.parameters()).device
    model = model.eval()
    w = None if weight is None else torch.as_tensor(np.asarray(weight), dtype=torch.float64, device=device)
    means, variances = [], []
    for first in range(0, len(x), batch_size):
        chunk = torch.from_numpy(np.array(x[first : first + batch_size], dtype=np.float32)).to(device)
        mu, scale = model.encode(chunk)
        scale = scale.double()
        mapped = scale if w is None else w.T @ scale  # (B, k_ref, k): rows of (weight^T L)
        means.append(mu.cpu().numpy())
        variances.append((mapped**2).sum(-1).cpu().numpy())
    if not means:
        k = model.latent_dim if weight is None else np.asarray(weight).shape[1]
        return np.zeros((0, model.latent_dim), np.float32), np.zeros((0, k), np.float32)
    return np.concatenate(means).astype(np.float32), np.concatenate(variances).astype(np.float32)


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
