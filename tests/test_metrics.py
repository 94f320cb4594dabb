import numpy as np
import pytest
from sklearn.covariance import ledoit_wolf

from rvae.metrics import (
    fit_affine_map,
    linear_cka,
    linear_map_analysis,
    lsd,
    median_iqr,
    normalisable,
    normalise_by_median,
    normalised_median_iqr,
    normalise_lsd,
    normalise_rv,
    procrustes_distance,
    retraining_variability,
)

# assertions on computed numbers: tests/test_cpu_paths.py reruns them on the AVX2 kernel path
pytestmark = pytest.mark.computed


def test_lsd_equals_the_lstsq_residual_per_group(rng):
    z, z_ref = rng.normal(size=(200, 3)), rng.normal(size=(200, 4))
    groups = np.array(["D1"] * 120 + ["D2"] * 80)
    result = lsd(z, z_ref, groups)
    design = np.hstack([z, np.ones((200, 1))])
    w, *_ = np.linalg.lstsq(design, z_ref, rcond=None)
    residual = ((design @ w - z_ref) ** 2).sum(1)
    assert result.values["D1"] == pytest.approx(residual[:120].mean(), rel=1e-10)
    assert result.values["D2"] == pytest.approx(residual[120:].mean(), rel=1e-10)
    assert result.values["all"] == pytest.approx(residual.mean(), rel=1e-10)
    np.testing.assert_allclose(result.A, w[:-1].T)


def test_lsd_of_an_affine_copy_is_zero_and_recovers_the_map(rng):
    z = rng.normal(size=(300, 4))
    A, b = rng.normal(size=(4, 4)) + 3 * np.eye(4), rng.normal(size=4)
    result = lsd(z, z @ A.T + b)
    assert result.values["all"] < 1e-20
    np.testing.assert_allclose(result.A, A, atol=1e-10)
    np.testing.assert_allclose(result.b, b, atol=1e-10)


def test_rv_of_identical_runs_is_minus_infinity(rng):
    runs = np.repeat(rng.normal(size=(1, 50, 3)), 5, axis=0)
    for estimator in ("exact", "ledoit_wolf", "pseudo"):
        assert np.all(np.isneginf(retraining_variability(runs, estimator)))


def test_rv_exact_matches_slogdet_of_numpy_cov(rng):
    runs = rng.normal(size=(8, 40, 3))
    ours = retraining_variability(runs, "exact", chunk_size=7)
    expected = [np.linalg.slogdet(np.cov(runs[:, i, :], rowvar=False))[1] for i in range(40)]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_rv_exact_refuses_too_few_runs(rng):
    with pytest.raises(ValueError, match="M > k"):
        retraining_variability(rng.normal(size=(4, 10, 4)), "exact")


def test_rv_ledoit_wolf_matches_sklearn_per_point(rng):
    m, k = 5, 8  # fewer runs than dimensions: exact would be singular
    runs = rng.normal(size=(m, 30, k)) * rng.uniform(0.1, 3, size=k)
    ours = retraining_variability(runs, "ledoit_wolf")
    for i in range(30):
        shrunk, _ = ledoit_wolf(runs[:, i, :])
        # sklearn uses the 1/M covariance; ours is rescaled by M/(M-1), see the docstring
        expected = np.linalg.slogdet(shrunk * m / (m - 1))[1]
        assert ours[i] == pytest.approx(expected, rel=1e-9)
    assert np.isfinite(ours).all()


def test_rv_pseudo_sums_the_logs_of_the_top_eigenvalues(rng):
    m, k = 4, 6
    runs = rng.normal(size=(m, 12, k))
    ours = retraining_variability(runs, "pseudo")
    for i in range(12):
        eig = np.sort(np.linalg.eigvalsh(np.cov(runs[:, i, :], rowvar=False)))[::-1][: m - 1]
        assert ours[i] == pytest.approx(np.log(eig).sum(), rel=1e-8)


def test_rv_ranks_tighter_runs_lower(rng):
    centre = rng.normal(size=(1, 100, 2))
    loose = centre + rng.normal(size=(6, 100, 2))
    tight = centre + 0.01 * rng.normal(size=(6, 100, 2))
    assert np.median(retraining_variability(tight)) < np.median(retraining_variability(loose)) - 10


