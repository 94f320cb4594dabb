"""Bob's side of the exchange: `rvae embed`, `rvae verify`, the per-point scores, what a file promises.

The verify fixture (tests/fixtures/verify_rosetta.parquet) was written by this module run as a
script (``python tests/test_embed_verify.py``) on the project's 2-core AMD EPYC (AVX2, no AVX-512):
a conv model on 8 x 8 inputs whose weights come from numpy's generator (bit-identical on every CPU,
unlike torch's initialisers' vectorised paths), its 16 inputs and their float32 latent means.
tests/test_cpu_paths.py reruns the tests marked ``determinism`` here on the AVX2 and the baseline
kernel paths, so the file written on one path is verified on another.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from rvae.cli import main as rvae
from rvae.confidence import anchor_distance, anchor_spacing, model_spread, rank_correlation
from rvae.embeddings import read_embedding, read_embedding_metadata
from rvae.models import ArchitectureSpec, build_vae, fingerprint, save_model
from rvae.rosetta_file import RosettaPoints, load_rosetta_points, save_rosetta_points
from rvae.sharing import check_promises, choose_alignment
from rvae.verify import rounding_bound, unit_roundoff, verify_points

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "verify_rosetta.parquet"
FIXTURE_SPEC = ArchitectureSpec("conv", (1, 8, 8), 4)


def fixture_model():
    """The fixture's template: every tensor uniform in +-1/sqrt(fan-in) from numpy's generator, seed 0."""
    model = build_vae(FIXTURE_SPEC)
    rng = np.random.default_rng(0)
    state = {}
    for name, tensor in model.state_dict().items():
        fan_in = int(np.prod(tensor.shape[1:])) if tensor.ndim > 1 else max(1, tensor.shape[0])
        bound = 1.0 / np.sqrt(fan_in)
        state[name] = torch.from_numpy(rng.uniform(-bound, bound, size=tuple(tensor.shape)).astype(np.float32))
    model.load_state_dict(state)
    return model.eval()


def fixture_inputs() -> np.ndarray:
    return np.random.default_rng(1).uniform(0, 1, size=(16, *FIXTURE_SPEC.input_shape)).astype(np.float32)


def write_fixture(path: Path = FIXTURE) -> None:
    from rvae.inference import encode_means

    model, x = fixture_model(), fixture_inputs()
    points = RosettaPoints.create(x, encode_means(model, x), np.arange(len(x)), "verify-fixture", "kmeans", fingerprint(model))
    save_rosetta_points(points, path)


def _one_step(model):
    """The model after one optimiser step (Adam, the library's learning rate) on the fixture inputs."""
    from rvae.trainer import TrainConfig, Trainer

    moved = build_vae(model.spec)
    moved.load_state_dict(model.state_dict())
    Trainer(moved, TrainConfig(until=1, seed=0, batch_size=16, precision="fp32", compile="off")).fit(torch.from_numpy(fixture_inputs()))
    return moved.eval()


@pytest.mark.determinism
def test_verify_passes_the_template_on_this_kernel_path_and_fails_it_one_step_later(tmp_path, capsys):
    points = load_rosetta_points(FIXTURE)
    model = fixture_model()
    assert fingerprint(model) == points.metadata["template_fingerprint"]  # numpy's draws: the same weights everywhere
    result = verify_points(model, points)
    assert result.same_template and result.passed, result.points
    # the tolerance is the derived bound, not a guess: twice the per-point norm of rounding_bound
    bound = 2 * np.linalg.norm(rounding_bound(model, points.x), axis=1)
    np.testing.assert_allclose(result.points["bound"], bound)
    # under 1% of the latents' size, but a worst case, not a tight one: per point 5.7e3 to 1.0e4 times
    # (median 9.9e3) this forward pass's float32 error against float64 (measured on the 2-core AVX2 EPYC)
    assert 0 < bound.max() < 0.01 * np.abs(points.z).max()
    moved = _one_step(model)
    stepped = verify_points(moved, points)
    assert not stepped.same_template and stepped.passed is None  # another model: reported, no bar
    # held to its own derived rounding bound, the moved model fails at every point
    own = verify_points(moved, points, rounding=True)
    assert own.passed is False and (own.points["error"] > own.points["bound"]).all()
    judged = verify_points(moved, points, tol=float(bound.min()))
    assert judged.passed is False and judged.max_error > 10 * bound.max(), (judged.max_error, bound.max())
    # through the command: the template passes (exit 0); the moved model fails the template's bar (exit 1)
    save_model(model, tmp_path / "alice.pt")
    save_model(moved, tmp_path / "moved.pt")
    assert rvae(["verify", "--model", str(tmp_path / "alice.pt"), "--rosetta", str(FIXTURE)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("PASS (the file's template)")
    assert rvae(["verify", "--model", str(tmp_path / "moved.pt"), "--rosetta", str(FIXTURE), "--tol", f"{bound.min():.3g}",
                 "--out", str(tmp_path / "v.csv")]) == 1  # fmt: skip
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("FAIL (not the file's template)") and "16 of 16 points outside" in out
    assert len(pd.read_csv(tmp_path / "v.csv")) == 16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to export from")
def test_a_file_exported_from_a_cuda_model_verifies_on_the_cpu(tmp_path):
    """TF32 and Winograd kernels round beyond the CPU bound: export_rosetta encodes on a CPU copy."""
    from rvae.cli import _load_folder
    from rvae.sharing import export_rosetta

    x = np.random.default_rng(2).uniform(size=(40, *FIXTURE_SPEC.input_shape)).astype(np.float32)
    data = _load_folder(str(_folder(tmp_path / "alice", x, family="conv")))[0]
    model = fixture_model().cuda()
    points = export_rosetta(model, data, 8)
    assert next(model.parameters()).is_cuda  # the caller's model stays on its device
    assert verify_points(model.cpu(), points).passed


@pytest.mark.determinism
def test_the_rounding_bound_holds_against_float64_and_scales_with_the_unit_roundoff():
    model, x = fixture_model(), fixture_inputs()
    from rvae.inference import encode_means

    exact = model.double().heads.mu(model.encoder(torch.from_numpy(x).double())).detach().numpy()
    model.float()
    bound = rounding_bound(model, x)
    assert (np.abs(encode_means(model, x) - exact) <= bound).all()
    # linear in u but for gamma_n = n u / (1 - n u): float64's bound is float32's times 2^-29, to a
    # relative n u32 for the largest fan-in n + 1 (577: the residual block's 3 x 3 over 64 channels)
    ratio = unit_roundoff(np.float64) / unit_roundoff(np.float32)
    np.testing.assert_allclose(rounding_bound(model, x, np.float64), bound * ratio, rtol=577 * unit_roundoff(np.float32))


@pytest.mark.computed
def test_auto_alignment_chooses_by_leave_one_out_on_the_pairs():
    rng = np.random.default_rng(4)
    z_r = rng.normal(size=(20, 3))
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    # Bob's latents a rotated, scaled, shifted copy: procrustes and affine recover it, none does not
    bob = (z_r - 0.5) @ rotation.T * 2.0
    choice = choose_alignment(bob, z_r, "auto")
    assert choice.arm in ("procrustes", "affine") and choice.loo_distance[choice.arm] < 1e-6 and choice.loo_distance["none"] > 1
    np.testing.assert_allclose(choice(bob), z_r, atol=1e-5)
    # exactly Alice's coordinates: no map wins (ties go to the simpler arm)
    assert choose_alignment(z_r, z_r, "auto").arm == "none"
    # an anisotropic linear map: only affine recovers it
    bent = z_r @ np.diag([3.0, 1.0, 0.2])
    assert choose_alignment(bent, z_r, "auto").arm == "affine"
    assert "auto chose affine: the lowest leave-one-out distance on the file's 20 pairs" in choose_alignment(bent, z_r, "auto").reason
    assert choose_alignment(bent, z_r, "procrustes").arm == "procrustes"
    with pytest.raises(ValueError, match="needs at least 3 Rosetta pairs"):
        choose_alignment(bent[:2], z_r[:2], "auto")
    # latents that do not vary: every leave-one-out distance is NaN, and the error names the file
    with pytest.raises(ValueError, match="^r.parquet: every leave-one-out distance of bob.pt on the file's 20 pairs is undefined"):
        choose_alignment(bent, np.ones_like(z_r), "auto", "bob.pt", "r.parquet")


@pytest.mark.computed
def test_the_scores_are_distances_in_units_of_the_anchors_spacing():
    z_r = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])  # nearest-other distances 1, 1, 2: spacing 1
    assert anchor_spacing(z_r) == 1.0
    np.testing.assert_allclose(anchor_distance(np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 2.5]]), z_r), [0.0, 2.0, 0.5])
    spread = model_spread([np.zeros((2, 2)), np.array([[2.0, 0.0], [0.0, 0.0]])], spacing=2.0)
    np.testing.assert_allclose(spread, [0.5, 0.0])  # each 1 from their mean, in units of 2
    assert rank_correlation(np.arange(5.0), np.arange(5.0) ** 2) == pytest.approx(1.0)
    assert rank_correlation(np.arange(5.0), -np.arange(5.0)) == pytest.approx(-1.0)
    assert np.isnan(rank_correlation(np.ones(5), np.arange(5.0)))


