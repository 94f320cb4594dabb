"""Latent-space comparison metrics. Pure functions: arrays in, arrays or scalars out.

Distances (0 means identical, up to the stated invariance): ``lsd`` (invariant to affine
maps), ``procrustes_distance`` and ``angular_procrustes_distance`` (invariant to translation,
rotation/reflection and isotropic scale). Similarity (1 means identical): ``linear_cka``
(invariant to translation, rotation/reflection and isotropic scale). ``retraining_variability``
is a log volume: lower is more reproducible, ``-inf`` for bit-identical runs. Maps fitted on a
few pairs and scored on the other points (held-out LSD, portability, the anchor budget) live in
:mod:`rvae.alignment`, which builds on these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rvae.vocabulary import RV_ESTIMATORS

# -- Latent space distortion (paper eq. 2) ------------------------------------------------
@dataclass(frozen=True)
class LSDResult:
    """LSD per group with the single affine map ``z_ref ~ A z + b`` fitted on all points."""

    values: dict  # group label -> mean squared residual
    A: np.ndarray  # (k_ref, k)
    b: np.ndarray  # (k_ref,)


def fit_affine_map(z: np.ndarray, z_ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary least squares ``z_ref ~ A z + b`` over all rows."""
    z = _as_matrix(z, "z")
    z_ref = _as_matrix(z_ref, "z_ref")
    if len(z) != len(z_ref):
        raise ValueError(f"z has {len(z)} rows but z_ref has {len(z_ref)}")
    design = np.hstack([z, np.ones((len(z), 1))])
    weights, *_ = np.linalg.lstsq(design, z_ref, rcond=None)
    return weights[:-1].T, weights[-1]


def lsd(z: np.ndarray, z_ref: np.ndarray, groups: np.ndarray | None = None) -> LSDResult:
    """Latent space distortion of ``z`` against ``z_ref`` (spec: one map for D1 and D2 together).

    ``groups`` labels each row (e.g. ``D1``/``D2``); the result holds the mean of
    ``||A z + b - z_ref||^2`` for each label and for ``all`` rows.
    """
    z = _as_matrix(z, "z")
    z_ref = _as_matrix(z_ref, "z_ref")
    A, b = fit_affine_map(z, z_ref)
    residual = ((z @ A.T + b - z_ref) ** 2).sum(axis=1)
    values = {"all": float(residual.mean())}
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (len(z),):
            raise ValueError(f"groups has shape {groups.shape}, expected ({len(z)},)")
        for label in np.unique(groups):
            values[str(label)] = float(residual[groups == label].mean())
    return LSDResult(values=values, A=A, b=b)


# -- Retraining variability (paper eq. 3) -------------------------------------------------
def retraining_variability(
    runs: np.ndarray, estimator: str = "ledoit_wolf", chunk_size: int = 8192
) -> np.ndarray:
    """``log det C(x)`` per point, where ``C(x)`` is the covariance of its M run means.

    ``runs`` has shape (M, N, k): M runs, N points, latent size k. ``C(x)`` is singular
    whenever ``M <= k``, so the estimator is chosen explicitly:

    - ``exact``: unbiased covariance; refuses ``M <= k``.
    - ``ledoit_wolf``: Ledoit-Wolf shrinkage towards ``tr(C)/k I`` (sklearn's formula),
      rescaled by ``M/(M-1)`` so that it equals ``exact`` when no shrinkage is needed.
    - ``pseudo``: sum of the logs of the ``min(M-1, k)`` largest eigenvalues.

    Bit-identical runs have zero covariance: every estimator returns ``-inf`` for them.
    """
    runs = np.asarray(runs, dtype=np.float64)
    if runs.ndim != 3:
        raise ValueError(f"runs must have shape (M runs, N points, k latents), got {runs.shape}")
    m, n, k = runs.shape
    if estimator not in RV_ESTIMATORS:
        raise ValueError(f"RV estimator must be one of {RV_ESTIMATORS}, got {estimator!r}")
    if m < 2:
        raise ValueError(f"retraining variability needs at least 2 runs, got {m}")
    if estimator == "exact" and m <= k:
        raise ValueError(
            f"RV estimator 'exact' needs more runs than latent dimensions (M > k), got M={m}, k={k}: "
            f"the covariance is singular and log det measures floating-point noise; "
            f"use 'ledoit_wolf' or 'pseudo', or train more seeds"
        )
    if not np.isfinite(runs).all():
        raise ValueError("embeddings contain NaN or infinite values")
    out = np.empty(n)
    for first in range(0, n, chunk_size):
        block = runs[:, first : first + chunk_size]
        out[first : first + chunk_size] = _log_det_block(block, estimator)
    return out


