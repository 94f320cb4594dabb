"""Post-hoc alignment: each map class recovers a planted map of its own class from anchor pairs, and
only of its class; scores are on held-out points the fit never sees; too few pairs give a
documented answer, never a crash; standard scaling is the one Maiorca et al. / latentis use.

Tolerances: float64 carries eps = 2.2e-16; a least-squares or SVD fit on anchors of condition
number c (below 30 here) loses about c * eps per operation, so a planted map recovered exactly
is recovered to ~1e-13 relative. EXACT = 1e-9 (relative, on held-out points) leaves a margin of
10^3 and still fails any real misfit; distances are squared, hence EXACT**2 on them.
"""

import numpy as np
import pandas as pd
import pytest

from rvae import alignment
from rvae.alignment import (
    ANCHOR_BUDGET_ARMS,
    HELDOUT_COLUMNS,
    MAP_KINDS,
    RIDGE_GRID,
    fit_map,
    heldout_distances,
    minimum_pairs,
    normalised_distance,
    portability,
    standard_scaling,
)

# assertions on computed numbers: tests/test_cpu_paths.py reruns them on the AVX2 kernel path
pytestmark = pytest.mark.computed

EXACT = 1e-9
D = 5  # latent size


def _orthogonal(rng, k, reflect=False):
    q, _ = np.linalg.qr(rng.normal(size=(k, k)))
    if (np.linalg.det(q) < 0) != reflect:
        q[:, 0] *= -1
    return q


def _relative_error(predicted, truth):
    return float(np.linalg.norm(predicted - truth) / np.linalg.norm(truth - truth.mean(axis=0)))


def _planted(rng, kind):
    """A map of each class, as a function of raw latents: no class below it contains it."""
    q = _orthogonal(rng, D, reflect=True)
    shear = np.eye(D) + np.triu(rng.normal(size=(D, D)), 1)  # not orthogonal, not a scaled one
    shift = rng.normal(size=D) * 3
    return {
        "affine": lambda z: z @ shear @ np.diag(np.linspace(0.3, 3, D)) + shift,
        "linear": lambda z: z @ shear @ np.diag(np.linspace(0.3, 3, D)),
        "orthogonal": lambda z: z @ q,
        "procrustes": lambda z: 2.5 * z @ q + shift,
    }[kind]


def _points(rng, n=400):
    return rng.normal(size=(n, D)) * np.linspace(2.0, 0.5, D) + rng.normal(size=D)


# -- each class recovers its own kind of map, on held-out points ------------------------------------
@pytest.mark.parametrize("kind", MAP_KINDS)
def test_each_class_recovers_a_planted_map_of_its_own_class_on_held_out_points(rng, kind):
    z = _points(rng)
    truth = _planted(rng, kind)
    z_ref = truth(z)
    rows = rng.choice(len(z), size=3 * D, replace=False)  # enough pairs: 15 > D + 1
    held = np.setdiff1d(np.arange(len(z)), rows)
    grid = (0.0,) if kind == "affine" else RIDGE_GRID  # the affine class without its ridge is exact
    fitted = fit_map(kind, z[rows], z_ref[rows], grid=grid)
    assert fitted.rank == D and fitted.weight.dtype == np.float64
    assert _relative_error(fitted(z[held]), z_ref[held]) < EXACT
    table = heldout_distances(z, z_ref, rows, arms=(kind,), standardise=False, grid=grid).set_index("arm")
    assert table.loc[kind, "n"] == len(held) and table.loc[kind, "k"] == len(rows)
    assert table.loc[kind, "distance"] < EXACT**2 and bool(table.loc[kind, "determined"]) and table.loc[kind, "reason"] == ""
    if kind == "orthogonal":
        np.testing.assert_allclose(fitted.weight @ fitted.weight.T, np.eye(D), atol=EXACT)
        assert not fitted.offset.any()


