"""Portability: Bob's latents in Alice's coordinates, raw and aligned on the Rosetta pairs only.

Every metric is tested for its identity value and for the invariances its docstring claims
(and for one transformation it does not ignore, so the invariance tests can fail); every
alignment for exact recovery of a planted map; held-out scoring for never using the pairs.
"""

import hashlib

import numpy as np
import pandas as pd
import pytest

from rvae.alignment import (
    PORTABILITY_ARMS,
    RIDGE_GRID,
    affine_alignment,
    heldout_lsd,
    leave_one_out_portability,
    normalised_distance,
    portability,
    procrustes_alignment,
    relative_representation,
    ridge_loo_errors,
)
from rvae.metrics import angular_procrustes_distance, linear_cka, lsd, procrustes_distance

# assertions on computed numbers: tests/test_cpu_paths.py reruns them on the AVX2 kernel path
pytestmark = pytest.mark.computed


def _orthogonal(rng, k, reflect=False):
    q, _ = np.linalg.qr(rng.normal(size=(k, k)))
    if (np.linalg.det(q) < 0) != reflect:
        q[:, 0] *= -1
    return q


def _stretch(k):
    return np.diag(np.linspace(0.2, 5.0, k))  # anisotropic: no similarity map undoes it


# -- identity values and invariances -------------------------------------------------------
def test_identity_values(rng):
    x = rng.normal(size=(200, 5))
    assert angular_procrustes_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert procrustes_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    assert normalised_distance(x, x) == 0.0
    # the reference's own mean is the yardstick: distance 1
    assert normalised_distance(np.repeat(x.mean(0, keepdims=True), 200, 0), x) == pytest.approx(1.0)
    y = rng.normal(size=(200, 5))
    assert angular_procrustes_distance(x, y) > 1.0  # near pi/2 for unrelated noise
    assert linear_cka(x, y) < 0.2
    assert normalised_distance(y, x) > 1.5


@pytest.mark.parametrize("reflect", [False, True])
def test_shape_metrics_ignore_rotation_scale_and_shift_but_not_stretch(rng, reflect):
    x = rng.normal(size=(150, 4))
    q = _orthogonal(rng, 4, reflect)
    similar = 3.7 * x @ q + rng.normal(size=4) * 10
    assert angular_procrustes_distance(x, similar) == pytest.approx(0.0, abs=1e-6)
    assert linear_cka(x, similar) == pytest.approx(1.0, abs=1e-10)
    stretched = x @ _stretch(4) @ q
    assert angular_procrustes_distance(x, stretched) > 0.2
    assert linear_cka(x, stretched) < 0.9
    # angular and Euclidean Procrustes are one quantity on two scales: 2 - 2 cos(theta)
    y = rng.normal(size=(150, 4)) + 0.5 * x
    theta = angular_procrustes_distance(x, y)
    assert procrustes_distance(x, y) ** 2 == pytest.approx(2 - 2 * np.cos(theta), rel=1e-10)
    assert angular_procrustes_distance(x, y) == pytest.approx(angular_procrustes_distance(y, x), rel=1e-12)


def test_normalised_distance_ignores_only_maps_applied_to_both_sides(rng):
    ref = rng.normal(size=(120, 3)) * [1.0, 2.0, 0.5]
    z = ref + 0.3 * rng.normal(size=(120, 3))
    d = normalised_distance(z, ref)
    expected = ((z - ref) ** 2).sum(1).mean() / ((ref - ref.mean(0)) ** 2).sum(1).mean()
    assert d == pytest.approx(expected, rel=1e-12) and 0.01 < d < 0.5
    q, shift = _orthogonal(rng, 3), rng.normal(size=3)
    both = lambda a: 0.1 * a @ q + shift  # noqa: E731
    assert normalised_distance(both(z), both(ref)) == pytest.approx(d, rel=1e-10)
    assert normalised_distance(z @ q, ref) > 10 * d  # Bob rotated, Alice not: not the same coordinates


