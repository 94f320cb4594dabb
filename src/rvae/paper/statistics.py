"""The statistics of the findings: bootstrap streams and replicates, percentile intervals, verdicts.

**Resampling.** 95% percentile bootstrap (1,000 resamples) of a cell's normalised median. Each
stream is derived from one root seed and a role key (spec, "Randomness has roles"), drawn in
fixed blocks of :data:`CHUNK`, so a cell's interval does not depend on which other cells exist
and reruns give identical bytes. The reference is resampled too and the normalisation recomputed
in every resample with the tables' own function (``rvae.paper.cells.normalise_cell``).

**Verdicts** of an ordering ``a < b`` or ``a > b``, from the interval of ``a - b``: wholly on the
claimed side of 0: ``reproduced``; wholly on the other side: ``opposite``. Interval includes 0:
the point estimate on the claimed side gives ``same direction, not significant``, otherwise
(opposite sign or exactly 0) ``inconclusive``. A near tie (``~``) is ``reproduced`` when the whole
interval lies within ``+-band``, ``opposite`` when it lies wholly outside, ``inconclusive``
otherwise. A text claim holds for every member (the text says "every dataset", "both", "all"),
so over its evaluated members (not ``not run``, ``not comparable``, ``budget-sensitive``, ``paper
suspect``): any ``opposite`` ->
``opposite``; all ``reproduced`` -> ``reproduced``; else any ``inconclusive`` -> ``inconclusive``;
else ``same direction, not significant``. With no evaluated member: ``not run`` if a member was
not run, ``paper suspect`` if every member is, else ``not comparable``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rvae.paper import cells
from rvae.seeds import role_stream

REPRODUCED = "reproduced"
SAME_NS = "same direction, not significant"
OPPOSITE = "opposite"
INCONCLUSIVE = "inconclusive"
NOT_RUN = "not run"
NOT_COMPARABLE = "not comparable"
# the full budget's and the half budget's verdicts contradict each other (spec, "Where no plateau
# comes", item 3): counted with the run's own failures
BUDGET_SENSITIVE = "budget-sensitive"
# the paper's reference is suspect or its medians are equal: scored on our side, counted apart
PAPER_SUSPECT = "paper suspect"
VERDICTS = (REPRODUCED, SAME_NS, OPPOSITE, INCONCLUSIVE, BUDGET_SENSITIVE, NOT_COMPARABLE, NOT_RUN, PAPER_SUSPECT)
# verdicts that decide nothing about the claim: a text claim rests on its other members
UNDECIDED = (NOT_RUN, NOT_COMPARABLE, BUDGET_SENSITIVE, PAPER_SUSPECT)
# verdicts whose interval excludes 0 (or a near tie's band decides): a contradiction needs one
DECISIVE = (REPRODUCED, OPPOSITE)

N_RESAMPLES = 1000
LEVEL = 0.95
ROOT_SEED = 0
CHUNK = 50  # resamples drawn per block: fixed, so the streams never depend on data size


def resample_indices(key: str, n: int, n_resamples: int = N_RESAMPLES, root: int = ROOT_SEED) -> Iterator[np.ndarray]:
    """Blocks of ``CHUNK`` rows, each row the indices of one resample with replacement of ``n``
    units, from the stream of the role ``key`` (``rvae.seeds.bootstrap_role``; spec, "Randomness has roles")."""
    if n < 1:
        raise ValueError(f"cannot resample {n} units (stream {key!r})")
    rng = np.random.default_rng(role_stream(root, key))
    for start in range(0, n_resamples, CHUNK):
        yield rng.integers(0, n, size=(min(CHUNK, n_resamples - start), n))


class ResampleStreams:
    """Index blocks per stream key, kept in memory when small (they are reused by many cells)."""

    def __init__(self, n_resamples: int = N_RESAMPLES, root: int = ROOT_SEED):
        self.n_resamples, self.root, self.cache = n_resamples, root, {}

    def blocks(self, key: str, n: int) -> list[np.ndarray] | Iterator[np.ndarray]:
        if (key, n) in self.cache:
            return self.cache[(key, n)]
        blocks = resample_indices(key, n, self.n_resamples, self.root)
        if n * self.n_resamples <= 2_000_000:
            blocks = self.cache[(key, n)] = list(blocks)
        return blocks


def normalised_median_replicates(metric: str, values, reference, values_idx, reference_idx) -> np.ndarray:
    """One normalised median per resample (row of the index arrays); the reference median recomputed.

    ``values`` (n,), ``reference`` (m,), ``values_idx`` (B, n) and ``reference_idx`` (B, m) integer
    indices; returns (B,). The normalisation is the tables' (``rvae.paper.cells.normalise_cell``),
    row by row: a reference median <= 0 or non-finite gives NaN for LSD and the panel distances,
    as it cannot normalise.
    """
    medians = np.median(np.asarray(values, dtype=np.float64)[values_idx], axis=1)
    reference_medians = np.median(np.asarray(reference, dtype=np.float64)[reference_idx], axis=1)
    return cells.normalise_cell(metric, medians, reference_medians)


def percentile_interval(replicates, level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap interval; NaN if any replicate is NaN, infinite ends kept."""
    replicates = np.asarray(replicates, dtype=np.float64)
    if replicates.size == 0 or np.isnan(replicates).any():
        return float("nan"), float("nan")
    tail = (100.0 - round(100.0 * level, 9)) / 2.0  # 2.5 exactly for 95%, not 2.5000000000000022
    with np.errstate(invalid="ignore"):
        q = np.percentile(replicates, [tail, 100.0 - tail])
        # interpolating between two equal infinities gives NaN; the quantile is that infinity
        q = np.where(np.isnan(q), np.percentile(replicates, [tail, 100.0 - tail], method="nearest"), q)
    return float(q[0]), float(q[1])