def test_the_affine_class_with_its_ridge_departs_from_the_planted_map_only_by_the_ridge(rng):
    z = _points(rng)
    z_ref = _planted(rng, "affine")(z)
    rows = np.arange(0, 400, 25)
    fitted = fit_map("affine", z[rows], z_ref[rows])
    assert fitted.ridge == min(RIDGE_GRID)  # exact pairs: the least shrinkage predicts best
    # the closed-form ridge solution of the planted map, computed here from its definition
    p = z[rows] - z[rows].mean(0)
    t = z_ref[rows] - z_ref[rows].mean(0)
    lam = fitted.ridge * (p**2).sum() / D
    expected = np.linalg.solve(p.T @ p + lam * np.eye(D), p.T @ t)
    np.testing.assert_allclose(fitted.weight, expected, rtol=EXACT, atol=EXACT * np.abs(expected).max())
    held = np.setdiff1d(np.arange(400), rows)
    assert normalised_distance(fitted(z[held]), z_ref[held]) < 1e-10  # the shrinkage: ~1e-6 relative


def test_the_fit_never_sees_the_held_out_points(rng, monkeypatch):
    z = _points(rng)
    z_ref = _planted(rng, "affine")(z) + 0.05 * rng.normal(size=z.shape)
    rows = rng.choice(400, size=12, replace=False)
    held = np.setdiff1d(np.arange(400), rows)
    seen = []

    def spy(kind, source, target, **kw):
        fitted = fit_map(kind, source, target, **kw)
        seen.append((kind, source.copy(), target.copy(), fitted))
        return fitted

    monkeypatch.setattr(alignment, "fit_map", spy)
    before = heldout_distances(z, z_ref, rows)
    fits_before, seen[:] = list(seen), []
    z2, z_ref2 = z.copy(), z_ref.copy()
    z2[held] = rng.normal(size=(len(held), D)) * 100  # garbage on every held-out row, both sides
    z_ref2[held] = rng.normal(size=(len(held), D)) * 100
    after = heldout_distances(z2, z_ref2, rows)
    assert [f[0] for f in fits_before] == [f[0] for f in seen] == list(MAP_KINDS)
    for (_, source, target, a), (_, source2, target2, b) in zip(fits_before, seen):
        assert np.array_equal(source, z[rows]) and np.array_equal(target, z_ref[rows])
        assert np.array_equal(source2, source) and np.array_equal(target2, target)
        assert np.array_equal(a.weight, b.weight) and np.array_equal(a.offset, b.offset)
    # the scores do read the held-out rows (and only them): they changed
    assert (before["distance"] != after["distance"]).all()


# -- and nothing outside its class -------------------------------------------------------------------
RECOVERS = {  # planted map -> the classes that contain it (raw latents, no standardising)
    "affine": {"affine"},
    "linear": {"affine", "linear"},
    "orthogonal": {"affine", "linear", "orthogonal", "procrustes"},
    "procrustes": {"affine", "procrustes"},
}


@pytest.mark.parametrize("planted", MAP_KINDS)
def test_a_restricted_class_does_not_recover_a_map_outside_it(rng, planted):
    z = _points(rng)
    z_ref = _planted(rng, planted)(z)
    rows = rng.choice(400, size=4 * D, replace=False)
    table = heldout_distances(z, z_ref, rows, arms=MAP_KINDS, standardise=False, grid=(0.0,)).set_index("arm")
    for kind in MAP_KINDS:
        d = table.loc[kind, "distance"]
        if kind in RECOVERS[planted]:
            assert d < EXACT**2, (planted, kind, d)
        else:  # e.g. an orthogonal map cannot fit a shear, a linear one cannot fit a shift
            assert d > 0.01, (planted, kind, d)


