"""Post-hoc alignment between latent spaces: maps fitted on a few anchor pairs, scored elsewhere.

Every map here is fitted on R anchor pairs ``(source_r, target_r)`` only (Rosetta points: a
model's latents and a reference's latents of the same inputs) and applied to held-out points.
Two uses share the same maps:

- **Portability** (spec, "Portability"): :func:`portability`, :func:`leave_one_out_portability`
  and :func:`heldout_lsd`, with the arms ``raw``, ``procrustes`` (:func:`procrustes_alignment`),
  ``affine`` (:func:`affine_alignment`) and ``relative`` (:func:`relative_representation`),
  fitted on the raw latents.
- **The anchor budget** (spec, "Anchor budget"): the map classes of the latent-space-translation
  literature (Maiorca et al. 2023, "Latent Space Translation via Semantic Alignment", NeurIPS;
  their library ``latentis``), one entry point :func:`fit_map` for ``affine``, ``linear``,
  ``orthogonal`` and ``procrustes``, fitted after standard scaling on the anchors as those authors
  do (``standardise=True``: see :func:`standard_scaling`); :func:`heldout_distances` scores a
  list of arms (those, ``raw`` and ``relative``) on every point that is not an anchor.

Distances are :func:`normalised_distance`: 0 is the reference's own coordinates, 1 is no better
than the reference's mean. Everything is float64.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from rvae.metrics import LSDResult, _as_matrix, angular_procrustes_distance, linear_cka

RIDGE_GRID = tuple(10.0**e for e in range(-6, 3))  # 1e-6 .. 1e2
PORTABILITY_ARMS = ("raw", "procrustes", "affine", "relative")
# The anchor budget's map classes, most general first, and its arms (spec, "Anchor budget").
MAP_KINDS = ("affine", "linear", "orthogonal", "procrustes")
ANCHOR_BUDGET_ARMS = ("raw", *MAP_KINDS, "relative")
HELDOUT_COLUMNS = ["arm", "k", "n", "distance", "mse", "rank", "determined", "reason"]


# -- Distance and the maps of the portability table ---------------------------------------------
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
    """``z -> z @ weight + offset``, fitted on anchor pairs; apply it to held-out points.

    With ``standardised`` the fit ran between the standard-scaled anchors (:func:`fit_map`) and
    ``weight``, ``offset`` already fold the two scalings in: the map takes and returns raw latents.
    """

    kind: str  # one of MAP_KINDS
    weight: np.ndarray  # (k, k_ref); unstandardised procrustes: scale * orthogonal; orthogonal: orthogonal
    offset: np.ndarray  # (k_ref,); zero for unstandardised linear and orthogonal
    scale: float = float("nan")  # procrustes: the isotropic scale (in standardised units if standardised)
    ridge: float = float("nan")  # affine: the ridge weight chosen by leave-one-out
    loo_error: dict = field(default_factory=dict)  # affine: ridge weight -> leave-one-out error
    rank: int | None = None  # fit_map: rank of the source anchors as the fit saw them (centred where it centres)
    standardised: bool | str = False  # fit_map: its ``standardise`` (True: per dimension; "global")

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
    rotation = _orthogonal_factor(u, s, vt)
    scale = float(s.sum() / norm)
    weight = scale * rotation
    return FittedMap("procrustes", weight, t_mean - p_mean @ weight, scale=scale)


def _orthogonal_factor(u: np.ndarray, s: np.ndarray, vt: np.ndarray) -> np.ndarray:
    """The orthogonal ``Q`` maximising ``tr(Q^T M)`` for ``M = u diag(s) vt``: ``u vt`` where ``M``
    has full rank. Where it has not, the pairs leave the null directions free (and the SVD
    would fill them at random), so they get the orthogonal map nearest the identity there."""
    rank = int((s > s[0] * 1e-10 * len(s)).sum())
    rotation = u[:, :rank] @ vt[:rank]
    if rank < len(s):
        free_u, free_v = u[:, rank:], vt[rank:].T
        bu, _, bvt = np.linalg.svd(free_v.T @ free_u)
        rotation = rotation + free_u @ (bvt.T @ bu.T) @ free_v.T
    return rotation


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


# -- The map classes of latent-space translation (spec, "Anchor budget") ------------------------
def standard_scaling(anchors: np.ndarray, per_dimension: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``(shift, scale)``: the anchors' mean and standard deviation per dimension, as latentis.

    What Maiorca et al. 2023 and their library do, read in its sources (github.com/Flegyas/latentis):
    ``Translator.fit`` (src/latentis/transform/translate/aligner.py) fits ``x_transform`` on the
    source anchors and ``y_transform`` on the target anchors, then the aligner between the two
    transformed sets; ``Translator.transform`` applies ``x_transform``, the aligner and the
    *inverse* of ``y_transform`` (back into the target's units). Its ``Procrustes`` translator
    takes ``StandardScaling`` on both sides (src/latentis/transform/base.py), whose state
    (src/latentis/transform/functional.py, ``standard_scaling_state``) is ``x.mean(dim=0)`` and
    ``x.std(dim=0)``: torch's default, unbiased (R - 1) deviation, one per dimension, where
    ``_handle_zeros`` sets a deviation below ``10 * eps`` (or exactly 0) to 1. The paper's own
    procedure (kept as ``ManualLatentTranslation`` in latentis's
    tests/translate/test_manual_translate.py, checked there against the library) is the same:
    subtract the anchors' mean, divide by their per-dimension ``std``, fit, then multiply by the
    target anchors' ``std`` and add their mean; the project page
    (vale.maiorca.xyz/projects/latent-translation) says "standard scaling (zero mean, unit
    variance) using statistics computed on anchor sets".

    So per dimension, not one global scale, and each space by its own anchors; this returns
    exactly that state. ``anchors`` (R, k), R >= 2 (a deviation of one anchor is undefined).
    ``per_dimension=False`` is our alternative, not theirs: one scale for all dimensions, the
    root of the mean per-dimension variance (same ``R - 1``, same rule for a zero scale), which
    keeps a rigid map rigid (see :func:`fit_map`).
    """
    anchors = _as_matrix(anchors, "anchors")
    if len(anchors) < 2:
        raise ValueError(f"standard scaling needs at least 2 anchors, got {len(anchors)}")
    scale = anchors.std(axis=0, ddof=1)
    if not per_dimension:
        scale = np.full(anchors.shape[1], np.sqrt(np.mean(scale**2)))
    scale[(scale < 10 * np.finfo(np.float64).eps) | (scale == 0.0)] = 1.0
    return anchors.mean(axis=0), scale