def test_relative_representation_ignores_rotation_and_scale_not_shift(rng):
    z, anchors = rng.normal(size=(50, 4)), rng.normal(size=(7, 4))
    rel = relative_representation(z, anchors)
    assert rel.shape == (50, 7) and np.abs(rel).max() <= 1 + 1e-12
    i, j = 3, 5
    cos = z[i] @ anchors[j] / np.linalg.norm(z[i]) / np.linalg.norm(anchors[j])
    assert rel[i, j] == pytest.approx(cos, rel=1e-12)
    q = _orthogonal(rng, 4, reflect=True)
    np.testing.assert_allclose(relative_representation(4.2 * z @ q, 4.2 * anchors @ q), rel, atol=1e-12)
    assert np.abs(relative_representation(z + 2.0, anchors + 2.0) - rel).max() > 0.1


def test_heldout_lsd_ignores_rotation_scale_and_shift_and_in_sample_lsd_is_its_lower_bound(rng):
    ref = rng.normal(size=(300, 3))
    z = ref @ rng.normal(size=(3, 3)) + 1.0 + 0.2 * rng.normal(size=(300, 3))
    rows = np.arange(0, 300, 10)
    groups = np.where(np.arange(300) < 150, "D1", "D2")
    held = heldout_lsd(z, ref, rows, groups)
    moved = heldout_lsd(0.01 * z @ _orthogonal(rng, 3, reflect=True) + 4.0, ref, rows, groups)
    for key in ("all", "D1", "D2"):
        assert moved.values[key] == pytest.approx(held.values[key], rel=1e-9)
    # the paper's map is fitted on every point it scores: it can only look better
    assert lsd(z, ref).values["all"] < held.values["all"]
    A, b = rng.normal(size=(3, 3)) + 2 * np.eye(3), rng.normal(size=3)
    assert heldout_lsd(ref @ A.T + b, ref, rows).values["all"] < 1e-9  # exact up to the smallest ridge weight


# -- alignment maps recover planted transforms -----------------------------------------------
@pytest.mark.parametrize("reflect", [False, True])
def test_procrustes_alignment_recovers_rotation_scale_and_translation(rng, reflect):
    k = 6
    q, scale, shift = _orthogonal(rng, k, reflect), 0.37, rng.normal(size=k) * 5
    bob = rng.normal(size=(k + 2, k))  # just enough pairs: centred rank k
    fitted = procrustes_alignment(bob, scale * bob @ q + shift)
    assert fitted.scale == pytest.approx(scale, rel=1e-12)
    np.testing.assert_allclose(fitted.weight, scale * q, atol=1e-12)
    held_out = rng.normal(size=(500, k)) * 3
    np.testing.assert_allclose(fitted(held_out), scale * held_out @ q + shift, atol=1e-10)
    # an anisotropic map is not recoverable by a similarity: the held-out error stays
    stretched = procrustes_alignment(bob, bob @ _stretch(k))
    assert normalised_distance(stretched(held_out), held_out @ _stretch(k)) > 0.1


def test_procrustes_alignment_with_fewer_pairs_than_latents_rotates_nothing_it_cannot_see(rng):
    k = 8
    few = rng.normal(size=(5, k))  # centred rank 4 < 8
    same = procrustes_alignment(few, few)
    np.testing.assert_allclose(same.weight, np.eye(k), atol=1e-12)
    held_out = rng.normal(size=(50, k))
    np.testing.assert_allclose(same(held_out), held_out, atol=1e-12)
    # a planted rotation is still recovered on the span of the pairs
    q = _orthogonal(rng, k)
    fitted = procrustes_alignment(few, few @ q)
    np.testing.assert_allclose(fitted(few), few @ q, atol=1e-10)
    np.testing.assert_allclose(fitted.weight @ fitted.weight.T, np.eye(k), atol=1e-12)


def test_affine_alignment_recovers_an_affine_map(rng):
    k_in, k_out = 5, 4
    A, b = rng.normal(size=(k_in, k_out)), rng.normal(size=k_out)
    bob = rng.normal(size=(4 * k_in, k_in))
    fitted = affine_alignment(bob, bob @ A + b)
    assert fitted.ridge == min(RIDGE_GRID)  # exact pairs: the least shrinkage predicts best
    # exact up to the shrinkage of the smallest weight (1e-6 of the mean scatter): ~1e-6 relative
    held_out = rng.normal(size=(400, k_in))
    assert normalised_distance(fitted(held_out), held_out @ A + b) < 1e-10
    np.testing.assert_allclose(fitted.weight, A, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fitted.offset, b, rtol=1e-4, atol=1e-5)
    # a target that is not an affine image of the source is not recovered
    assert normalised_distance(affine_alignment(bob, np.tanh(bob @ A) + b)(held_out), np.tanh(held_out @ A) + b) > 1e-3