def test_held_out_distances_agree_with_the_portability_table(rng):
    z = _points(rng)
    z_ref = np.tanh(z @ rng.normal(size=(D, D))) + 0.1 * rng.normal(size=z.shape)
    rows = rng.choice(400, size=30, replace=False)
    table = heldout_distances(z_ref=z_ref, z=z, anchor_rows=rows, standardise=False).set_index("arm")
    assert list(table.columns) == HELDOUT_COLUMNS[1:] and list(table.index) == list(ANCHOR_BUDGET_ARMS)
    reference = portability(z_ref, z, rows).set_index("arm")
    for arm in ("raw", "procrustes", "affine", "relative"):  # same maps, same points: the same numbers
        assert table.loc[arm, "distance"] == reference.loc[arm, "distance"], arm
        assert table.loc[arm, "mse"] == reference.loc[arm, "mse"], arm


# -- too few pairs: a documented answer per class, never a crash ---------------------------------------
def test_minimum_pairs_per_class():
    assert {arm: minimum_pairs(arm) for arm in ANCHOR_BUDGET_ARMS} == {
        "raw": 1, "affine": 2, "linear": 1, "orthogonal": 1, "procrustes": 2, "relative": 1
    }  # fmt: skip
    assert {arm: minimum_pairs(arm, standardise=True) for arm in MAP_KINDS} == dict.fromkeys(MAP_KINDS, 2)
    with pytest.raises(ValueError, match="at least 2 anchor pairs"):
        fit_map("affine", np.ones((1, D)), np.ones((1, D)))
    with pytest.raises(ValueError, match="standardised orthogonal map needs at least 2"):
        fit_map("orthogonal", np.ones((1, D)), np.ones((1, D)), standardise=True)
    with pytest.raises(ValueError, match="all identical"):
        fit_map("procrustes", np.ones((4, D)), np.arange(4.0 * D).reshape(4, D))


@pytest.mark.parametrize("standardise", [False, True])
def test_every_k_from_one_gives_a_row_per_arm_nan_only_below_the_class_floor(rng, standardise):
    z = _points(rng)
    z_ref = _planted(rng, "affine")(z) + 0.01 * rng.normal(size=z.shape)
    for k in range(1, 2 * D + 3):
        table = heldout_distances(z, z_ref, np.arange(k), standardise=standardise).set_index("arm")
        assert list(table.index) == list(ANCHOR_BUDGET_ARMS) and (table["n"] == 400 - k).all()
        for arm in ANCHOR_BUDGET_ARMS:
            row = table.loc[arm]
            if k < minimum_pairs(arm, standardise):
                assert np.isnan(row["distance"]) and "needs at least" in row["reason"] and not row["determined"]
                continue
            assert np.isfinite(row["distance"]) and row["reason"] == "", (k, arm, row)
            if arm in MAP_KINDS:
                centres = standardise or arm in ("affine", "procrustes")
                assert row["rank"] == min(k - centres, D)
                assert bool(row["determined"]) == (k >= D + centres), (k, arm)


def test_a_collapsed_model_gets_nan_maps_with_the_reason(rng):
    z_ref = _points(rng)
    table = heldout_distances(np.ones_like(z_ref), z_ref, np.arange(8)).set_index("arm")
    assert table.loc[list(MAP_KINDS), "distance"].isna().all()
    assert (table.loc[list(MAP_KINDS), "reason"] == "the model's anchor latents are all identical").all()
    assert np.isfinite(table.loc["raw", "distance"])


def test_where_each_class_starts_to_work_on_a_map_of_its_class(rng):
    """The curve over k: a class fitted without standardising recovers a map of its class from the
    first k at which the pairs determine it (rank D: k = D without centring, D + 1 with) and not
    before; the affine class, with its ridge, is defined but inexact below that."""
    z = _points(rng)
    starts = {"linear": D, "orthogonal": D, "procrustes": D + 1, "affine": D + 1}
    for kind, start in starts.items():
        z_ref = _planted(rng, kind)(z)
        for k in range(minimum_pairs(kind), 3 * D):
            d = heldout_distances(z, z_ref, np.arange(k), arms=(kind,), standardise=False).loc[0, "distance"]
            if k >= start:
                # affine: exact up to its ridge (1e-6 of the scatter, squared here, over the
                # smallest singular value of the few anchors: 1.5e-9 at k = D + 1)
                assert d < (1e-8 if kind == "affine" else EXACT**2), (kind, k, d)
            elif k < start - 1 or kind in ("linear", "affine"):  # rank D - 1 fixes a rotation up to a reflection
                assert d > 1e-3, (kind, k, d)


