import numpy as np
import pytest
import torch

from rvae.losses import RosettaLoss
from rvae.models import ArchitectureSpec, build_vae
from rvae.trainer import TrainConfig, Trainer, TrainingDiverged, encode_means, evaluate

SPEC = ArchitectureSpec("mlp", (5,), 2)


def _data(n=256, seed=0):
    gen = torch.Generator().manual_seed(seed)
    angle = torch.rand(n, generator=gen) * 6.283
    centre = torch.stack([angle.cos(), angle.sin()], 1) * 3
    return torch.cat([centre + 0.1 * torch.randn(n, 2, generator=gen), torch.randn(n, 3, generator=gen) * 0.1], 1)


def _train(tmp_path=None, epochs=6, seed=0, rosetta=None, name="ckpt.pt", log=None, **kw):
    config = TrainConfig(epochs=epochs, batch_size=32, seed=seed, checkpoint_every=2, **kw)
    trainer = Trainer(
        build_vae(SPEC, seed=seed), config, checkpoint_path=tmp_path / name if tmp_path else None, log=log or (lambda s: None)
    )
    history = trainer.fit(_data(), rosetta=rosetta)
    return trainer, history


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_short_training_reduces_the_loss():
    _, history = _train(epochs=15)
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]


@pytest.mark.determinism
def test_same_seed_gives_bit_identical_weights_and_other_seed_does_not():
    a, _ = _train(seed=5)
    b, _ = _train(seed=5)
    c, _ = _train(seed=6)
    wa, wb, wc = _weights(a.model), _weights(b.model), _weights(c.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


@pytest.mark.determinism
def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path):
    full, full_history = _train(tmp_path, epochs=6, name="full.pt")
    # "Kill" after epoch 4: a run of 4 epochs leaves a checkpoint at epoch 4 ...
    _train(tmp_path, epochs=4, name="part.pt")
    lines = []
    resumed, history = _train(tmp_path, epochs=6, name="part.pt", log=lines.append)
    assert any("resumed from checkpoint" in line and "epoch 4/6" in line for line in lines)
    assert [l for l in lines if l.startswith("epoch ")][0].startswith("epoch 5/6")
    wf, wr = _weights(full.model), _weights(resumed.model)
    assert all(torch.equal(wf[k], wr[k]) for k in wf)
    assert [h["loss"] for h in history] == [h["loss"] for h in full_history]


def test_checkpoint_of_another_configuration_is_not_resumed(tmp_path):
    _train(tmp_path, epochs=2, beta=1.0)
    lines = []
    _train(tmp_path, epochs=2, beta=4.0, log=lines.append)
    assert any("another configuration" in line for line in lines)


def test_corrupt_checkpoint_is_ignored_with_a_message(tmp_path):
    (tmp_path / "ckpt.pt").write_bytes(b"not a checkpoint")
    lines = []
    _, history = _train(tmp_path, epochs=2, log=lines.append)
    assert any("unreadable" in line for line in lines) and len(history) == 2


def test_divergence_stops_with_a_clear_error(tmp_path):
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        _train(tmp_path, epochs=3, lr=1e12)
    assert not (tmp_path / "ckpt.pt").exists()


def test_nan_data_is_refused():
    x = _data()
    x[3, 1] = float("nan")
    trainer = Trainer(build_vae(SPEC, seed=0), TrainConfig(epochs=1), log=lambda s: None)
    with pytest.raises(ValueError, match="NaN"):
        trainer.fit(x)


@pytest.mark.parametrize("field,value", [("epochs", 0), ("batch_size", -1), ("rho", -1.0), ("beta", float("nan")), ("lr", 0.0)])
def test_impossible_training_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{"epochs": 1, field: value})


def test_rosetta_loss_pulls_the_encoder_onto_the_anchors():
    template, _ = _train(epochs=20, seed=0)
    x_r = _data()[::32]
    z_r = torch.as_tensor(encode_means(template.model, x_r))
    rosetta = RosettaLoss(x_r, z_r, rho=5.0)
    plain, _ = _train(epochs=20, seed=1)
    anchored, history = _train(epochs=20, seed=1, rosetta=rosetta)
    with torch.no_grad():
        err_plain = float(rosetta.anchor_error(plain.model))
        err_anchored = float(rosetta.anchor_error(anchored.model))
    assert err_anchored < 0.25 * err_plain
    assert history[-1]["rosetta"] < history[0]["rosetta"]


def test_evaluate_and_encode_means():
    trainer, _ = _train(epochs=2)
    x = _data(64, seed=9)
    val = evaluate(trainer.model, x)
    assert np.isfinite(val["neg_elbo"]) and val["selection_score"] == val["neg_elbo"]
    z = encode_means(trainer.model, x.numpy(), batch_size=10)
    assert z.shape == (64, 2) and z.dtype == np.float32
    np.testing.assert_allclose(z, trainer.model.encode(x)[0].detach().numpy(), rtol=1e-5, atol=1e-6)
