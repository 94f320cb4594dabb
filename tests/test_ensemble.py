"""Seed blocks: one batched computation for several seeds, each seed as if trained alone."""

import pytest
import torch

from rvae.ensemble import SeedBlockTrainer, choose_mode, fit_block
from rvae.losses import RosettaLoss
from rvae.models import ArchitectureSpec, build_vae
from rvae.trainer import TrainConfig

MLP = ArchitectureSpec("mlp", (5,), 2)
CONV = ArchitectureSpec("conv", (1, 28, 28), 3)


def _data(spec, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *spec.input_shape, generator=g)


def _configs(seeds, epochs=3, **kw):
    return [TrainConfig(epochs=epochs, batch_size=32, seed=s, rho=1.5, beta=2.0, **kw) for s in seeds]


@pytest.mark.parametrize("spec", [MLP, CONV], ids=["mlp", "conv"])
def test_a_seed_does_not_depend_on_its_block(spec):
    x = _data(spec, 96)
    anchors = RosettaLoss(x[:4], torch.randn(4, spec.latent_dim, generator=torch.Generator().manual_seed(1)))
    three = fit_block(spec, _configs([0, 1, 2]), x, x[:20], anchors, [None] * 3, "vmap")
    two = fit_block(spec, _configs([0, 1]), x, x[:20], anchors, [None] * 2, "vmap")
    for (a, history_a), (b, history_b) in zip(three[:2], two):
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
        assert history_a[-1]["loss"] == history_b[-1]["loss"]
    # and the seeds really differ from each other
    assert not torch.equal(next(three[0][0].parameters()), next(three[1][0].parameters()))


@pytest.mark.parametrize("spec", [MLP, CONV], ids=["mlp", "conv"])
def test_vmap_block_matches_training_each_seed_alone(spec):
    """Same seeds, same data order, same noise: the batched block and separate runs agree."""
    x = _data(spec, 96)
    anchors = RosettaLoss(x[:4], torch.randn(4, spec.latent_dim, generator=torch.Generator().manual_seed(1)))
    batched = fit_block(spec, _configs([3, 4]), x, None, anchors, [None] * 2, "vmap")
    alone = fit_block(spec, _configs([3, 4]), x, None, anchors, [None] * 2, "loop")
    for (a, history_a), (b, history_b) in zip(batched, alone):
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-3, atol=1e-3)
        for ra, rb in zip(history_a, history_b):
            assert ra["loss"] == pytest.approx(rb["loss"], rel=1e-5)


def test_killed_block_resumes_bit_identical(tmp_path, log_lines):
    x = _data(MLP, 200)
    checkpoints = [tmp_path / f"seed{s}.ckpt" for s in (0, 1)]
    full = fit_block(MLP, _configs([0, 1], epochs=6), x, x[:30], None, [None, None], "vmap")

    class Killed(Exception):
        pass

    def die_after_epoch_4(line):
        if "epoch 5/6" in line:
            raise Killed

    log_lines.on_line = die_after_epoch_4
    with pytest.raises(Killed):
        fit_block(MLP, _configs([0, 1], epochs=6, checkpoint_every=2), x, x[:30], None, checkpoints, "vmap")
    assert all(p.exists() for p in checkpoints)
    log_lines.on_line = None
    lines = log_lines.lines
    lines.clear()
    resumed = fit_block(MLP, _configs([0, 1], epochs=6, checkpoint_every=2), x, x[:30], None, checkpoints, "vmap")
    assert sum("resumed from checkpoint" in line and "epoch 4/6" in line for line in lines) == 2
    assert not any("epoch 3/6" in line for line in lines), "epochs before the checkpoint are not repeated"
    for (a, history_a), (b, history_b) in zip(full, resumed):
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
        assert [r["loss"] for r in history_a] == [r["loss"] for r in history_b]


def test_checkpoints_of_another_block_are_not_resumed(tmp_path, log_lines):
    x = _data(MLP, 100)
    checkpoints = [tmp_path / f"seed{s}.ckpt" for s in (0, 1)]
    fit_block(MLP, _configs([0, 1], epochs=2, checkpoint_every=1), x, None, None, checkpoints, "vmap")
    lines = log_lines.lines
    lines.clear()
    fit_block(MLP, _configs([0, 1], epochs=3, lr=0.01), x, None, None, checkpoints, "vmap")
    assert any("another configuration" in line for line in lines)
    assert not any("resumed" in line for line in lines)


def test_block_runs_must_differ_only_in_seed():
    models = [build_vae(MLP, seed=s) for s in (0, 1)]
    configs = [TrainConfig(epochs=1, seed=0), TrainConfig(epochs=1, seed=1, beta=3.0)]
    with pytest.raises(ValueError, match="differ only in their seed"):
        SeedBlockTrainer(models, configs)


def test_mode_choice():
    assert choose_mode("auto", MLP, "cpu") == "vmap"
    assert choose_mode("auto", CONV, "cpu") == "loop"
    assert choose_mode("loop", MLP, "cpu") == "loop"
    with pytest.raises(ValueError, match="seed block mode"):
        choose_mode("fast", MLP, "cpu")
