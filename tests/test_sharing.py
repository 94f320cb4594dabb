"""Sharing a latent space between labs: export, untrusted-file checks, Bob's R-VAE, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from rvae.cli import main as rvae
from rvae.workflow.config_checks import ConfigError, check_sharing
from rvae.data.common import DataError
from rvae.data.folder import load_folder
from rvae.rosetta_file import RosettaPoints, save_rosetta_points

RVAE = str(Path(sys.executable).parent / "rvae")
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
ROOT = Path(__file__).resolve().parents[1]


def _folder(path: Path, x: np.ndarray, family="mlp", labels=None, **meta) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    np.save(path / "x.npy", x)
    if labels is not None:
        np.save(path / "labels.npy", labels)
    (path / "dataset.yaml").write_text(yaml.safe_dump({"input_shape": list(x.shape[1:]), "family": family, **meta}))
    return path


def _points(tmp_path, shape=(5,), latent=2, k=4, name="alice.parquet", **promised) -> Path:
    """A Rosetta file of random pairs; ``promised`` adds metadata (preprocessing, input_range)."""
    from dataclasses import replace

    rng = np.random.default_rng(0)
    points = RosettaPoints.create(rng.normal(size=(k, *shape)), rng.normal(size=(k, latent)), np.arange(k), "alice", "kmeans", "f" * 64)
    points = replace(points, metadata={**points.metadata, **promised})
    save_rosetta_points(points, tmp_path / name)
    return tmp_path / name


def readme_commands() -> list[str]:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = text.split("<!-- sharing-commands -->")[1].split("<!-- /sharing-commands -->")[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_alice_and_bob_share_a_latent_space_on_mnist(tmp_path, monkeypatch, capsys):
    """The README's commands as written. Alice: digits 0-4; Bob: 5-9. Bob's R-VAE maps Alice's
    shared inputs near her latents, far nearer than a plain VAE trained on Bob's data. The first
    runs as a process (the installed `rvae` entry point), the others in this process."""
    from rvae.cli import QUICKSTART

    commands = readme_commands()
    assert commands == [f".venv/bin/{line}" for line in QUICKSTART]  # `rvae --help` shows the README's commands
    assert len(commands) == 8
    done = subprocess.run([RVAE, *commands[0].split()[1:]], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, (commands[0], done.stderr[-2000:])
    monkeypatch.chdir(tmp_path)
    for command in commands[1:]:
        assert rvae(command.split()[1:]) == 0, command
    printed = capsys.readouterr().out
    assert "PASS (the file's template)" in printed and "REPORTED (not the file's template)" in printed
    assert "example/bob_model/model.pt: auto chose " in printed
    landed = pd.read_parquet(tmp_path / "example/bob_embedding.parquet")
    assert len(landed) == 750 and {"z7", "var7", "anchor_distance"} <= set(landed.columns)
    ex = tmp_path / "example"
    card = (ex / "rosetta.md").read_text()
    for needle in ("mnist_alice", "| number of points (k) | 24 |", "| latent size | 8 |", "1 x 28 x 28", "How to cite"):
        assert needle in card
    assert rvae(["train", "--data", str(ex / "bob"), "--latent-dim", "8", "--steps", "80", "--quiet",
                 "--out", str(ex / "bob_vae")]) == 0  # fmt: skip
    from rvae.models import load_model
    from rvae.rosetta_file import load_rosetta_points
    from rvae.sharing import shared_point_errors

    points = load_rosetta_points(ex / "rosetta.parquet")
    assert set(points.point_ids) <= set(range(750)) and len(points) == 24
    anchored = shared_point_errors(load_model(ex / "bob_model/model.pt"), points)["distance"].mean()
    baseline = shared_point_errors(load_model(ex / "bob_vae/model.pt"), points)["distance"].mean()
    spread = np.linalg.norm(points.z - points.z.mean(0), axis=1).mean()
    print(f"Bob R-VAE {anchored:.3f}, Bob VAE {baseline:.3f}, spread of Alice's latents {spread:.3f}")
    assert anchored < 0.5 * baseline and anchored < 0.5 * spread, (anchored, baseline, spread)
    written = pd.read_parquet(ex / "bob_model/shared_points.parquet")
    assert written["distance"].mean() == pytest.approx(anchored, rel=1e-5)
    embedding = pd.read_parquet(ex / "bob_model/embedding.parquet")
    assert len(embedding) == 750 and [c for c in embedding.columns if c.startswith("z")] == [f"z{i}" for i in range(8)]
    # the shipped workflow config for the same example builds its DAG on these folders
    dry = subprocess.run([SNAKEMAKE, "-n", "--cores", "2", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                          "--configfile", str(ROOT / "config/sharing.yaml")], capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "export_rosetta" in dry.stdout and "train_shared" in dry.stdout and "figure_shared" in dry.stdout


def test_cli_help_is_for_users_with_an_example_per_command():
    from rvae.cli import QUICKSTART

    out = subprocess.run([RVAE, "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert all(f"  {line}\n" in out.stdout for line in QUICKSTART)
    for command in ("train", "export-rosetta", "embed", "verify", "example-data", "compare", "findings"):
        assert command in out.stdout
        own = subprocess.run([RVAE, command, "--help"], capture_output=True, text=True).stdout
        assert f"example: rvae {command} " in own, command
    assert "docs/own-data.md" in out.stdout and "docs/sharing.md" in out.stdout
    for note in ("floor", "tests/", "schema", "imports"):  # notes for maintainers stay in the code
        assert note not in out.stdout, note
    train = subprocess.run([RVAE, "train", "--help"], capture_output=True, text=True).stdout
    assert "--rosetta" in train and "--rho-grid" in train


def test_every_option_with_a_default_shows_it_in_help():
    import argparse

    from rvae.cli import parser

    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"train", "export-rosetta", "embed", "verify", "compare", "example-data", "findings"} <= set(commands)
    for name, command in commands.items():
        formatter = command._get_formatter()
        for action in command._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                shown = formatter._expand_help(action) if action.help else ""
                assert "default" in shown and str(action.default) in shown, (name, action.dest, shown)


def test_train_help_names_every_file_train_writes(tiny_labs):
    from rvae.cli import SHARED_TRAIN_FILES, TRAIN_FILES

    ex, _ = tiny_labs
    help_text = " ".join(subprocess.run([RVAE, "train", "--help"], capture_output=True, text=True).stdout.split())
    assert all(name in help_text for name in TRAIN_FILES + SHARED_TRAIN_FILES)
    assert sorted(p.name for p in (ex / "bob_vae").iterdir()) == sorted(TRAIN_FILES)
    assert sorted(p.name for p in (ex / "bob_rvae").iterdir()) == sorted(TRAIN_FILES + SHARED_TRAIN_FILES)


@pytest.fixture(scope="module")
def tiny_labs(tmp_path_factory):
    """Alice's and Bob's example folders (20 per digit), Alice's model and file (k=12 > latent 8), Bob's R-VAE
    and plain VAE (4 steps each, 2 passes over 60 training images), and the printed output of Bob's R-VAE training."""
    import contextlib
    import io

    import torch

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("labs")
    ex = root / "example"
    assert rvae(["example-data", "--out", str(ex), "--per-digit", "20"]) == 0
    common = ["--steps", "4", "--quiet", "--batch-size", "32"]
    assert rvae(["train", "--data", str(ex / "alice"), "--out", str(ex / "alice_model"), *common]) == 0
    assert rvae(["export-rosetta", "--model", str(ex / "alice_model/model.pt"), "--data", str(ex / "alice"), "--k", "12",
                 "--out", str(ex / "rosetta.parquet")]) == 0  # fmt: skip
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert rvae(["train", "--data", str(ex / "bob"), "--rosetta", str(ex / "rosetta.parquet"), "--rho", "5",
                     "--out", str(ex / "bob_rvae"), *common]) == 0  # fmt: skip
    assert rvae(["train", "--data", str(ex / "bob"), "--latent-dim", "8", "--out", str(ex / "bob_vae"), *common]) == 0
    return ex, printed.getvalue()


