"""Latent-space comparison metrics. Pure functions: arrays in, arrays or scalars out.

Distances (0 means identical, up to the stated invariance): ``lsd`` (invariant to affine
maps), ``heldout_lsd`` (to shifts, orthogonal maps and isotropic scale; to other linear maps
only as far as its ridge penalty is negligible), ``procrustes_distance`` and ``angular_procrustes_distance``
(invariant to translation, rotation/reflection and isotropic scale), ``normalised_distance``
(no invariance: it asks whether two sets of coordinates are the same coordinates).
Similarity (1 means identical): ``linear_cka`` (invariant to translation, rotation/reflection
and isotropic scale). ``retraining_variability`` is a log volume: lower is more reproducible,
``-inf`` for bit-identical runs. ``portability`` scores a model's latents in a reference's
coordinates with and without post-hoc alignment on the Rosetta pairs (spec, "Portability").
"""

from __future__ import annotations

from dataclasses import dataclass, field

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


# -- Portability: a model's latents in a reference's coordinates (spec, "Portability") ----
RIDGE_GRID = tuple(10.0**e for e in range(-6, 3))  # 1e-6 .. 1e2
PORTABILITY_ARMS = ("raw", "procrustes", "affine", "relative")


def normalised_distance(z: np.ndarray, z_ref: np.ndarray) -> float:
    """Mean ``||z - z_ref||^2`` over the rows divided by the total variance of ``z_ref`` there.

    A distance, not symmetric: ``z`` (N, k) and ``z_ref`` (N, k) are the same N points in
    what should be the same coordinates. 0 when they are; 1 when ``z`` is no better than the
    reference's mean. Unchanged when both move by one rotation, shift or isotropic scale; any
    map applied to one side only counts (that is the point: Bob's numbers in Alice's units).
    """
    z, z_ref = _same_shape(z, z_ref)
    total = float(((z_ref - z_ref.mean(axis=0)) ** 2).sum(axis=1).mean())
    if total == 0:
        return float("nan")
    return float(((z - z_ref) ** 2).sum(axis=1).mean()) / total


@dataclass(frozen=True)
class FittedMap:
    """``z -> z @ weight + offset``, fitted on Rosetta pairs; apply it to held-out points."""

    kind: str  # "procrustes" or "affine"
    weight: np.ndarray  # (k, k_ref); procrustes: scale * orthogonal
    offset: np.ndarray  # (k_ref,)
    scale: float = float("nan")  # procrustes: the isotropic scale
    ridge: float = float("nan")  # affine: the ridge weight chosen by leave-one-out
    loo_error: dict = field(default_factory=dict)  # affine: ridge weight -> leave-one-out error

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = _as_matrix(z, "z")
        if z.shape[1] != self.weight.shape[0]:
            raise ValueError(f"the map takes {self.weight.shape[0]} latents, got {z.shape[1]}")
        return z @ self.weight + self.offset


def procrustes_alignment(source: np.ndarray, target: np.ndarray) -> FittedMap:
    """Orthogonal map, isotropic scale and translation minimising ``||s P Q + t - T||_F``.

    ``source`` (R, k): the model's latents of the R pairs; ``target`` (R, k): the reference's.
    Recovers any ``T = s P Q + t`` exactly when the centred ``P`` has rank k (R > k points in
    general position). Reflections are allowed (Q orthogonal, not only a rotation). With
    fewer pairs the directions they do not span get the orthogonal map nearest the identity
    (no rotation where there is no evidence for one), never an arbitrary one.
    """
    source, target = _same_shape(source, target, "source", "target")
    p_mean, t_mean = source.mean(axis=0), target.mean(axis=0)
    p, t = source - p_mean, target - t_mean
    norm = float((p**2).sum())
    if norm == 0:
        raise ValueError("the source points of the Procrustes fit are all identical")
    u, s, vt = np.linalg.svd(p.T @ t)
    rank = int((s > s[0] * 1e-10 * len(s)).sum())
    rotation = u[:, :rank] @ vt[:rank]
    if rank < len(s):
        # Fewer independent pairs than latents: the pairs leave these directions free (and the
        # SVD would fill them at random), so take the rotation nearest the identity there.
        free_u, free_v = u[:, rank:], vt[rank:].T
        bu, _, bvt = np.linalg.svd(free_v.T @ free_u)
        rotation = rotation + free_u @ (bvt.T @ bu.T) @ free_v.T
    scale = float(s.sum() / norm)
    weight = scale * rotation
    return FittedMap("procrustes", weight, t_mean - p_mean @ weight, scale=scale)


