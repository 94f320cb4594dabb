"""The anchor budget (spec, "Anchor budget"): every arm scored on held-out points, over k."""

import numpy as np
import pandas as pd
import pytest

from rvae.embeddings import embedding_frame, write_embedding
from rvae.paper import anchor_budget as ab
from rvae.paper.plan import all_retrainings, anchor_budget_retrainings, rosetta_needs
from rvae.rosetta_file import RosettaPoints, save_rosetta_points

LATENT = 3


def _points(n_d1=60, n_d2=50):
    n = n_d1 + n_d2
    return pd.DataFrame({"point": np.arange(n), "partition": ["D1"] * n_d1 + ["D2"] * n_d2, "split": "train", "label": np.arange(n) % 4})


def _planted(tmp_path, k, rng):
    """Alice's coordinates; an R-VAE exactly on them; a plain VAE an affine image of them."""
    points = _points()
    alice = rng.normal(size=(len(points), LATENT)) * np.array([1.0, 3.0, 0.5])
    weight = rng.normal(size=(LATENT, LATENT)) + 2 * np.eye(LATENT)
    plain = alice @ weight + np.array([5.0, -2.0, 1.0])
    anchors = rng.choice(60, size=k, replace=False)  # Rosetta points are D1 points
    write_embedding(embedding_frame(points, alice), tmp_path / "alice.parquet")
    runs = {"rvae": [], "vae": []}
    for seed in range(3):
        for kind, z in (("rvae", alice), ("vae", plain)):
            path = tmp_path / f"{kind}{seed}.parquet"
            write_embedding(embedding_frame(points, z), path)
            runs[kind].append(path)
    rosetta = RosettaPoints.create(np.zeros((k, 2)), alice[anchors].astype(np.float32), anchors, "toy", "kmeans", "f")
    save_rosetta_points(rosetta, tmp_path / "rosetta.parquet")
    return runs, tmp_path / "alice.parquet", tmp_path / "rosetta.parquet"


def test_arms_on_a_planted_affine_image(tmp_path):
    rng = np.random.default_rng(0)
    runs, template, rosetta = _planted(tmp_path, 12, rng)
    frame = ab.per_seed(runs, [0, 1, 2], template, rosetta)
    assert set(frame["partition"]) == set(ab.PARTITIONS) and (frame["k"] == 12).all()
    assert len(frame) == 3 * len(ab.PARTITIONS) * len(ab.ARMS)
    held_d1, d2 = 60 - 12, 50
    assert set(frame.loc[frame["partition"] == "rest_D1", "n"]) == {held_d1} and set(frame.loc[frame["partition"] == "D2", "n"]) == {d2}
    assert set(frame.loc[frame["partition"] == "all", "n"]) == {held_d1 + d2}
    distance = frame.set_index(["partition", "model", "alignment", "seed"])["distance"]
    # Alice's own coordinates (float32 in files): 0 to float32 rounding
    assert distance.loc[("all", "rvae", "raw", 0)] < 1e-12
    # an affine image of Alice is recovered by the affine-type maps from 12 > 3 pairs, on held-out points
    for alignment in ("affine", "linear"):
        assert distance.loc[("D2", "vae", alignment, 0)] < 1e-3, alignment
    # a shear is outside the rigid classes; no map at all is far off
    assert distance.loc[("D2", "vae", "orthogonal", 0)] > 0.05 and distance.loc[("all", "vae", "raw", 0)] > 1


def test_too_few_pairs_leave_an_arm_without_a_median_and_the_table_says_why(tmp_path):
    rng = np.random.default_rng(1)
    runs, template, rosetta = _planted(tmp_path, 1, rng)
    frame = ab.per_seed(runs, [0, 1, 2], template, rosetta)
    table = ab.summarise({"toy": {1: frame}}, {"toy": {1: "kmeans-k1-same"}}, {"toy": LATENT})
    affine = table[(table["model"] == "vae") & (table["alignment"] == "affine")]
    assert affine["median"].isna().all() and affine["note"].str.contains("at least 2 anchor pairs").all()
    assert table.loc[(table["model"] == "rvae") & (table["alignment"] == "raw"), "median"].notna().all()
    md = ab.markdown(table)
    assert "| VAE + affine | n/a |" in md and "latent size 3" in md