@pytest.mark.computed
def test_the_confidence_table_correlates_each_score_with_the_true_distance():
    from rvae.paper.confidence_table import arm_medians, auto_choices, confidence_markdown, confidence_table, decile_of

    assert decile_of(np.array([5.0, 1.0, 3.0, 2.0, 4.0, 0.0, 9.0, 8.0, 7.0, 6.0])).tolist() == [5, 1, 3, 2, 4, 0, 9, 8, 7, 6]
    truth = np.arange(8.0)
    replayed = {"toy": {
        "partition": np.array(["D1"] * 4 + ["D2"] * 4), "true_one": np.stack([truth, truth]), "true_all": truth,
        "anchor_one": np.stack([truth**2, -truth]), "anchor_all": truth[::-1], "spread": truth + 1,
        "arms": ["affine", "none"],
        "arm_distance": [{"all": {"none": 0.5, "procrustes": 0.2, "affine": 0.1}, "D1": {"none": 0.5, "procrustes": 0.2, "affine": 0.1},
                          "D2": {"none": 0.3, "procrustes": 0.4, "affine": 0.6}},
                         {"all": {"none": 0.5, "procrustes": 0.2, "affine": 0.3}, "D1": {"none": 0.1, "procrustes": 0.2, "affine": 0.3},
                          "D2": {"none": 0.9, "procrustes": 0.2, "affine": 0.3}}],
    }}  # fmt: skip
    table = confidence_table(replayed).set_index(["partition", "score", "models"])
    assert table.loc[("all", "anchor_distance", "one"), ["spearman_min", "spearman_max"]].tolist() == [-1.0, 1.0]
    assert table.loc[("all", "anchor_distance", "all"), "spearman"] == -1.0 and table.loc[("D2", "model_spread", "all"), "spearman"] == 1.0
    assert table.loc[("all", "model_spread", "all"), "align"] == "none x1, affine x1"
    choices = auto_choices(replayed)
    assert choices["best"].tolist() == ["affine", "affine", "none", "procrustes", "none", "procrustes"]
    assert choices["distance_auto"].tolist() == [0.1, 0.1, 0.6, 0.5, 0.1, 0.9]  # the chosen arm's distance
    medians = arm_medians(choices).set_index(["dataset", "partition"])
    assert medians.loc[("toy", "all"), ["distance_none", "distance_affine", "distance_auto", "hits", "seeds"]].tolist() == [0.5, 0.2, 0.3, 1, 2]
    assert medians.loc[("toy", "D1"), "hits"] == 2 and medians.loc[("toy", "D2"), "hits"] == 0 and medians.loc[("toy", "D2"), "distance_auto"] == 0.75
    text = confidence_markdown(confidence_table(replayed), choices)
    assert "| toy | all | 0.500 | 0.200 | 0.200 | 0.300 | 1 of 2 |" in text, text
    assert "On all held-out points, auto chose the truly best arm in 1 of 2 runs." in text and "On D1, auto chose the truly best arm in 2 of 2 runs." in text


