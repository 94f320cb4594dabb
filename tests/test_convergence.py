"""The stopping rule (paper, Appendix B; spec, "The stopping rule") and convergence diagnostics."""

import numpy as np
import pytest
import torch

from rvae.convergence import PlateauRule, active_dimensions, diagnostics, ema, plateau_epoch
from rvae.models import ArchitectureSpec, build_vae
from rvae.inference import encode_means
from rvae.trainer import TrainConfig, Trainer

RULE = PlateauRule(max_epochs=200, min_epochs=10, window=10, tol=0.005, alpha=0.3)


def test_ema_by_hand():
    np.testing.assert_allclose(ema([10.0, 0.0, 0.0], 0.3), [10.0, 7.0, 4.9])


def test_plateau_of_an_exponential_decay_is_where_the_window_gain_drops_below_tol():
    epochs = np.arange(1, 201)
    losses = 100 + 50 * np.exp(-epochs / 8.0)
    found = plateau_epoch(losses, RULE)
    # brute force: the first epoch >= 11 whose smoothed value fell < 0.5 % over 10 epochs
    curve = ema(losses, 0.3)
    expected = next(e for e in range(11, 201) if (curve[e - 11] - curve[e - 1]) / curve[e - 11] < 0.005)
    assert found == expected and 11 <= found < 60


def test_a_curve_still_falling_at_the_cap_has_no_plateau():
    losses = 1000.0 / np.arange(1, 51) ** 0.5  # falls > 0.5 % per 10 epochs throughout
    assert plateau_epoch(losses, PlateauRule(max_epochs=50)) is None


def test_no_plateau_before_min_epochs_and_noisy_flat_curves_stop():
    flat = np.full(40, 5.0)
    assert plateau_epoch(flat, PlateauRule(max_epochs=40, min_epochs=25)) == 25
    rng = np.random.default_rng(0)
    noisy = 50 + rng.normal(0, 0.05, 100)
    assert plateau_epoch(noisy, RULE) == 11


def test_non_finite_losses_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        plateau_epoch([3.0, float("nan"), 2.0], RULE)


def test_active_dimensions_and_collapse():
    rng = np.random.default_rng(1)
    z = np.column_stack([rng.normal(0, 1, 500), rng.normal(0, 0.01, 500), rng.normal(0, 0.5, 500)])
    assert active_dimensions(z) == 2  # variances 1, 1e-4, 0.25 against 0.01
    history = [{"loss": v} for v in np.linspace(10, 1, 30)]
    report = diagnostics(history, np.zeros((50, 3)), RULE)
    assert report["collapsed"] and report["active_dims"] == 0 and not report["converged"]


def test_diagnostics_of_a_real_short_and_long_run():
    """An easy problem reaches the plateau; the same problem stopped early does not."""
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[3.0, 0, 0, 0, 0], [-3.0, 0, 0, 0, 0]])
    x = centres[torch.randint(0, 2, (512,), generator=g)] + 0.3 * torch.randn(512, 5, generator=g)
    spec = ArchitectureSpec("mlp", (5,), 2)
    histories = {}
    for epochs in (3, 60, 200):
        model = build_vae(spec, seed=0)
        history = Trainer(model, TrainConfig(epochs=epochs, batch_size=64, seed=0)).fit(x, x_val=x[:128])
        histories[epochs] = history
        report = diagnostics(history, encode_means(model, x), RULE)
        assert report["active_dims"] >= 1 and not report["collapsed"]
        assert report["converged"] == (epochs == 200), report
    stop = plateau_epoch([r["val_neg_elbo"] for r in histories[200]], RULE)
    assert stop == diagnostics(histories[200], np.eye(2), RULE)["plateau_epoch"] and 60 < stop < 200


def test_the_joint_template_stops_at_its_plateau_or_at_the_cap():
    """Appendix B on real training: an easy problem stops early, the same problem with a low cap does not plateau."""
    from rvae.convergence import chosen_epochs
    from rvae.data.common import RawDataset
    from rvae.data.store import prepare
    from rvae.paper.experiment import train_template

    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[3.0, 0, 0, 0, 0], [-3.0, 0, 0, 0, 0]])
    labels = torch.randint(0, 2, (1000,), generator=g)
    x = (centres[labels] + 0.3 * torch.randn(1000, 5, generator=g)).numpy()
    data = prepare(RawDataset("easy", x, labels.numpy(), np.where(labels.numpy() == 0, "D1", "D2"), ["a", "b"]))
    spec = ArchitectureSpec("mlp", (5,), 2)
    for cap in (300, 15):
        rule = PlateauRule(max_epochs=cap)
        _, history = train_template(data, "joint", spec, TrainConfig(epochs=cap, batch_size=64, seed=0), rule=rule)
        choice = chosen_epochs(history, rule)
        assert choice["epochs"] == len(history)
        if cap == 300:
            assert choice["converged"] and 11 <= len(history) < 300
        else:
            assert not choice["converged"] and len(history) == 15