def _log_det_block(block: np.ndarray, estimator: str) -> np.ndarray:
    m, _, k = block.shape
    centred = block - block.mean(axis=0)
    scatter = np.einsum("mni,mnj->nij", centred, centred)  # (n, k, k) = (M-1) * C
    if estimator == "exact":
        return _safe_logdet(scatter / (m - 1))
    if estimator == "pseudo":
        eig = np.linalg.eigvalsh(scatter / (m - 1))[:, ::-1][:, : min(m - 1, k)]
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.where(eig > 0, np.log(np.where(eig > 0, eig, 1.0)), -np.inf)
        return logs.sum(axis=1)
    # Ledoit-Wolf, as sklearn.covariance.ledoit_wolf(assume_centered=False), per point.
    squares = centred**2
    emp_trace = squares.sum(axis=0) / m  # (n, k): per-dimension variances (biased)
    mu = emp_trace.sum(axis=1) / k  # (n,)
    beta_ = (squares.sum(axis=2) ** 2).sum(axis=0)  # sum(X2.T @ X2)
    delta_ = (scatter**2).sum(axis=(1, 2)) / m**2
    beta = (beta_ / m - delta_) / (k * m)
    delta = (delta_ - 2.0 * mu * emp_trace.sum(axis=1) + k * mu**2) / k
    beta = np.minimum(beta, delta)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrinkage = np.where(beta == 0, 0.0, beta / np.where(delta == 0, 1.0, delta))
    shrunk = (1.0 - shrinkage)[:, None, None] * scatter / m
    shrunk = shrunk + (shrinkage * mu)[:, None, None] * np.eye(k)
    return _safe_logdet(shrunk * (m / (m - 1)))


def _safe_logdet(c: np.ndarray) -> np.ndarray:
    sign, logdet = np.linalg.slogdet(c)
    return np.where(sign > 0, logdet, -np.inf)


# -- Normalisation and summaries, as the paper's tables -----------------------------------
# How a value is put beside its reference's median m: LSD and the other distances as a relative
# change (the reference's median becomes 0), RV as a difference of log volumes (0), the
# portability table as a ratio (1). Each is an increasing affine map of the value once m is fixed.
NORMALISATIONS = ("relative_change", "difference", "ratio")


def normalisable(kind: str, reference_median) -> np.ndarray:
    """Where a reference median can normalise (elementwise): any for a difference; a finite,
    positive one for a ratio or relative change (the distances and similarities are >= 0)."""
    m = np.asarray(reference_median, dtype=np.float64)
    if kind == "difference":
        return np.ones(m.shape, bool)
    if kind not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {kind!r}")
    return np.isfinite(m) & (m > 0)


def normalise_by_median(kind: str, values, reference_median) -> np.ndarray:
    """``values`` put beside a reference median (see ``NORMALISATIONS``), elementwise and broadcast."""
    values = np.asarray(values, dtype=np.float64)
    m = np.asarray(reference_median, dtype=np.float64)
    if kind == "difference":
        with np.errstate(invalid="ignore"):
            # Bit-identical reference runs have a median of -inf: a -inf beside it is 0, not NaN.
            return np.where(np.isneginf(values) & np.isneginf(m), 0.0, values - m)
    if not normalisable(kind, m).all():
        raise ValueError(f"cannot normalise a distance by a reference median of {m}")
    return values / m - 1.0 if kind == "relative_change" else values / m


def normalise_lsd(values, reference) -> np.ndarray:
    """``value / median(reference) - 1``: the reference model's median becomes 0."""
    return normalise_by_median("relative_change", values, np.median(np.asarray(reference, dtype=np.float64)))


def normalise_rv(values, reference) -> np.ndarray:
    """``value - median(reference)``: the reference model's median becomes 0."""
    return normalise_by_median("difference", values, np.median(np.asarray(reference, dtype=np.float64)))