def test_ridge_leave_one_out_equals_brute_force_refits(rng):
    # few noisy pairs: shrinkage pays, so the choice is not simply the smallest weight
    bob = rng.normal(size=(14, 6))
    alice = 0.3 * bob @ rng.normal(size=(6, 3)) + rng.normal(size=(14, 3))
    closed = ridge_loo_errors(bob, alice)
    assert list(closed) == [10.0**e for e in range(-6, 3)]
    brute = {}
    unit = ((bob - bob.mean(0)) ** 2).sum() / 6  # the penalty's scale: fixed by all R pairs, as PRESS needs
    for lam_relative in RIDGE_GRID:
        errors = []
        for i in range(len(bob)):
            rest = np.arange(len(bob)) != i
            p, t = bob[rest], alice[rest]
            lam = lam_relative * unit
            w = np.linalg.solve((p - p.mean(0)).T @ (p - p.mean(0)) + lam * np.eye(6), (p - p.mean(0)).T @ (t - t.mean(0)))
            errors.append(((bob[i] @ w + t.mean(0) - p.mean(0) @ w - alice[i]) ** 2).sum())
        brute[lam_relative] = np.mean(errors)
    for lam in RIDGE_GRID:
        assert closed[lam] == pytest.approx(brute[lam], rel=1e-9)
    chosen = affine_alignment(bob, alice).ridge
    assert chosen == min(brute, key=brute.get)
    assert chosen >= 1e-2, closed  # noisy pairs: real shrinkage wins


# -- portability: held-out points only, per arm -------------------------------------------
def _alice(rng, n=400, k=4):
    return rng.normal(size=(n, k)) * [2.0, 1.0, 0.7, 0.4]


def test_each_arm_removes_the_map_it_can_and_only_that(rng):
    alice = _alice(rng)
    rows = rng.choice(400, size=24, replace=False)
    q = _orthogonal(rng, 4)
    cases = {
        "rotation+scale": 2.5 * alice @ q,  # relative, procrustes and affine all undo it
        "similarity": 2.5 * alice @ q + 3.0,  # procrustes and affine; not relative (a shift)
        "affine": alice @ _stretch(4) @ q + 1.0,  # only affine
    }
    recovered = {
        "rotation+scale": {"procrustes", "affine", "relative"},
        "similarity": {"procrustes", "affine"},
        "affine": {"affine"},
    }
    for case, bob in cases.items():
        table = portability(alice, bob, rows).set_index("arm")
        assert list(table.index) == list(PORTABILITY_ARMS)
        assert (table["n"] == 376).all()
        assert table.loc["raw", "distance"] > 0.5, case
        for arm in ("procrustes", "affine", "relative"):
            d = table.loc[arm, "distance"]
            if arm in recovered[case]:
                assert d < 1e-9, (case, arm, d)
            else:
                assert d > 0.01, (case, arm, d)
        # the affine arm's mean squared error is the held-out LSD (same map, same points)
        assert table.loc["affine", "mse"] == pytest.approx(heldout_lsd(bob, alice, rows).values["all"], rel=1e-9, abs=1e-20)


def test_heldout_scores_never_use_the_rosetta_rows(rng):
    alice = _alice(rng)
    rows = np.arange(0, 400, 20)
    # Bob copies Alice on the Rosetta rows and is unrelated elsewhere: every map fits the
    # pairs perfectly, and every held-out distance must still be large
    bob = rng.normal(size=alice.shape)
    bob[rows] = alice[rows]
    table = portability(alice, bob, rows).set_index("arm")
    assert (table["distance"] > 0.9).all(), table
    assert (table["angular_procrustes"] > 1.0).all() and (table["linear_cka"] < 0.2).all()
    fit = procrustes_alignment(bob[rows], alice[rows])
    assert normalised_distance(fit(bob[rows]), alice[rows]) < 1e-20  # the pairs themselves: perfect
    assert heldout_lsd(bob, alice, rows).values["all"] > 0.9 * ((alice - alice.mean(0)) ** 2).sum(1).mean()
    # the reverse plant: garbage on the Rosetta rows only leaves the raw arm exact
    bob = alice.copy()
    bob[rows] = rng.normal(size=(len(rows), 4)) * 10
    assert portability(alice, bob, rows).set_index("arm").loc["raw", "distance"] == 0.0
    # the reference's Rosetta rows are never read when z_r is given: change them, same table
    z_r = alice[rows].copy()
    other = alice.copy()
    other[rows] = 1e3
    pd.testing.assert_frame_equal(portability(alice, bob, rows, z_r), portability(other, bob, rows, z_r))


