"""Chains of labs (docs/method.md, "Chains"): the arms' arithmetic on planted chains, the config's
refusals with the key named, the roles' seeds, and a tiny end-to-end run of the chain targets."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rvae.alignment import fit_map
from rvae.paper import chains
from rvae.paper.chains import ChainError, chain_latents, chain_scores
from rvae.workflow.config_checks import ConfigError, check_config, validate_config

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "workflow" / "chains.yaml"
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


# -- the arms on planted chains ------------------------------------------------------------------
def _planted(rng, n=240, latent=3, k=8):
    """Alice's latents, Bob's plain VAE an affine image of them, Carol's an affine image of Bob's;
    every R-VAE exactly in Alice's coordinates. R1 among the first 80 rows (P1), relay among the next 80."""
    z_alice = rng.normal(size=(n, latent)) * np.array([2.0, 1.0, 0.5])
    a1, b1 = rng.normal(size=(latent, latent)) + 2 * np.eye(latent), rng.normal(size=latent)
    a2, b2 = rng.normal(size=(latent, latent)) + 2 * np.eye(latent), rng.normal(size=latent)
    bob = z_alice @ a1 + b1
    carol = bob @ a2 + b2
    runs = {("bob", "rvae"): z_alice.copy(), ("bob", "vae"): bob, ("carol", "vae"): carol}
    runs |= {("carol", run): z_alice.copy() for run in ("relay", "relay+origin", "origin")}
    origin_rows = rng.choice(80, size=k, replace=False)
    relay_rows = 80 + rng.choice(80, size=k, replace=False)
    return z_alice, runs, origin_rows, relay_rows


def test_a_planted_chain_of_affine_images_puts_every_arm_in_alices_coordinates(rng):
    z_alice, runs, origin_rows, relay_rows = _planted(rng)
    arms = chain_latents(z_alice, runs, origin_rows, z_alice[origin_rows], relay_rows, z_alice[relay_rows])
    assert set(arms) == set(chains.ARMS)
    heldout = np.zeros(len(z_alice), dtype=bool)
    heldout[:80] = True
    heldout[origin_rows] = False
    joint = z_alice @ np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, -1.0]]) + 3.0  # an affine image: LSD 0
    scores = chain_scores(arms, z_alice, joint, heldout)
    for key, score in scores.items():
        assert score["distance"] < 1e-6, (key, score)
        assert score["lsd"] < 1e-12, (key, score)
    assert scores[0, "alice"]["distance"] == 0.0


def test_the_post_hoc_chain_is_the_composition_of_the_two_pairwise_maps(rng):
    """Carol's map fitted to Bob's aligned latents at the relay inputs equals Bob's map after her
    map to his raw latents, where both maps are exact (more pairs than latents, no noise, no ridge)."""
    z_alice, runs, origin_rows, relay_rows = _planted(rng)
    exact = (0.0,)
    arms = chain_latents(z_alice, runs, origin_rows, z_alice[origin_rows], relay_rows, z_alice[relay_rows], grid=exact)
    to_alice = fit_map("affine", runs["bob", "vae"][origin_rows], z_alice[origin_rows], standardise=True, grid=exact)
    to_bob = fit_map("affine", runs["carol", "vae"][relay_rows], runs["bob", "vae"][relay_rows], standardise=True, grid=exact)
    composed = to_alice(to_bob(runs["carol", "vae"]))
    np.testing.assert_allclose(arms[2, "posthoc"], composed, atol=1e-9)
    np.testing.assert_allclose(arms[1, "posthoc"], z_alice, atol=1e-9)
    np.testing.assert_allclose(arms[2, "posthoc"], z_alice, atol=1e-9)
    # with the ridge grid the maps choose the smallest weight here and agree to its bias
    default = chain_latents(z_alice, runs, origin_rows, z_alice[origin_rows], relay_rows, z_alice[relay_rows])
    np.testing.assert_allclose(default[2, "posthoc"], composed, atol=1e-3)


