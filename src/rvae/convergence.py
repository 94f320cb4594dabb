"""The paper's stopping rule (Appendix B) and the convergence diagnostics every run records.

Appendix B: "letting joint data models train until loss plateaued and then using that same
number of epochs for each of the second-phase comparison models". The spec fixes what a plateau
is ("The stopping rule"): the validation negative ELBO, smoothed by an exponential moving
average, improved by less than ``tol`` (relative) over the last ``window`` epochs. A table is
only as good as the training behind it, so every run also says whether it converged and how
many latent dimensions it uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlateauRule:
    """When a loss curve counts as flat (spec defaults)."""

    max_epochs: int = 300  # the cap: a run that reaches it without a plateau is not converged
    min_epochs: int = 10  # no plateau is declared before this epoch
    window: int = 10  # epochs the smoothed loss is compared across
    tol: float = 0.005  # relative improvement over ``window`` below which the curve is flat
    alpha: float = 0.3  # weight of the newest epoch in the moving average

    def __post_init__(self):
        if not (self.window >= 1 and 1 <= self.min_epochs <= self.max_epochs):
            raise ValueError(f"need 1 <= window and 1 <= min_epochs <= max_epochs, got {self}")
        if not (0 < self.alpha <= 1 and self.tol >= 0):
            raise ValueError(f"need 0 < alpha <= 1 and tol >= 0, got alpha={self.alpha}, tol={self.tol}")


# A latent dimension is active when its posterior means vary across the training points by more
# than this (spec, "Convergence diagnostics"); with a N(0, I) prior an unused dimension sits at 0.
ACTIVE_VARIANCE = 0.01


def ema(values, alpha: float) -> np.ndarray:
    """Exponential moving average, starting from the first value."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    for i, value in enumerate(values):
        out[i] = value if i == 0 else alpha * value + (1 - alpha) * out[i - 1]
    return out


def relative_improvement(curve: np.ndarray, epoch: int, window: int) -> float:
    """How much the smoothed curve fell over the ``window`` epochs up to ``epoch`` (1-based)."""
    before, now = curve[epoch - 1 - window], curve[epoch - 1]
    return float((before - now) / max(abs(before), 1e-12))


def plateau_epoch(losses, rule: PlateauRule) -> int | None:
    """The first epoch ``e >= min_epochs`` (1-based) at which the curve is flat; None if none is.

    ``losses`` are per-epoch validation losses, lower is better. Only the first ``max_epochs``
    count. A curve that rises also counts as flat (improvement below ``tol``).
    """
    curve = ema(np.asarray(losses, dtype=np.float64)[: rule.max_epochs], rule.alpha)
    if not np.all(np.isfinite(curve)):
        raise ValueError("the loss curve holds NaN or infinite values; no plateau can be read from it")
    for epoch in range(max(rule.min_epochs, rule.window + 1), len(curve) + 1):
        if relative_improvement(curve, epoch, rule.window) < rule.tol:
            return epoch
    return None


def active_dimensions(latent_means: np.ndarray, threshold: float = ACTIVE_VARIANCE) -> int:
    """Latent dimensions whose posterior means vary across points by more than ``threshold``."""
    latent_means = np.asarray(latent_means, dtype=np.float64)
    if latent_means.ndim != 2 or len(latent_means) < 2:
        raise ValueError(f"need an (N >= 2, k) array of posterior means, got shape {latent_means.shape}")
    return int((latent_means.var(axis=0) > threshold).sum())


def is_collapsed(latent_means: np.ndarray) -> bool:
    """No active dimension over these points (spec's "collapsed"): the metrics that fit or
    compare shapes are undefined there, so they give NaN rather than numbers made of rounding."""
    latent_means = np.asarray(latent_means)
    return len(latent_means) < 2 or active_dimensions(latent_means) == 0


def diagnostics(history: list[dict], latent_means: np.ndarray, rule: PlateauRule) -> dict:
    """What every run records beside its history (spec, "Convergence diagnostics").

    ``converged``: the run's smoothed validation loss (the training loss when it had no
    validation set) reached a plateau by the rule's definition at or before its last epoch;
    ``plateau_epoch`` says where. A curve that has once been flat by the rule may wobble
    afterwards (SGD noise is about a per cent on small data), so the run is judged by whether it
    got there, not by its last window alone. The validation loss is the signal because it is
    evaluated with fixed noise, while the training loss carries each epoch's fresh
    reparameterisation noise. ``collapsed``: no latent dimension is active (the posterior
    equals the prior).
    """
    losses = np.asarray([r["loss"] for r in history], dtype=np.float64)
    judged = [r.get("val_neg_elbo", r["loss"]) for r in history]
    epochs = len(losses)
    tenth = max(1, epochs // 10)
    last_change = float((losses[-1 - tenth] - losses[-1]) / max(abs(losses[-1 - tenth]), 1e-12)) if epochs > tenth else float("nan")
    reached = None
    if epochs >= rule.min_epochs:
        reached = plateau_epoch(judged, PlateauRule(epochs, rule.min_epochs, rule.window, rule.tol, rule.alpha))
    active = active_dimensions(latent_means)
    return {
        "epochs": epochs,
        "relative_change_last_tenth": last_change,
        "active_dims": active,
        "collapsed": active < 1,
        "plateau_epoch": reached,
        "converged": reached is not None,
        # the arithmetic the run trained in (a history without the column ran fp32)
        "precision": str(history[-1].get("precision") or "fp32") if history else "fp32",
        # the weights' layout, which changes rounding as precision does (histories before it: contiguous)
        "memory_format": str(history[-1].get("memory_format") or "contiguous") if history else "contiguous",
    }


def chosen_epochs(history: list[dict], rule: PlateauRule) -> dict:
    """The epoch count the joint template's plateau gives every other model of its dataset.

    The template stopped at its plateau epoch (``stop_at_plateau``); one that reached the cap
    without a plateau gives the cap and is *not converged*.
    """
    reached = plateau_epoch([r["val_neg_elbo"] for r in history], rule)
    return {
        "epochs": int(reached if reached is not None else len(history)),
        "plateau_epoch": reached,
        "converged": reached is not None,
        "rule": {"max_epochs": rule.max_epochs, "min_epochs": rule.min_epochs, "window": rule.window, "tol": rule.tol, "alpha": rule.alpha},
    }


def stop_at_plateau(rule: PlateauRule):
    """A trainer's ``stop`` callback: true once the validation loss has reached the rule's plateau."""
    return lambda history: plateau_epoch([r["val_neg_elbo"] for r in history], rule) is not None


def knn_accuracy(z_train: np.ndarray, y_train: np.ndarray, z_val: np.ndarray, y_val: np.ndarray, k: int = 5) -> float:
    """Validation accuracy of a k-nearest-neighbour classifier on latent means (do the latents carry the labels?)."""
    from sklearn.neighbors import KNeighborsClassifier

    if len(z_train) == 0 or len(z_val) == 0:
        raise ValueError("kNN accuracy needs training and validation points")
    classifier = KNeighborsClassifier(n_neighbors=min(k, len(z_train))).fit(np.asarray(z_train, np.float64), y_train)
    return float((classifier.predict(np.asarray(z_val, np.float64)) == np.asarray(y_val)).mean())