def test_maps_are_fitted_on_the_given_rosetta_latents(rng):
    alice = _alice(rng)
    rows = np.arange(30)
    bob = alice @ _orthogonal(rng, 4) * 0.5
    # the file's z_r are Alice's latents; if they disagree with her reference on those rows,
    # the maps follow z_r (what Bob received), so the aligned arms miss her reference
    shifted = portability(alice, bob, rows, alice[rows] + 1.0).set_index("arm")
    held = alice[30:]
    assert shifted.loc["procrustes", "distance"] == pytest.approx(4.0 / ((held - held.mean(0)) ** 2).sum(1).mean(), rel=1e-9)
    assert portability(alice, bob, rows, alice[rows]).set_index("arm").loc["procrustes", "distance"] < 1e-20


def test_per_partition_rows_cover_the_held_out_points(rng):
    alice = _alice(rng)
    rows = np.arange(0, 400, 16)
    partition = np.where(np.arange(400) % 3 == 0, "D1", "D2")
    bob = alice + 0.1 * rng.normal(size=alice.shape)
    table = portability(alice, bob, rows, partition=partition)
    assert list(table["partition"].unique()) == ["all", "D1", "D2"]
    raw = table[table["arm"] == "raw"].set_index("partition")
    held = np.setdiff1d(np.arange(400), rows)
    assert raw.loc["D1", "n"] == np.sum(partition[held] == "D1") and raw.loc["D1", "n"] + raw.loc["D2", "n"] == 375
    d1 = held[partition[held] == "D1"]
    assert raw.loc["D1", "distance"] == pytest.approx(normalised_distance(bob[d1], alice[d1]), rel=1e-12)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda a: portability(a, a[:, :3], np.arange(5)), "same latent size"),
        (lambda a: portability(a, a, np.arange(5.0)), "row numbers"),
        (lambda a: portability(a, a, np.array([0, 0, 1])), "twice"),
        (lambda a: portability(a, a, np.array([1, 500])), "0..99"),
        (lambda a: portability(a, a, np.arange(100)), "no held-out"),
        (lambda a: portability(a, a, np.arange(5), a[:4]), "z_rosetta has shape"),
        (lambda a: portability(np.where(np.arange(100)[:, None] == 7, np.nan, a), a, np.arange(5)), "NaN"),
    ],
)
def test_portability_refuses_bad_input(rng, call, message):
    with pytest.raises(ValueError, match=message):
        call(rng.normal(size=(100, 4)))


def test_leave_one_out_scores_each_pair_with_a_map_fitted_on_the_others(rng):
    z_r = _alice(rng, n=20)
    q = _orthogonal(rng, 4)
    exact = leave_one_out_portability(1.5 * z_r @ q.T - 2.0, z_r).set_index("arm")
    assert exact.loc["raw", "distance"] > 0.5
    assert exact.loc["procrustes", "distance"] < 1e-20 and exact.loc["affine", "distance"] < 1e-9
    # one pair planted far off: in-sample maps would partly absorb it; left out, it stays off
    bob = 1.5 * z_r @ q.T - 2.0
    bob[7] += 30.0
    loo = leave_one_out_portability(bob, z_r).set_index("arm")
    fit = procrustes_alignment(bob, z_r)
    in_sample = normalised_distance(fit(bob), z_r)
    assert loo.loc["procrustes", "distance"] > 2 * in_sample
    rotated = leave_one_out_portability(3.0 * z_r @ q, z_r).set_index("arm")
    assert rotated.loc["relative", "distance"] < 1e-20  # cosines ignore rotation and scale
    unrelated = leave_one_out_portability(rng.normal(size=(20, 4)), z_r).set_index("arm")
    assert (unrelated["distance"] > 0.5).all(), unrelated


