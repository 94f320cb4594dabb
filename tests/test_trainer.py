import re
import runpy
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from rvae.ensemble import fit_block
from rvae.losses import RosettaLoss
from rvae.models import ArchitectureSpec, build_vae
from rvae.inference import encode_means, evaluate
from rvae.convergence import PLATEAU, PlateauRule
from rvae.trainer import TrainConfig, Trainer, TrainingDiverged

SPEC = ArchitectureSpec("mlp", (5,), 2)
# 256 points in batches of 32: 8 steps a pass; one history row a pass
RULE = PlateauRule(eval_every=8, min_steps=40, min_window=16)


def _data(n=256, seed=0):
    gen = torch.Generator().manual_seed(seed)
    angle = torch.rand(n, generator=gen) * 6.283
    centre = torch.stack([angle.cos(), angle.sin()], 1) * 3
    return torch.cat([centre + 0.1 * torch.randn(n, 2, generator=gen), torch.randn(n, 3, generator=gen) * 0.1], 1)


def _train(tmp_path=None, steps=48, seed=0, rosetta=None, name="ckpt.pt", **kw):
    config = TrainConfig(**{"until": steps, "batch_size": 32, "seed": seed, "checkpoint_every": 16, "rule": RULE, **kw})
    trainer = Trainer(build_vae(SPEC, seed=seed), config, checkpoint_path=tmp_path / name if tmp_path else None)
    history = trainer.fit(_data(), rosetta=rosetta)
    return trainer, history


def _killed_at_42_and_resumed(tmp_path, log_lines, **kw):
    """52 steps uninterrupted, and the same run killed at step 42 and resumed from its step-36
    checkpoint: ((trainer, history) uninterrupted, (trainer, history) resumed)."""
    full = _train(tmp_path, steps=52, name="full.pt", **kw)
    log_lines.killed_at("step 42/", lambda: _train(tmp_path, steps=52, name="part.pt", **kw))
    resumed = _train(tmp_path, steps=52, name="part.pt", **kw)
    assert any("resumed from checkpoint" in line and "step 36/52" in line for line in log_lines.lines), log_lines.lines
    return full, resumed


def _weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_short_training_reduces_the_loss():
    _, history = _train(steps=120)
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]
    assert [h["step"] for h in history] == list(range(8, 121, 8)) and history[-1]["epoch"] == 15.0


@pytest.mark.determinism
def test_same_seed_gives_bit_identical_weights_and_other_seed_does_not():
    a, _ = _train(seed=5)
    b, _ = _train(seed=5)
    c, _ = _train(seed=6)
    wa, wb, wc = _weights(a.model), _weights(b.model), _weights(c.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


@pytest.mark.determinism
def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path, log_lines):
    # rows every 6 steps, checkpoints every 12: the one at step 36 lies part-way through the 5th pass
    # of 8 steps, so the resumed run must restore its permutation and cursor, not only its streams
    kw = {"rule": PlateauRule(eval_every=6, min_steps=6, min_window=6), "checkpoint_every": 12}
    (full, full_history), (resumed, history) = _killed_at_42_and_resumed(tmp_path, log_lines, **kw)
    lines = log_lines.lines
    assert [l for l in lines if l.startswith("step ")][0].startswith("step 42/52")
    wf, wr = _weights(full.model), _weights(resumed.model)
    assert all(torch.equal(wf[k], wr[k]) for k in wf)
    assert [h["loss"] for h in history] == [h["loss"] for h in full_history]


def test_checkpoint_of_another_configuration_is_not_resumed(tmp_path, log_lines):
    _train(tmp_path, steps=16, beta=1.0)
    _train(tmp_path, steps=16, beta=4.0)
    assert any("another configuration" in line for line in log_lines.lines)


@pytest.mark.parametrize(
    "other", [{"until": 64}, {"until": PLATEAU}, {"rule": PlateauRule(eval_every=8, min_steps=40, min_window=16, tol=0.05)}]
)
def test_a_checkpoint_trained_under_another_budget_or_rule_is_not_resumed(tmp_path, log_lines, other):
    """Spec, "Training budget", item 5: the budget and the rule are part of a run's identity."""
    _train(tmp_path, steps=48)
    log_lines.lines.clear()
    config = TrainConfig(**{"until": 48, "batch_size": 32, "seed": 0, "checkpoint_every": 16, "rule": RULE, **other})
    history = Trainer(build_vae(SPEC, seed=0), config, tmp_path / "ckpt.pt").fit(_data())
    assert any("another configuration" in line for line in log_lines.lines), log_lines.lines
    assert not any("resumed" in line for line in log_lines.lines) and history[0]["step"] == 8