def quartiles(values) -> np.ndarray:
    """(25th percentile, median, 75th percentile); ``-inf`` stays ``-inf``.

    The median is ``np.median``, the same function that gives a reference its median, so a
    reference summarised against itself meets the very same number."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return np.full(3, np.nan)
    with np.errstate(invalid="ignore"):
        q = np.percentile(values, [25, 50, 75])
        # interpolating between two -inf gives NaN; the quantile is -inf there
        q = np.where(np.isnan(q), np.percentile(values, [25, 50, 75], method="lower"), q)
        q[1] = np.median(values)
    return q


def median_iqr(values) -> tuple[float, float]:
    """Median and interquartile range; ``-inf`` stays ``-inf`` (IQR NaN if undefined)."""
    q25, q50, q75 = quartiles(values)
    with np.errstate(invalid="ignore"):
        return float(q50), float(q75 - q25)


def normalised_median_iqr(kind: str, values, reference) -> tuple[float, float]:
    """Median and IQR of ``values`` normalised by the median of ``reference`` (``NORMALISATIONS``).

    With a finite reference median the normalisation is an increasing affine map, and such a map
    commutes with quantiles, so it is applied to the raw quartiles rather than the quartiles taken of
    normalised values. (RV against bit-identical reference runs, median -inf, is no affine map: there
    a -inf value becomes 0 and a finite one +inf, and only the median is meaningful.) The reference
    summarised against itself is then ``m / m - 1``, ``m - m`` or ``m / m``: exactly 0 (or 1) by
    construction on every CPU kernel path, where the median of rounded differences is not (5.6e-17
    with AVX2 kernels on an even count)."""
    reference = np.asarray(reference, dtype=np.float64)
    if reference.size == 0:
        raise ValueError("cannot normalise by an empty reference")
    q25, q50, q75 = normalise_by_median(kind, quartiles(values), np.median(reference))
    with np.errstate(invalid="ignore"):
        return float(q50), float(q75 - q25)


# -- Linear map analysis (paper Appendices I, J) ------------------------------------------
@dataclass(frozen=True)
class LinearMapAnalysis:
    spectrum: np.ndarray  # eigenvalues of P in A = U P, descending
    distance_from_identity: float  # ||I - A / ||A||_2||_F
    bias_norm: float  # ||b||_2


def linear_map_analysis(A: np.ndarray, b: np.ndarray) -> LinearMapAnalysis:
    from scipy.linalg import polar

    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"linear map analysis needs a square A, got {A.shape}")
    _, P = polar(A, side="right")
    spectrum = np.sort(np.linalg.eigvalsh((P + P.T) / 2))[::-1]
    norm = np.linalg.norm(A, 2)
    distance = float(np.linalg.norm(np.eye(len(A)) - A / norm, "fro")) if norm > 0 else float("nan")
    return LinearMapAnalysis(spectrum=spectrum, distance_from_identity=distance, bias_norm=float(np.linalg.norm(b)))


# -- Standard representation-similarity measures ------------------------------------------
def procrustes_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Euclidean Procrustes distance (a distance) between centred, unit-Frobenius-norm X, Y.

    ``x`` (N, k), ``y`` (N, k'): the same N points. ``min_Q ||X - Y Q||_F`` over orthogonal Q
    equals ``sqrt(2 - 2 ||X^T Y||_*)``: 0 for a representation and any rotated, shifted,
    isotropically rescaled copy of itself; at most 2. Same ordering as
    :func:`angular_procrustes_distance`, which is the one the portability tables report.
    """
    nuclear = _procrustes_nuclear(x, y)
    return float(np.sqrt(max(0.0, 2.0 - 2.0 * nuclear)))


def angular_procrustes_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Angular Procrustes distance (a distance, Williams et al. 2021): ``arccos ||X^T Y||_*``.

    ``x`` (N, k), ``y`` (N, k'), rows the same N points, each centred and scaled to unit
    Frobenius norm (narrower one zero-padded). 0 for a representation and any rotated,
    reflected, shifted, isotropically rescaled copy of itself; pi/2 at most. Not invariant to
    general linear maps: a shape metric, stricter than CKA or regression fits.
    """
    nuclear = _procrustes_nuclear(x, y)
    return float(np.arccos(np.clip(nuclear, -1.0, 1.0)))


def _procrustes_nuclear(x, y) -> float:
    x, y = _centred_unit(x, "x"), _centred_unit(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    width = max(x.shape[1], y.shape[1])
    x = np.pad(x, ((0, 0), (0, width - x.shape[1])))
    y = np.pad(y, ((0, 0), (0, width - y.shape[1])))
    return float(np.linalg.svd(x.T @ y, compute_uv=False).sum())


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear centred kernel alignment (a similarity, Kornblith et al. 2019).

    ``x`` (N, k), ``y`` (N, k'): the same N points. 1 for a representation and any rotated,
    reflected, shifted, isotropically rescaled copy of itself; 0 for orthogonal ones. Known to
    stay high for representations that differ (Davari et al. 2022): read it beside a shape metric.
    """
    x = _as_matrix(x, "x")
    y = _as_matrix(y, "y")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    cross = np.linalg.norm(y.T @ x, "fro") ** 2
    denom = np.linalg.norm(x.T @ x, "fro") * np.linalg.norm(y.T @ y, "fro")
    return float(cross / denom) if denom > 0 else float("nan")


def _as_matrix(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (points, latents), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def _centred_unit(a, name: str) -> np.ndarray:
    a = _as_matrix(a, name)
    a = a - a.mean(axis=0)
    norm = np.linalg.norm(a, "fro")
    if norm == 0:
        raise ValueError(f"{name} is constant; Procrustes distance is undefined")
    return a / norm
