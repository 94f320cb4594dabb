"""Mixed precision and compiled steps: what auto picks, what a run records, and that
the faster steps compute the same loss up to their own rounding."""

import pytest
import torch

from rvae.device import native_bf16, resolve_compile, resolve_precision
from rvae.losses import RosettaLoss, batch_loss
from rvae.models import ArchitectureSpec, build_vae
from rvae.trainer import TrainConfig, Trainer, compiled

MLP = ArchitectureSpec(family="mlp", input_shape=(5,), latent_dim=2, hidden=16)
CONV = ArchitectureSpec(family="conv", input_shape=(1, 28, 28), latent_dim=4)
CPU = torch.device("cpu")


def test_auto_precision_takes_bf16_only_for_image_nets_on_native_hardware():
    assert resolve_precision("fp32", CPU, "conv") == "fp32"
    assert resolve_precision("bf16", CPU, "mlp") == "bf16"  # asked for explicitly
    assert resolve_precision("auto", CPU, "mlp") == "fp32"  # measured slower in bf16
    expected = "bf16" if native_bf16(CPU) else "fp32"
    assert resolve_precision("auto", CPU, "conv") == resolve_precision("auto", CPU, "ava") == expected
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", CPU, "conv")
    with pytest.raises(ValueError, match="precision must be one of"):
        TrainConfig(epochs=1, precision="half")
    assert resolve_compile("auto", CPU) == "off" and resolve_compile("on", CPU) == "on"


def test_a_run_records_its_precision_and_checkpoints_name_it():
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for precision in ("fp32", "bf16"):
        trainer = Trainer(build_vae(CONV, seed=0), TrainConfig(epochs=1, batch_size=32, precision=precision))
        history = trainer.fit(x)
        assert history[0]["precision"] == precision and trainer.config.precision == precision
    auto = Trainer(build_vae(CONV, seed=0), TrainConfig(epochs=1, precision="auto"))
    assert auto.config.precision in ("fp32", "bf16")  # resolved: a checkpoint never says "auto"
    assert auto.config.identity() != TrainConfig(epochs=1, precision="auto").identity()
    fp32, bf16 = TrainConfig(epochs=1, precision="fp32"), TrainConfig(epochs=1, precision="bf16")
    assert fp32.identity() != bf16.identity()  # a bf16 checkpoint never resumes an fp32 run


def _loss(model, x, eps, anchors, precision):
    return batch_loss(model, x, eps, 2.0, 10.0, anchors, 1.5, precision)


@pytest.mark.determinism
def test_bf16_step_is_the_fp32_loss_up_to_bf16_rounding():
    """bf16 carries 8 significant bits: each layer's output is off by a relative 2^-8 at most, and
    through the L weight layers of the encoder and the decoder by L * 2^-8; a squared error doubles
    it. The loss sums stay fp32 and are returned as fp32."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(32, *CONV.input_shape, generator=g)
    eps = torch.randn(32, CONV.latent_dim, generator=g)
    anchors = RosettaLoss(torch.rand(8, *CONV.input_shape, generator=g), torch.randn(8, CONV.latent_dim, generator=g))
    model = build_vae(CONV, seed=0)
    layers = sum(1 for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)))
    bound = 2 * layers * 2.0**-8
    full, half = _loss(model, x, eps, anchors, "fp32"), _loss(model, x, eps, anchors, "bf16")
    for name in ("total", "recon", "kl", "rosetta"):
        a, b = getattr(full, name).detach(), getattr(half, name).detach()
        assert b.dtype == torch.float32
        assert abs(float(a) - float(b)) <= bound * abs(float(a)), (name, float(a), float(b), bound)
    half.total.backward()
    assert all(p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.determinism
def test_bf16_training_is_deterministic_on_one_machine():
    x = torch.rand(96, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    config = TrainConfig(epochs=2, batch_size=32, seed=4, precision="bf16")
    runs = [Trainer(build_vae(CONV, seed=4), config).fit(x) for _ in range(2)]
    assert [r["loss"] for r in runs[0]] == [r["loss"] for r in runs[1]]


@pytest.mark.slow
def test_compiled_step_is_the_eager_step_up_to_rounding(tmp_path, step_agrees_to_rounding):
    """Fused kernels reorder sums: within the float64-derived bound of conftest's
    ``step_agrees_to_rounding`` (4x the eager float32 step's error plus 8 ulps)."""
    g = torch.Generator().manual_seed(3)
    x = torch.rand(64, *MLP.input_shape, generator=g)
    eps = torch.randn(64, MLP.latent_dim, generator=g)
    config = TrainConfig(epochs=1, precision="fp32", compile="on", compile_cache=str(tmp_path / "cache"))
    step_agrees_to_rounding(lambda: build_vae(MLP, seed=0), x, eps, loss=compiled(batch_loss, config))
    assert any((tmp_path / "cache").iterdir())  # inductor wrote its cache where the config said
