import pytest
import torch

from rvae.layers import ResidualBlock
from rvae.models import ArchitectureSpec, build_vae, fingerprint

FAMILIES = [
    ("mlp", (5,), 2, "same"),
    ("conv", (1, 28, 28), 16, "same"),
    ("conv", (1, 64, 64), 16, "same"),
    ("ava", (1, 128, 128), 32, "same"),
    ("ava", (1, 128, 128), 32, "simple"),
    ("ava", (1, 128, 128), 32, "complex"),
]


@pytest.mark.parametrize("family,shape,k,variant", FAMILIES)
def test_forward_shapes_and_cholesky_factor(family, shape, k, variant):
    model = build_vae(ArchitectureSpec(family, shape, k, variant), seed=0)
    x = torch.rand(3, *shape)
    recon, mu, scale = model(x, torch.randn(3, k))
    assert recon.shape == x.shape
    assert mu.shape == (3, k)
    assert scale.shape == (3, k, k)
    assert torch.equal(torch.triu(scale, 1), torch.zeros_like(scale))
    assert (torch.diagonal(scale, dim1=-2, dim2=-1) > 0).all()


def _residual_blocks(model):
    return [m for m in model.modules() if isinstance(m, ResidualBlock)]


def test_variants_change_the_number_of_residual_layers():
    counts = {
        v: len(_residual_blocks(build_vae(ArchitectureSpec("ava", (1, 128, 128), 32, v))))
        for v in ("simple", "same", "complex")
    }
    # encoder + mirrored decoder: same has 3 each side, simple 1, complex 4
    assert counts == {"simple": 2, "same": 6, "complex": 8}
    widths = [b.body[1].out_channels for b in _residual_blocks(build_vae(ArchitectureSpec("ava", (1, 128, 128), 32, "complex")))]
    assert widths.count(96) == 2


def test_residual_layers_never_share_weights():
    model = build_vae(ArchitectureSpec("ava", (1, 128, 128), 32), seed=0)
    pointers = [p.data_ptr() for b in _residual_blocks(model) for p in b.parameters()]
    assert len(pointers) == len(set(pointers))


def test_seed_fixes_initial_weights_without_touching_global_rng():
    spec = ArchitectureSpec("conv", (1, 28, 28), 16)
    torch.manual_seed(99)
    before = torch.rand(1)
    torch.manual_seed(99)
    a = build_vae(spec, seed=3)
    after = torch.rand(1)
    b = build_vae(spec, seed=3)
    c = build_vae(spec, seed=4)
    assert torch.equal(before, after)
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(family="resnet", input_shape=(5,), latent_dim=2), "family"),
        (dict(family="mlp", input_shape=(5,), latent_dim=0), "latent_dim"),
        (dict(family="mlp", input_shape=(5,), latent_dim=2, variant="simple"), "variant"),
        (dict(family="conv", input_shape=(1, 30, 30), latent_dim=2), "divisible"),
        (dict(family="ava", input_shape=(3, 128, 128), latent_dim=2), r"\(1, H, W\)"),
    ],
)
def test_bad_architecture_specs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ArchitectureSpec(**kwargs)


def test_spec_round_trips_through_a_dict():
    spec = ArchitectureSpec("ava", (1, 128, 128), 32, "complex")
    assert ArchitectureSpec.from_dict(spec.to_dict()) == spec
