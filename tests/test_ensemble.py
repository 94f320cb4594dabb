"""Seed blocks: one batched computation for several seeds, each seed as if trained alone."""

import numpy as np
import pytest
import torch

from rvae.ensemble import SeedBlockTrainer, choose_mode, fit_block
from rvae.losses import RosettaLoss, batch_loss
from rvae.models import ArchitectureSpec, build_vae
from rvae.convergence import PlateauRule
from rvae.trainer import TrainConfig

MLP = ArchitectureSpec("mlp", (5,), 2)
CONV = ArchitectureSpec("conv", (1, 28, 28), 3)


def _data(spec, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *spec.input_shape, generator=g)


def _configs(seeds, steps=9, **kw):
    # fp32: these tests bound float32 rounding against float64 (bf16 has its own tests);
    # a history row every 3 steps (96 points in batches of 32 are 3 steps a pass)
    kw = {"precision": "fp32", "rule": PlateauRule(eval_every=3, min_steps=3, min_window=3), **kw}
    return [TrainConfig(until=steps, batch_size=32, seed=s, rho=1.5, beta=2.0, **kw) for s in seeds]


@pytest.mark.determinism
@pytest.mark.parametrize("spec", [MLP, CONV], ids=["mlp", "conv"])
def test_a_seed_does_not_depend_on_its_block(spec):
    x = _data(spec, 96)
    anchors = RosettaLoss(x[:4], torch.randn(4, spec.latent_dim, generator=torch.Generator().manual_seed(1)))
    three = fit_block(spec, _configs([0, 1, 2]), x, x[:20], anchors, [None] * 3, "vmap")
    two = fit_block(spec, _configs([0, 1]), x, x[:20], anchors, [None] * 2, "vmap")
    for (a, history_a, _), (b, history_b, _) in zip(three[:2], two):
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
        assert history_a[-1]["loss"] == history_b[-1]["loss"]
    # and the seeds really differ from each other
    assert not torch.equal(next(three[0][0].parameters()), next(three[1][0].parameters()))


def _gradient(model_or_params):
    return torch.cat([p.grad.flatten() for p in model_or_params])


@pytest.mark.determinism
@pytest.mark.parametrize("spec", [MLP, CONV], ids=["mlp", "conv"])
def test_vmap_step_agrees_with_a_single_run_to_rounding(spec):
    """Level (b): a vmap slot computes the same step as the seed alone, up to float32 rounding.

    The bound is derived, not tuned: the float64 computation of the same step is the exact
    answer, and the vmap slot may be no further from it than 4x the single float32 run is on the
    same machine, whatever kernels (AVX-512, AVX2, baseline) the CPU takes. Over many steps the
    two then separate: Adam turns gradient entries that are pure rounding noise into full +-lr
    steps, so trajectories are compared per step, never weight by weight after training.
    """
    g = torch.Generator().manual_seed(5)
    seeds, batch = [3, 4], 32
    x = torch.rand(len(seeds), batch, *spec.input_shape, generator=g)
    eps = torch.randn(len(seeds), batch, spec.latent_dim, generator=g)
    x_r, z_r = torch.rand(4, *spec.input_shape, generator=g), torch.randn(4, spec.latent_dim, generator=g)
    anchors = RosettaLoss(x_r, z_r)
    configs = _configs(seeds)
    block = SeedBlockTrainer([build_vae(spec, seed=s) for s in seeds], configs)
    parts = block.batched_loss(anchors)(x, eps)
    parts[:, 0].sum().backward()
    single_errors, vmap_errors, loss_errors = [], [], []
    for i, seed in enumerate(seeds):
        vmap_grad = torch.cat([p.grad[i].flatten() for p in block.params.values()])
        single = build_vae(spec, seed=seed)
        loss32 = batch_loss(single, x[i], eps[i], 2.0, 10.0, anchors, 1.5).total
        loss32.backward()
        exact = build_vae(spec, seed=seed).double()
        loss64 = batch_loss(exact, x[i].double(), eps[i].double(), 2.0, 10.0, RosettaLoss(x_r, z_r).double(), 1.5).total
        loss64.backward()
        grad32, grad64 = _gradient(single.parameters()), _gradient(exact.parameters()).float()
        single_errors.append(float((grad32 - grad64).norm()))
        assert 0 < single_errors[-1] < 1e-3 * float(grad64.norm()), "float32 is a rounding away from float64"
        vmap_errors.append(float((vmap_grad - grad64).norm()))
        loss_errors.append((abs(float(parts[i, 0].detach()) - float(loss64.detach())), abs(float(loss32.detach()) - float(loss64.detach())), float(loss64.detach())))
    # this machine's float32 rounding scale for this step: the larger single-run error of the block
    scale = max(single_errors)
    assert max(vmap_errors) <= 4 * scale, (vmap_errors, single_errors)
    for vmap_error, single_error, exact in loss_errors:
        assert vmap_error <= 4 * max(single_error, 1e-7 * abs(exact)), (vmap_error, single_error, exact)