def test_external_latents_are_validated_and_fingerprinted(rng, tmp_path):
    from rvae.data.common import RawDataset
    from rvae.data.store import prepare
    from rvae.rosetta_file import load_rosetta_points, save_rosetta_points
    from rvae.rosetta import select_rosetta_points
    from rvae.sharing import export_rosetta_from_latents, latents_fingerprint
    from sklearn.decomposition import PCA

    x = rng.normal(size=(90, 6)).astype(np.float32)
    raw = RawDataset("lab", x, np.zeros(90, dtype=np.int64), np.where(np.arange(90) < 45, "D1", "D2"), ["a"], "")
    data = prepare(raw, 0.6, 0)
    z = PCA(n_components=3, random_state=0).fit_transform(x)  # an encoder trained outside rvae
    points = export_rosetta_from_latents(z, data, k=5)
    train = np.sort(data.rows(split="train"))
    expected = train[select_rosetta_points(z[train], 5, "kmeans", 0)]
    np.testing.assert_array_equal(points.point_ids, expected)
    np.testing.assert_array_equal(points.x, x[expected])
    np.testing.assert_allclose(points.z, z[expected], rtol=1e-6)
    assert points.metadata["template_kind"] == "external"
    digest = hashlib.sha256(z.dtype.str.encode() + str(z.shape).encode() + np.ascontiguousarray(z).tobytes()).hexdigest()
    assert points.metadata["template_fingerprint"] == digest == latents_fingerprint(z)
    z2 = z.copy()
    z2[0, 0] += 1e-3
    assert latents_fingerprint(z2) != digest
    save_rosetta_points(points, tmp_path / "ext.parquet")
    back = load_rosetta_points(tmp_path / "ext.parquet", (6,), 3)  # Bob's side: an ordinary file
    assert back.metadata["template_kind"] == "external" and back.metadata["template_fingerprint"] == digest
    for bad, message in [
        (z[:-1], "89 rows of latents but the data hold 90"),
        (z[:, 0], "shape"),
        (np.where(np.arange(90)[:, None] == 4, np.inf, z), r"row\(s\) \[4\]"),
        (z.astype(np.int64), "floating point"),
    ]:
        with pytest.raises(ValueError, match=message):
            export_rosetta_from_latents(bad, data, k=5, where="Z.npy")


def test_a_file_with_an_unknown_template_kind_is_refused(rng):
    from rvae.rosetta_file import RosettaFileError, RosettaPoints

    with pytest.raises(RosettaFileError, match="'template_kind' should be one of"):
        RosettaPoints.create(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), np.arange(3), "a", "kmeans", "f", template_kind="mine")


# -- the workflow's portability table and Table 2's metric panel (rvae.paper) -------------------
def _write_embedding(path, points, partition, z, rosetta_ids=()):
    from rvae.embeddings import embedding_frame, write_embedding

    frame = pd.DataFrame({"point": points, "partition": partition, "split": "train", "label": points % 3})
    write_embedding(embedding_frame(frame, z, rosetta_ids), path)


@pytest.fixture
def sequential_runs(tmp_path):
    """Alice's D1 template; Bob's R-VAE = her latents plus a little noise, his VAE = a rotated,
    scaled, shifted copy, his beta-VAE = noise; three seeds each."""
    from rvae.rosetta_file import save_rosetta_points
    from rvae.rosetta import make_rosetta_points

    rng = np.random.default_rng(0)
    n, k = 120, 3
    points = np.arange(n)
    partition = np.where(points < 80, "D1", "D2")
    z_d1 = rng.normal(size=(n, k))
    z_joint = z_d1 @ np.linalg.qr(rng.normal(size=(k, k)))[0] + 0.5
    rosetta = make_rosetta_points(rng.normal(size=(80, 2)).astype(np.float32), z_d1[:80], 10, seed=0, dataset="toy")
    save_rosetta_points(rosetta, tmp_path / "rosetta.parquet")
    templates = {"d1": tmp_path / "d1.parquet", "joint": tmp_path / "joint.parquet"}
    _write_embedding(templates["d1"], points, partition, z_d1)
    _write_embedding(templates["joint"], points, partition, z_joint)
    runs = {"vae": [], "beta_vae": [], "rvae": []}
    for seed in range(3):
        q = np.linalg.qr(rng.normal(size=(k, k)))[0]
        made = {
            "vae": 2.0 * z_d1 @ q + seed + 1.0,
            "beta_vae": rng.normal(size=(n, k)),
            "rvae": z_d1 + 0.01 * (seed + 1) * rng.normal(size=(n, k)),
        }
        for kind, z in made.items():
            path = tmp_path / f"{kind}{seed}.parquet"
            _write_embedding(path, points, partition, z, rosetta.point_ids)
            runs[kind].append(str(path))
    return runs, {w: str(p) for w, p in templates.items()}, str(tmp_path / "rosetta.parquet"), z_d1, rosetta