def test_a_checkpoint_judged_on_another_validation_set_is_not_resumed(tmp_path, log_lines):
    """The plateau rule reads the validation curve, so the validation data are part of the data's identity."""
    config = TrainConfig(until=32, batch_size=32, seed=0, checkpoint_every=16, rule=RULE)
    Trainer(build_vae(SPEC, seed=0), config, tmp_path / "ckpt.pt").fit(_data(), x_val=_data(64, seed=3))
    log_lines.lines.clear()
    Trainer(build_vae(SPEC, seed=0), config, tmp_path / "ckpt.pt").fit(_data(), x_val=_data(64, seed=3))
    assert any("resumed from checkpoint" in line for line in log_lines.lines)  # the same validation set: resumed
    log_lines.lines.clear()
    Trainer(build_vae(SPEC, seed=0), config, tmp_path / "ckpt.pt").fit(_data(), x_val=_data(64, seed=4))
    assert any("other training data" in line for line in log_lines.lines) and not any("resumed" in line for line in log_lines.lines)


def test_corrupt_checkpoint_is_ignored_with_a_message(tmp_path, log_lines):
    (tmp_path / "ckpt.pt").write_bytes(b"not a checkpoint")
    _, history = _train(tmp_path, steps=16)
    assert any("unreadable" in line for line in log_lines.lines) and len(history) == 2


def test_divergence_stops_with_a_clear_error(tmp_path):
    with pytest.raises(TrainingDiverged, match="by step 8 "):
        _train(tmp_path, steps=24, lr=1e12)
    assert not (tmp_path / "ckpt.pt").exists()


def test_nan_data_is_refused():
    x = _data()
    x[3, 1] = float("nan")
    trainer = Trainer(build_vae(SPEC, seed=0), TrainConfig(until=1))
    with pytest.raises(ValueError, match="NaN"):
        trainer.fit(x)


@pytest.mark.parametrize(
    "field,value",
    [("until", 0), ("until", "forever"), ("until", 2.5), ("batch_size", -1), ("rho", -1.0), ("beta", float("nan")), ("lr", 0.0)],
)
def test_impossible_training_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{"until": 1, field: value})


@pytest.mark.parametrize(
    "field,value,message",
    [("eval_every", 0, "eval_every"), ("patience", 1.0, "patience"), ("patience", 0.0, "patience"), ("tol", -0.1, "tol"),
     ("min_steps", 30000, "min_steps .* above plateau.max_steps"), ("min_window", 0, "min_window")],
)  # fmt: skip
def test_impossible_plateau_settings_are_refused_naming_the_key(field, value, message):
    with pytest.raises(ValueError, match=f"plateau.{message}"):
        PlateauRule(**{field: value})


def test_rosetta_loss_pulls_the_encoder_onto_the_anchors():
    template, _ = _train(steps=160, seed=0)
    x_r = _data()[::32]
    z_r = torch.as_tensor(encode_means(template.model, x_r))
    rosetta = RosettaLoss(x_r, z_r)
    plain, _ = _train(steps=160, seed=1)
    anchored, history = _train(steps=160, seed=1, rosetta=rosetta, rho=5.0)
    with torch.no_grad():
        err_plain = float(rosetta.anchor_error(plain.model))
        err_anchored = float(rosetta.anchor_error(anchored.model))
    assert err_anchored < 0.25 * err_plain
    assert history[-1]["rosetta"] < history[0]["rosetta"]