def test_a_rotated_relay_drifts_the_relay_arm_and_not_the_origin_arm(rng):
    """Bob's R-VAE a rotation of Alice's space: Carol anchored on his points inherits the rotation
    (distance > 0), Carol anchored on R1 does not; the baseline, mapped to Bob's R-VAE, inherits it too."""
    z_alice, runs, origin_rows, relay_rows = _planted(rng)
    angle = np.pi / 6
    rotation = np.eye(3)
    rotation[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    bob_rvae = z_alice @ rotation
    runs["bob", "rvae"] = runs["carol", "relay"] = bob_rvae
    arms = chain_latents(z_alice, runs, origin_rows, z_alice[origin_rows], relay_rows, bob_rvae[relay_rows])
    heldout = np.zeros(len(z_alice), dtype=bool)
    heldout[:80] = True
    scores = chain_scores(arms, z_alice, z_alice, heldout)
    assert scores[2, "relay"]["distance"] == pytest.approx(scores[1, "rvae"]["distance"]) and scores[2, "relay"]["distance"] > 0.05
    assert scores[2, "baseline"]["distance"] == pytest.approx(scores[1, "rvae"]["distance"], rel=1e-3)
    assert scores[2, "origin"]["distance"] == 0.0
    assert scores[2, "relay"]["lsd"] < 1e-12  # a rotation is no distortion


def _convergence(bad=()):
    rows = [{"lab": "alice", "run": "template", "seed": -1}]
    rows += [{"lab": lab, "run": run, "seed": s} for lab, run in chains.lab_runs() for s in range(3)]
    frame = pd.DataFrame(rows)
    frame["converged"] = True
    frame["collapsed"] = False
    frame["budget_converged"] = True
    for lab, run, seed in bad:
        frame.loc[(frame["lab"] == lab) & (frame["run"] == run) & (frame["seed"] == seed), "converged"] = False
    return frame


def test_an_arms_seed_is_converged_only_when_every_run_behind_it_is():
    frame = _convergence(bad=[("bob", "rvae", 1)])
    assert chains._arm_state(frame, (2, "relay"), 0)["converged"]
    state = chains._arm_state(frame, (2, "relay"), 1)
    assert not state["converged"] and state["not_converged"] == "bob/rvae"
    assert chains._arm_state(frame, (2, "origin"), 1)["converged"]  # Carol's origin arm never met Bob
    assert not chains._arm_state(frame, (2, "posthoc"), 1)["converged"]  # the relay inputs came from Bob's R-VAE
    frame["budget_converged"] = False
    assert chains._arm_state(frame, (0, "alice"), 0)["not_converged"] == chains.BUDGET_SHORT


def test_the_table_summarises_seeds_per_hop_arm_and_metric():
    rows = []
    for hop, arm in chains.ARMS:
        for seed in ([0] if hop == 0 else [0, 1, 2]):
            distance = 0.0 if hop == 0 else [0.1, 0.2, 0.4][seed] * hop
            rows.append({"dataset": "toy", "hop": hop, "arm": arm, "seed": seed, "distance": distance, "lsd": 1.0 + seed, "n_heldout": 50,
                         "converged": not (arm == "relay" and seed == 2), "collapsed": 0,
                         "not_converged": "carol/relay" if (arm == "relay" and seed == 2) else ""})  # fmt: skip
    table = chains.summarise_chain({"toy": pd.DataFrame(rows)}, {"toy": {"parts": [[0], [1], [2]], "k": 4}}, {"toy": False})
    assert len(table) == 2 * len(chains.ARMS) and set(table["metric"]) == set(chains.METRICS)
    cell = table[(table["hop"] == 2) & (table["arm"] == "relay") & (table["metric"] == "distance")].iloc[0]
    assert cell["median"] == pytest.approx(0.4) and cell["q25"] == pytest.approx(0.3) and cell["iqr"] == pytest.approx(0.3)
    assert cell["n"] == 3 and not cell["converged"] and cell["not_converged"] == "carol/relay (seed 2)" and cell["collapsed_runs"] == 0
    assert table[table["arm"] == "alice"]["n"].tolist() == [1, 1]
    markdown = chains.chain_markdown(table)
    assert "whole dataset" in markdown and "hop 2 `relay`: carol/relay (seed 2)" in markdown
    for arm in chains.ARM_NOTES:
        assert f"| {arm} |" in markdown


# -- data-side refusals, where the config check could not know ------------------------------------
def _points(labels_per_point, split):
    n = len(labels_per_point)
    return pd.DataFrame({"point": np.arange(n), "partition": "D1", "split": split, "label": labels_per_point})


def test_the_first_chain_job_refuses_labels_the_data_lacks_and_parts_without_a_split():
    points = _points(np.repeat([0, 1, 2], 4), np.tile(["train", "train", "val", "val"], 3))
    chains.check_parts(points, [[0], [1], [2]], "chains.mine", 1, 0.5)
    with pytest.raises(ChainError, match=r"chains\.mine\.parts: part 3 names labels \[7\]"):
        chains.check_parts(points, [[0], [1], [2, 7]], "chains.mine", 1, 0.5)
    with pytest.raises(ChainError, match=r"chains\.mine\.k: 2 Rosetta points are 100% of the 2 training points of part 1"):
        chains.check_parts(points, [[0], [1], [2]], "chains.mine", 2, 0.5)
    small_p3 = _points(np.repeat([0, 1, 2], [8, 8, 4]), ["train"] * 6 + ["val"] * 2 + ["train"] * 6 + ["val"] * 2 + ["train"] + ["val"] * 3)
    chains.check_parts(small_p3, [[0], [1], [2]], "chains.mine", 2, 0.5)  # P3 exports nothing: k may exceed its share
    points.loc[points["label"] == 1, "split"] = "train"
    with pytest.raises(ChainError, match=r"chains\.mine\.parts: part 2 .* no val points"):
        chains.check_parts(points, [[0], [1], [2]], "chains.mine", 1, 0.5)


def test_the_rosetta_job_refuses_k_above_the_fraction_of_the_part_naming_the_key():
    from rvae.data.store import PreparedDataset
    from rvae.models import ArchitectureSpec, build_vae

    points = _points(np.repeat([0, 1], 10), np.tile(["train"] * 6 + ["val"] * 4, 2))
    data = PreparedDataset(np.zeros((20, 3), dtype=np.float32), points, {})
    embedding = points.assign(is_rosetta=False, z0=np.arange(20.0), z1=np.arange(20.0) ** 2)
    model = build_vae(ArchitectureSpec("mlp", (3,), 2), seed=0)
    chosen = chains.select_part_rosetta(data, model, embedding, [0], 2, 0, "toy", 0.5, "chains.toy.k")
    assert len(chosen) == 2 and set(chosen.point_ids) <= set(range(6))
    with pytest.raises(ChainError, match=r"chains\.toy\.k: 4 Rosetta points are 67% of the 6 training points"):
        chains.select_part_rosetta(data, model, embedding, [0], 4, 0, "toy", 0.5, "chains.toy.k")


def test_training_sets_append_anchor_inputs_to_plain_vaes_and_anchor_r_vaes():
    from rvae.data.store import PreparedDataset
    from rvae.rosetta_file import RosettaPoints

    points = _points(np.repeat([0, 1], 10), np.tile(["train"] * 6 + ["val"] * 4, 2))
    data = PreparedDataset(np.arange(60, dtype=np.float32).reshape(20, 3), points, {})
    anchors = [RosettaPoints.create(np.ones((2, 3)), np.zeros((2, 2)), [0, 1], "toy", "kmeans"),
               RosettaPoints.create(np.ones((3, 3)), np.zeros((3, 2)), [10, 11, 12], "toy", "kmeans")]  # fmt: skip
    x_train, x_val, rosetta = chains.training_set(data, [1], anchors, plain=False)
    assert x_train.shape == (6, 3) and x_val.shape == (4, 3) and rosetta.x_r.shape == (5, 3)
    assert float(x_train[0, 0]) == 30.0  # point 10, the first of label 1
    x_train, _, rosetta = chains.training_set(data, [1], anchors, plain=True)
    assert x_train.shape == (11, 3) and rosetta is None
    assert chains.training_set(data, [0], [], plain=True)[0].shape == (6, 3)


# -- the config's refusals -------------------------------------------------------------------------
def tiny_config():
    return yaml.safe_load(TINY.read_text())


def _check(config):
    validate_config(config)
    check_config(config)


def _with_mnist(config):
    config["datasets"]["mnist"] = {"kind": "mnist", "load": {"source": "embedded"}, "max_points": 1100,
                                   "architecture": {"family": "conv", "latent_dim": 16}, "training": {"steps": 10, "batch_size": 32}}  # fmt: skip
    return config


BAD_CHAINS = [
    ("a dataset not under datasets", {"cifar": {"parts": [[0], [1], [2]], "k": 4}}, r"chains\.cifar: dataset 'cifar' is not defined"),
    ("two labels shared by two parts", {"gaussians": {"parts": [[0, 1, 2], [2, 3], [4, 5]], "k": 4}}, r"chains\.gaussians\.parts: label 2 is in parts 1 and 2"),
    ("a label twice in one part", {"gaussians": {"parts": [[0, 0], [3], [4]], "k": 4}}, r"chains\.gaussians\.parts: label 0 is twice in part 1"),
    ("an empty part", {"gaussians": {"parts": [[0, 1], [], [4, 5]], "k": 4}}, r"chains\.gaussians\.parts: part 2 \(P2\) is empty"),
    ("a label the dataset lacks", {"gaussians": {"parts": [[0, 1], [2, 3], [8]], "k": 4}}, r"chains\.gaussians\.parts: labels \[8\] are not labels of dataset 'gaussians'"),
    ("two parts", {"gaussians": {"parts": [[0, 1], [2, 3]], "k": 4}}, r"chains\.gaussians\.parts: a chain has three parts .* got 2"),
    ("four parts", {"gaussians": {"parts": [[0], [1], [2], [3]], "k": 4}}, r"chains\.gaussians\.parts: a chain has three parts .* got 4"),
    ("k above the fraction of P1", {"gaussians": {"parts": [[0], [1, 2, 3], [4, 5]], "k": 8}}, r"chains\.gaussians\.k: 8 Rosetta points are 33% of the about 24 training points of part 1"),
    ("k above the fraction of P2", {"gaussians": {"parts": [[0, 1, 2], [3], [4, 5]], "k": 8}}, r"chains\.gaussians\.k: .* part 2 \(labels \[3\]\)"),
    ("a digit MNIST lacks", {"mnist": {"parts": [[0, 1], [2, 3], [10]], "k": 4}}, r"chains\.mnist\.parts: labels \[10\] are not labels of dataset 'mnist'"),
    ("k of one", {"gaussians": {"parts": [[0], [1], [2]], "k": 1}}, r"1 is less than the minimum of 2"),
]  # fmt: skip


@pytest.mark.parametrize("name,chain,message", BAD_CHAINS, ids=[b[0] for b in BAD_CHAINS])
def test_a_bad_chain_is_refused_naming_the_key(name, chain, message):
    from snakemake.exceptions import WorkflowError

    config = _with_mnist(tiny_config())
    config["max_rosetta_fraction"] = 0.25
    config["chains"] = chain
    with pytest.raises((ConfigError, WorkflowError)) as err:
        _check(config)
    assert re.search(message, str(err.value)), f"{name}: {err.value}"


def test_good_chains_pass_and_the_fraction_can_be_raised():
    config = _with_mnist(tiny_config())
    config["chains"]["mnist"] = {"parts": [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]], "k": 16}
    _check(config)
    config["max_rosetta_fraction"] = 0.25
    config["chains"] = {"gaussians": {"parts": [[0], [1, 2, 3], [4, 5]], "k": 6}}  # 6 of 24 training points
    _check(config)
    config["chains"]["gaussians"]["k"] = 8
    with pytest.raises(ConfigError):
        _check(config)
    config["max_rosetta_fraction"] = 0.5
    _check(config)


