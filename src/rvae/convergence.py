"""The plateau rule that sets a dataset's training budget, and the convergence diagnostics every run records.

The paper (Appendix B) trains the joint template "until loss plateaued" and gives every comparison
model the same budget. The spec ("Training budget: steps, set by the joint template") counts that
budget in optimiser steps and fixes what a plateau is: the validation negative ELBO is recorded
every ``eval_every`` steps; with ``best(t)`` the lowest value recorded up to step ``t``, the curve
has plateaued at ``t`` when ``t >= min_steps`` and ``best(t - w(t)) - best(t) < tol * |best(t)|``,
with a window ``w(t) = max(min_window, patience * t)`` that grows with training, so a flat stretch
must last a fixed share of all training so far before it counts as the end. A table is only as
good as the training behind it, so every run is also judged on its own curve.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from rvae import defaults

# What a run trains until: a step count (an int), or this word, the plateau rule (its cap: ``max_steps``).
PLATEAU = "plateau"


@dataclass(frozen=True)
class PlateauRule:
    """When a validation curve counts as flat; the defaults are ``rvae.defaults.PLATEAU``."""

    eval_every: int = defaults.PLATEAU["eval_every"]  # optimiser steps between validation evaluations (the step grid)
    min_steps: int = defaults.PLATEAU["min_steps"]  # no plateau is declared before this step
    min_window: int = defaults.PLATEAU["min_window"]  # the shortest window, in steps
    patience: float = defaults.PLATEAU["patience"]  # the window as a share of the steps so far
    tol: float = defaults.PLATEAU["tol"]  # relative improvement of the best value over the window below which the curve is flat
    max_steps: int = defaults.PLATEAU["max_steps"]  # the cap: a curve without a plateau by then is not converged

    def __post_init__(self):
        for name in ("eval_every", "min_steps", "min_window", "max_steps"):
            if not isinstance(getattr(self, name), (int, np.integer)) or getattr(self, name) < 1:
                raise ValueError(f"plateau.{name} must be a positive integer, got {getattr(self, name)!r}")
        if not 0 < self.patience < 1:
            raise ValueError(f"plateau.patience must lie in (0, 1), got {self.patience}")
        if not (np.isfinite(self.tol) and self.tol >= 0):
            raise ValueError(f"plateau.tol must be a finite number >= 0, got {self.tol}")
        if self.min_steps > self.max_steps:
            raise ValueError(f"plateau.min_steps ({self.min_steps}) is above plateau.max_steps ({self.max_steps})")
        if self.first_judgement > self.max_steps:
            raise ValueError(
                f"plateau.max_steps ({self.max_steps}) is below the first step at which the rule can judge a curve "
                f"({self.first_judgement}: a window of plateau.min_window = {self.min_window} steps after the first "
                f"evaluation at step {self.eval_every}); the rule could never hold"
            )

    @property
    def first_judgement(self) -> int:
        """The first grid step at which the rule can hold: ``t >= min_steps`` with a value
        recorded at or before ``t - w(t)`` (the first is at ``eval_every``)."""
        t = max(self.min_steps, self.eval_every)
        t += -t % self.eval_every
        while t - self.window(t) < self.eval_every:
            t += self.eval_every
        return t

    def window(self, step: int) -> int:
        """``w(t)``: the steps a flat stretch must last at step ``t``."""
        return max(self.min_window, math.ceil(self.patience * step))

    def as_dict(self) -> dict:
        return asdict(self)


def _curve(steps, values) -> tuple[np.ndarray, np.ndarray]:
    steps = np.asarray(steps, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if steps.shape != values.shape or steps.ndim != 1:
        raise ValueError(f"need one value per recorded step, got {steps.shape} steps and {values.shape} values")
    if not np.all(np.isfinite(values)):
        raise ValueError("the loss curve holds NaN or infinite values; no plateau can be read from it")
    if len(steps) > 1 and not np.all(np.diff(steps) > 0):
        raise ValueError("the recorded steps must increase")
    return steps, values


def improvement(steps, values, i: int, rule: PlateauRule) -> float:
    """``(best(t - w(t)) - best(t)) / |best(t)|`` at the ``i``-th recorded step ``t``; ``inf`` when
    nothing was recorded as far back as ``t - w(t)`` (a curve too short to judge is not flat)."""
    steps, values = _curve(steps, values)
    best = np.minimum.accumulate(values)
    t = int(steps[i])
    j = int(np.searchsorted(steps, t - rule.window(t), side="right")) - 1
    if j < 0:
        return float("inf")
    return float((best[j] - best[i]) / max(abs(best[i]), 1e-12))


def flat_at(steps, values, i: int, rule: PlateauRule) -> bool:
    """The rule's test at the ``i``-th recorded step, ``min_steps`` aside."""
    return improvement(steps, values, i, rule) < rule.tol


def plateau_step(steps, values, rule: PlateauRule, cap: int | None = None) -> int | None:
    """The first recorded step ``t`` with ``min_steps <= t <= cap`` (default ``max_steps``) at which
    the curve is flat; None if none is.

    ``values`` are validation losses (lower is better) recorded at ``steps``. A curve that rises
    also counts as flat: its best value stops improving.
    """
    steps, values = _curve(steps, values)
    cap = rule.max_steps if cap is None else cap
    best = np.minimum.accumulate(values)
    for i, t in enumerate(steps):
        if t > cap:
            break
        if t < rule.min_steps:
            continue
        j = int(np.searchsorted(steps, t - rule.window(int(t)), side="right")) - 1
        if j >= 0 and best[j] - best[i] < rule.tol * abs(best[i]):
            return int(t)
    return None