def test_rv_refuses_bad_input(rng):
    with pytest.raises(ValueError, match="at least 2 runs"):
        retraining_variability(rng.normal(size=(1, 5, 2)))
    with pytest.raises(ValueError, match="estimator"):
        retraining_variability(rng.normal(size=(3, 5, 2)), "magic")
    bad = rng.normal(size=(3, 5, 2))
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        retraining_variability(bad)


def test_normalisations_put_the_reference_median_at_zero():
    ref = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(normalise_lsd(ref, ref), [-0.5, 0.0, 1.0])
    np.testing.assert_allclose(normalise_lsd([3.0], ref), [0.5])
    np.testing.assert_allclose(normalise_rv([-1.0, 5.0], ref), [-3.0, 3.0])
    median, iqr = median_iqr(normalise_rv(ref, ref))
    assert median == 0.0 and iqr == pytest.approx(1.5)
    assert median_iqr(np.full(4, -np.inf))[0] == -np.inf


def test_a_reference_summarised_against_itself_is_zero_by_construction():
    """The tables' reference cell: its own median subtracted from or dividing itself, not the median of
    rounded per-value differences. Those values (an even count, as RV over points or LSD over 10
    seeds) give 5.6e-17 when each value is normalised first and the median taken after."""
    rng = np.random.default_rng(0)
    for n in (2, 4, 10, 240, 1000):
        for values in (rng.normal(-3.0, 2.0, size=n), rng.lognormal(size=n) * 1e-3):
            for kind, identity in (("difference", 0.0), ("relative_change", 0.0), ("ratio", 1.0)):
                if kind != "difference" and (values <= 0).any():
                    continue
                median, iqr = normalised_median_iqr(kind, values, values)
                assert median == identity, (kind, n, median)
                # the rest agrees with normalising each value first, to rounding
                old_median, old_iqr = median_iqr(normalise_by_median(kind, values, np.median(values)))
                scale = np.abs(values).max() / (1.0 if kind == "difference" else np.median(values))
                assert abs(median - old_median) <= 4 * np.finfo(float).eps * scale
                assert iqr == pytest.approx(old_iqr, rel=1e-12, abs=4 * np.finfo(float).eps * scale)
    bit_identical = np.full(6, -np.inf)
    assert normalised_median_iqr("difference", bit_identical, bit_identical) == (0.0, 0.0)
    assert normalised_median_iqr("difference", [-np.inf, -np.inf, 1.0], [0.0, 1.0])[0] == -np.inf
    with pytest.raises(ValueError, match="reference median of 0"):
        normalised_median_iqr("relative_change", [1.0, 2.0], [0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="normalisation must be one of"):
        normalised_median_iqr("percent", [1.0], [1.0])
    # the one test of which reference medians can normalise, used by tables, findings and portability
    medians = np.array([2.0, 0.0, -1.0, np.nan, np.inf, -np.inf])
    np.testing.assert_array_equal(normalisable("ratio", medians), [True, False, False, False, False, False])
    assert normalisable("difference", medians).all()


def test_linear_map_analysis_of_identity_and_scaled_rotation(rng):
    identity = linear_map_analysis(np.eye(3), np.zeros(3))
    np.testing.assert_allclose(identity.spectrum, [1, 1, 1])
    assert identity.distance_from_identity == pytest.approx(0.0, abs=1e-12)
    assert identity.bias_norm == 0.0
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    stretched = linear_map_analysis(q @ np.diag([4.0, 2.0, 1.0]), np.array([3.0, 4.0, 0.0]))
    np.testing.assert_allclose(stretched.spectrum, [4, 2, 1], atol=1e-10)
    assert stretched.bias_norm == pytest.approx(5.0)
    assert stretched.distance_from_identity > 0.5


def test_procrustes_and_cka_identity_values(rng):
    x = rng.normal(size=(100, 4))
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    assert procrustes_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert procrustes_distance(x, 3 * x @ q + 7) == pytest.approx(0.0, abs=1e-6)
    assert linear_cka(x, x) == pytest.approx(1.0)
    assert linear_cka(x, 2 * x @ q - 1) == pytest.approx(1.0)
    y = rng.normal(size=(100, 4))
    assert procrustes_distance(x, y) > 0.5
    assert linear_cka(x, y) < 0.3


def test_fit_affine_map_refuses_mismatched_rows(rng):
    with pytest.raises(ValueError, match="rows"):
        fit_affine_map(rng.normal(size=(5, 2)), rng.normal(size=(6, 2)))