def test_below_rank_linear_is_the_minimum_norm_solution_and_orthogonal_is_the_identity_off_the_anchors(rng):
    few = rng.normal(size=(3, D))  # rank 3 < 5
    target = rng.normal(size=(3, D))
    linear = fit_map("linear", few, target)
    np.testing.assert_allclose(linear.weight, np.linalg.pinv(few) @ target, atol=EXACT)
    np.testing.assert_allclose(linear(few), target, atol=EXACT)  # interpolates the anchors
    _, _, vt = np.linalg.svd(few)
    unseen = vt[3:]  # directions orthogonal to every anchor
    np.testing.assert_allclose(linear(unseen), 0.0, atol=EXACT)
    q = _orthogonal(rng, D)
    ortho = fit_map("orthogonal", few, few @ q)
    assert ortho.rank == 3 and not ortho.offset.any()
    np.testing.assert_allclose(ortho(few), few @ q, atol=EXACT)  # exact on the anchors' span
    np.testing.assert_allclose(ortho.weight @ ortho.weight.T, np.eye(D), atol=EXACT)
    same = fit_map("orthogonal", few, few)
    np.testing.assert_allclose(same.weight, np.eye(D), atol=EXACT)  # no rotation without evidence
    # the affine class is still a ridge fit with fewer pairs than latents, the weight chosen by LOO
    affine = fit_map("affine", few, target)
    assert affine.ridge in RIDGE_GRID and np.isfinite(affine.weight).all() and affine.rank == 2


# -- standardising as Maiorca et al. 2023 / latentis -------------------------------------------------
def test_standard_scaling_is_per_dimension_with_the_unbiased_deviation_and_unit_for_constant_ones():
    anchors = np.array([[1.0, 5.0, 2.0], [2.0, 5.0, 2.0 + 1e-16], [4.0, 5.0, 2.0]])
    shift, scale = standard_scaling(anchors)
    np.testing.assert_allclose(shift, [7 / 3, 5.0, 2.0 + 1e-16 / 3], rtol=1e-15)
    # (1 - 7/3)^2 + (2 - 7/3)^2 + (4 - 7/3)^2 = 42/9, over R - 1 = 2: torch.std's default
    assert scale[0] == pytest.approx(np.sqrt(7 / 3), rel=1e-15)
    assert scale[1] == 1.0  # constant: latentis's _handle_zeros sets it to 1
    assert scale[2] == 1.0  # below 10 * eps: also 1
    with pytest.raises(ValueError, match="at least 2 anchors"):
        standard_scaling(anchors[:1])


def _maiorca_translation(source_anchors, target_anchors, x, method):
    """The paper's procedure restated from latentis tests/translate/test_manual_translate.py
    (``ManualLatentTranslation`` with centering and std_correction): per-dimension mean and
    unbiased std of each side's anchors, ``svd``: ``u, s, v = torch.svd((B.T @ A).T); R = u v^T``,
    ``lstsq``: ``torch.linalg.lstsq(A, B)``; then ``* std + mean`` of the target anchors."""
    ma, sa = source_anchors.mean(0), source_anchors.std(0, ddof=1)
    mb, sb = target_anchors.mean(0), target_anchors.std(0, ddof=1)
    a, b = (source_anchors - ma) / sa, (target_anchors - mb) / sb
    if method == "svd":
        u, _, vh = np.linalg.svd((b.T @ a).T)
        matrix = u @ vh
    else:
        matrix = np.linalg.lstsq(a, b, rcond=None)[0]
    return ((x - ma) / sa) @ matrix * sb + mb