def test_a_folders_labels_are_checked_by_the_jobs_not_the_config(tmp_path):
    """A folder dataset's labels are unknown before loading: the config passes, check_parts refuses later."""
    from rvae.cli import main as rvae

    assert rvae(["example-data", "--out", str(tmp_path / "example"), "--per-digit", "2"]) == 0
    folder = next(p for p in (tmp_path / "example").iterdir() if (p / "dataset.yaml").exists())
    config = tiny_config()
    config["datasets"]["lab"] = {"kind": "folder", "load": {"path": str(folder)}, "training": {"steps": 2, "batch_size": 8}}
    config["chains"] = {"lab": {"parts": [[0], [1], [99]], "k": 2}}
    _check(config)


def test_every_chain_role_has_its_own_seed_and_none_is_a_templates():
    from rvae import seeds
    from rvae.workflow import params

    config = tiny_config()
    validate_config(config)
    roles = [seeds.chain_role("gaussians", "alice"), seeds.chain_role("gaussians", "origin")]
    roles += [seeds.chain_role("gaussians", "relay", s) for s in range(3)]
    roles += [seeds.chain_role("gaussians", f"{lab}/{run}", s) for lab, run in chains.lab_runs() for s in range(3)]
    roles += [seeds.template_role("gaussians", which) for which in ("joint", "d1")]
    values = [params.seed_of(config, role) for role in roles]
    assert len(set(values)) == len(values) == 2 + 3 + 18 + 2
    assert params.chain_training_params(config, "gaussians", "bob", "vae", 1)["seed"] == params.seed_of(config, "chain/gaussians/bob/vae/1")