def test_portability_per_seed_scores_held_out_points_in_alices_coordinates(sequential_runs):
    from rvae.paper.portability import portability_per_seed

    runs, templates, rosetta_path, z_d1, rosetta = sequential_runs
    frame = portability_per_seed(runs, [0, 1, 2], templates, rosetta_path)
    d1 = frame[(frame["reference"] == "d1") & (frame["partition"] == "D1")].set_index(["model", "seed", "alignment"])
    assert (d1["n"] == 70).all()  # 80 D1 points less the 10 Rosetta inputs
    # a rotated, scaled, shifted VAE is far raw, and Procrustes on the 10 pairs recovers it exactly
    assert d1.loc[("vae", 0, "raw"), "distance"] > 1.0
    assert d1.loc[("vae", 0, "procrustes"), "distance"] < 1e-12
    assert d1.loc[("rvae", 0, "raw"), "distance"] < 1e-3
    # one cell against a direct computation on the held-out D1 points
    held = np.setdiff1d(np.arange(80), rosetta.point_ids)
    z_rvae = pd.read_parquet(runs["rvae"][1]).filter(like="z").to_numpy(dtype=np.float64)
    z_alice = pd.read_parquet(templates["d1"]).filter(like="z").to_numpy(dtype=np.float64)  # float32 on disk
    direct = normalised_distance(z_rvae[held], z_alice[held])
    assert d1.loc[("rvae", 1, "raw"), "distance"] == pytest.approx(direct, rel=1e-9)
    for reference in ("d1", "joint"):
        assert set(frame.loc[frame["reference"] == reference, "partition"]) == {"all", "D1", "D2"}
    assert (frame.loc[frame["partition"] == "all", "n"] == 110).all()


def test_portability_table_is_normalised_by_the_plain_vae_with_no_map(sequential_runs):
    from rvae.paper.portability import ARMS, portability_markdown, portability_per_seed, summarise_portability

    runs, templates, rosetta_path, _, _ = sequential_runs
    per_seed = {"toy": portability_per_seed(runs, [0, 1, 2], templates, rosetta_path)}
    table = summarise_portability(per_seed, {"toy": {"method": "kmeans", "k": 10, "variant": "same", "condition": "kmeans-k10-same"}})
    vae = table[(table["model"] == "vae") & (table["alignment"] == "raw")]
    assert np.allclose(vae["median"], 1.0)
    assert len(table) == 2 * 3 * len(ARMS) * 3  # d1 and joint references; all, D1, D2; three metrics
    cell = table[(table["reference"] == "d1") & (table["partition"] == "D1") & (table["arm"] == "VAE + Procrustes") & (table["metric"] == "distance")].iloc[0]
    assert cell["raw_median"] < 1e-12 and cell["median"] < 1e-12
    text = portability_markdown(table)
    assert "## toy (kmeans-k10-same): against Alice's D1 template, held-out D1 points" in text and "| R-VAE (as trained) |" in text
    assert table["converged"].isna().all() and "Not converged" not in text  # no diagnostics given: unknown, not flagged
    # with diagnostics: an R-VAE seed that collapsed flags every R-VAE arm, and only those (the VAE's runs all plateaued)
    def runs(collapsed_seed=None):
        return pd.DataFrame({"seed": [0, 1, 2], "converged": [True] * 3, "collapsed": [s == collapsed_seed for s in range(3)]})

    flagged = summarise_portability(per_seed, {"toy": {"method": "kmeans", "k": 10, "variant": "same", "condition": "kmeans-k10-same"}},
                                    {"toy": {"vae": runs(), "beta_vae": runs(), "rvae": runs(collapsed_seed=1)}})  # fmt: skip
    by_model = flagged.groupby("model")[["converged", "collapsed_runs"]].agg(["min", "max"])
    assert by_model.loc["rvae", ("converged", "max")] == False and by_model.loc["rvae", ("collapsed_runs", "min")] == 1  # noqa: E712
    assert by_model.loc["vae", ("converged", "min")] == True and by_model.loc["beta_vae", ("collapsed_runs", "max")] == 0  # noqa: E712
    assert pd.testing.assert_series_equal(flagged["raw_median"], table["raw_median"]) is None  # the numbers are unchanged
    text = portability_markdown(flagged)
    assert "Not converged (a run behind the arm or the plain VAE short of its plateau, or a budget not enough for the joint template; 1 collapsed run(s)): R-VAE (as trained)" in text