def test_evaluate_and_encode_means():
    trainer, _ = _train(steps=16)
    x = _data(64, seed=9)
    val = evaluate(trainer.model, x)
    assert np.isfinite(val["neg_elbo"]) and val["selection_score"] == val["neg_elbo"]
    z = encode_means(trainer.model, x.numpy(), batch_size=10)
    assert z.shape == (64, 2) and z.dtype == np.float32
    np.testing.assert_allclose(z, trainer.model.encode(x)[0].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_editing_rho_in_the_readme_example_does_not_resume_a_stale_checkpoint(tmp_path, log_lines):
    """README style: rerun the same lines after changing rho; the rho = 1.5 checkpoint must not be
    resumed. rho has one home, TrainConfig, whose identity the checkpoint carries; a second copy
    (in RosettaLoss, say) outside the identity would resume the stale run."""
    anchors = RosettaLoss(_data()[::32], torch.zeros(8, 2))
    _train(tmp_path, steps=32, rosetta=anchors, rho=1.5)
    _train(tmp_path, steps=32, rosetta=anchors, rho=3.0)
    assert any("another configuration" in line for line in log_lines.lines)
    assert not any("resumed" in line for line in log_lines.lines), log_lines.lines
    _train(tmp_path, steps=32, rosetta=anchors, rho=3.0)
    assert any("resumed" in line and "step 32/32" in line for line in log_lines.lines)


def test_the_readmes_ten_lines_run_as_written(tmp_path, monkeypatch, log_lines):
    """The library example of README.md, on small stand-in files, twice: the second run resumes."""
    from rvae.rosetta_file import RosettaPoints, save_rosetta_points

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"## The library in ten lines.*?```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    np.save("my_data.npy", rng.random((40, 1, 28, 28)).astype("float32"))
    points = RosettaPoints.create(rng.random((4, 1, 28, 28)), rng.standard_normal((4, 16)), np.arange(4), "mnist", "kmeans")
    save_rosetta_points(points, "rosetta.parquet")
    short = code.replace("until=2000", "until=3")
    assert short != code
    scope: dict = {}
    exec(short, scope)
    assert scope["z"].shape == (40, 16) and Path("run.ckpt").exists()
    exec(short, {})
    assert any("resumed from checkpoint run.ckpt at step 3/3" in line for line in log_lines.lines)
    log_lines.lines.clear()
    exec(short.replace("until=3", "until=4"), {})  # another budget: not this run's checkpoint
    assert any("another configuration" in line for line in log_lines.lines) and not any("resumed" in l for l in log_lines.lines)


def test_a_run_takes_exactly_its_steps_and_passes_wrap_with_fresh_permutations():
    """Steps are the unit: 20 steps of 32 over 200 points are 2 full passes (7 steps each, the last
    batch of 8) and 6 steps into a third; the first 14 steps are those of two passes."""
    x = _data(200)
    trainer = Trainer(build_vae(SPEC, seed=0), TrainConfig(until=20, batch_size=32, seed=0, rule=PlateauRule(eval_every=7, min_steps=7, min_window=7)))
    history = trainer.fit(x)
    assert {int(state["step"]) for state in trainer.optimizer.state_dict()["state"].values()} == {20}
    assert [h["step"] for h in history] == [7, 14, 20] and history[1]["epoch"] == 2.0
    assert history[2]["epoch"] == pytest.approx(2 + 6 * 32 / 200)
    two_passes = Trainer(build_vae(SPEC, seed=0), TrainConfig(until=14, batch_size=32, seed=0, rule=PlateauRule(eval_every=7, min_steps=7, min_window=7)))
    two_passes.fit(x)
    assert not all(torch.equal(a, b) for a, b in zip(trainer.model.parameters(), two_passes.model.parameters()))
    again = Trainer(build_vae(SPEC, seed=0), TrainConfig(until=14, batch_size=32, seed=0, rule=PlateauRule(eval_every=7, min_steps=7, min_window=7)))
    again.fit(x)
    assert all(torch.equal(a, b) for a, b in zip(again.model.parameters(), two_passes.model.parameters()))


def test_until_plateau_stops_where_the_rule_first_holds_and_records_it(log_lines):
    from rvae.convergence import judged_curve, plateau_step

    rule = PlateauRule(eval_every=8, min_steps=40, min_window=16, max_steps=4000)
    trainer = Trainer(build_vae(SPEC, seed=0), TrainConfig(until=PLATEAU, batch_size=32, seed=0, rule=rule))
    history = trainer.fit(_data(), x_val=_data(64, seed=3))
    steps, values = judged_curve(history)
    assert trainer.plateau_steps == [history[-1]["step"]] == [plateau_step(steps, values, rule)]
    assert plateau_step(steps[:-1], values[:-1], rule) is None and 40 <= history[-1]["step"] < 4000
    assert any(f"the plateau rule held at step {history[-1]['step']}" in line for line in log_lines.lines)
    capped = Trainer(build_vae(SPEC, seed=0), TrainConfig(until=PLATEAU, batch_size=32, seed=0, rule=PlateauRule(eval_every=8, min_steps=16, min_window=16, max_steps=24)))
    history = capped.fit(_data(), x_val=_data(64, seed=3))
    assert history[-1]["step"] == 24 and capped.plateau_steps == [None]
    assert any("no plateau by the cap of 24 steps" in line for line in log_lines.lines)


def test_every_model_of_a_comparison_takes_the_same_steps():
    """Spec, "Training budget": VAE and beta-VAE draw their batches from n + R points, the R-VAE
    from n, every one for the same number of optimiser steps."""
    from rvae.data.common import RawDataset
    from rvae.data.store import prepare
    from rvae.paper.experiment import retrain_block
    from rvae.rosetta_file import RosettaPoints

    x = _data(300).numpy()
    labels = np.arange(300) % 2
    data = prepare(RawDataset("toy", x, labels, np.where(labels == 0, "D1", "D2"), ["a", "b"]))
    n = len(data.rows("D1", "train"))  # 90 points: 3 steps of 32 a pass; with the 40 Rosetta inputs 5
    points = RosettaPoints.create(x[:40], np.zeros((40, 2), np.float32), list(range(40)), "toy", "kmeans")
    rule = PlateauRule(eval_every=5, min_steps=5, min_window=5)
    passes = {}
    for kind in ("vae", "beta_vae", "rvae", "vae_same_seed"):
        [(_, history, _)] = retrain_block(data, "reproducibility", kind, points, SPEC, [TrainConfig(until=12, batch_size=32, seed=0, rule=rule)], [None], "loop")
        assert [h["step"] for h in history] == [5, 10, 12]
        passes[kind] = history[-1]["epoch"]
    assert n == 90 and passes["rvae"] == pytest.approx(4.0) and passes["vae"] == pytest.approx(2 + 2 * 32 / 130), passes


def test_the_training_span_is_logged_for_the_job_overhead_benchmark(tmp_path, log_lines):
    """benchmarks/job_overhead.py subtracts this span from a job's benchmark seconds."""
    job_overhead = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "job_overhead.py"))
    SPAN, job_costs = job_overhead["SPAN"], job_overhead["job_costs"]

    start = time.perf_counter()
    _train(steps=24)
    wall = time.perf_counter() - start
    spans = [float(s) for s in SPAN.findall("\n".join(log_lines.lines))]
    assert len(spans) == 1 and 0 < spans[0] <= wall
    assert any(re.fullmatch(r"training span: 1 run to step 24 in [\d.]+ s", line) for line in log_lines.lines)
    # a vmapped block: one span for all its runs
    configs = [TrainConfig(until=4, batch_size=32, seed=seed, rule=RULE) for seed in (1, 2)]
    fit_block(SPEC, configs, _data(64), None, None, [None, None], "vmap")
    assert any(re.fullmatch(r"training span: 2 runs to step 4 in [\d.]+ s", line) for line in log_lines.lines)
    # a job of 5.0 s whose log holds two spans (a loop block of two seeds) paid 5.0 - 1.5 - 2.0 s besides training
    (tmp_path / "benchmarks/retrain/x").mkdir(parents=True)
    (tmp_path / "logs/retrain/x").mkdir(parents=True)
    (tmp_path / "benchmarks/retrain/x/block0.tsv").write_text("s\th:m:s\n5.0\t0:00:05\n")
    (tmp_path / "logs/retrain/x/block0.log").write_text(
        "job started at 1.0\ntraining span: 1 run to step 3 in 1.500 s\ntraining span: 1 run to step 3 in 2.000 s\n"
    )
    (tmp_path / "benchmarks/retrain/x/block1.tsv").write_text("s\th:m:s\n4.0\t0:00:04\n")  # no log: skipped
    # a job run twice: the log keeps both attempts, the benchmark file only the last, so only its span counts
    (tmp_path / "benchmarks/retrain/x/block2.tsv").write_text("s\th:m:s\n6.0\t0:00:06\n")
    (tmp_path / "logs/retrain/x/block2.log").write_text(
        "job started at 1.0\ntraining span: 3 runs to step 9 in 40.000 s\n"
        "job started at 99.0\ntraining span: 3 runs to step 9 in 4.250 s\njob finished at 104.0\n"
    )
    rows, skipped = job_costs(tmp_path, "retrain")
    assert rows == [(5.0, 1.5), (6.0, 1.75)] and skipped == 1