# -- the workflow ------------------------------------------------------------------------------------
def snakemake(workdir, *args, config):
    cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(workdir), "--configfile", str(config)]
    result = subprocess.run(cmd + list(args), capture_output=True, text=True, cwd=workdir)
    assert result.returncode == 0, f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def test_the_beyond_config_plans_every_chain_job(tmp_path):
    """config/beyond.yaml, the README's command for what the default leaves out."""
    from test_workflow import planned_jobs

    out = snakemake(tmp_path, "-n", "--cores", "2", "results/tables/chain.csv", "results/figures/chain.png", config=ROOT / "config" / "beyond.yaml").stdout
    jobs = planned_jobs(out)
    from rvae.workflow.config_checks import validate_config
    from rvae.workflow.user_config import apply_extends

    config = yaml.safe_load((ROOT / "config" / "beyond.yaml").read_text())
    apply_extends(config, [ROOT / "config" / "beyond.yaml"])
    validate_config(config)
    datasets, seeds = len(config["chains"]), config["n_seeds"]
    assert jobs["chain_template"] == jobs["chain_rosetta"] == jobs["chain_convergence"] == jobs["chain_arms"] == datasets
    assert jobs["chain_train"] == datasets * seeds * len(chains.lab_runs()) and jobs["chain_export"] == datasets * seeds
    assert jobs["chain_table"] == jobs["figure_chain"] == 1 and "retrain" not in jobs
    assert "results/chains/mnist/carol/relay+origin/seed2.pt" in out