def ridge_loo_errors(source: np.ndarray, target: np.ndarray, grid=RIDGE_GRID) -> dict:
    """Leave-one-out mean squared error of ridge regression ``target ~ source W + b`` per weight.

    The penalty is ``lam * c ||W||_F^2`` with ``c = tr(P^T P) / k`` (the centred source's mean
    scatter per latent, from all R pairs), so the choice does not depend on the source's units. Closed form
    (PRESS): with the hat matrix ``H = 11^T/R + P (P^T P + lam c I)^-1 P^T`` of the centred
    source (the intercept is not penalised), the residual of point i when it is left out is
    ``e_i / (1 - H_ii)``. ``source`` (R, k), ``target`` (R, k_ref). Returns
    ``{lam: mean over points of ||loo residual||^2}``; ``inf`` where a point has ``H_ii = 1``.
    """
    source, target = _pairs(source, target)
    r = len(source)
    p = source - source.mean(axis=0)
    t = target - target.mean(axis=0)
    unit = _ridge_unit(p)
    u, s, _ = np.linalg.svd(p, full_matrices=False)
    ut = u.T @ t
    out = {}
    for lam in grid:
        shrink = s**2 / (s**2 + lam * unit)
        fitted = u @ (shrink[:, None] * ut)
        hat = 1.0 / r + (u**2) @ shrink
        leave = 1.0 - hat
        if np.any(leave <= 1e-12):
            out[float(lam)] = float("inf")
            continue
        out[float(lam)] = float((((t - fitted) / leave[:, None]) ** 2).sum(axis=1).mean())
    return out


def affine_alignment(source: np.ndarray, target: np.ndarray, grid=RIDGE_GRID) -> FittedMap:
    """Ridge regression with an unpenalised intercept; its weight chosen by leave-one-out.

    ``source`` (R, k), ``target`` (R, k_ref): the R Rosetta pairs, nothing else. The weight is
    the grid value (default ``10^-6 .. 10^2``, relative to the source's mean scatter per
    latent: see :func:`ridge_loo_errors`) with the lowest closed-form leave-one-out error
    (the smallest on ties), so the choice never looks at held-out points. With R > k exact
    pairs of an affine map the smallest weight wins and the map is recovered to ~1e-6 relative.
    """
    source, target = _pairs(source, target)
    errors = ridge_loo_errors(source, target, grid)
    lam = min(errors, key=lambda g: (errors[g], g))
    p_mean, t_mean = source.mean(axis=0), target.mean(axis=0)
    p, t = source - p_mean, target - t_mean
    weight = np.linalg.solve(p.T @ p + lam * _ridge_unit(p) * np.eye(p.shape[1]), p.T @ t)
    return FittedMap("affine", weight, t_mean - p_mean @ weight, ridge=lam, loo_error=errors)


def _ridge_unit(p: np.ndarray) -> float:
    unit = float((p**2).sum() / p.shape[1])
    if unit == 0:
        raise ValueError("the source points of the affine fit are all identical")
    return unit


