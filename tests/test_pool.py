"""Pools: runs of many conditions as one computation, each member as if it were trained alone."""

import numpy as np
import pytest
import torch

from rvae.convergence import PlateauRule
from rvae.losses import RosettaLoss
from rvae.models import ArchitectureSpec
from rvae.pool import LANES, PoolMember, fit_pool, padded
from rvae.trainer import TrainConfig, train_vae

MLP = ArchitectureSpec("mlp", (5,), 2)


def _x(n, seed):
    return torch.rand(n, 5, generator=torch.Generator().manual_seed(seed))


def _anchors(k, seed):
    g = torch.Generator().manual_seed(100 + seed)
    return RosettaLoss(torch.rand(k, 5, generator=g), torch.randn(k, 2, generator=g))


def _config(seed, steps=21, **kw):
    # batches of 32: passes of 3-4 steps end on short batches at different steps per member;
    # a history row every 5 steps, the half-budget snapshot at step 10
    rule = PlateauRule(eval_every=5, min_steps=5, min_window=5)
    return TrainConfig(until=steps, batch_size=32, seed=seed, precision="fp32", rule=rule, threads=1, snapshot_step=steps // 2, **kw)


def _members(checkpoints=None, steps=21):
    """Members as a pool of one dataset has them: R-VAEs with k = 2, 4 and 7 anchors on the train
    split; a VAE and a beta-VAE on the split plus R appended points; two VAE (same seed) runs."""
    x = _x(100, 0)
    val = _x(30, 1)
    specs = [
        (_config(11, steps, rho=3.0), x, _anchors(2, 0)),
        (_config(12, steps, rho=1.5), x, _anchors(4, 1)),
        (_config(13, steps, rho=3.0), x, _anchors(7, 2)),
        (_config(14, steps), torch.cat([x, _anchors(4, 1).x_r]), None),
        (_config(15, steps, beta=2.5), torch.cat([x, _anchors(7, 2).x_r]), None),
        (_config(16, steps), torch.cat([x, _anchors(2, 0).x_r]), None),
        (_config(16, steps), torch.cat([x, _anchors(2, 0).x_r]), None),
    ]
    paths = checkpoints or [None] * len(specs)
    return [PoolMember(config, x_train, val, rosetta, path) for (config, x_train, rosetta), path in zip(specs, paths)]


def _same(a, b) -> bool:
    weights = all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))
    half = all(torch.equal(p, q) for p, q in zip(a.half.parameters(), b.half.parameters()))
    untimed = lambda h: [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")} for r in h]  # noqa: E731
    return weights and half and untimed(a.history) == untimed(b.history)


@pytest.mark.determinism
def test_each_member_of_a_pool_is_bit_identical_to_a_pool_of_itself_alone():
    """Whatever its companions: other k, other n, other beta and rho, or none at all."""
    members = _members()
    pool = fit_pool(MLP, members)
    for member, run in zip(members, pool):
        assert _same(run, fit_pool(MLP, [member])[0])
    # and a member does not depend on its slot or on how many follow it
    reordered = fit_pool(MLP, members[::-1][:4])
    for run, again in zip(pool[::-1][:4], reordered):
        assert _same(run, again)
    # VAE (same seed): one run, trained once (and bit-identical to training it again); the other runs differ
    assert _same(pool[5], pool[6])
    assert len({float(run.history[-1]["loss"]) for run in pool[:6]}) == 6
    # each member's passes over its own points (100 for an R-VAE, 100 + R for the others)
    assert [run.history[-1]["epoch"] for run in pool] == [_passes(n) for n in (100, 100, 100, 104, 107, 102, 102)]
    assert pool[0].history[-1]["rosetta"] > 0 and pool[3].history[-1]["rosetta"] == 0  # only R-VAEs carry the anchor term


def _passes(n, steps=21, batch=32):
    per_pass = -(-n // batch)
    whole, part = divmod(steps, per_pass)
    return whole + min(n, part * batch) / n


@pytest.mark.determinism
def test_a_member_agrees_with_the_trainer_alone_to_float32_rounding_on_its_first_step():
    """Padded, masked and batched, the first step computes the same loss as ``Trainer`` on the same
    batch and noise: both are float32 sums of the same terms in another order, at most a few
    float32 ulps of the value apart (16 ulps: sums over at most 64 rows, log2(64) = 6 roundings per side)."""
    for member in _members(steps=2):
        config = TrainConfig(**{**member.config.__dict__, "until": 1, "snapshot_step": None, "rule": PlateauRule(eval_every=1, min_steps=1, min_window=1)})
        pooled = fit_pool(MLP, [PoolMember(config, member.x_train, member.x_val, member.rosetta)])[0].history[0]
        _, alone = train_vae(MLP, config, member.x_train, member.x_val, member.rosetta)
        for key in ("loss", "recon", "kl", "rosetta"):
            bound = 16 * np.finfo(np.float32).eps * abs(alone[0][key])
            assert abs(pooled[key] - alone[0][key]) <= bound, (key, pooled[key], alone[0][key])


@pytest.mark.determinism
def test_a_killed_pool_resumes_bit_identical(tmp_path, log_lines):
    checkpoints = [tmp_path / f"run{i}.ckpt" for i in range(7)]
    full = fit_pool(MLP, _members())

    members = [PoolMember(**{**m.__dict__, "config": TrainConfig(**{**m.config.__dict__, "checkpoint_every": 15})}) for m in _members(checkpoints)]
    log_lines.killed_at("step 20/21", lambda: fit_pool(MLP, members))
    assert [p.exists() for p in checkpoints] == [True] * 6 + [False]  # the same-seed copy trains as the run before it
    resumed = fit_pool(MLP, _members(checkpoints))
    assert sum("resumed from checkpoint" in line and "step 15/21" in line for line in log_lines.lines) == 6  # the copy has none
    assert not any(" step 15/21 " in line for line in log_lines.lines), "steps before the checkpoint are not repeated"
    for a, b in zip(full, resumed):
        assert _same(a, b)


def test_members_finished_before_are_read_back_and_only_the_new_ones_train(tmp_path, log_lines):
    """A pool that gains members (a new k, a new seed) trains only those: the finished ones come
    back from their checkpoints, bit-identical to a pool that trained them all."""
    checkpoints = [tmp_path / f"run{i}.ckpt" for i in range(7)]
    members = _members(checkpoints)
    fit_pool(MLP, members[:4])
    log_lines.lines.clear()
    grown = fit_pool(MLP, members)
    # the two VAE (same seed) runs are one run, trained once and copied
    assert any("4 read back from their finished checkpoints, 2 to train, 1 the same run as another (copied)" in line for line in log_lines.lines)
    for a, b in zip(grown, fit_pool(MLP, _members())):
        assert _same(a, b)


def test_padding_fills_whole_vector_blocks():
    assert [padded(n) for n in (1, 64, 65, 256, 600)] == [64, 64, 128, 256, 640] and LANES % 32 == 0


def test_a_pools_runs_are_the_seed_blocks_runs_with_the_same_seed_roles():
    """The tiny config's 8 Gaussians as a pool: every retraining its tables need, every seed, each
    with the role (and so the seed) its seed block gives it; its job reads every Rosetta file and sweep file."""
    from pathlib import Path

    import yaml

    from rvae.paper.plan import all_retrainings
    from rvae.workflow import params, paths
    from rvae.workflow.config_checks import validate_config

    config = yaml.safe_load((Path(__file__).parent / "workflow" / "config.yaml").read_text())
    validate_config(config)
    assert params.pooled(config, "gaussians") and not params.pooled(config, "birdsong")  # an MLP; an AVA net
    members = params.pool_members(config, "gaussians", "same")
    retrainings = [r for r in all_retrainings(config["tables"]) if r.dataset == "gaussians" and r.variant == "same"]
    assert len(members) == len(retrainings) * config["n_seeds"]
    for r in retrainings:
        retraining = paths.fill(paths.RETRAINING, **paths.retraining_values(r))
        mine = [m for m in members if m["retraining"] == retraining]
        assert [m["seed_role"] for m in mine] == params.retrain_roles(config, retraining, r.model_kind, 0)
        assert [m["training_seed"] for m in mine] == params.training_seeds(config, retraining, r.model_kind, 0)
    inputs = params.pool_inputs(config, "gaussians", "same")
    assert set(inputs["runs"]) == {m["rosetta"] for m in members} | {m["chosen"] for m in members if m["chosen"]}
    # beta is chosen by a sweep in the tiny config: the beta-VAE's runs read its file, the others none
    assert {m["model_kind"] for m in members if m["chosen"]} == {"beta_vae"} and inputs["budget"] == "results/budget/gaussians.json"
    wildcards = {"experiment": "sequential", "dataset": "gaussians", "method": "kmeans", "k": "8", "variant": "same", "model_kind": "rvae", "seed": "1"}
    assert params.seed_output(config, wildcards) == "results/pools/gaussians/same"
    assert params.seed_files_dir(config, wildcards, "results/pools/gaussians/same") == "results/pools/gaussians/same/sequential/gaussians/kmeans-k8-same/rvae"