@pytest.mark.slow
def test_a_tiny_run_builds_the_chain_and_the_anchor_budget_tables_figures_and_claims(tmp_path):
    shutil.copy(TINY, tmp_path / "config.yaml")
    snakemake(tmp_path, "--cores", "2", config=tmp_path / "config.yaml")
    seeds = yaml.safe_load(TINY.read_text())["n_seeds"]
    table = pd.read_csv(tmp_path / "results" / "tables" / "chain.csv")
    assert set(zip(table["hop"], table["arm"])) == set(chains.ARMS) and len(table) == 2 * len(chains.ARMS)
    assert set(table["hop"]) == {0, 1, 2} and set(table["metric"]) == {"distance", "lsd"}
    assert np.isfinite(table[["median", "iqr", "q25", "q75"]].to_numpy()).all()
    assert table[table["hop"] > 0]["n"].eq(seeds).all() and table["converged"].isin([True, False]).all()
    assert table[table["arm"] == "alice"].set_index("metric").loc["distance", "median"] == 0.0
    per_seed = pd.read_parquet(tmp_path / "results" / "chains" / "gaussians" / "arms.parquet")
    assert len(per_seed) == 1 + seeds * (len(chains.ARMS) - 1) and np.isfinite(per_seed[["distance", "lsd"]].to_numpy()).all()
    assert "the joint template (P1-P3)" in (tmp_path / "results" / "tables" / "chain.md").read_text()
    for ext in ("png", "pdf"):
        assert (tmp_path / "results" / "figures" / f"chain.{ext}").stat().st_size > 1000
    # the anchor budget beside it: its table, figure and this project's claims in the findings
    budget = pd.read_parquet(tmp_path / "results" / "tables" / "anchor_budget.parquet")
    assert sorted(budget["k"].unique()) == [2] and set(budget["n"]) == {seeds}
    assert not budget.loc[budget["alignment"] == "affine", "determined"].any()  # 2 pairs in 2 latents: not determined
    assert budget.loc[(budget["model"] == "rvae") & (budget["alignment"] == "raw"), "median"].notna().all()
    assert (tmp_path / "results" / "figures" / "anchor_budget.png").stat().st_size > 1000
    findings = pd.read_parquet(tmp_path / "results" / "tables" / "findings.parquet")
    own = findings[findings["kind"] == "project"]
    assert own["claim_id"].str.startswith("anchor_budget/gaussians/").sum() == 2 and own["claim_id"].str.startswith("chains/gaussians/").sum() == 6
    assert "## This project's claims (not from the paper)" in (tmp_path / "results" / "tables" / "findings.md").read_text()
    relay = pd.read_parquet(tmp_path / "results" / "chains" / "gaussians" / "carol" / "relay" / "seed0.parquet")
    anchors = relay[relay["is_rosetta"]]
    assert len(anchors) == 4 and set(anchors["label"]) <= {3, 4, 5} and (anchors["split"] == "train").all()  # Bob's training points


