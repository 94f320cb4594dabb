import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from rvae.losses import RosettaLoss, batch_loss, kl_full_covariance, negative_elbo
from rvae.models import ArchitectureSpec, build_vae

# assertions on computed numbers: tests/test_cpu_paths.py reruns them on the AVX2 kernel path
pytestmark = pytest.mark.computed


def test_kl_matches_torch_distributions_for_random_full_covariance():
    gen = torch.Generator().manual_seed(0)
    k, b = 5, 7
    mu = torch.randn(b, k, generator=gen, dtype=torch.float64)
    scale = torch.tril(torch.randn(b, k, k, generator=gen, dtype=torch.float64), -1)
    scale = scale + torch.diag_embed(torch.rand(b, k, generator=gen, dtype=torch.float64) + 0.1)
    ours = kl_full_covariance(mu, scale)
    prior = MultivariateNormal(torch.zeros(k, dtype=torch.float64), torch.eye(k, dtype=torch.float64))
    reference = kl_divergence(MultivariateNormal(mu, scale_tril=scale), prior)
    torch.testing.assert_close(ours, reference, rtol=1e-10, atol=1e-10)


def test_kl_is_zero_for_the_prior():
    assert float(kl_full_covariance(torch.zeros(1, 3), torch.eye(3)[None])) == 0.0


def _model_reproducing(x_r, z_r):
    """A model whose encoder maps x_r to z_r and whose decoder maps z_r back to x_r."""

    class Lookup(torch.nn.Module):
        latent_dim = z_r.shape[1]

        def encode(self, x):
            return z_r.clone(), torch.eye(self.latent_dim).expand(len(x), -1, -1)

        def decode(self, z):
            return x_r.clone()

    return Lookup()


def test_rosetta_term_is_zero_when_the_model_reproduces_the_pairs():
    x_r, z_r = torch.rand(4, 5), torch.randn(4, 2)
    error = RosettaLoss(x_r, z_r)(_model_reproducing(x_r, z_r))
    assert float(error) == 0.0


def test_rosetta_term_is_rho_times_per_point_mean_of_both_errors():
    model = build_vae(ArchitectureSpec("mlp", (5,), 2), seed=0)
    x_r, z_r = torch.rand(3, 5), torch.randn(3, 2)
    anchors = RosettaLoss(x_r, z_r)
    error = anchors(model)
    x, eps = torch.rand(8, 5), torch.randn(8, 2)
    weighted = batch_loss(model, x, eps, 1.0, 10.0, anchors, rho=2.5).total - batch_loss(model, x, eps, 1.0, 10.0).total
    with torch.no_grad():
        expected = torch.stack(
            [((x_r[r] - model.decode(z_r[r : r + 1])[0]) ** 2).sum()
             + ((z_r[r] - model.encode(x_r[r : r + 1])[0][0]) ** 2).sum() for r in range(3)]
        ).mean()  # fmt: skip
    torch.testing.assert_close(error.detach(), expected)
    torch.testing.assert_close(weighted.detach(), 2.5 * expected, rtol=1e-4, atol=1e-5)


def test_beta_scales_only_the_kl():
    model = build_vae(ArchitectureSpec("mlp", (5,), 2), seed=0)
    x, eps = torch.rand(8, 5), torch.randn(8, 2)
    total1, recon1, kl1 = negative_elbo(model, x, eps, beta=1.0)
    total4, recon4, kl4 = negative_elbo(model, x, eps, beta=4.0)
    torch.testing.assert_close(recon1, recon4)
    torch.testing.assert_close(total4 - total1, 3.0 * kl1)


def test_batch_loss_adds_the_weighted_rosetta_term():
    model = build_vae(ArchitectureSpec("mlp", (5,), 2), seed=0)
    x, eps = torch.rand(8, 5), torch.randn(8, 2)
    rosetta = RosettaLoss(torch.rand(2, 5), torch.randn(2, 2))
    with_r = batch_loss(model, x, eps, 1.0, 10.0, rosetta, rho=1.5)
    without = batch_loss(model, x, eps, 1.0, 10.0, None)
    torch.testing.assert_close(with_r.total - without.total, 1.5 * with_r.rosetta)
    assert float(without.rosetta) == 0.0