@pytest.mark.parametrize("kind, method", [("orthogonal", "svd"), ("linear", "lstsq")])
def test_standardised_fits_are_the_translation_of_maiorca_et_al(rng, kind, method):
    z = _points(rng, 60) * [5.0, 0.2, 1.0, 3.0, 0.7]
    z_ref = np.tanh(z @ rng.normal(size=(D, D))) * [1.0, 4.0, 0.5, 2.0, 1.0] + 3.0
    rows = np.arange(12)
    fitted = fit_map(kind, z[rows], z_ref[rows], standardise=True)
    assert fitted.standardised and fitted.rank == D
    expected = _maiorca_translation(z[rows], z_ref[rows], z[12:], method)
    np.testing.assert_allclose(fitted(z[12:]), expected, rtol=EXACT, atol=EXACT * np.abs(expected).max())


def test_standardised_classes_hold_in_the_scaled_coordinates(rng):
    """With per-dimension scaling an orthogonal fit recovers an orthogonal map between the scaled
    spaces (here: anchors whose scaled copies are uncorrelated, so the scaled target is exactly
    the rotated scaled source), and a rotation of the raw latents only approximately when the
    anchors' deviations differ across dimensions; without scaling, the other way round."""
    k = 4 * D
    centred = rng.normal(size=(k, D))
    centred -= centred.mean(0)
    white = np.linalg.qr(centred)[0] * np.sqrt(k - 1)  # centred columns, orthogonal, unit deviation
    sd, mean = np.linspace(0.3, 4.0, D), rng.normal(size=D)
    anchors = white * sd + mean
    held = _points(rng, 200)
    z = np.vstack([anchors, held])
    q = _orthogonal(rng, D, reflect=True)
    sd_ref, mean_ref = np.linspace(2.0, 0.5, D), rng.normal(size=D) * 3
    scaled_rotation = ((z - mean) / sd) @ q * sd_ref + mean_ref
    rows = np.arange(k)
    std = heldout_distances(z, scaled_rotation, rows, arms=("orthogonal", "procrustes"), standardise=True).set_index("arm")
    raw = heldout_distances(z, scaled_rotation, rows, arms=("orthogonal",), standardise=False).set_index("arm")
    assert (std["distance"] < EXACT**2).all() and raw.loc["orthogonal", "distance"] > 0.01
    rotation = z @ q
    std = heldout_distances(z, rotation, rows, arms=("orthogonal",), standardise=True).set_index("arm")
    raw = heldout_distances(z, rotation, rows, arms=("orthogonal",), standardise=False).set_index("arm")
    assert raw.loc["orthogonal", "distance"] < EXACT**2 and std.loc["orthogonal", "distance"] > 1e-3
    # one scale per side keeps the class rigid: a similarity of the raw latents is recovered
    similarity = 2.5 * z @ q + mean_ref
    for target in (rotation, similarity):
        one = heldout_distances(z, target, rows, arms=("orthogonal", "procrustes"), standardise="global")
        assert (one["distance"] < EXACT**2).all(), one


def test_bad_input_is_refused(rng):
    z = _points(rng, 50)
    with pytest.raises(ValueError, match="map kind"):
        fit_map("similarity", z, z)
    with pytest.raises(ValueError, match="as many latents"):
        fit_map("orthogonal", z, z[:, :3])
    with pytest.raises(ValueError, match="arms must be among"):
        heldout_distances(z, z, np.arange(5), arms=("raw", "ortho"))
    with pytest.raises(ValueError, match="target_anchors has shape"):
        heldout_distances(z, z, np.arange(5), target_anchors=z[:4])
    assert isinstance(heldout_distances(z, z, np.arange(5), arms=()), pd.DataFrame)