def test_collapsed_runs_are_counted_once_each():
    group = pd.DataFrame({"seed": [0, 1, 2], "not_converged": ["alice/template (collapsed), bob/rvae (collapsed)", "alice/template (collapsed)", ""]})
    assert chains._collapsed_runs(group) == 2
    assert chains._failed_runs(group) == "alice/template (collapsed); bob/rvae (collapsed) (seed 0)"


def test_each_loader_that_knows_its_labels_up_front_says_how_many_points_each_has():
    from rvae.data.registry import dataset_facts

    assert dataset_facts("gaussians", {"points_per_cluster": 40}).label_counts == {c: 40 for c in range(8)}
    assert dataset_facts("mnist", {"source": "embedded"}).label_counts == {d: 500 for d in range(10)}
    assert dataset_facts("mnist", {"source": "idx", "path": "x"}).label_counts is None  # read from disk: the jobs check
    chairs = dataset_facts("chairs", {"n_chairs": 6}).label_counts
    assert sorted(chairs) == list(range(6)) and len(set(chairs.values())) == 1
    birds = dataset_facts("birdsong", {"source": "embedded", "segmentation": {"window_s": 0.08, "windows_per_recording": 8}}).label_counts
    assert sorted(birds) == [0, 1, 2, 3] and all(n > 0 for n in birds.values())