def _folder(path: Path, x: np.ndarray, labels=None, **meta) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    np.save(path / "x.npy", x)
    if labels is not None:
        np.save(path / "labels.npy", labels)
    (path / "dataset.yaml").write_text(yaml.safe_dump({"input_shape": list(x.shape[1:]), "family": "mlp", **meta}))
    return path


@pytest.fixture(scope="module")
def labs(tmp_path_factory):
    """Alice's 5-d points (0 to 1, preprocessing recorded), her model and file (k 10), two of Bob's
    R-VAEs (seeds 0, 1) on his folder, each trained 30 steps."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("bob")
    rng = np.random.default_rng(0)
    scaling = {"scaling": "unit"}
    alice = _folder(root / "alice", rng.uniform(size=(120, 5)).astype(np.float32), labels=np.arange(120) % 3, preprocessing=scaling)
    bob = _folder(root / "bob", rng.uniform(size=(90, 5)).astype(np.float32), labels=np.arange(90) % 2 + 5, preprocessing=scaling)
    common = ["--steps", "30", "--quiet", "--latent-dim", "2", "--batch-size", "32", "--threads", "1"]
    assert rvae(["train", "--data", str(alice), "--out", str(root / "am"), *common]) == 0
    assert rvae(["export-rosetta", "--model", str(root / "am/model.pt"), "--data", str(alice), "--k", "10", "--out", str(root / "r.parquet")]) == 0
    for seed in (0, 1):
        assert rvae(["train", "--data", str(bob), "--rosetta", str(root / "r.parquet"), "--out", str(root / f"b{seed}"), "--seed", str(seed),
                     *[c for c in common if c not in ("--latent-dim", "2")]]) == 0  # fmt: skip
    return root


@pytest.mark.computed
def test_embed_writes_means_variances_ids_labels_and_scores_in_the_files_coordinates(labs, capsys):
    from rvae.cli import _load_folder
    from rvae.inference import encode_posterior
    from rvae.models import load_model

    root = labs
    capsys.readouterr()
    models = [str(root / "b0/model.pt"), str(root / "b1/model.pt")]
    argv = ["embed", "--model", models[0], "--model", models[1], "--data", str(root / "bob"), "--rosetta", str(root / "r.parquet")]
    assert rvae([*argv, "--align", "affine", "--out", str(root / "e.parquet")]) == 0
    out = capsys.readouterr().out
    assert out.count("affine as asked (leave-one-out distance on the file's 10 pairs: none") == 2, out
    frame = read_embedding(root / "e.parquet")
    assert len(frame) == 90 and list(frame["point"]) == list(range(90)) and set(frame["label"]) == {0, 1}
    assert (frame["label_name"] == (np.arange(90) % 2 + 5).astype(str)).all()  # Bob's labels 5 and 6, as codes 0 and 1
    assert [c for c in frame.columns if c[:1] in "zv" and c[-1].isdigit()] == ["z0", "z1", "var0", "var1"]
    assert not frame["is_rosetta"].any()  # Bob's folder holds none of Alice's inputs
    # the library's numbers: each model's affine map on the file's pairs, then the mean over models
    points = load_rosetta_points(root / "r.parquet")
    data = _load_folder(str(root / "bob"))[0]
    mapped, variances = [], []
    for path in models:
        model = load_model(path)
        choice = choose_alignment(__import__("rvae.inference", fromlist=["x"]).encode_means(model, points.x), points.z, "affine")
        mu, var = encode_posterior(model, data.x, choice.fitted.weight)
        mapped.append(choice(mu))
        variances.append(var)
    np.testing.assert_allclose(frame[["z0", "z1"]].to_numpy(), np.mean(mapped, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(frame[["var0", "var1"]].to_numpy(), np.mean(variances, axis=0), rtol=1e-5)
    spacing = anchor_spacing(points.z)
    np.testing.assert_allclose(frame["anchor_distance"], anchor_distance(np.mean(mapped, axis=0), points.z, spacing), rtol=1e-5)
    np.testing.assert_allclose(frame["model_spread"], model_spread(mapped, spacing), rtol=1e-5)
    meta = read_embedding_metadata(root / "e.parquet")
    assert meta["align"] == "affine" and [m["alignment"]["arm"] for m in meta["models"]] == ["affine", "affine"]
    assert meta["rosetta"]["k"] == 10 and meta["rosetta_spacing"] == pytest.approx(spacing)
    # auto says which arm and why, on screen and in the file; without --rosetta: means and variances only
    assert rvae([*argv[:3], *argv[5:], "--out", str(root / "auto.parquet")]) == 0
    printed = capsys.readouterr().out.splitlines()[0]
    recorded = read_embedding_metadata(root / "auto.parquet")["models"][0]["alignment"]
    assert recorded["requested"] == "auto" and printed == f"{models[0]}: {recorded['reason']}"
    assert printed.startswith(f"{models[0]}: auto chose {recorded['arm']}: the lowest leave-one-out distance")
    assert rvae(["embed", "--model", models[0], "--data", str(root / "alice"), "--out", str(root / "plain.parquet")]) == 0
    plain = pd.read_parquet(root / "plain.parquet")
    assert "anchor_distance" not in plain and {"z0", "var1"} <= set(plain.columns) and len(plain) == 120


@pytest.mark.computed
def test_pairs_held_out_of_training_score_the_maps_for_auto(labs, tmp_path, capsys):
    from rvae.inference import encode_means
    from rvae.models import load_model
    from rvae.sharing import _heldout_pair_distances, holdout_pairs

    root = labs
    common = ["--steps", "30", "--quiet", "--batch-size", "32", "--threads", "1", "--seed", "0"]
    assert rvae(["train", "--data", str(root / "bob"), "--rosetta", str(root / "r.parquet"), "--holdout-pairs", "4", "--out", str(tmp_path / "h"), *common]) == 0
    assert "kept 4 of the file's 10 pairs out of the anchor loss" in capsys.readouterr().out
    points, model = load_rosetta_points(root / "r.parquet"), load_model(tmp_path / "h/model.pt")
    held = holdout_pairs(10, 4)
    assert held.tolist() == [0, 3, 6, 9] and model.extra["holdout_pairs"]["point_ids"] == points.point_ids[held].tolist()
    # the same run with every pair in the anchor loss (b0: same seed and flags) ends elsewhere
    assert fingerprint(model) != fingerprint(load_model(root / "b0/model.pt"))
    assert rvae(["embed", "--model", str(tmp_path / "h/model.pt"), "--data", str(root / "bob"), "--rosetta", str(root / "r.parquet"),
                 "--out", str(tmp_path / "e.parquet")]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "the lowest distance on the 4 of the file's 10 pairs kept out of training" in printed, printed
    recorded = read_embedding_metadata(tmp_path / "e.parquet")["models"][0]["alignment"]
    expected = _heldout_pair_distances(encode_means(model, points.x), points.z, held, "m")
    assert recorded["scored_on"] == "held-out pairs" and recorded["loo_distance"] == pytest.approx(expected)
    assert recorded["arm"] == min(expected, key=expected.get)
    # by hand: the "none" arm's distance is the raw squared error on the 4 pairs over the latents' total variance
    z, z_r = encode_means(model, points.x).astype(np.float64), points.z.astype(np.float64)
    total = ((z_r - z_r.mean(0)) ** 2).sum(1).mean()
    assert expected["none"] == pytest.approx(((z[held] - z_r[held]) ** 2).sum(1).mean() / total)
    for argv, message in (
        (["--holdout-pairs", "8", "--rosetta", str(root / "r.parquet")], "--holdout-pairs 8: the file has 10 pairs; keep out 1 to 7"),
        (["--holdout-pairs", "2"], "--holdout-pairs needs --rosetta"),
    ):
        code, err = _cli(["train", "--data", str(root / "bob"), *argv, "--out", str(tmp_path / "bad"), *common], capsys)
        assert code == 2 and len(err.splitlines()) == 1 and message in err, err
        assert not (tmp_path / "bad").exists()


def test_a_files_promises_are_checked_old_files_stay_readable(labs, tmp_path, capsys):
    root = labs
    points = load_rosetta_points(root / "r.parquet")
    assert points.metadata["preprocessing"] == {"scaling": "unit"} and 0 <= points.metadata["input_range"][0] < points.metadata["input_range"][1] <= 1
    card = (root / "r.md").read_text()
    assert "| preprocessing | scaling: unit |" in card and "| input range | " in card
    rng = np.random.default_rng(5)
    other = _folder(tmp_path / "other", rng.uniform(size=(40, 5)).astype(np.float32), preprocessing={"scaling": "z-score"})
    embed = ["embed", "--model", str(root / "b0/model.pt"), "--data", str(other), "--rosetta", str(root / "r.parquet"), "--out", str(tmp_path / "e.parquet")]
    assert rvae(embed) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "preprocessing {'scaling': 'z-score'} but the Rosetta file" in err and "{'scaling': 'unit'}" in err
    assert not (tmp_path / "e.parquet").exists()
    train = ["train", "--data", str(other), "--rosetta", str(root / "r.parquet"), "--steps", "2", "--quiet", "--out", str(tmp_path / "t")]
    assert rvae(train) == 2 and "--accept-preprocessing" in capsys.readouterr().err and not (tmp_path / "t").exists()
    assert rvae([*embed, "--accept-preprocessing"]) == 0 and "accepted with --accept-preprocessing" in capsys.readouterr().err
    # 0-255 against the file's 0-1: a warning naming both ranges, the run goes on
    wide = _folder(tmp_path / "wide", (255 * rng.uniform(size=(40, 5))).astype(np.float32), preprocessing={"scaling": "unit"})
    assert rvae([*embed[:4], str(wide), *embed[5:]]) == 0
    warned = capsys.readouterr().err
    assert "warning: " in warned and "far outside it" in warned and "but the Rosetta file" in warned
    # a file from before these fields: read, nothing to compare
    import pyarrow.parquet as pq

    table = pq.read_table(root / "r.parquet")
    meta = json.loads(table.schema.metadata[b"rvae.rosetta"])
    old = {k: v for k, v in meta.items() if k not in ("preprocessing", "input_range")}
    pq.write_table(table.replace_schema_metadata({b"rvae.rosetta": json.dumps(old).encode()}), tmp_path / "old.parquet")
    assert check_promises(load_rosetta_points(tmp_path / "old.parquet"), {"scaling": "z-score"}, np.ones((3, 5)), "f", "d") == []
    assert "| preprocessing | not recorded |" in __import__("rvae.sharing", fromlist=["x"]).summary_markdown(load_rosetta_points(tmp_path / "old.parquet"), "old")
    # a folder naming none is told so; 0-1 against the file's 0-255 is warned about as 0-255 against 0-1 is
    with pytest.raises(ValueError, match=r"^d/dataset.yaml names no preprocessing but f records \{'scaling': 'unit'\}"):
        check_promises(points, None, np.ones((3, 5)), "f", "d")
    from dataclasses import replace

    bytes_file = replace(points, metadata={**points.metadata, "input_range": [0.0, 255.0]})
    assert check_promises(bytes_file, {"scaling": "unit"}, 255 * rng.uniform(size=(40, 5)), "f", "d") == []
    narrow = check_promises(bytes_file, {"scaling": "unit"}, rng.uniform(size=(40, 5)), "f", "d")
    assert len(narrow) == 1 and "under a tenth of its width" in narrow[0] and "but f's over [0, 255]" in narrow[0], narrow


def test_promised_preprocessing_compares_as_the_files_json_holds_it():
    """A tuple in a library caller's mapping is the list the file's JSON records: the same promise."""
    from dataclasses import replace

    rng = np.random.default_rng(0)
    points = RosettaPoints.create(rng.normal(size=(4, 5)), rng.normal(size=(4, 2)), np.arange(4), "a", "kmeans", "f" * 64)
    points = replace(points, metadata={**points.metadata, "preprocessing": {"window": [256, 128], "scaling": "unit"}})
    assert check_promises(points, {"scaling": "unit", "window": (256, 128)}, np.ones((3, 5)), "f", "d") == []
    with pytest.raises(ValueError, match="d/dataset.yaml has preprocessing"):
        check_promises(points, {"scaling": "unit", "window": (256, 64)}, np.ones((3, 5)), "f", "d")


def _cli(argv, capsys):
    try:
        code = rvae(argv)
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr().err.strip()


def test_bad_input_to_embed_and_verify_is_one_line_exit_2_nothing_written(labs, tmp_path, capsys):
    root = labs
    model, rosetta, bob = str(root / "b0/model.pt"), str(root / "r.parquet"), str(root / "bob")
    out = tmp_path / "out" / "e.parquet"
    other = RosettaPoints.create(np.zeros((4, 5)), np.random.default_rng(0).normal(size=(4, 3)), np.arange(4), "x", "kmeans", "f" * 64)
    save_rosetta_points(other, tmp_path / "k3.parquet")
    shaped = RosettaPoints.create(np.zeros((4, 7)), np.zeros((4, 2)) + np.arange(4)[:, None], np.arange(4), "x", "kmeans", "f" * 64)
    save_rosetta_points(shaped, tmp_path / "s7.parquet")
    nan = np.random.default_rng(0).uniform(size=(30, 5)).astype(np.float32)
    nan[4, 2] = np.inf
    _folder(tmp_path / "nan", nan)
    (tmp_path / "notamodel.pt").write_bytes(b"hello")
    cases = [
        (["embed", "--model", str(tmp_path / "notamodel.pt"), "--data", bob, "--out", str(out)], "notamodel.pt: not an rvae model file"),
        (["embed", "--model", model, "--data", bob, "--rosetta", str(tmp_path / "k3.parquet"), "--out", str(out)], "latents have size 3 but the model's latent size is 2"),
        (["embed", "--model", model, "--data", bob, "--rosetta", str(tmp_path / "s7.parquet"), "--out", str(out)], "inputs have shape (7,) but the model expects (5,)"),
        (["embed", "--model", model, "--data", str(tmp_path / "nan"), "--out", str(out)], "NaN or infinite values in 1 point(s), first rows [4]"),
        (["embed", "--model", model, "--data", bob, "--align", "auto", "--out", str(out)], "--align needs --rosetta"),
        (["embed", "--model", str(root / "am/model.pt"), "--data", str(_folder(tmp_path / "six", np.ones((9, 6), np.float32))), "--out", str(out)],
         "takes inputs of shape (5,) but"),
        (["verify", "--model", model, "--rosetta", rosetta, "--tol", "-1"], "argument --tol: must be a number >= 0, got -1"),
        (["verify", "--model", model, "--rosetta", rosetta, "--tol", "tight"], "argument --tol: 'tight' is not a number"),
        (["verify", "--model", model, "--rosetta", str(tmp_path / "k3.parquet"), "--out", str(tmp_path / "out" / "v.csv")], "latents have size 3"),
        (["verify", "--model", str(tmp_path / "notamodel.pt"), "--rosetta", rosetta], "notamodel.pt: not an rvae model file"),
    ]  # fmt: skip
    for argv, message in cases:
        code, err = _cli(argv, capsys)
        assert code == 2 and len(err.splitlines()) == 1 and message in err, (argv, err)
        assert err.startswith(("error: ", "rvae ")), err
        assert not (tmp_path / "out").exists(), argv


if __name__ == "__main__":
    write_fixture(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE)
    print(f"wrote {FIXTURE}")
