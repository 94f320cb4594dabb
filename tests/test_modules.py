"""Every module of src/rvae/ is imported by name by some test, and the ones the rest of the suite
reaches only through others get direct tests here: the checkpoint rules, the paper's figures, the
sweep's budget, the four loaders."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "rvae"


def modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_module_is_imported_by_name_by_a_test():
    text = "\n".join(p.read_text() for p in (ROOT / "tests").glob("*.py"))
    imported = set(re.findall(r"\b(?:from|import)\s+(rvae(?:\.\w+)*)", text)) | set(re.findall(r"\"(rvae(?:\.\w+)+)\"", text))
    imported |= {f"{parent}.{name.split(' as ')[0].strip()}" for parent, names in re.findall(r"from\s+(rvae(?:\.\w+)*)\s+import\s+\(?([\w ,]+)", text) for name in names.split(",")}
    packages = {m for m in modules() if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").exists()}
    missing = [m for m in modules() if m not in imported and not (m in packages and any(i.startswith(m + ".") for i in imported))]
    assert len(modules()) > 40 and not missing, f"no test imports: {missing}"


# -- rvae.checkpoints: a checkpoint is resumed only by the run it belongs to --------------------------
def test_a_checkpoint_is_read_back_only_for_its_own_config_data_and_kind(tmp_path, caplog):
    from rvae.checkpoints import CHECKPOINT_FORMAT, data_identity, read_checkpoint, write_checkpoint
    from rvae.trainer import TrainConfig

    config = TrainConfig(until=40, seed=3)
    x = torch.arange(60, dtype=torch.float32).reshape(12, 5)
    data_id = data_identity(x)
    path = tmp_path / "run.ckpt"
    write_checkpoint(path, {"kind": "single", "config_identity": config.identity(), "data_identity": data_id, "step": 20, "weights": torch.ones(3)})
    state = read_checkpoint(path, config, data_id, "single")
    assert state["format"] == CHECKPOINT_FORMAT and state["step"] == 20 and torch.equal(state["weights"], torch.ones(3))
    cases = {
        "another configuration": (TrainConfig(until=40, seed=4), data_id, "single"),
        "other training data": (config, data_identity(x + 1), "single"),
        "another configuration ": (config, data_id, "ensemble"),  # another kind of trainer
        "past the configured 10 steps": (TrainConfig(until=10, seed=3), data_id, "single"),
    }
    for reason, (other, other_data, kind) in cases.items():
        caplog.clear()
        if "past" in reason:  # the same config otherwise: write one for it
            write_checkpoint(path, {"kind": "single", "config_identity": other.identity(), "data_identity": data_id, "step": 20})
        with caplog.at_level("INFO", logger="rvae.checkpoints"):
            assert read_checkpoint(path, other, other_data, kind) is None
        assert reason.strip() in caplog.text, (reason, caplog.text)
    path.write_bytes(b"not a checkpoint")
    assert read_checkpoint(path, config, data_id, "single") is None
    assert data_identity(x) == data_id and data_identity(x, x_val=x) != data_id  # validation data count


# -- rvae.paper.sweep: a candidate's fixed budget -----------------------------------------------------
def test_a_sweep_candidates_budget_is_passes_over_its_own_training_points():
    from rvae.data.common import RawDataset
    from rvae.data.store import prepare
    from rvae.paper.sweep import candidate_steps

    labels = np.repeat([0, 1], 50)
    data = prepare(RawDataset("two", np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32), labels, np.where(labels == 0, "D1", "D2"), ["a", "b"]))
    n_d2 = len(data.rows("D2", "train"))
    assert n_d2 == 30
    # beta-VAE: D2's 30 points plus 4 Rosetta inputs, batch 8 -> 5 steps a pass; R-VAE: its 30 -> 4
    assert candidate_steps(data, "sequential", "beta", 4, 8, 20) == 20 * 5
    assert candidate_steps(data, "sequential", "rho", 4, 8, 20) == 20 * 4


# -- rvae.paper.figures: the training-curves figure draws what the histories hold ---------------------
def test_training_curves_plot_the_median_over_seeds_by_step(tmp_path, monkeypatch):
    import rvae.paper.figures as figures

    steps = np.array([20, 40, 60])
    files = []
    for seed, scale in enumerate((1.0, 2.0, 3.0)):
        path = tmp_path / f"seed{seed}.parquet"
        pd.DataFrame({"step": steps, "loss": scale * steps, "recon": steps, "kl": steps, "rosetta": steps, "val_neg_elbo": scale * steps + 1}).to_parquet(path)
        files.append(path)
    drawn = {}
    monkeypatch.setattr(figures, "save_figure", lambda fig, png, pdf: drawn.setdefault("fig", fig))
    figures.figure_training_curves({("toy", "rvae"): files}, tmp_path / "c.png", tmp_path / "c.pdf")
    loss = drawn["fig"].axes[0]
    lines = [line for line in loss.get_lines() if len(line.get_xdata()) == 3]
    assert np.array_equal(lines[0].get_xdata(), steps) and np.array_equal(lines[0].get_ydata(), 2.0 * steps)  # median of 1x, 2x, 3x
    assert lines[1].get_linestyle() == "--" and np.array_equal(lines[1].get_ydata(), 2.0 * steps + 1)  # validation, dashed
    assert "dashed: validation" in loss.get_title() and loss.get_xlabel() == "optimiser step"


# -- the four loaders, called directly --------------------------------------------------------------
def test_the_gaussians_loader_puts_four_clusters_on_each_side():
    from rvae.data.gaussians import generate_gaussians

    data = generate_gaussians(points_per_cluster=30, noise_dims=3, seed=1)
    assert data.x.shape == (240, 5) and data.x.dtype == np.float32
    for cluster in range(8):
        centre = data.x[data.labels == cluster, :2].mean(0)
        angle = np.degrees(np.arctan2(centre[1], centre[0])) % 360
        off = abs(angle - 45 * cluster)
        assert min(off, 360 - off) < 10 and abs(np.hypot(*centre) - 4.0) < 0.3
    assert set(data.labels[data.partition == "D1"]) == {0, 1, 2, 3}


def test_the_embedded_mnist_loader_splits_digits_0_to_4_from_5_to_9():
    from rvae.data.mnist import load_mnist_embedded

    data = load_mnist_embedded()
    assert data.x.shape[1:] == (1, 28, 28) and len(data.x) == 5000 and 0 <= data.x.min() and data.x.max() <= 1
    assert set(data.labels[data.partition == "D1"]) == {0, 1, 2, 3, 4} and set(data.labels[data.partition == "D2"]) == {5, 6, 7, 8, 9}


def test_the_synthetic_chairs_split_by_chair_identity():
    from rvae.data.chairs import load_chairs

    data = load_chairs("synthetic", n_chairs=4, size=16)
    assert data.x.shape[1:] == (1, 16, 16) and len(data.x) == 4 * 62
    d1, d2 = set(data.labels[data.partition == "D1"]), set(data.labels[data.partition == "D2"])
    assert len(d1) == len(d2) == 2 and not d1 & d2  # no chair in both


def test_the_embedded_birdsong_windows_are_spectrograms_of_distinct_birds():
    from rvae.data.birdsong import load_birdsong

    data = load_birdsong(source="embedded", d1_birds=["bells", "flashcam"], spectrogram={"size": 32}, segmentation={"method": "windows", "window_s": 0.08, "windows_per_recording": 20})
    assert data.x.shape[1:] == (1, 32, 32) and 0 <= data.x.min() and data.x.max() <= 1
    birds = {p: set(np.asarray(data.label_names)[data.labels[data.partition == p]]) for p in ("D1", "D2")}
    assert birds["D1"] == {"bells", "flashcam"} and len(birds["D2"]) == 2 and not birds["D1"] & birds["D2"]


# -- rvae.workflow.results_page: the page's readings of the machine and the findings -----------------
def test_the_results_page_reads_the_instruction_set_and_groups_the_reasons():
    import pandas as pd

    from rvae.paper.report import reason_counts
    from rvae.workflow.results_page import cpu_description

    avx512 = "model name\t: Some Xeon\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_bf16\n"
    avx2 = "model name\t: Some Core\nflags\t\t: fpu sse2 avx avx2 fma\n"
    assert cpu_description(avx512)["instruction_set"] == "AVX-512 with bf16" and cpu_description(avx512)["model"] == "Some Xeon"
    assert cpu_description(avx512.replace(" avx512_bf16", ""))["instruction_set"] == "AVX-512 without bf16"
    assert cpu_description(avx2)["instruction_set"] == "AVX2 (no AVX-512)"
    findings = pd.DataFrame({
        "kind": ["table"] * 6 + ["project"],
        "verdict": ["not comparable", "not comparable", "not run", "budget-sensitive", "paper suspect", "reproduced", "not run"],
        "reason": ["b cell has a collapsed run", "trained below the paper's passes", "half budget: table 2 not built",
                   "reproduced at S, opposite at floor(S/2)", "the paper prints equal medians: no ordering to check", "", ""],
    })  # fmt: skip
    counts = reason_counts(findings).set_index("reason")["claims"].to_dict()
    assert counts == {
        "budget-sensitive: the half budget contradicts the full one": 1, "not run: half-budget file missing": 1, "collapsed run": 1,
        "trained below the paper's passes": 1, "paper: equal medians": 1, "the run's own, of 6 claims (67%)": 4,
    }  # fmt: skip
