"""Negative ELBO (VAE and beta-VAE) and the Rosetta anchor loss, exactly as the spec states."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rvae import defaults
from rvae.device import autocast


def kl_full_covariance(mu: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, L L^T) || N(0, I) ) in closed form, per row: (B,)."""
    k = mu.shape[-1]
    trace = scale.pow(2).sum(dim=(-2, -1))
    log_det = 2.0 * torch.log(torch.diagonal(scale, dim1=-2, dim2=-1)).sum(-1)
    return 0.5 * (trace + mu.pow(2).sum(-1) - k - log_det)


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, obs_precision: float) -> torch.Tensor:
    """``0.5 * precision * ||x - m||^2`` per row (the Gaussian's constant is dropped)."""
    return 0.5 * obs_precision * (x - mean).pow(2).flatten(1).sum(-1)


@dataclass
class LossParts:
    """Batch means of each term; ``total`` is what the optimiser minimises."""

    total: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor
    rosetta: torch.Tensor  # the unweighted anchor error (0 when there are no Rosetta points)


def negative_elbo(
    model,
    x: torch.Tensor,
    eps: torch.Tensor,
    beta: float | torch.Tensor = 1.0,
    obs_precision: float = defaults.OBS_PRECISION,
    precision: str = "fp32",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean over the batch of ``-log p(x|z) + beta * KL``; also returns the recon and KL means.

    With ``precision="bf16"`` the encoder and decoder bodies run under autocast; the Gaussian heads
    and the sample ``z`` stay fp32 (``rvae.models.GaussianHeads``), and the outputs are cast back, so
    the squared errors, the KL (its log-determinant above all) and the means are fp32 sums.
    """
    with autocast(x.device, precision):
        outputs = model(x, eps)
    recon_mean, mu, scale = (t.float() for t in outputs)
    recon = gaussian_nll(x, recon_mean, obs_precision).mean()
    kl = kl_full_covariance(mu, scale).mean()
    return recon + beta * kl, recon, kl


class RosettaLoss(nn.Module):
    """The Rosetta anchor term ``mean_r(||x_r - m(z_r)||^2 + ||z_r - mu(x_r)||^2)`` over all R points.

    It holds the anchors only; their weight rho lives in ``TrainConfig.rho`` beside beta, so a
    checkpoint's identity covers it (one home for every hyperparameter). The stored latent
    ``z_r`` is decoded as is (no sampling). The ELBO is a mean over the B batch points and this
    term a mean over the R Rosetta points, so at rho = 1 all R points together weigh as much as
    one whole batch (each Rosetta point B/R times one data point); this equals the prototype's
    sum-form weight ``rho * B / R`` (spec, "Losses").
    """

    def __init__(self, x_r: torch.Tensor, z_r: torch.Tensor):
        super().__init__()
        if x_r.shape[0] != z_r.shape[0]:
            raise ValueError(f"{x_r.shape[0]} Rosetta inputs but {z_r.shape[0]} latents")
        self.register_buffer("x_r", x_r.float())
        self.register_buffer("z_r", z_r.float())

    def anchor_error(self, model, precision: str = "fp32") -> torch.Tensor:
        """The unweighted per-point mean anchor error (also the R-VAE's selection yardstick)."""
        with autocast(self.x_r.device, precision):
            decoded = model.decode(self.z_r)
            mu, _ = model.encode(self.x_r)
        decoded, mu = decoded.float(), mu.float()
        recon = (self.x_r - decoded).pow(2).flatten(1).sum(-1)
        latent = (self.z_r - mu).pow(2).sum(-1)
        return (recon + latent).mean()

    def forward(self, model, precision: str = "fp32") -> torch.Tensor:
        return self.anchor_error(model, precision)


def batch_loss(
    model,
    x: torch.Tensor,
    eps: torch.Tensor,
    beta: float,
    obs_precision: float,
    rosetta: RosettaLoss | None = None,
    rho: float = 0.0,
    precision: str = "fp32",
) -> LossParts:
    """The loss of one optimisation step for any of the models (VAE, beta-VAE, R-VAE)."""
    total, recon, kl = negative_elbo(model, x, eps, beta=beta, obs_precision=obs_precision, precision=precision)
    if rosetta is None:
        anchor = torch.zeros((), device=x.device)
    else:
        anchor = rosetta(model, precision)
        total = total + rho * anchor
    return LossParts(total=total, recon=recon, kl=kl, rosetta=anchor)