def minimum_pairs(arm: str, standardise: bool | str = False) -> int:
    """The fewest anchor pairs an arm is defined with (below it :func:`heldout_distances` gives NaN).

    ``raw`` and ``relative``: 1. ``linear`` and ``orthogonal`` on raw latents: 1 (no centring).
    ``affine`` and ``procrustes``: 2 (they centre on the anchors' mean). Any standardised fit: 2
    (the anchors' per-dimension deviation needs two).
    """
    if arm not in ANCHOR_BUDGET_ARMS:
        raise ValueError(f"arm must be one of {ANCHOR_BUDGET_ARMS}, got {arm!r}")
    if arm in ("raw", "relative"):
        return 1
    return 2 if standardise or arm in ("affine", "procrustes") else 1


def fit_map(kind: str, source: np.ndarray, target: np.ndarray, *, standardise: bool | str = False, grid=RIDGE_GRID) -> FittedMap:
    """One map class fitted on anchor pairs, ``target_r ~ T(source_r)``: the one entry point.

    ``source`` (R, k): a model's latents of R anchors; ``target`` (R, k_ref): the reference's
    (``orthogonal`` and ``procrustes`` need k_ref = k). The classes (Maiorca et al. 2023, Sec. 3):

    - ``affine``: ``z W + b``. Ridge regression with an unpenalised intercept, its weight chosen by
      closed-form leave-one-out over ``grid`` (:func:`affine_alignment`). latentis fits this class
      by 300 Adam steps from a random start (``sgd_affine_align_state``); this is the closed form
      of the same least squares, with a penalty that the pairs choose.
    - ``linear``: ``z W``, no intercept, least squares (latentis: ``lstsq_align_state``).
    - ``orthogonal``: ``z Q``, Q orthogonal (rotation or reflection), no scale, no translation:
      ``Q = U V^T`` for ``source^T target = U S V^T`` (latentis: ``svd_align_state``).
    - ``procrustes``: ``s z Q + t``, orthogonal with isotropic scale and translation
      (:func:`procrustes_alignment`).

    ``standardise=False`` fits the class on the latents as they are (the portability table's
    maps). ``standardise=True`` does what those authors do (:func:`standard_scaling`): each side
    scaled per dimension by its own anchors' mean and deviation, the class fitted between the
    scaled anchors, the target's scaling undone; the returned map folds it all in (raw latents
    in, the reference's units out). The class then holds in the scaled coordinates: every class
    gains the centring's translation (``linear`` becomes least squares with an intercept,
    ``affine`` differs from it only by its ridge), and ``orthogonal`` is
    ``diag(1/sd_source) Q diag(sd_target)`` in raw units, a rotation only where the anchors'
    deviations agree across dimensions (on anisotropic latents it does not recover a rotation of
    them: tests/test_alignment.py). ``standardise="global"`` is the alternative we offer beside
    theirs: centring and one scale per side (``standard_scaling(..., per_dimension=False)``), so
    ``orthogonal`` is ``(sd_target / sd_source) Q`` plus a translation in raw units, still rigid.

    Few pairs, per class (``rank``: the source anchors' rank as the fit sees them, centred for
    ``affine``, ``procrustes`` and every standardised fit; the pairs determine the map when it
    equals k, i.e. from R = k + 1 pairs in general position where the fit centres, R = k where not):

    - below :func:`minimum_pairs`: ``ValueError``; also for source anchors that are all zero
      after centring (where the fit centres) or all zero (where not): they carry no direction.
    - ``affine``: defined from 2 pairs; under-determined it is still a ridge fit, and the
      leave-one-out choice of the weight still works (every point keeps ``H_ii < 1``).
    - ``linear``: the minimum-norm least-squares solution (``numpy.linalg.lstsq``, as
      ``torch.linalg.lstsq`` on CPU): directions the anchors do not span go to 0 (to the target
      anchors' mean when standardised).
    - ``orthogonal``, ``procrustes``: the map is fitted on the directions the anchors span and is
      the orthogonal map nearest the identity on the others (never an arbitrary SVD completion).
    """
    if kind not in MAP_KINDS:
        raise ValueError(f"map kind must be one of {MAP_KINDS}, got {kind!r}")
    source, target = _as_matrix(source, "source"), _as_matrix(target, "target")
    if len(source) != len(target):
        raise ValueError(f"source has {len(source)} rows but target has {len(target)}")
    if kind in ("orthogonal", "procrustes") and source.shape[1] != target.shape[1]:
        raise ValueError(f"a {kind} map needs as many latents on both sides, got {source.shape[1]} and {target.shape[1]}")
    need = minimum_pairs(kind, standardise)
    if standardise not in (False, True, "global"):
        raise ValueError(f"standardise must be False, True (per dimension) or 'global', got {standardise!r}")
    if len(source) < need:
        raise ValueError(f"a {'standardised ' if standardise else ''}{kind} map needs at least {need} anchor pairs, got {len(source)}")
    if standardise:
        per_dimension = standardise != "global"
        source_shift, source_scale = standard_scaling(source, per_dimension)
        target_shift, target_scale = standard_scaling(target, per_dimension)
        p, t = (source - source_shift) / source_scale, (target - target_shift) / target_scale
    else:
        p, t = source, target
    centres = bool(standardise) or kind in ("affine", "procrustes")
    seen = p - p.mean(axis=0) if centres else p
    if not np.any(seen):
        raise ValueError(f"the source anchors of the {kind} fit are all {'identical' if centres else 'zero'}: no map can be fitted")
    rank = int(np.linalg.matrix_rank(seen))
    if kind == "affine":
        fitted = affine_alignment(p, t, grid)
    elif kind == "procrustes":
        fitted = procrustes_alignment(p, t)
    elif kind == "linear":
        weight, *_ = np.linalg.lstsq(p, t, rcond=None)
        fitted = FittedMap("linear", weight, np.zeros(t.shape[1]))
    else:
        u, s, vt = np.linalg.svd(p.T @ t)
        fitted = FittedMap("orthogonal", _orthogonal_factor(u, s, vt), np.zeros(t.shape[1]), scale=1.0)
    fitted = replace(fitted, rank=rank)
    if not standardise:
        return fitted
    weight = fitted.weight / source_scale[:, None] * target_scale
    offset = (fitted.offset - (source_shift / source_scale) @ fitted.weight) * target_scale + target_shift
    return replace(fitted, weight=weight, offset=offset, standardised=standardise)