def test_table2_metric_panel_adds_rows_and_leaves_the_papers_cells_alone():
    from rvae.paper.plan import table_cells
    from rvae.paper.tables import PANEL, summarise

    cells = table_cells(2, {"table2": {"gaussians": 8}})
    lsd = {"vae": [1.0, 2.0, 3.0], "beta_vae": [1.0, 1.0, 1.0], "rvae": [0.5, 1.0, 1.5]}
    frames = {}
    for cell in cells:
        for r in (cell.retraining, cell.reference):
            v = np.asarray(lsd[r.model_kind])
            frames[("lsd", r)] = pd.DataFrame({"seed": [0, 1, 2], "D1": v, "D2": v, **{f"{c}_{p}": 2 * v for c in ("heldout", "angular_procrustes", "cka") for p in ("D1", "D2")}})
    table = summarise(cells, frames, "ledoit_wolf")
    paper_rows = table[table["metric"] == "lsd"]
    assert len(paper_rows) == len(cells) and list(paper_rows["row"].unique()) == ["gaussians"]
    assert paper_rows.set_index("column").loc["D1 R-VAE", "median"] == -0.5
    panel = table[table["metric"] != "lsd"]
    assert set(panel["metric"]) == set(PANEL) and len(panel) == len(cells) * len(PANEL)
    held = panel[(panel["metric"] == "heldout_lsd") & (panel["column"] == "D1 R-VAE")].iloc[0]
    assert held["row"] == "gaussians held-out LSD" and held["median"] == -0.5 and "Rosetta points only" in held["note"]


def test_lsd_file_holds_the_metric_panel(tmp_path):
    from rvae.alignment import heldout_lsd
    from rvae.metrics import angular_procrustes_distance
    from rvae.paper.evaluation import lsd_per_seed

    rng = np.random.default_rng(1)
    points, partition = np.arange(60), np.where(np.arange(60) < 40, "D1", "D2")
    z_ref, z = rng.normal(size=(60, 2)), rng.normal(size=(60, 2))
    _write_embedding(tmp_path / "t.parquet", points, partition, z_ref)
    _write_embedding(tmp_path / "r.parquet", points, partition, z, rosetta_ids=[0, 3, 5, 7, 9, 11])
    row = lsd_per_seed([str(tmp_path / "r.parquet")], [0], str(tmp_path / "t.parquet")).iloc[0]
    zr, zz = pd.read_parquet(tmp_path / "t.parquet").filter(like="z").to_numpy(np.float64), pd.read_parquet(tmp_path / "r.parquet").filter(like="z").to_numpy(np.float64)
    assert row["heldout_D2"] == pytest.approx(heldout_lsd(zz, zr, [0, 3, 5, 7, 9, 11], partition).values["D2"])
    assert row["angular_procrustes_D1"] == pytest.approx(angular_procrustes_distance(zz[:40], zr[:40]))
    assert 0.0 <= row["cka_D2"] <= 1.0


