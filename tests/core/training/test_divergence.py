"""Divergence that never reaches inf: the loss explodes, or the run ends worse than a constant
guess. Issue 14: Adam at lr 1e6, SGD at 1e3, RMSprop at 1e8 on a two-class problem ended
"completed" with epoch losses of 1e19–1e27."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnstudio.core.engine import Network
from nnstudio.core.engine.losses import get_loss
from nnstudio.core.training import TrainingConfig, train
from nnstudio.core.training.divergence import DivergenceWatch, trivial_loss
from nnstudio.core.training.evaluate import prepare_targets
from nnstudio.core.training.events import EpochEnd, TrainingFinished

from .data import mlp, xor


def run(net, cfg, data, val=None):
    return list(train(net, cfg, data, val))


# -- the constant-guess reference ------------------------------------------------------------


def _constant_loss(loss_name, y, constant):
    """The engine's own loss of predicting ``constant`` for every sample."""
    yy = prepare_targets(y, loss_name, np.float64)
    if loss_name == "cross_entropy" and yy.ndim == 1:
        pred = np.tile(constant, (len(yy), 1))
    else:
        pred = np.tile(constant, (len(yy), 1)).reshape(yy.shape)
    return get_loss(loss_name).value(pred, yy)


@pytest.mark.parametrize("loss_name,y,best", [
    ("cross_entropy", np.array([0, 0, 0, 1, 2, 2]), np.array([3, 1, 2]) / 6),
    ("binary_cross_entropy", np.array([[0.0], [1.0], [1.0], [1.0]]), np.array([0.75])),
    ("mse", np.array([[1.0, 10.0], [3.0, 20.0], [8.0, 60.0]]), np.array([4.0, 30.0])),
    ("mae", np.array([[1.0], [3.0], [8.0], [9.0], [100.0]]), np.array([8.0])),
])
def test_trivial_loss_is_the_best_constant_guess(loss_name, y, best):
    value = trivial_loss(y, loss_name)
    assert value == pytest.approx(_constant_loss(loss_name, y, best), rel=1e-9)
    # Any other constant does worse.
    rng = np.random.default_rng(0)
    for _ in range(20):
        other = best + rng.normal(scale=0.05, size=best.shape) * (best if loss_name in (
            "mse", "mae") else 1)
        if loss_name in ("cross_entropy",):
            other = np.abs(other) / np.abs(other).sum()
        if loss_name == "binary_cross_entropy":
            other = np.clip(other, 0.01, 0.99)
        assert _constant_loss(loss_name, y, other) >= value - 1e-12


def test_trivial_loss_of_two_balanced_classes_is_log_2():
    assert trivial_loss(np.array([0, 1] * 50), "cross_entropy") == pytest.approx(math.log(2))


# -- runs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", [
    {"type": "adam", "learning_rate": 1e6},
    {"type": "sgd", "learning_rate": 1e3},
    {"type": "rmsprop", "learning_rate": 1e8},
])
def test_exploding_but_finite_loss_is_diverged(optimizer):
    x, y = xor(200)
    net = Network(mlp(hidden=8), (2,), seed=0)
    start = net.params.copy()
    cfg = TrainingConfig(loss="cross_entropy", optimizer=optimizer, epochs=20, batch_size=16)
    events = run(net, cfg, (x, y))
    done = events[-1]
    assert isinstance(done, TrainingFinished) and done.reason == "diverged"
    assert "training diverged at epoch" in done.message
    assert "a constant guess (0.69" in done.message and "lower learning rate" in done.message
    # Stopped at the first exploded epoch, with the weights of the start (nothing improved).
    assert len([e for e in events if isinstance(e, EpochEnd)]) == done.epochs_run
    np.testing.assert_array_equal(net.params, start)


def test_a_run_that_ends_worse_than_a_constant_guess_is_diverged():
    x, y = xor(200)
    net = Network(mlp(hidden=8), (2,), seed=0)
    watch = DivergenceWatch.start(net, x, y, "cross_entropy")
    cfg = TrainingConfig(loss="cross_entropy", optimizer={"type": "adam", "learning_rate": 10},
                         epochs=30, batch_size=16)
    done = run(net, cfg, (x, y))[-1]
    assert done.reason == "diverged" and done.epochs_run == 30
    assert done.message.startswith("training failed: after 30 epoch(s) the training loss is")
    # The loss of the weights kept (early stopping restores its best epoch), ≈ 3–16 against
    # log 2 for a constant guess; which epoch is best depends on this chaotic run's rounding.
    kept = done.history["loss"][(done.best_epoch or done.epochs_run) - 1]
    assert kept > 1.5 * watch.trivial and kept > 1.5 * watch.initial
    assert f"{kept:.3g}" in done.message and f"({watch.trivial:.3g})" in done.message


@pytest.mark.parametrize("epochs,optimizer", [
    (1, {"type": "sgd", "learning_rate": 0.001}),  # has not learned yet: not a failure
    (40, {"type": "adam", "learning_rate": 0.01}),
    (40, {"type": "sgd", "learning_rate": 0.5, "momentum": 0.9}),
])
def test_healthy_runs_are_not_flagged(epochs, optimizer):
    x, y = xor(400)
    net = Network(mlp(hidden=8), (2,), seed=1)
    cfg = TrainingConfig(loss="cross_entropy", optimizer=optimizer, epochs=epochs,
                         batch_size=16)
    assert run(net, cfg, (x, y), (x[:50], y[:50]))[-1].reason == "completed"


def test_regression_with_unscaled_targets_is_measured_against_their_own_variance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([[3.0], [-2.0], [1.0]], np.float32)) * 1000 + 5000  # raw units
    net = Network(mlp(n_in=3, n_out=1, head=None, act="ReLU"), (3,), seed=0)
    cfg = TrainingConfig(loss="mse", optimizer={"type": "adam", "learning_rate": 0.05},
                         epochs=30, batch_size=16)
    assert run(net, cfg, (x, y))[-1].reason == "completed"  # a loss of millions is normal here


@pytest.mark.parametrize("trivial,initial,loss,expected", [
    (0.69, 1.2, 1e4, True), (0.69, 1.2, 1e3, False), (0.0, 0.0, 1e9, False),
    (math.nan, 1.0, 1e4, True), (0.69, math.nan, 1e3, True),
])
def test_explosion_threshold(trivial, initial, loss, expected):
    assert (DivergenceWatch(trivial, initial).exploded(3, loss, 0.1) is not None) == expected


@pytest.mark.parametrize("trivial,initial,final,expected", [
    (0.69, 1.2, 8.0, True),   # clearly worse than both
    (0.69, 1.2, 0.9, False),  # improved on its start: just not learned yet
    (1.08, 1.72, 1.73, False),  # started worse than a constant guess and barely moved
    (0.69, 9.0, 8.0, False),
    (0.69, 0.7, 1.0, False),  # within 1.5 × the constant guess
    (0.0, 0.0, 1.0, False),   # constant targets: no reference
])
def test_end_rule(trivial, initial, final, expected):
    assert (DivergenceWatch(trivial, initial).ended_worse(5, final, 0.1) is not None) == expected