@pytest.mark.determinism
def test_killed_block_resumes_bit_identical(tmp_path, log_lines):
    x = _data(MLP, 200)
    checkpoints = [tmp_path / f"seed{s}.ckpt" for s in (0, 1)]
    # 200 points: 7 steps a pass; rows every 3 steps and checkpoints every 6 fall part-way through passes
    full = fit_block(MLP, _configs([0, 1], steps=18), x, x[:30], None, [None, None], "vmap")

    log_lines.killed_at("step 15/18", lambda: fit_block(MLP, _configs([0, 1], steps=18, checkpoint_every=6), x, x[:30], None, checkpoints, "vmap"))
    assert all(p.exists() for p in checkpoints)
    lines = log_lines.lines
    resumed = fit_block(MLP, _configs([0, 1], steps=18, checkpoint_every=6), x, x[:30], None, checkpoints, "vmap")
    assert sum("resumed from checkpoint" in line and "step 12/18" in line for line in lines) == 2
    assert not any("step 12/18 " in line for line in lines), "steps before the checkpoint are not repeated"
    for (a, history_a, _), (b, history_b, _) in zip(full, resumed):
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
        assert [r["loss"] for r in history_a] == [r["loss"] for r in history_b]


def test_checkpoints_of_another_block_are_not_resumed(tmp_path, log_lines):
    x = _data(MLP, 100)
    checkpoints = [tmp_path / f"seed{s}.ckpt" for s in (0, 1)]
    fit_block(MLP, _configs([0, 1], steps=6, checkpoint_every=3), x, None, None, checkpoints, "vmap")
    lines = log_lines.lines
    lines.clear()
    fit_block(MLP, _configs([0, 1], steps=9, lr=0.01), x, None, None, checkpoints, "vmap")
    assert any("another configuration" in line for line in lines)
    assert not any("resumed" in line for line in lines)


def test_block_runs_may_differ_only_in_seed_beta_and_rho():
    models = [build_vae(MLP, seed=s) for s in (0, 1)]
    configs = [TrainConfig(until=1, seed=0), TrainConfig(until=1, seed=1, lr=0.01)]
    with pytest.raises(ValueError, match="differ only in seed, beta, rho"):
        SeedBlockTrainer(models, configs)
    SeedBlockTrainer(models, [TrainConfig(until=1, seed=0), TrainConfig(until=1, seed=1, beta=3.0, rho=2.0)])