def test_table1_panel_reads_each_retrainings_panel_file(tmp_path):
    from rvae.metrics import angular_procrustes_distance
    from rvae.paper.evaluation import panel_per_seed
    from rvae.paper.plan import table_cells, table_retrainings
    from rvae.paper.tables import summarise

    tables = {"table1": {"gaussians": 8}}
    assert {m for m, _ in table_retrainings(1, tables)} == {"rv", "panel"}
    rng = np.random.default_rng(2)
    points, partition = np.arange(50), np.where(np.arange(50) < 40, "D1", "D2")
    z_ref, z = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    _write_embedding(tmp_path / "t.parquet", points, partition, z_ref)
    _write_embedding(tmp_path / "r.parquet", points, partition, z, rosetta_ids=range(8))
    panel = panel_per_seed([str(tmp_path / "r.parquet")], [0], str(tmp_path / "t.parquet")).iloc[0]
    stored = [pd.read_parquet(tmp_path / f).filter(like="z").to_numpy(np.float64) for f in ("r.parquet", "t.parquet")]
    assert panel["angular_procrustes_rest_D1"] == pytest.approx(angular_procrustes_distance(stored[0][8:40], stored[1][8:40]))
    cells = table_cells(1, tables)
    frames = {}
    for metric, r in table_retrainings(1, tables):
        scale = 1.0 if r.model_kind == "vae" else 0.5
        if metric == "rv":
            frames[(metric, r)] = pd.DataFrame({"partition": partition, "is_rosetta": points < 8, "rv": scale * np.ones(50)})
        else:
            frames[(metric, r)] = pd.DataFrame({f"{c}_{p}": scale * np.array([1.0, 2.0, 3.0]) for c in ("angular_procrustes", "cka") for p in ("R1", "rest_D1")})
    table = summarise(cells, frames, "ledoit_wolf")
    assert len(table[table["metric"] == "rv"]) == len(cells)
    rvae = table[(table["metric"] == "angular_procrustes") & (table["model"] == "rvae") & (table["partition"] == "rest_D1")].iloc[0]
    assert rvae["median"] == -0.5 and rvae["row"].endswith("angular Procrustes")


def test_a_collapsed_model_gets_undefined_fitted_arms_not_an_error(rng):
    """A run whose encoder collapsed (every input to one latent point; seen on chairs in the
    default run) leaves no map to fit on the Rosetta pairs: its fitted arms are NaN, its raw arm
    is still scored, and the table marks the cell through the run's convergence diagnostics."""
    from rvae.paper.evaluation import metric_panel

    alice = _alice(rng)
    rows = np.arange(0, 400, 20)
    collapsed = np.tile(rng.normal(size=(1, alice.shape[1])), (len(alice), 1))
    table = portability(alice, collapsed, rows).set_index("arm")
    assert table.loc[["procrustes", "affine"], ["distance", "mse", "angular_procrustes", "linear_cka"]].isna().all().all()
    assert np.isfinite(table.loc["raw", "mse"]) and table.loc["raw", "distance"] >= 1.0
    partition = np.where(np.arange(len(alice)) < 200, "D1", "D2")
    is_rosetta = np.isin(np.arange(len(alice)), rows)
    panel = metric_panel(collapsed, alice, partition, is_rosetta)
    assert np.isnan([panel["heldout_D1"], panel["heldout_D2"], panel["heldout_all"]]).all()
    assert np.isnan([panel["angular_procrustes_D1"], panel["cka_D2"]]).all()


def test_lsd_per_seed_of_a_fully_collapsed_run_is_finite_lsd_and_nan_shapes(rng, tmp_path):
    """The LSD job of a run whose latents are one point everywhere (float32, as written): the
    paper's LSD is still defined (the map fits the mean), the shape metrics and held-out LSD are NaN."""
    from rvae.embeddings import write_embedding
    from rvae.paper.evaluation import lsd_per_seed

    n, k = 240, 4
    ids = pd.DataFrame({"point": np.arange(n), "partition": np.repeat(["D1", "D2"], n // 2), "split": "train",
                        "is_rosetta": np.isin(np.arange(n), np.arange(0, 120, 10)), "label": 0})  # fmt: skip
    template = ids.assign(**{f"z{j}": rng.normal(size=n).astype(np.float32) for j in range(k)})
    collapsed = ids.assign(**{f"z{j}": np.full(n, 0.3, dtype=np.float32) for j in range(k)})
    write_embedding(template, tmp_path / "joint.parquet")
    write_embedding(collapsed, tmp_path / "seed0.parquet")
    row = lsd_per_seed([str(tmp_path / "seed0.parquet")], [0], str(tmp_path / "joint.parquet")).iloc[0]
    assert np.isfinite(row["D1"]) and np.isfinite(row["all"])
    assert np.isnan([row["procrustes"], row["cka"], row["heldout_all"], row["angular_procrustes_D1"]]).all()