def relative_representation(z: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Each point as its cosine similarities to the anchors (Moschella et al. 2023).

    ``z`` (N, k) and ``anchors`` (R, k) in the same model's latent space; returns (N, R).
    Unchanged by any orthogonal map or positive isotropic scale of that space (applied to
    points and anchors alike); not by a translation, as in the paper that proposed it. A
    zero vector has cosine 0 to everything.
    """
    z, anchors = _as_matrix(z, "z"), _as_matrix(anchors, "anchors")
    if z.shape[1] != anchors.shape[1]:
        raise ValueError(f"points have {z.shape[1]} latents but the anchors have {anchors.shape[1]}")
    return _unit_rows(z) @ _unit_rows(anchors).T


def _unit_rows(a: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    return np.divide(a, norm, out=np.zeros_like(a), where=norm > 0)


def portability(
    z_ref: np.ndarray,
    z: np.ndarray,
    rosetta_rows: np.ndarray,
    z_rosetta: np.ndarray | None = None,
    partition: np.ndarray | None = None,
    grid=RIDGE_GRID,
):
    """How well a model's latents ``z`` land in the reference's coordinates ``z_ref``.

    ``z_ref`` (N, k): the reference (Alice's template) on N points; ``z`` (N, k): the model
    (Bob's) on the same points; ``rosetta_rows`` (R,): the rows that are Rosetta inputs;
    ``z_rosetta`` (R, k): the Rosetta latents ``z_r`` (default ``z_ref[rosetta_rows]``);
    ``partition`` (N,): optional labels (D1, D2) for per-partition rows.

    Arms: ``raw`` (no map), ``procrustes`` and ``affine`` (fitted on the R pairs
    ``(z[rosetta_rows], z_rosetta)`` only), ``relative`` (both sides as cosines to their own
    anchors: ``z_rosetta`` for the reference, ``z[rosetta_rows]`` for the model). Every
    number is computed on the held-out rows only (all rows but the Rosetta ones).

    Returns a DataFrame, one row per partition (``all`` first) and arm: ``n`` held-out points,
    ``distance`` (:func:`normalised_distance`, 0 best), ``mse`` (its numerator; for ``affine``
    against the joint template this is the held-out LSD), ``angular_procrustes`` (0 best),
    ``linear_cka`` (1 best), and the fitted map's ``scale`` / ``ridge``.
    """
    import pandas as pd

    z, z_ref = _same_shape(z, z_ref)
    rows = _rosetta_rows(rosetta_rows, len(z))
    z_rosetta = z_ref[rows] if z_rosetta is None else _as_matrix(z_rosetta, "z_rosetta")
    if z_rosetta.shape != (len(rows), z_ref.shape[1]):
        raise ValueError(f"z_rosetta has shape {z_rosetta.shape}, expected ({len(rows)}, {z_ref.shape[1]})")
    held = np.ones(len(z), dtype=bool)
    held[rows] = False
    heldout_ref, heldout = z_ref[held], z[held]
    if np.ptp(z[rows], axis=0).max() > 0:  # scale-free: any model's latents, not only a VAE's
        procrustes = procrustes_alignment(z[rows], z_rosetta)
        affine = affine_alignment(z[rows], z_rosetta, grid)
        fitted = {
            "procrustes": (procrustes(heldout), heldout_ref, {"scale": procrustes.scale}),
            "affine": (affine(heldout), heldout_ref, {"ridge": affine.ridge}),
        }
    else:  # a collapsed model maps every Rosetta input to one point: no map can be fitted
        undefined = np.full_like(heldout, np.nan)
        fitted = {arm: (undefined, heldout_ref, {}) for arm in ("procrustes", "affine")}
    arms = {
        "raw": (heldout, heldout_ref, {}),
        **fitted,
        "relative": (
            relative_representation(heldout, z[rows]),
            relative_representation(heldout_ref, z_rosetta),
            {},
        ),
    }
    groups = {"all": np.ones(held.sum(), dtype=bool)}
    if partition is not None:
        partition = np.asarray(partition)
        if partition.shape != (len(z),):
            raise ValueError(f"partition has shape {partition.shape}, expected ({len(z)},)")
        for label in np.unique(partition[held]):
            groups[str(label)] = partition[held] == label
    records = []
    for group, mask in groups.items():
        for arm, (mapped, reference, extra) in arms.items():
            records.append({"partition": group, "arm": arm, **_score(mapped[mask], reference[mask]), **extra})
    return pd.DataFrame.from_records(records, columns=PORTABILITY_COLUMNS)


PORTABILITY_COLUMNS = ["partition", "arm", "n", "distance", "mse", "angular_procrustes", "linear_cka", "scale", "ridge"]


def leave_one_out_portability(z_rosetta_model: np.ndarray, z_rosetta: np.ndarray, grid=RIDGE_GRID):
    """:func:`portability` when the Rosetta pairs are all one has (Bob after training).

    ``z_rosetta_model`` (R, k): the model's latents of Alice's R Rosetta inputs; ``z_rosetta``
    (R, k): her latents of them. Each pair is scored by maps fitted on the other R-1 pairs
    (``relative``: against the other R-1 anchors), so no number is in-sample. The ``relative``
    arm has no single anchor set, so only its distance is given (per anchor, over the points
    that are not that anchor). Same columns as :func:`portability`; ``partition`` is ``rosetta``.
    """
    import pandas as pd

    z_model, z_r = _pairs(z_rosetta_model, z_rosetta)
    if z_model.shape != z_r.shape:
        raise ValueError(f"the model's latents have shape {z_model.shape} but the Rosetta latents {z_r.shape}")
    r = len(z_r)
    if r < 3:
        raise ValueError(f"leave-one-out scoring needs at least 3 Rosetta pairs, got {r}")
    predicted = {"procrustes": np.empty_like(z_r), "affine": np.empty_like(z_r)}
    for i in range(r):
        rest = np.arange(r) != i
        predicted["procrustes"][i] = procrustes_alignment(z_model[rest], z_r[rest])(z_model[i : i + 1])[0]
        predicted["affine"][i] = affine_alignment(z_model[rest], z_r[rest], grid)(z_model[i : i + 1])[0]
    records = [{"partition": "rosetta", "arm": "raw", **_score(z_model, z_r)}]
    records += [{"partition": "rosetta", "arm": arm, **_score(p, z_r)} for arm, p in predicted.items()]
    off = ~np.eye(r, dtype=bool)
    rel_model, rel_ref = relative_representation(z_model, z_model), relative_representation(z_r, z_r)
    anchor_mean = np.where(off, rel_ref, 0.0).sum(axis=0) / (r - 1)
    total = float((np.where(off, rel_ref - anchor_mean, 0.0) ** 2).sum() / r)
    mse = float((np.where(off, rel_model - rel_ref, 0.0) ** 2).sum() / r)
    records.append({"partition": "rosetta", "arm": "relative", "n": r, "mse": mse,
                    "distance": mse / total if total > 0 else float("nan")})  # fmt: skip
    return pd.DataFrame.from_records(records, columns=PORTABILITY_COLUMNS)


def heldout_lsd(z: np.ndarray, z_ref: np.ndarray, rosetta_rows: np.ndarray, groups=None, grid=RIDGE_GRID) -> LSDResult:
    """LSD with the affine map fitted on the Rosetta points only and scored on the rest.

    Beside the paper's in-sample :func:`lsd`: ``z`` (N, k) a run, ``z_ref`` (N, k_ref) the
    joint template, ``rosetta_rows`` (R,) the Rosetta inputs' rows. The map is
    :func:`affine_alignment` of the R pairs; ``values`` holds the mean squared residual over
    the held-out rows, per group and ``all``. A distance; unchanged by shifts, orthogonal maps
    and isotropic scale of ``z`` (the ridge penalty is rotation-invariant and scaled to ``z``);
    by anisotropic maps only as far as the chosen penalty is negligible.
    """
    z, z_ref = _as_matrix(z, "z"), _as_matrix(z_ref, "z_ref")
    if len(z) != len(z_ref):
        raise ValueError(f"z has {len(z)} rows but z_ref has {len(z_ref)}")
    rows = _rosetta_rows(rosetta_rows, len(z))
    fitted = affine_alignment(z[rows], z_ref[rows], grid)
    held = np.ones(len(z), dtype=bool)
    held[rows] = False
    residual = ((fitted(z) - z_ref) ** 2).sum(axis=1)
    values = {"all": float(residual[held].mean())}
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (len(z),):
            raise ValueError(f"groups has shape {groups.shape}, expected ({len(z)},)")
        for label in np.unique(groups[held]):
            values[str(label)] = float(residual[held & (groups == label)].mean())
    return LSDResult(values=values, A=fitted.weight.T, b=fitted.offset)


def _score(mapped: np.ndarray, reference: np.ndarray) -> dict:
    """The portability numbers of one arm on one set of held-out points."""
    n = len(mapped)
    out = {"n": n, "distance": float("nan"), "mse": float("nan"), "angular_procrustes": float("nan"), "linear_cka": float("nan")}
    if n == 0 or not np.isfinite(mapped).all():  # no points, or an arm whose map is undefined
        return out
    out["mse"] = float(((mapped - reference) ** 2).sum(axis=1).mean())
    if n < 2:
        return out
    out["distance"] = normalised_distance(mapped, reference)
    if np.ptp(mapped, axis=0).any() and np.ptp(reference, axis=0).any():
        out["angular_procrustes"] = angular_procrustes_distance(mapped, reference)
        out["linear_cka"] = linear_cka(mapped, reference)
    return out


def _rosetta_rows(rows, n: int) -> np.ndarray:
    rows = np.asarray(rows)
    if rows.ndim != 1 or not np.issubdtype(rows.dtype, np.integer):
        raise ValueError(f"rosetta_rows must be a 1-D array of row numbers, got {rows.dtype} shape {rows.shape}")
    if len(rows) == 0:
        raise ValueError("no Rosetta rows: the maps have nothing to be fitted on")
    if rows.min() < 0 or rows.max() >= n:
        raise ValueError(f"rosetta_rows must lie in 0..{n - 1}, got {rows.min()}..{rows.max()}")
    if len(np.unique(rows)) != len(rows):
        raise ValueError("rosetta_rows lists a row twice")
    if len(rows) >= n:
        raise ValueError("every row is a Rosetta row: no held-out points to score")
    return rows


def _pairs(source, target) -> tuple[np.ndarray, np.ndarray]:
    source, target = _as_matrix(source, "source"), _as_matrix(target, "target")
    if len(source) != len(target):
        raise ValueError(f"source has {len(source)} rows but target has {len(target)}")
    if len(source) < 2:
        raise ValueError(f"a map needs at least 2 pairs, got {len(source)}")
    return source, target


def _same_shape(a, b, name_a: str = "z", name_b: str = "z_ref") -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_matrix(a, name_a), _as_matrix(b, name_b)
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has {b.shape}: same points, same latent size needed")
    return a, b


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