# A latent dimension is active when its posterior means vary across the training points by more
# than this (spec, "Training budget", item 4); with a N(0, I) prior an unused dimension sits at 0.
ACTIVE_VARIANCE = 0.01


def judged_curve(history: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) the rule reads from a history: the validation negative ELBO (fixed noise),
    or the training loss of a run without a validation set."""
    steps = [int(r["step"]) for r in history]
    values = [r.get("val_neg_elbo", r["loss"]) for r in history]
    return np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)


def active_dimensions(latent_means: np.ndarray, threshold: float = ACTIVE_VARIANCE) -> int:
    """Latent dimensions whose posterior means vary across points by more than ``threshold``."""
    latent_means = np.asarray(latent_means, dtype=np.float64)
    if latent_means.ndim != 2 or len(latent_means) < 2:
        raise ValueError(f"need an (N >= 2, k) array of posterior means, got shape {latent_means.shape}")
    return int((latent_means.var(axis=0) > threshold).sum())


def is_collapsed(latent_means: np.ndarray) -> bool:
    """No active dimension over these points (collapsed: spec, "Training budget", item 4): the metrics that fit or
    compare shapes are undefined there, so they give NaN rather than numbers made of rounding."""
    latent_means = np.asarray(latent_means)
    return len(latent_means) < 2 or active_dimensions(latent_means) == 0


def diagnostics(history: list[dict], latent_means: np.ndarray, rule: PlateauRule) -> dict:
    """What every run records beside its history (spec, "Training budget", item 4).

    ``converged``: the rule holds at the run's last step on its own validation curve (its best
    value improved by less than ``tol`` over the last ``w(S)`` steps); ``improvement`` is that
    relative improvement; ``plateau_step`` is where the rule first held, had the run stopped on
    it. ``collapsed``: no latent dimension is active (the posterior equals the prior).
    """
    if not history:
        raise ValueError("an empty history has no convergence to report")
    steps, values = judged_curve(history)
    last = improvement(steps, values, len(steps) - 1, rule)
    active = active_dimensions(latent_means)
    return {
        "steps": int(steps[-1]),
        "epochs": float(history[-1].get("epoch", np.nan)),
        "improvement": last,
        "active_dims": active,
        "collapsed": active < 1,
        "plateau_step": plateau_step(steps, values, rule, cap=int(steps[-1])),
        "converged": converged_at_end(steps, values, rule),
        # the arithmetic and the weights' layout the run trained in (both change rounding)
        "precision": str(history[-1].get("precision") or "fp32"),
        "memory_format": str(history[-1].get("memory_format") or "contiguous"),
    }


def budget(history: list[dict], rule: PlateauRule, steps: int | None = None) -> dict:
    """The training budget the joint template's curve gives every other model of its dataset.

    Under the plateau rule (``steps`` None) the template trained until the rule held; ``steps``
    is the step at which it first held. A template that reached ``max_steps`` without a plateau
    gives its last step and is *not converged*: its dataset's cells say so. Under a fixed budget
    (``steps`` a number, ``source`` "fixed") the template trained that many steps and the budget
    is *converged* only when the template's own curve is flat at its last step, as any run's is.
    """
    curve_steps, values = judged_curve(history)
    reached = plateau_step(curve_steps, values, rule)
    common = {"plateau_step": reached, "rule": rule.as_dict()}
    if steps is None:
        return {"steps": int(reached if reached is not None else curve_steps[-1]), "source": PLATEAU, "converged": reached is not None, **common}
    if int(curve_steps[-1]) != int(steps):
        raise ValueError(f"the joint template's history ends at step {int(curve_steps[-1])}, not at its fixed budget of {int(steps)} steps")
    judged = int(steps) >= rule.first_judgement  # a shorter budget cannot be judged: not converged
    return {"steps": int(steps), "source": "fixed", "judged": judged, "converged": judged and converged_at_end(curve_steps, values, rule), **common}


def converged_at_end(steps, values, rule: PlateauRule) -> bool:
    """The rule holds at the curve's last step (spec, "Training budget", item 4): at least
    ``min_steps`` trained and the best value improved by less than ``tol`` over the last window."""
    steps, values = _curve(steps, values)
    return bool(int(steps[-1]) >= rule.min_steps and improvement(steps, values, len(steps) - 1, rule) < rule.tol)


def knn_accuracy(z_train: np.ndarray, y_train: np.ndarray, z_val: np.ndarray, y_val: np.ndarray, k: int = 5) -> float:
    """Validation accuracy of a k-nearest-neighbour classifier on latent means (do the latents carry the labels?)."""
    from sklearn.neighbors import KNeighborsClassifier

    if len(z_train) == 0 or len(z_val) == 0:
        raise ValueError("kNN accuracy needs training and validation points")
    classifier = KNeighborsClassifier(n_neighbors=min(k, len(z_train))).fit(np.asarray(z_train, np.float64), y_train)
    return float((classifier.predict(np.asarray(z_val, np.float64)) == np.asarray(y_val)).mean())