def test_summary_medians_quartiles_and_best_posthoc_arm(tmp_path):
    frames = []
    for seed, values in enumerate([(0.1, 0.5, 0.4), (0.2, 0.6, 0.3), (0.3, 0.7, 0.2)]):
        for (model, alignment), v in zip((("rvae", "raw"), ("vae", "affine"), ("vae", "orthogonal")), values):
            for partition in ab.PARTITIONS:
                frames.append({"partition": partition, "model": model, "alignment": alignment, "seed": seed, "k": 8, "n": 10,
                               "distance": v, "rank": 3.0, "determined": True, "reason": ""})  # fmt: skip
    table = ab.summarise({"toy": {8: pd.DataFrame(frames)}}, {"toy": {8: "kmeans-k8-same"}}, {"toy": LATENT})
    row = table[(table["partition"] == "D2") & (table["model"] == "rvae") & (table["alignment"] == "raw")].iloc[0]
    assert row["median"] == pytest.approx(0.2) and row["iqr"] == pytest.approx(0.1) and (row["q1"], row["q3"]) == pytest.approx((0.15, 0.25))
    best = ab.best_posthoc(table)
    assert set(best["best_posthoc_alignment"]) == {"orthogonal"} and best["best_posthoc_median"].iloc[0] == pytest.approx(0.3)
    assert np.isnan(table.loc[table["alignment"] == "linear", "median"]).all()  # an arm without runs has no median


def test_the_grid_joins_the_plan_and_its_k_the_rosetta_needs():
    tables = {"table2": {"gaussians": 8}, "anchor_budget": {"gaussians": [2, 8], "mnist": [16]}}
    grid = anchor_budget_retrainings(tables)
    assert sorted(grid["gaussians"]) == [2, 8] and set(grid["mnist"][16]) == {"vae", "rvae"}
    runs = all_retrainings(tables)
    assert len(runs) == len(set(runs))  # k = 8's VAE and R-VAE are Table 2's, counted once
    assert {(r.dataset, r.k, r.model_kind) for r in runs} >= {("gaussians", 2, "rvae"), ("mnist", 16, "vae")}
    assert rosetta_needs(tables)["mnist"] == {("kmeans", 16)}


def test_maps_fit_to_the_files_latents_and_the_distance_is_to_the_templates(tmp_path):
    """The maps are fitted to the Rosetta file's z (what Bob received); distances are to Alice's
    template on held-out points. A file whose z is Alice's shifted by 1 moves every mapped arm,
    not the raw one."""
    rng = np.random.default_rng(2)
    runs, template, rosetta = _planted(tmp_path, 12, rng)
    exact = ab.per_seed(runs, [0, 1, 2], template, rosetta).set_index(["partition", "model", "alignment", "seed"])["distance"]
    from rvae.rosetta_file import load_rosetta_points

    points = load_rosetta_points(rosetta)
    shifted = RosettaPoints.create(points.x, points.z + 1.0, points.point_ids, "toy", "kmeans", "f")
    save_rosetta_points(shifted, tmp_path / "shifted.parquet")
    moved = ab.per_seed(runs, [0, 1, 2], template, tmp_path / "shifted.parquet").set_index(["partition", "model", "alignment", "seed"])["distance"]
    assert moved.loc[("all", "rvae", "raw", 0)] == exact.loc[("all", "rvae", "raw", 0)]
    assert moved.loc[("all", "rvae", "affine", 0)] > exact.loc[("all", "rvae", "affine", 0)] + 0.05