def heldout_distances(
    z: np.ndarray,
    z_ref: np.ndarray,
    anchor_rows: np.ndarray,
    arms=ANCHOR_BUDGET_ARMS,
    *,
    target_anchors: np.ndarray | None = None,
    standardise: bool | str = True,
    grid=RIDGE_GRID,
):
    """Held-out distance to the reference's coordinates per arm, maps fitted on k anchor pairs.

    ``z`` (N, k_lat): a model's latents; ``z_ref`` (N, k_lat): the reference's (Alice's) on the
    same points; ``anchor_rows`` (k,): the rows that are anchors; ``target_anchors`` (k, k_lat): the
    reference latents the maps are fitted to (default ``z_ref[anchor_rows]``). Arms, from
    ``ANCHOR_BUDGET_ARMS``: ``raw`` (no map), the classes of :func:`fit_map` (fitted on
    ``(z[anchor_rows], target_anchors)`` only, with ``standardise`` as there: by default as
    Maiorca et al.), ``relative`` (each side as cosines to its own anchors, unscaled, as in
    :func:`portability`). Every number is on the held-out rows: all rows but the anchors.

    Returns a DataFrame, one row per arm in the order given (``HELDOUT_COLUMNS``): ``k``, ``n``
    held-out points, ``distance`` (:func:`normalised_distance`, 0 best), ``mse`` (its numerator),
    ``rank`` (the source anchors' rank as the map's fit saw them; NaN for raw and relative),
    ``determined`` (the pairs alone identify the map: rank equals the latent size; see
    :func:`fit_map` for what each class does below it; always true for raw and relative) and
    ``reason`` (empty where scored). An arm that k pairs cannot fit (fewer than
    :func:`minimum_pairs`, or a collapsed model whose anchors all share one latent) gets a NaN
    distance and its reason instead of an exception, so a curve over k shows where each arm starts.
    """
    import pandas as pd

    z, z_ref = _same_shape(z, z_ref)
    rows = _rosetta_rows(anchor_rows, len(z))
    anchors_ref = z_ref[rows] if target_anchors is None else _as_matrix(target_anchors, "target_anchors")
    if anchors_ref.shape != (len(rows), z_ref.shape[1]):
        raise ValueError(f"target_anchors has shape {anchors_ref.shape}, expected ({len(rows)}, {z_ref.shape[1]})")
    unknown = [arm for arm in arms if arm not in ANCHOR_BUDGET_ARMS]
    if unknown:
        raise ValueError(f"arms must be among {ANCHOR_BUDGET_ARMS}, got {unknown}")
    held = np.ones(len(z), dtype=bool)
    held[rows] = False
    source, heldout, heldout_ref = z[rows], z[held], z_ref[held]
    collapsed = len(rows) >= 2 and not np.ptp(source, axis=0).any()
    records = []
    for arm in arms:
        record = {"arm": arm, "k": len(rows), "n": int(held.sum()), "distance": float("nan"), "mse": float("nan"),
                  "rank": float("nan"), "determined": True, "reason": ""}  # fmt: skip
        if arm == "raw":
            mapped, reference = heldout, heldout_ref
        elif arm == "relative":
            mapped, reference = relative_representation(heldout, source), relative_representation(heldout_ref, anchors_ref)
        else:
            need = minimum_pairs(arm, standardise)
            if len(rows) < need:
                records.append({**record, "determined": False, "reason": f"{arm} needs at least {need} anchor pairs"})
                continue
            if collapsed:
                records.append({**record, "determined": False, "reason": "the model's anchor latents are all identical"})
                continue
            fitted = fit_map(arm, source, anchors_ref, standardise=standardise, grid=grid)
            mapped, reference = fitted(heldout), heldout_ref
            record.update(rank=fitted.rank, determined=fitted.rank == z.shape[1])
        record["mse"] = float(((mapped - reference) ** 2).sum(axis=1).mean())
        record["distance"] = normalised_distance(mapped, reference)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=HELDOUT_COLUMNS)


# -- Portability: a model's latents in a reference's coordinates (spec, "Portability") ----
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