@pytest.mark.determinism
@pytest.mark.parametrize("mode", ["single", "vmap"])
def test_the_half_budget_snapshot_is_the_run_of_half_the_steps(mode):
    """Spec, "Where no plateau comes", item 2: the weights kept at floor(S/2) are bit for bit those
    of the same run trained floor(S/2) steps, and its history up to there is that run's history."""
    from rvae.trainer import half_budget

    steps, half = 52, half_budget(52)  # 26: off the 8-step row grid, so the loop adds a row there
    kw = {"batch_size": 32, "rule": RULE, "precision": "fp32"}
    if mode == "single":
        trainer = Trainer(build_vae(SPEC, seed=3), TrainConfig(until=steps, seed=3, snapshot_step=half, **kw))
        histories = [trainer.fit(_data())]
        short = [Trainer(build_vae(SPEC, seed=3), TrainConfig(until=half, seed=3, **kw))]
        short_histories = [short[0].fit(_data())]
        short_models = [short[0].model]
        halves = trainer.snapshot_models()
    else:
        runs = fit_block(SPEC, [TrainConfig(until=steps, seed=s, snapshot_step=half, **kw) for s in (3, 4)], _data(), None, None, [None] * 2, "vmap")
        shorts = fit_block(SPEC, [TrainConfig(until=half, seed=s, **kw) for s in (3, 4)], _data(), None, None, [None] * 2, "vmap")
        histories, halves = [r.history for r in runs], [r.half for r in runs]
        short_histories, short_models = [r.history for r in shorts], [r.model for r in shorts]
    for history, half_model, short_history, short_model in zip(histories, halves, short_histories, short_models):
        assert [r["step"] for r in history][:4] == [8, 16, 24, 26] and history[-1]["step"] == steps
        untimed = lambda rows: [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")} for r in rows]
        assert untimed(history[:4]) == untimed(short_history)
        a, b = _weights(half_model), _weights(short_model)
        assert all(torch.equal(a[k], b[k]) for k in a)
    full = _weights(trainer.model if mode == "single" else runs[0].model)
    assert not all(torch.equal(full[k], _weights(halves[0])[k]) for k in full)  # the run went on


@pytest.mark.determinism
def test_a_run_killed_after_its_snapshot_resumes_with_it(tmp_path, log_lines):
    kw = {"rule": PlateauRule(eval_every=6, min_steps=6, min_window=6), "checkpoint_every": 12, "snapshot_step": 26}
    (full, _), (resumed, _) = _killed_at_42_and_resumed(tmp_path, log_lines, **kw)
    a, b = _weights(full.snapshot_models()[0]), _weights(resumed.snapshot_models()[0])
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_checkpoint_written_without_the_snapshot_is_not_resumed_as_if_it_had_it(tmp_path, log_lines):
    """A checkpoint from before the half budget (no snapshot_step in its identity) is past the
    snapshot step; resuming it would give a run without its half-budget weights."""
    _train(tmp_path, steps=48)  # its last checkpoint is at step 48, past a snapshot at 24
    log_lines.lines.clear()
    trainer, history = _train(tmp_path, steps=48, snapshot_step=24)
    assert any("another configuration" in line for line in log_lines.lines), log_lines.lines
    assert history[0]["step"] == 8 and trainer.snapshot_models()[0] is not None


@pytest.mark.parametrize("value", [0, 48, 60, 2.5, True])
def test_impossible_snapshot_steps_are_refused(value):
    with pytest.raises(ValueError, match="snapshot_step"):
        TrainConfig(until=48, snapshot_step=value)
    with pytest.raises(ValueError, match="snapshot_step"):
        TrainConfig(until=PLATEAU, snapshot_step=10)