def _compare(capsys, ex, model, *extra):
    code = rvae(["compare", "--reference", str(ex / "alice_model/model.pt"), "--model", str(ex / model), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _printed_table(out: str) -> pd.DataFrame:
    rows = [line.split() for line in out.splitlines() if line.split()[:1] and line.split()[0] in ("raw", "procrustes", "affine", "relative")]
    return pd.DataFrame([[r[0], *map(lambda v: float("nan") if v == "-" else float(v), r[1:])] for r in rows],
                        columns=["arm", "distance", "angular_procrustes", "linear_cka"]).set_index("arm")  # fmt: skip


def test_compare_prints_the_library_numbers(tiny_labs, capsys, tmp_path):
    from rvae.models import load_model
    from rvae.rosetta_file import load_rosetta_points
    from rvae.sharing import compare_models

    ex, _ = tiny_labs
    code, out, err = _compare(capsys, ex, "bob_rvae/model.pt", "--data", str(ex / "alice"), "--rosetta", str(ex / "rosetta.parquet"),
                              "--out", str(tmp_path / "cmp.csv"))  # fmt: skip
    assert code == 0, err
    assert "100 points, 12 Rosetta pairs" in out and "scored on the 88 held-out points" in out
    printed = _printed_table(out)
    assert list(printed.index) == ["raw", "procrustes", "affine", "relative"]
    data = __import__("rvae.cli", fromlist=["_load_folder"])._load_folder(str(ex / "alice"))[0]
    expected = compare_models(load_model(ex / "alice_model/model.pt"), load_model(ex / "bob_rvae/model.pt"), data,
                              load_rosetta_points(ex / "rosetta.parquet"))  # fmt: skip
    table = expected.table[expected.table["partition"] == "all"].set_index("arm")
    for column in ("distance", "angular_procrustes", "linear_cka"):
        np.testing.assert_allclose(printed[column], table[column], atol=6e-5)
    # a similarity map leaves shape metrics alone: the raw and Procrustes arms share them
    assert printed.loc["raw", "angular_procrustes"] == printed.loc["procrustes", "angular_procrustes"]
    assert f"held-out LSD (map fitted on the Rosetta points only): all {expected.heldout_lsd['all']:.4g}" in out
    written = pd.read_csv(tmp_path / "cmp.csv")
    assert set(written["partition"]) == {"all", "D1", "D2"}
    assert set(written["arm"]) == {"raw", "procrustes", "affine", "relative", "lsd", "heldout_lsd"}
    assert written.query("arm == 'raw' and partition != 'all'")["n"].sum() == 88


def test_compare_adds_file_inputs_missing_from_the_data_and_selects_points_without_a_file(tiny_labs, capsys):
    ex, _ = tiny_labs
    # on Bob's data (digits 5-9, which Alice never saw): her file's inputs are added, never scored
    code, out, err = _compare(capsys, ex, "bob_rvae/model.pt", "--data", str(ex / "bob"), "--rosetta", str(ex / "rosetta.parquet"))
    assert code == 0, err
    assert "(12 of them not in the data, added); scored on the 100 held-out points" in out
    assert "not the Rosetta file's template" not in out
    code, out, err = _compare(capsys, ex, "bob_vae/model.pt", "--data", str(ex / "alice"), "--k", "6")
    assert code == 0, err
    assert "6 Rosetta pairs from 6 points selected from" in out and "scored on the 94 held-out points" in out
    # Alice's model against itself, through the whole command: the identity values
    code, out, err = _compare(capsys, ex, "alice_model/model.pt", "--data", str(ex / "bob"), "--rosetta", str(ex / "rosetta.parquet"))
    assert code == 0, err
    itself = _printed_table(out)
    # printed to 4 decimals, so "0" and "1" below hold to within 5e-5 (an SVD and sums give ~1e-15)
    exact = itself.drop(index="affine")  # ridge shrinks a little even at its smallest weight
    assert (exact["distance"] == 0).all() and (exact["angular_procrustes"] == 0).all() and (exact["linear_cka"] == 1).all(), out
    assert itself.loc["affine", "distance"] <= 1e-3 and itself.loc["affine", "linear_cka"] == 1, out
    # a reference that is not the file's template is named as such
    code, out, err = rvae(["compare", "--reference", str(ex / "bob_vae/model.pt"), "--model", str(ex / "bob_rvae/model.pt"),
                           "--data", str(ex / "bob"), "--rosetta", str(ex / "rosetta.parquet")]), *capsys.readouterr()  # fmt: skip
    assert code == 0 and "note: the reference is not the Rosetta file's template" in out, err


def test_compare_refuses_models_and_data_that_do_not_fit(tiny_labs, capsys, tmp_path):
    ex, _ = tiny_labs
    assert rvae(["train", "--data", str(ex / "bob"), "--latent-dim", "3", "--steps", "2", "--quiet", "--out", str(tmp_path / "m3")]) == 0
    capsys.readouterr()
    flat = _folder(tmp_path / "flat", np.ones((30, 5), dtype=np.float32))
    cases = [
        (str(tmp_path / "m3/model.pt"), ["--data", str(ex / "alice")], "has latent size 3 but", "same latent size"),
        ("bob_vae/model.pt", ["--data", str(flat)], "takes inputs of shape (1, 28, 28) but", "holds (5,)"),
        ("bob_vae/model.pt", ["--data", str(ex / "alice"), "--rosetta", str(_points(tmp_path, shape=(1, 28, 28), latent=2))],
         "latents have size 2 but the model's latent size is 8", "Rosetta file"),
        ("bob_vae/model.pt", ["--data", str(ex / "alice"), "--rosetta", str(tmp_path / "none.parquet")], "does not exist", "none.parquet"),
    ]  # fmt: skip
    for model, extra, *needles in cases:
        code, out, err = _compare(capsys, ex, model, *extra)
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
        assert all(n in err for n in needles), err


def test_train_with_a_rosetta_file_reports_portability_on_its_inputs(tiny_labs):
    ex, printed = tiny_labs
    assert "on the file's 12 Rosetta inputs (maps fitted on the other 11 pairs" in printed
    report = pd.read_csv(ex / "bob_rvae/portability.csv")
    assert list(report["arm"]) == ["raw", "procrustes", "affine", "relative"] and (report["n"] == 12).all()
    from rvae.alignment import normalised_distance
    from rvae.models import load_model
    from rvae.rosetta_file import load_rosetta_points
    from rvae.inference import encode_means

    points = load_rosetta_points(ex / "rosetta.parquet")
    raw = normalised_distance(encode_means(load_model(ex / "bob_rvae/model.pt"), points.x), points.z)
    assert report.loc[0, "distance"] == pytest.approx(raw, rel=1e-6)
    assert f"raw {report.loc[0, 'distance']:>14.4f}".split() == [line for line in printed.splitlines() if line.strip().startswith("raw")][0].split()[:2]


def test_export_from_an_external_encoders_latents(tiny_labs, tmp_path, capsys):
    """A lab with its own encoder (here PCA, fitted outside rvae) exports; Bob trains as usual."""
    from sklearn.decomposition import PCA

    from rvae.rosetta_file import load_rosetta_points

    ex, _ = tiny_labs
    x = np.load(ex / "alice/x.npy")
    z = PCA(n_components=4, random_state=0).fit_transform(x.reshape(len(x), -1))
    np.save(tmp_path / "Z.npy", z)
    out = tmp_path / "ext/rosetta.parquet"
    assert rvae(["export-rosetta", "--latents", str(tmp_path / "Z.npy"), "--data", str(ex / "alice"), "--k", "6", "--out", str(out)]) == 0
    points = load_rosetta_points(out, (1, 28, 28), 4)
    assert points.metadata["template_kind"] == "external" and len(points) == 6
    np.testing.assert_allclose(points.z, z[points.point_ids], rtol=1e-6)
    assert "external encoder (fingerprint: SHA-256 of its latents array)" in out.with_suffix(".md").read_text()
    assert rvae(["train", "--data", str(ex / "bob"), "--rosetta", str(out), "--steps", "2", "--quiet", "--out", str(tmp_path / "bob")]) == 0
    capsys.readouterr()
    bad = {"rows.npy": z[:-3], "nan.npy": np.where(np.arange(len(z))[:, None] == 2, np.nan, z), "ints.npy": np.ones((len(z), 4), dtype=np.int64),
           "obj.npy": np.array([{"a": 1}] * len(z), dtype=object)}  # fmt: skip
    expected = {"rows.npy": "97 rows of latents but the data hold 100 points", "nan.npy": "NaN or infinite latents in row(s) [2]",
                "ints.npy": "must be floating point", "obj.npy": "is not a plain .npy array"}  # fmt: skip
    for name, array in bad.items():
        np.save(tmp_path / name, array, allow_pickle=True)
        code = rvae(["export-rosetta", "--latents", str(tmp_path / name), "--data", str(ex / "alice"), "--k", "6", "--out", str(tmp_path / f"{name}.parquet")])
        err = capsys.readouterr().err
        assert code == 2 and expected[name] in err and name in err, err
        assert not (tmp_path / f"{name}.parquet").exists()
    with pytest.raises(SystemExit) as stop:
        rvae(["export-rosetta", "--latents", str(tmp_path / "Z.npy"), "--model", "m.pt", "--data", str(ex / "alice"), "--out", str(out)])
    assert stop.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_rho_grid_is_chosen_on_validation(tmp_path):
    rng = np.random.default_rng(1)
    bob = _folder(tmp_path / "bob", rng.normal(size=(120, 5)).astype(np.float32))
    rosetta = _points(tmp_path)
    assert rvae(["train", "--data", str(bob), "--rosetta", str(rosetta), "--rho-grid", "0.1,3", "--sweep-epochs", "2",
                 "--steps", "4", "--out", str(tmp_path / "out"), "--quiet"]) == 0  # fmt: skip
    choice = json.loads((tmp_path / "out/rho.json").read_text())
    assert sorted(c["value"] for c in choice["candidates"]) == [0.1, 3.0]
    assert choice["value"] == min(choice["candidates"], key=lambda c: c["score"])["value"]
    # the paper's procedure (rvae.sweep): each candidate from its own role under the run's seed
    from rvae import seeds
    from rvae.rosetta_file import load_rosetta_points
    from rvae.sweep import candidate_configs
    from rvae.trainer import TrainConfig

    dataset = load_rosetta_points(rosetta).metadata["dataset"]
    expected = {v: seeds.role_seed(0, seeds.sweep_role("shared", dataset, "rho", v)) for v in (0.1, 3.0)}
    assert {c["value"]: c["seed"] for c in choice["candidates"]} == expected
    assert all(c["steps"] == choice["candidates"][0]["steps"] > 0 for c in choice["candidates"])
    made = candidate_configs(TrainConfig(until=9, seed=0), "rho", [0.1, 3.0], 5, "shared", dataset, 0)
    assert [(c.rho, c.until, c.seed) for c in made] == [(0.1, 5, expected[0.1]), (3.0, 5, expected[3.0])]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda t: _points(t, shape=(7,)), "inputs have shape (7,) but the model expects (5,)"),
        (lambda t: _points(t, latent=3), None),  # a 3-d file trains a 3-d model: accepted
        (lambda t: _truncated(_points(t)), "Rosetta file"),
        (lambda t: _without_metadata(_points(t)), "metadata"),
        (lambda t: _nonfinite(t), "NaN or infinite"),
        (lambda t: _pickle(t), "Rosetta file"),
    ],
    ids=["wrong-shape", "other-latent-size", "truncated-footer", "no-metadata", "non-finite", "pickle"],
)
def test_bob_refuses_a_bad_rosetta_file(tmp_path, capsys, make, message):
    rng = np.random.default_rng(2)
    bob = _folder(tmp_path / "bob", rng.normal(size=(60, 5)).astype(np.float32))
    path = make(tmp_path)
    code = rvae(["train", "--data", str(bob), "--rosetta", str(path), "--steps", "2", "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    if message is None:  # accepted: Bob's model takes the file's latent size
        from rvae.models import load_model

        assert code == 0 and load_model(tmp_path / "o" / "model.pt").spec.latent_dim == 3
        embedding = pd.read_parquet(tmp_path / "o" / "embedding.parquet")
        assert [c for c in embedding.columns if c.startswith("z")] == ["z0", "z1", "z2"]
    else:
        assert code == 2 and message in err, err
        assert not (tmp_path / "o" / "model.pt").exists()


def test_latent_size_flag_must_agree_with_the_file(tmp_path, capsys):
    bob = _folder(tmp_path / "bob", np.zeros((20, 5), dtype=np.float32) + np.arange(5, dtype=np.float32))
    rosetta = _points(tmp_path)
    code, err = _cli(["train", "--data", str(bob), "--rosetta", str(rosetta), "--latent-dim", "4", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err == f"error: --latent-dim 4 but the Rosetta file {rosetta} has latent size 2"


def _cli(argv, capsys) -> tuple[int, str]:
    """Exit status and stderr of ``rvae argv`` run in this process (argparse errors exit)."""
    try:
        code = rvae(argv)
    except SystemExit as exit:
        code = exit.code
    return code, capsys.readouterr().err.strip()


def _data(tmp_path, name="d", x=None, meta=None, raw_meta=None) -> Path:
    """A data folder; ``raw_meta`` is dataset.yaml's text as written (may be malformed)."""
    x = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32) if x is None else x
    folder = _folder(tmp_path / name, x, **(meta or {}))
    if raw_meta is not None:
        (folder / "dataset.yaml").write_text(raw_meta)
    return folder


def _with(folder: Path, name: str, content) -> Path:
    """``folder`` with file ``name`` replaced: bytes, an array (saved with pickle allowed), or a folder."""
    path = folder / name
    path.unlink(missing_ok=True)
    if isinstance(content, str) and content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        np.save(path, content, allow_pickle=True)
    return folder


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A small model trained by the CLI (5-d points, MLP)."""
    tmp = tmp_path_factory.mktemp("model")
    assert rvae(["train", "--data", str(_data(tmp)), "--out", str(tmp / "m"), "--steps", "2", "--quiet"]) == 0
    return tmp / "m" / "model.pt"


def _export(t, model, data=None, **flags):
    argv = ["export-rosetta", "--model", str(model), "--data", str(data or _data(t)), "--out", str(t / "out" / "r.parquet")]
    return argv + [item for key, value in flags.items() for item in (f"--{key}", str(value))]


def _train(t, data=None, *extra):
    return ["train", "--data", str(data or _data(t)), "--out", str(t / "out"), "--steps", "2", "--quiet", *extra]


# (name, argv builder given tmp_path and a model file, what the one line says)
BAD_INPUT = [
    ("dataset.yaml unclosed [", lambda t, m: _train(t, _data(t, raw_meta="input_shape: [5\nfamily: mlp\n")),
     "d/dataset.yaml: not valid YAML at line 2, column 7 (expected ',' or ']', but got ':')"),
    ("dataset.yaml a list", lambda t, m: _train(t, _data(t, raw_meta="- 5\n")), "d/dataset.yaml: should map keys"),
    ("dataset.yaml a number", lambda t, m: _train(t, _data(t, raw_meta="42\n")), "d/dataset.yaml: should map keys (input_shape, family) to values, got int 42"),
    ("dataset.yaml empty", lambda t, m: _train(t, _data(t, raw_meta="")), "d/dataset.yaml: 'input_shape' is missing"),
    ("input_shape a number", lambda t, m: _train(t, _data(t, raw_meta="input_shape: 5\nfamily: mlp\n")),
     "d/dataset.yaml: input_shape should be a list of positive sizes such as [1, 28, 28], got 5"),
    ("unknown family", lambda t, m: _train(t, _data(t, meta={"family": "resnet"})), "d/dataset.yaml: family 'resnet' is not one of mlp, conv, ava"),
    ("no family", lambda t, m: _train(t, _data(t, raw_meta="input_shape: [5]\n")), "d/dataset.yaml names no 'family' (mlp, conv or ava) and --family gives none"),
    ("latent_dim 0 in dataset.yaml", lambda t, m: _train(t, _data(t, meta={"latent_dim": 0})), "d/dataset.yaml: latent_dim should be a positive whole number, got 0"),
    ("data folder missing", lambda t, m: _train(t, t / "nowhere"), "nowhere does not exist"),
    ("data folder is a file", lambda t, m: _train(t, _with(t, "afile", b"x") / "afile"), "afile: not a folder"),
    ("x.npy missing", lambda t, m: _train(t, (lambda f: ((f / "x.npy").unlink(), f)[1])(_data(t))), "d: x.npy is missing"),
    ("x.npy empty", lambda t, m: _train(t, _with(_data(t), "x.npy", b"")), "d/x.npy is unreadable or truncated"),
    ("x.npy a folder", lambda t, m: _train(t, _with(_data(t), "x.npy", "dir")), "d: x.npy is not a file"),
    ("x.npy text", lambda t, m: _train(t, _data(t, x=np.array([["a"] * 5] * 10))), "d/x.npy: dtype <U1 is not numeric"),
    ("x.npy pickled objects", lambda t, m: _train(t, _with(_data(t), "x.npy", np.array([[1] * 5] * 10, dtype=object))),
     "d/x.npy is unreadable or truncated (Object arrays cannot be loaded when allow_pickle=False)"),
    ("x.npy no points", lambda t, m: _train(t, _data(t, x=np.zeros((0, 5), np.float32))), "no data points were loaded"),
    ("labels.npy pickled objects", lambda t, m: _train(t, _with(_data(t), "labels.npy", np.array(["a"] * 40, dtype=object))),
     "d/labels.npy is unreadable or truncated"),
    ("labels.parquet garbage", lambda t, m: _train(t, _with(_data(t), "labels.parquet", b"PAR1garbage")), "d/labels.parquet: not a readable Parquet file"),
    ("Parquet file as --model", lambda t, m: _export(t, _points(t)), "alice.parquet: not an rvae model file (a Parquet file)"),
    ("empty --model", lambda t, m: _export(t, _with(t, "empty.pt", b"") / "empty.pt"), "empty.pt: not an rvae model file (empty)"),
    ("pickle as --model", lambda t, m: _export(t, _pickle(t)), "evil.parquet: not an rvae model file (unreadable by torch.load, UnpicklingError)"),
    ("folder as --model", lambda t, m: _export(t, t), "is a directory, not a file"),
    ("missing --model", lambda t, m: _export(t, t / "none.pt"), "none.pt does not exist"),
    ("model for other data", lambda t, m: _export(t, m, _data(t, x=np.zeros((9, 6), np.float32))), "model.pt takes inputs of shape (5,) but"),
    ("preprocessing with a number as key", lambda t, m: _export(t, m, _data(t, raw_meta="input_shape: [5]\nfamily: mlp\npreprocessing: {bands: {1: low}}\n")),
     "d/dataset.yaml: preprocessing key 1 at preprocessing.bands is a int: keys must be text (quote it)"),
    ("preprocessing with a date", lambda t, m: _export(t, m, _data(t, raw_meta="input_shape: [5]\nfamily: mlp\npreprocessing: {made: 2024-01-05}\n")),
     "d/dataset.yaml: preprocessing value datetime.date(2024, 1, 5) at preprocessing.made is a date"),
    ("k above the training points", lambda t, m: _export(t, m, k=500), "k=500 Rosetta points asked for, but the data have only 24 training points"),
    ("--rosetta of another input shape, other preprocessing too",
     lambda t, m: _train(t, _data(t, meta={"preprocessing": {"scaling": "unit"}}), "--rosetta", str(_points(t, shape=(7,), preprocessing={"scaling": "raw"}))),
     "alice.parquet: inputs have shape (7,) but the model expects (5,)"),
    ("--rosetta and another --latent-dim", lambda t, m: _train(t, None, "--rosetta", str(_points(t)), "--latent-dim", "3"),
     "has latent size 2"),
    ("folder as --rosetta", lambda t, m: _train(t, None, "--rosetta", str(t)), "is a directory, not a file"),
    ("model file as --rosetta", lambda t, m: _train(t, None, "--rosetta", str(m)), "model.pt is not a readable Parquet file"),
    ("--out is a file", lambda t, m: ["train", "--data", str(_data(t)), "--out", str(_with(t, "f", b"x") / "f")], "f is a file, not a folder"),
    ("--out under a file", lambda t, m: _export(t, m)[:-1] + [str(_with(t, "f", b"x") / "f" / "r.parquet")], "f is a file, not a folder"),
    ("--steps 0", lambda t, m: _train(t) + ["--steps", "0"], "rvae train: error: argument --steps: must be at least 1, got 0"),
    ("--steps and --epochs", lambda t, m: _train(t) + ["--epochs", "2"], "error: give --steps or --epochs, not both"),
    ("--max-steps below the rule's min_steps", lambda t, m: _train(t) + ["--max-steps", "10"], "error: --min-steps (1000) is above --max-steps (10)"),
    ("--max-steps before the rule's first judgement", lambda t, m: _train(t) + ["--min-steps", "100", "--max-steps", "110"], "error: --max-steps (110) is below the first step"),
    ("--latent-dim 0", lambda t, m: _train(t) + ["--latent-dim", "0"], "argument --latent-dim: must be at least 1, got 0"),
    ("--device tpu", lambda t, m: _train(t) + ["--device", "tpu"], "error: --device tpu: device must be one of"),
    ("--rho-grid text", lambda t, m: _train(t) + ["--rho-grid", "a,b"], "argument --rho-grid: 'a,b' is not a comma-separated list of numbers"),
    ("--k 0", lambda t, m: _export(t, m, k=0), "rvae export-rosetta: error: argument --k: must be at least 1, got 0"),
    ("--per-digit 0", lambda t, m: ["example-data", "--out", str(t / "ex"), "--per-digit", "0"], "argument --per-digit: must be at least 1, got 0"),
    ("--device tpu", lambda t, m: _train(t) + ["--device", "tpu"], "device must be one of"),
    ("pickled --latents", lambda t, m: ["export-rosetta", "--latents", str(_with(t, "z.npy", np.array([[1, 2]] * 40, dtype=object)) / "z.npy"),
                                        "--data", str(_data(t)), "--out", str(t / "out" / "r.parquet")], "z.npy is not a plain .npy array"),
    ("Parquet file as compare --reference", lambda t, m: ["compare", "--reference", str(_points(t)), "--model", str(m), "--data", str(_data(t))],
     "alice.parquet: not an rvae model file (a Parquet file)"),
    ("compare --k 0", lambda t, m: ["compare", "--reference", str(m), "--model", str(m), "--data", str(_data(t)), "--k", "0"],
     "rvae compare: error: argument --k: must be at least 1, got 0"),
    ("findings without tables", lambda t, m: ["findings", str(t)], "no tables (table1.parquet ... table10.parquet)"),
]  # fmt: skip


@pytest.mark.parametrize("name, argv, message", BAD_INPUT, ids=[case[0] for case in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, model_file, name, argv, message):
    code, err = _cli(argv(tmp_path, model_file), capsys)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(("error: ", "rvae ")) and message in err, err
    assert not (tmp_path / "out").exists()  # nothing written: no model, no train.log, no folder


def test_the_reported_cases_through_the_real_command(tmp_path):
    """The inputs that ended in a traceback or in torch's unpickler message (and warning), as a user
    runs them: one line on stderr, nothing else."""
    broken = _data(tmp_path, raw_meta="input_shape: [1, 28, 28\nfamily: conv\n")
    for argv, message in (
        (["train", "--data", str(broken), "--out", str(tmp_path / "o")], f"error: {broken}/dataset.yaml: not valid YAML at line 2"),
        (["export-rosetta", "--model", str(_points(tmp_path)), "--data", str(_data(tmp_path, "ok")), "--out", str(tmp_path / "r.parquet")],
         f"error: {tmp_path}/alice.parquet: not an rvae model file (a Parquet file)"),
        (["export-rosetta", "--model", str(_pickle(tmp_path)), "--data", str(_data(tmp_path, "ok2")), "--out", str(tmp_path / "r.parquet")],
         f"error: {tmp_path}/evil.parquet: not an rvae model file (unreadable by torch.load, UnpicklingError)"),
    ) + ((["train", "--data", str(_data(tmp_path, "ok3")), "--out", str(tmp_path / "c"), "--device", "cuda"],
          "error: --device cuda: torch sees no CUDA device"),) * (not torch.cuda.is_available()):  # fmt: skip
        done = subprocess.run([RVAE, *argv], capture_output=True, text=True)
        assert done.returncode == 2 and done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "c").exists()  # refused before anything was written


def test_train_without_steps_trains_to_its_own_plateau_and_logs_plain_lines(tmp_path, capsys):
    """Bob has no joint template: by default ``rvae train`` stops where its own validation curve
    plateaus (the library's rule), writes plain lines to train.log, and --epochs still works as
    passes over the training split, with a warning."""
    from rvae.convergence import PlateauRule, judged_curve, plateau_step

    x = np.random.default_rng(1).normal(size=(400, 5)).astype(np.float32)
    data = _data(tmp_path, "plain", x=x)
    assert rvae(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--batch-size", "32", "--eval-every", "10"]) == 0
    history = pd.read_parquet(tmp_path / "m" / "history.parquet")
    rule = PlateauRule(eval_every=10)
    steps, values = judged_curve(history.to_dict("records"))
    assert history["step"].iloc[-1] == plateau_step(steps, values, rule) >= rule.min_steps
    log = (tmp_path / "m" / "train.log").read_text().splitlines()
    assert sum(line.startswith("step ") for line in log) == len(history) and "\r" not in "".join(log)
    assert f"the plateau rule held at step {history['step'].iloc[-1]}" in log
    out = capsys.readouterr().out
    assert f"step 10/{rule.max_steps} (cap)" in out  # not a terminal: the same plain lines
    assert rvae(["train", "--data", str(data), "--out", str(tmp_path / "e"), "--batch-size", "32", "--epochs", "3", "--quiet"]) == 0
    n_train = 240  # 60% of 400
    assert pd.read_parquet(tmp_path / "e" / "history.parquet")["step"].iloc[-1] == 3 * -(-n_train // 32)
    assert "--epochs is deprecated" in (tmp_path / "e" / "train.log").read_text()


def test_the_progress_line_on_a_terminal_says_steps_losses_and_time_left():
    import io
    import logging

    from rvae.cli import _Progress

    screen = io.StringIO()
    handler = _Progress(screen)
    record = logging.LogRecord("rvae.trainer", logging.INFO, "", 0, "step 20/100 ...", None, None)
    record.progress = {"step": 20, "max_steps": 100, "until": "plateau", "loss": 12.5, "val_neg_elbo": 13.25, "seconds": 2.0}
    handler.emit(record)
    line = screen.getvalue()
    assert line.startswith("\r") and "step 20/100 loss 12.5 validation 13.25, at most" in line and line.endswith(" s left")
    done = logging.LogRecord("rvae.trainer", logging.INFO, "", 0, "the plateau rule held at step 20", None, None)
    handler.emit(done)
    assert screen.getvalue().endswith("the plateau rule held at step 20\n")


def _truncated(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])
    return path


def _without_metadata(path: Path) -> Path:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata({}), path)
    return path


def _nonfinite(tmp_path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = _points(tmp_path)
    table = pq.read_table(path)
    z = table.column("z").to_pylist()
    z[1][0] = float("nan")
    table = table.set_column(table.schema.get_field_index("z"), "z", pa.array(z, type=table.schema.field("z").type))
    pq.write_table(table.replace_schema_metadata(pq.read_table(path).schema.metadata), path)
    return path


def _pickle(tmp_path: Path) -> Path:
    import pickle

    path = tmp_path / "evil.parquet"
    path.write_bytes(pickle.dumps({"x": 1}))
    return path


def test_folder_dataset_is_validated(tmp_path):
    good = _folder(tmp_path / "good", np.ones((10, 5), dtype=np.float32), labels=np.arange(10) % 2)
    assert load_folder(good).x.shape == (10, 5)
    wrong = _folder(tmp_path / "wrong", np.ones((10, 5), dtype=np.float32))
    (wrong / "dataset.yaml").write_text("input_shape: [6]\nfamily: mlp\n")
    with pytest.raises(DataError, match=r"points have shape \(5,\) but dataset.yaml says \(6,\)"):
        load_folder(wrong)
    text = _folder(tmp_path / "text", np.array([["a"] * 5] * 10))
    with pytest.raises(DataError, match="is not numeric"):
        load_folder(text)
    nan = np.ones((10, 5), dtype=np.float32)
    nan[3, 1] = np.nan
    with pytest.raises(DataError, match="NaN or infinite"):
        load_folder(_folder(tmp_path / "nan", nan))
    labels = _folder(tmp_path / "labels", np.ones((10, 5), dtype=np.float32), labels=np.arange(9))
    with pytest.raises(DataError, match="labels.npy"):
        load_folder(labels)


def _sharing_config(tmp_path, rosetta, latent=2, shape=(5,)):
    folder = _folder(tmp_path / "bob", np.ones((10, *shape), dtype=np.float32))
    return {
        "datasets": {"bob": {"kind": "folder", "load": {"path": str(folder)}, "architecture": {"family": "mlp", "latent_dim": latent}, "training": {"steps": 2}}},
        "hyperparameters": {"rho": {"value": 1.0}},
        "shared": {"run1": {"dataset": "bob", "rosetta": str(rosetta)}},
    }  # fmt: skip


def test_config_checks_the_shared_file_before_any_job(tmp_path):
    check_sharing(_sharing_config(tmp_path, _points(tmp_path)))
    from rvae import defaults
    from rvae.workflow.config_checks import validate_config

    config = validate_config(_sharing_config(tmp_path, _points(tmp_path)))
    assert config["shared"]["run1"]["align"] == defaults.ALIGN  # the library's default, filled in
    config = _sharing_config(tmp_path, _points(tmp_path))
    config["shared"]["run1"]["align"] = "rotate"
    with pytest.raises(Exception, match="rotate"):
        validate_config(config)
    with pytest.raises(ConfigError, match="shared.run1.rosetta: the file's latent size is 2 but datasets.bob.architecture.latent_dim is 3"):
        check_sharing(_sharing_config(tmp_path, _points(tmp_path), latent=3))
    with pytest.raises(ConfigError, match=r"shared.run1.rosetta: the file's inputs have shape \(7,\)"):
        check_sharing(_sharing_config(tmp_path, _points(tmp_path, shape=(7,), name="seven.parquet")))
    with pytest.raises(ConfigError, match="shared.run1.rosetta: file .* not found"):
        check_sharing(_sharing_config(tmp_path, tmp_path / "missing.parquet"))
    with pytest.raises(ConfigError, match="shared.run1.rosetta: Rosetta file"):
        check_sharing(_sharing_config(tmp_path, _truncated(_points(tmp_path, name="cut.parquet"))))
    # the file's promised preprocessing, checked as `rvae train --rosetta` checks it, before any job
    promising = _points(tmp_path, name="unit.parquet", preprocessing={"scaling": "unit"})
    with pytest.raises(ConfigError, match=r"shared.run1.rosetta: .*bob/dataset.yaml names no preprocessing but the Rosetta file .*unit.parquet "
                                          r"records \{'scaling': 'unit'\}.*\(shared.run1.accept_preprocessing: true to go on"):  # fmt: skip
        check_sharing(_sharing_config(tmp_path, promising))
    config = _sharing_config(tmp_path, promising)
    config["shared"]["run1"]["accept_preprocessing"] = True
    check_sharing(config)
    config = _sharing_config(tmp_path, _points(tmp_path))
    config["shared"]["run1"]["dataset"] = "carol"
    with pytest.raises(ConfigError, match="shared.run1.dataset: 'carol' is not defined"):
        check_sharing(config)


@pytest.mark.slow
def test_workflow_exports_and_trains_the_shared_run(tmp_path):
    """Alice's export and Bob's R-VAE as Snakemake targets, with a rho sweep; data edits rerun."""
    rng = np.random.default_rng(3)
    _folder(tmp_path / "alice", rng.normal(size=(200, 5)).astype(np.float32), labels=np.arange(200) % 4, preprocessing={"scaling": "none"})
    _folder(tmp_path / "bob", (rng.normal(size=(160, 5)) + 1).astype(np.float32), labels=np.arange(160) % 3, preprocessing={"scaling": "none"})
    dataset = lambda path: {"kind": "folder", "load": {"path": path}, "architecture": {"family": "mlp", "latent_dim": 2},
                            "training": {"steps": 8}}  # fmt: skip
    config = {
        "datasets": {"alice": {**dataset("alice"), "export": {"k": 6}}, "bob": dataset("bob")},
        "shared": {"bob_from_alice": {"dataset": "bob", "rosetta": "results/export/alice/rosetta.parquet",
                                        "rho": {"grid": [0.5, 4.0], "epochs": 2}}},
    }  # fmt: skip
    (tmp_path / "sharing.yaml").write_text(yaml.safe_dump(config))
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--configfile", str(tmp_path / "sharing.yaml"), "--cores", "2"]  # fmt: skip
    done = subprocess.run(cmd + ["results/shared/bob_from_alice/embedding.parquet", "results/shared/bob_from_alice/latent_space.png"],
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    from rvae.rosetta_file import load_rosetta_points

    points = load_rosetta_points(tmp_path / "results/export/alice/rosetta.parquet", (5,), 2)
    assert len(points) == 6 and points.metadata["dataset"] == "alice" and points.metadata["preprocessing"] == {"scaling": "none"}
    assert "| number of points (k) | 6 |" in (tmp_path / "results/export/alice/rosetta.md").read_text()
    embedding = pd.read_parquet(tmp_path / "results/shared/bob_from_alice/embedding.parquet")
    assert len(embedding) == 160 and {"z0", "z1", "var0", "anchor_distance"} <= set(embedding.columns)
    from rvae.embeddings import read_embedding_metadata

    landed = read_embedding_metadata(tmp_path / "results/shared/bob_from_alice/embedding.parquet")
    assert landed["align"] == "auto" and landed["models"][0]["alignment"]["reason"].startswith("auto chose ")
    choice = json.loads((tmp_path / "results/shared/bob_from_alice/rho.json").read_text())
    assert sorted(c["value"] for c in choice["candidates"]) == [0.5, 4.0]
    assert (tmp_path / "results/shared/bob_from_alice/latent_space.png").stat().st_size > 10_000
    # Bob edits his data: his data, model and figure rerun; Alice's export does not
    np.save(tmp_path / "bob" / "x.npy", (rng.normal(size=(160, 5)) + 2).astype(np.float32))
    dry = subprocess.run(cmd + ["-n", "results/shared/bob_from_alice/latent_space.png"], capture_output=True, text=True, cwd=tmp_path)
    assert "rule prepare_data" in dry.stdout and "dataset=bob" in dry.stdout and "dataset=alice" not in dry.stdout
    assert "rule train_shared" in dry.stdout and "rule export_rosetta" not in dry.stdout


def chain_commands() -> list[str]:
    text = (ROOT / "docs" / "sharing.md").read_text()
    block = text.split("<!-- chain-commands -->")[1].split("<!-- /chain-commands -->")[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_a_chain_of_labs_runs_by_hand_with_the_cli_as_documented(tmp_path, monkeypatch):
    """docs/sharing.md's chain as written: Carol, anchored only on Bob's file, lands nearer Alice's
    coordinates (on Alice's own digits, held out) than a plain VAE of Carol's data does. The
    commands run in this process (the README's test runs them as processes), sparing seven
    interpreter starts."""
    commands = chain_commands()
    assert len(commands) == 7 and all(c.startswith(".venv/bin/rvae ") for c in commands)
    monkeypatch.chdir(tmp_path)
    for command in commands:
        assert rvae(command.split()[1:]) == 0, command
    chain = tmp_path / "chain"
    labels = {lab: set(np.load(chain / lab / "labels.npy").tolist()) for lab in ("alice", "bob", "carol")}
    assert labels == {"alice": {0, 1, 2, 3}, "bob": {4, 5, 6}, "carol": {7, 8, 9}}
    from rvae.rosetta_file import load_rosetta_points

    relay = load_rosetta_points(chain / "bob.parquet")
    assert relay.metadata["dataset"] == "mnist_bob" and len(relay) == 24  # Bob's points: his inputs, his latents
    assert rvae(["train", "--data", str(chain / "carol"), "--latent-dim", "8", "--steps", "80", "--quiet",
                 "--out", str(chain / "carol_vae")]) == 0  # fmt: skip
    compare = ["compare", "--reference", str(chain / "alice_model/model.pt"), "--data", str(chain / "alice"),
               "--rosetta", str(chain / "alice.parquet")]  # fmt: skip
    for model in ("carol_model", "carol_vae"):
        assert rvae([*compare, "--model", str(chain / model / "model.pt"), "--out", str(tmp_path / f"{model}.csv")]) == 0
    distance = {
        model: pd.read_csv(tmp_path / f"{model}.csv").query("arm == 'raw' and partition == 'all'")["distance"].iloc[0]
        for model in ("carol_model", "carol_vae")
    }
    print(distance)
    assert distance["carol_model"] < 0.5 * distance["carol_vae"], distance