def test_a_grid_block_gives_each_slot_its_own_beta_and_rho():
    """A sweep grid is one vmap block: slot i's loss is batch_loss with slot i's beta and rho.

    Bound from the computation: the float64 loss is exact; the slot may be off it by at most 4x
    the single float32 run's error plus 8 float32 ulps of the value (sums of a few hundred terms).
    """
    g = torch.Generator().manual_seed(2)
    grid = [(0.0, 0.0), (2.5, 1.0), (10.0, 5.0)]
    seeds = [7, 8, 9]
    x = torch.rand(len(grid), 32, *MLP.input_shape, generator=g)
    eps = torch.randn(len(grid), 32, MLP.latent_dim, generator=g)
    anchors = RosettaLoss(torch.rand(4, *MLP.input_shape, generator=g), torch.randn(4, MLP.latent_dim, generator=g))
    configs = [
        TrainConfig(until=3, batch_size=32, seed=s, beta=b, rho=r, precision="fp32") for s, (b, r) in zip(seeds, grid)
    ]
    block = SeedBlockTrainer([build_vae(MLP, seed=s) for s in seeds], configs)
    parts = block.batched_loss(anchors)(x, eps).detach()
    totals = []
    for i, (seed, (beta, rho)) in enumerate(zip(seeds, grid)):
        loss32 = float(batch_loss(build_vae(MLP, seed=seed), x[i], eps[i], beta, 10.0, anchors, rho).total.detach())
        anchors64 = RosettaLoss(anchors.x_r, anchors.z_r).double()
        exact = build_vae(MLP, seed=seed).double()
        loss64 = float(batch_loss(exact, x[i].double(), eps[i].double(), beta, 10.0, anchors64, rho).total.detach())
        bound = 4 * abs(loss32 - loss64) + 8 * np.finfo(np.float32).eps * abs(loss64)
        assert abs(float(parts[i, 0]) - loss64) <= bound, (i, float(parts[i, 0]), loss32, loss64)
        totals.append(loss64)
    # the slots really differ: the three (beta, rho) give three different losses
    assert len({round(t, 3) for t in totals}) == 3


@pytest.mark.determinism
def test_a_loop_grid_split_into_parts_gives_the_same_candidates():
    """A conv grid on a CPU trains one candidate after another, so the workflow splits it into parts
    (``rvae.workflow.params.sweep_parts``): each candidate comes out bit-identical either way."""
    x = _data(CONV, 64)
    anchors = RosettaLoss(x[:4], torch.randn(4, CONV.latent_dim, generator=torch.Generator().manual_seed(1)))
    grid = [TrainConfig(until=6, batch_size=32, seed=s, rho=rho, precision="fp32") for s, rho in ((3, 0.0), (4, 1.5), (5, 6.0))]
    whole = fit_block(CONV, grid, x, x[:16], anchors, [None] * 3, "loop")
    parts = fit_block(CONV, grid[:1], x, x[:16], anchors, [None], "loop")
    parts += fit_block(CONV, grid[1:], x, x[:16], anchors, [None] * 2, "loop")
    for (a, history_a, _), (b, history_b, _) in zip(whole, parts):
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
        untimed = [{key: v for key, v in r.items() if key not in ("seconds", "samples_per_s")} for r in history_a + history_b]
        assert untimed[: len(history_a)] == untimed[len(history_a) :]
    assert whole[0][1][-1]["val_neg_elbo"] != whole[1][1][-1]["val_neg_elbo"]  # the candidates differ


def test_mode_choice():
    assert choose_mode("auto", MLP.family, "cpu") == "vmap"
    assert choose_mode("auto", CONV.family, "cpu") == "loop"
    assert choose_mode("loop", MLP.family, "cpu") == "loop"
    with pytest.raises(ValueError, match="seed block mode"):
        choose_mode("fast", MLP.family, "cpu")


@pytest.mark.determinism
@pytest.mark.parametrize("spec", [MLP, CONV], ids=["mlp", "conv"])
def test_vae_same_seed_runs_are_bit_identical_whatever_the_block_mode(spec):
    """"VAE (same seed)" is one run, trained once and copied to its repeats: never vmap slots (that
    two separate runs of one seed are bit-identical is tests/test_trainer.py's)."""
    from rvae.data.common import RawDataset
    from rvae.data.store import prepare
    from rvae.paper.experiment import retrain_block
    from rvae.rosetta_file import RosettaPoints

    g = torch.Generator().manual_seed(2)
    x = torch.rand(120, *spec.input_shape, generator=g).numpy()
    labels = np.arange(120) % 2
    data = prepare(RawDataset("toy", x, labels, np.where(labels == 0, "D1", "D2"), ["a", "b"]))
    points = RosettaPoints.create(x[:4], torch.randn(4, spec.latent_dim, generator=g).numpy(), [0, 1, 2, 3], "toy", "kmeans")
    configs = [TrainConfig(until=8, batch_size=16, seed=0) for _ in range(3)]
    runs = retrain_block(data, "reproducibility", "vae_same_seed", points, spec, configs, [None] * 3, "vmap")
    first = [p.detach() for p in runs[0][0].parameters()]
    for model, *_ in runs[1:]:
        assert all(torch.equal(p, q) for p, q in zip(first, model.parameters()))