def definite(estimate: float, low: float, high: float) -> bool:
    """An estimate and interval a verdict can rest on: finite, or infinite by design with one sign
    throughout (bit-identical same-seed runs give RV = -inf: the difference is -inf in every
    resample, a degenerate interval whose sign is certain)."""
    values = np.array([estimate, low, high], dtype=np.float64)
    if np.isnan(values).any():
        return False
    return bool(np.isfinite(values).all() or (values < 0).all() or (values > 0).all())


def ordering_verdict(direction: str, estimate: float, low: float, high: float) -> str:
    """``direction`` is the ordering claimed for a vs b; ``estimate`` and ``[low, high]`` are a - b
    (finite, or infinite with a definite sign: :func:`definite`)."""
    if direction not in ("<", ">"):
        raise ValueError(f"an ordering is '<' or '>', got {direction!r}")
    if not definite(estimate, low, high):
        raise ValueError(f"verdict needs a finite (or definitely signed) estimate and interval, got {estimate}, [{low}, {high}]")
    claimed = -1 if direction == "<" else 1
    if low > 0 or high < 0:
        return REPRODUCED if (1 if low > 0 else -1) == claimed else OPPOSITE
    return SAME_NS if np.sign(estimate) == claimed else INCONCLUSIVE


def similar_verdict(low: float, high: float, band: float) -> str:
    """A near tie holds when the whole interval of a - b lies within ``+-band``."""
    if not all(np.isfinite([low, high, band])):
        raise ValueError(f"verdict needs a finite interval and band, got [{low}, {high}], {band}")
    if -band <= low and high <= band:
        return REPRODUCED
    if low > band or high < -band:
        return OPPOSITE
    return INCONCLUSIVE


def budgets_contradict(full: str, half: str, full_difference: float, half_difference: float, direction: str) -> bool:
    """The half budget contradicts the full one (spec, "Where no plateau comes", item 3): the two
    differences have opposite signs and at least one verdict excludes 0; for a near tie, one
    budget's interval lies within the band and the other's wholly outside it."""
    if full not in VERDICTS[:4] or half not in VERDICTS[:4]:
        return False
    if direction == "~":
        return {full, half} == {REPRODUCED, OPPOSITE}
    opposite_signs = np.sign(full_difference) * np.sign(half_difference) < 0
    return bool(opposite_signs and (full in DECISIVE or half in DECISIVE))


def aggregate_verdict(member_verdicts) -> str:
    """A text claim holds for every member it rests on (module docstring)."""
    member_verdicts = list(member_verdicts)
    evaluated = [v for v in member_verdicts if v not in UNDECIDED]
    if not evaluated:
        if NOT_RUN in member_verdicts or not member_verdicts:
            return NOT_RUN
        return PAPER_SUSPECT if all(v == PAPER_SUSPECT for v in member_verdicts) else NOT_COMPARABLE
    if OPPOSITE in evaluated:
        return OPPOSITE
    if all(v == REPRODUCED for v in evaluated):
        return REPRODUCED
    return INCONCLUSIVE if INCONCLUSIVE in evaluated else SAME_NS

