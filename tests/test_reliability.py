"""Faults and bad inputs: kills, reruns, corrupt data, crashes mid-write, many jobs at once.

Every case checks that the error names the problem and that nothing already computed is lost.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
MINI = ROOT / "tests" / "workflow" / "mini.yaml"

pytestmark = pytest.mark.slow


def command(workdir, config, *args):
    return [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(config), "--cores", "2", *args]  # fmt: skip


def run(workdir, config, *args, check=True):
    done = subprocess.run(command(workdir, config, *args), capture_output=True, text=True, cwd=workdir)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def digests(workdir, *folders) -> dict:
    out = {}
    for folder in folders:
        for path in sorted((Path(workdir) / folder).rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                out[str(path.relative_to(workdir))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def write_config(workdir, edit=None, base=MINI) -> Path:
    config = yaml.safe_load(base.read_text())
    if edit:
        edit(config)
    path = Path(workdir) / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reference")
    run(workdir, write_config(workdir))
    return workdir


RESULTS = ("results/tables", "results/embeddings", "results/rosetta", "results/metrics")


def test_two_runs_from_scratch_are_byte_identical(reference, tmp_path):
    run(tmp_path, write_config(tmp_path))
    first, second = digests(reference, *RESULTS), digests(tmp_path, *RESULTS)
    assert len(first) > 30 and first == second


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _kill_group(process):
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_killing_snakemake_mid_run_loses_nothing(reference, tmp_path):
    config = write_config(tmp_path)
    process = subprocess.Popen(command(tmp_path, config), cwd=tmp_path, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    blocks = tmp_path / "results/blocks"
    _wait_for(lambda: len(list(blocks.rglob("seed*.parquet"))) >= 3, 300, "a first seed block")
    _kill_group(process)  # snakemake and every job it started, with no chance to clean up
    assert not (tmp_path / "results/tables/table1.csv").exists(), "killed before the end"
    run(tmp_path, config, "--unlock")  # a killed Snakemake leaves its lock, as after a power loss
    rerun = run(tmp_path, config, "--rerun-incomplete")
    assert "Nothing to be done" not in rerun.stdout
    assert digests(tmp_path, *RESULTS) == digests(reference, *RESULTS)


def test_killed_training_job_resumes_from_its_checkpoint(tmp_path):
    """SIGKILL a training job after a checkpoint; the rerun resumes and ends bit-identical."""

    def bigger(config):
        config["datasets"]["gaussians"]["load"]["points_per_cluster"] = 1500  # 113 steps a pass
        config["datasets"]["gaussians"]["training"]["steps"] = 1200
        config["plateau"] = {"eval_every": 100}
        config["checkpoint_every"] = 300

    target = "results/embeddings/templates/gaussians/joint.parquet"
    uninterrupted = tmp_path / "uninterrupted"
    killed = tmp_path / "killed"
    for folder in (uninterrupted, killed):
        folder.mkdir()
    run(uninterrupted, write_config(uninterrupted, bigger), target)
    config = write_config(killed, bigger)
    process = subprocess.Popen(command(killed, config, target), cwd=killed, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    log = killed / "results/logs/train_template/gaussians/joint.log"
    _wait_for(lambda: log.exists() and "step 400/1200" in log.read_text(), 300, "step 400 (a checkpoint at 300)")
    _kill_group(process)
    assert (killed / "results/checkpoints/templates/gaussians/joint.ckpt").exists()
    assert not (killed / target).exists()
    run(killed, config, "--unlock")
    run(killed, config, target, "--rerun-incomplete")
    text = log.read_text()
    resumed = re.search(r"resumed from checkpoint \S+ at step (\d+)/1200", text)
    assert resumed, text[-2000:]
    after = text[resumed.end():]
    steps_after = [int(e) for e in re.findall(r"^step (\d+)/1200", after, re.M)]
    assert steps_after == list(range(int(resumed.group(1)) + 100, 1201, 100)), "steps before the checkpoint are not repeated"
    assert (killed / target).read_bytes() == (uninterrupted / target).read_bytes()
    assert not (killed / "results/checkpoints/templates/gaussians/joint.ckpt").exists()


# -- bad data in a finished workflow: a clear error, nothing lost ------------------------------------


def _folder_data(root, x):
    root.mkdir(parents=True, exist_ok=True)
    np.save(root / "x.npy", x)
    (root / "dataset.yaml").write_text(f"input_shape: {list(x.shape[1:])}\nfamily: mlp\n")


def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _good():
    return np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32)


def _with(value):
    x = _good()
    x[3, 1] = value
    return x


def _bad_folder(kind):
    def make(root):
        if kind == "truncated":
            _folder_data(root, _good())
            _truncate(root / "x.npy")
        elif kind == "nan":
            _folder_data(root, _with(np.nan))
        elif kind == "inf":
            _folder_data(root, _with(np.inf))
        elif kind == "text":
            _folder_data(root, np.array([["a"] * 5] * 40))
        elif kind == "shape":
            _folder_data(root, _good())
            (root / "dataset.yaml").write_text("input_shape: [6]\nfamily: mlp\n")
        return {"kind": "folder", "load": {"path": str(root)}, "architecture": {"family": "mlp", "latent_dim": 2}, "training": {"steps": 2}}

    return make


def _bad_birdsong(kind):
    def make(root):
        from test_data import _write_wav

        birds = {}
        for b in range(2):
            folder = root / f"bird{b}"
            folder.mkdir(parents=True)
            _write_wav(folder / "song.wav", freq=1500.0 + 1500 * b)
            birds[f"bird{b}"] = str(folder)
        if kind == "corrupt_wav":
            (root / "bird1" / "song.wav").write_bytes(b"RIFF....not really a wav")
        else:
            (root / "bird1" / "song.wav").unlink()
        return {"kind": "birdsong", "load": {"source": "wav", "birds": birds, "segmentation": {"window_s": 0.08, "windows_per_recording": 4}},
                "architecture": {"family": "ava", "latent_dim": 2}, "training": {"steps": 2}}  # fmt: skip

    return make


def _corrupt_png(root):
    from test_data import _chairs_tree

    tree = _chairs_tree(root, n=2, views=2)
    (tree / "chair_001" / "renders" / "image_001_p020_t010_r096.png").write_bytes(b"\x89PNG broken")
    return {"kind": "chairs", "load": {"source": "rendered_chairs", "path": str(tree)},
            "architecture": {"family": "conv", "latent_dim": 2}, "training": {"steps": 2}}  # fmt: skip


BAD_DATA = [
    ("truncated npy", _bad_folder("truncated"), "unreadable or truncated"),
    ("NaN input", _bad_folder("nan"), "NaN or infinite values in 1 point(s), first rows [3]"),
    ("inf input", _bad_folder("inf"), "NaN or infinite values in 1 point(s), first rows [3]"),
    ("text array", _bad_folder("text"), "is not numeric"),
    ("shape mismatch", _bad_folder("shape"), "dataset.yaml says (6,)"),
    ("corrupt WAV", _bad_birdsong("corrupt_wav"), "cannot read WAV file"),
    ("empty bird folder", _bad_birdsong("empty"), "no .wav files"),
    ("corrupt PNG", _corrupt_png, "cannot read image"),
]


@pytest.fixture(scope="module")
def finished(reference, tmp_path_factory):
    """A copy of the finished reference run to inject faults into."""
    workdir = tmp_path_factory.mktemp("finished")
    shutil.copytree(reference, workdir, dirs_exist_ok=True)
    return workdir


@pytest.mark.parametrize("name,make,message", BAD_DATA, ids=[b[0] for b in BAD_DATA])
def test_bad_data_is_refused_and_nothing_is_lost(finished, name, make, message):
    before = digests(finished, "results")
    key = re.sub(r"\W", "_", name)
    dataset = make(finished / "incoming" / key)
    config = write_config(finished, lambda c: c["datasets"].update({key: dataset}))
    done = run(finished, config, f"results/data/{key}/info.json", check=False)
    assert done.returncode != 0
    log = (finished / f"results/logs/prepare_data/{key}.log").read_text()
    assert message in log, log[-2000:]
    assert not (finished / f"results/data/{key}").exists() or not any((finished / f"results/data/{key}").iterdir())
    after = digests(finished, "results")
    assert {k: v for k, v in after.items() if k in before} == before, "existing results were changed"
    assert set(after) - set(before) <= {f"results/logs/prepare_data/{key}.log"}


def _shared_file(folder, shape=(5,), latent=2, truncate=False):
    from rvae.rosetta_file import RosettaPoints, save_rosetta_points

    rng = np.random.default_rng(0)
    points = RosettaPoints.create(rng.normal(size=(4, *shape)), rng.normal(size=(4, latent)), np.arange(4), "alice", "kmeans")
    path = folder / f"alice_{'x'.join(map(str, shape))}_{latent}_{truncate}.parquet"
    save_rosetta_points(points, path)
    if truncate:
        _truncate(path, 0.9)
    return path


BAD_SHARED = [
    ("wrong input shape", dict(shape=(7,)), "the file's inputs have shape (7,)"),
    ("wrong latent size", dict(latent=3), "the file's latent size is 3"),
    ("truncated footer", dict(truncate=True), "shared.bob.rosetta: Rosetta file"),
]


@pytest.mark.parametrize("name,kind,message", BAD_SHARED, ids=[b[0] for b in BAD_SHARED])
def test_bad_shared_file_is_refused_before_any_job(finished, name, kind, message):
    before = digests(finished, "results")
    path = _shared_file(finished, **kind)
    config = write_config(finished, lambda c: c.update(shared={"bob": {"dataset": "gaussians", "rosetta": str(path)}}))
    done = run(finished, config, "results/shared/bob/embedding.parquet", check=False)
    assert done.returncode != 0 and message in done.stderr, done.stderr[-2000:]
    assert "rule train_shared" not in done.stdout
    assert digests(finished, "results") == before


def test_crash_during_a_write_leaves_no_half_file(tmp_path, monkeypatch):
    """A process killed in the middle of writing leaves the old file, never a truncated one."""
    target = tmp_path / "embedding.parquet"
    pd.DataFrame({"z0": np.arange(10.0)}).to_parquet(target)
    old = target.read_bytes()
    script = (
        "import os, signal\n"
        "from rvae.atomic import atomic_path\n"
        f"with atomic_path({str(target)!r}) as tmp:\n"
        "    with open(tmp, 'wb') as f:\n"
        "        f.write(b'PAR1' + b'x' * 100000)\n"
        "        f.flush()\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script])
    assert done.returncode == -signal.SIGKILL
    assert target.read_bytes() == old
    pd.testing.assert_frame_equal(pd.read_parquet(target), pd.DataFrame({"z0": np.arange(10.0)}))
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(name.startswith(".embedding.parquet.") and name.endswith(".tmp") for name in leftovers)
    # the same through the real writer, failing half-way through its Parquet write
    import pyarrow.parquet as pq

    from rvae.embeddings import write_embedding

    class Boom(Exception):
        pass

    def exploding(table, where, **kw):
        Path(where).write_bytes(b"PAR1 half")
        raise Boom

    monkeypatch.setattr(pq, "write_table", exploding)
    with pytest.raises(Boom):
        write_embedding(pd.DataFrame({"z0": [1.0]}), target)
    assert target.read_bytes() == old and not any(p.name.endswith(".tmp") and "half" in p.read_text(errors="ignore") for p in tmp_path.iterdir())


def test_many_jobs_at_once_with_one_gpu(tmp_path):
    """40 seeds, two job slots, one (declared) GPU: correct results, no clobbering, no GPU overlap."""

    def many(config):
        config.update(device="auto", n_seeds=40, seed_block={"size": 10, "mode": "auto"})
        config["datasets"]["gaussians"]["training"]["steps"] = 12
        config["tables"] = {"table1": {"gaussians": 8}}

    config = write_config(tmp_path, many)
    run(tmp_path, config, "--jobs", "2", "--resources", "gpu=1")
    table = pd.read_csv(tmp_path / "results/tables/table1.csv").query("metric == 'rv'").set_index(["partition", "model"])
    # the reference against itself: its median minus itself, 0 by construction
    assert table.loc[("R1", "vae"), "median"] == 0.0
    assert table.loc[("R1", "rvae"), "median"] < -1.0
    base = tmp_path / "results/embeddings/reproducibility/gaussians/kmeans-k8-same"
    for model in ("vae", "rvae"):
        seeds = [pd.read_parquet(base / model / f"seed{s}.parquet") for s in range(40)]
        blocks = tmp_path / "results/blocks/reproducibility/gaussians/kmeans-k8-same" / model
        for s, frame in enumerate(seeds):  # each seed's file is its own block output, not another's
            assert (base / model / f"seed{s}.parquet").read_bytes() == (blocks / f"block{s // 10}" / f"seed{s}.parquet").read_bytes()
        distinct = {hashlib.sha256(f[["z0", "z1"]].to_numpy().tobytes()).hexdigest() for f in seeds}
        assert len(distinct) == 40
    spans = []
    logs = tmp_path / "results/logs"
    for log in logs.rglob("*.log"):
        if log.relative_to(logs).parts[0] not in ("retrain", "train_template", "sweep"):
            continue
        text = log.read_text()
        start = float(re.search(r"job started at ([\d.]+)", text).group(1))
        end = float(re.search(r"job finished at ([\d.]+)", text).group(1))
        spans.append((start, end, log.name))
    spans.sort()
    assert len(spans) == 4 * 4 + 2  # 4 models x 4 blocks of 10 seeds, and both templates (the diagnostics read the joint one)
    overlaps = [(a, b) for a, b in zip(spans, spans[1:]) if b[0] < a[1]]
    assert not overlaps, overlaps
