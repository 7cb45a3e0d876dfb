"""The loss landscape slice: centred on the current loss, exact along chosen weights."""

import numpy as np
import pytest

from nnstudio.core.insight import (
    WeightPath,
    loss_slice,
    param_index,
    param_label,
    pca_directions,
    random_directions,
    weight_directions,
)
from nnstudio.core.training import TrainingConfig, evaluate, train
from tests.core.insight.nets import mlp, neuron, xor_data


def test_origin_equals_current_loss_and_weights_restored():
    net = mlp(widths=(6,))
    x, y = xor_data()
    before = net.params.copy()
    s = loss_slice(net, x, y, "cross_entropy", random_directions(net, 3), resolution=10)
    assert s.loss.shape == (11, 11)  # made odd so the centre is the current weights
    current = evaluate(net, x, y, "cross_entropy")["loss"]
    assert s.loss[5, 5] == current
    assert s.center_loss == current
    np.testing.assert_array_equal(net.params, before)


def test_two_chosen_weights_give_the_loss_with_those_weights_set():
    net = mlp(widths=(3,), out=None, n_out=1)
    x, _ = xor_data(50)
    y = x[:, :1] * 2.0
    a = param_index(net, "h1", "W", (0, 1))
    b = param_index(net, "out", "b", (0,))
    assert param_label(net, a) == "h1 W[0, 1]" and param_label(net, b) == "out b[0]"
    d = weight_directions(net, a, b)
    assert d.labels == ("w₀₁ (h1)", "b₀ (out)")
    s = loss_slice(net, x, y, "mse", d, span=0.5, resolution=5)
    w0, b0 = net.params[a], net.params[b]
    np.testing.assert_allclose(s.xs, w0 + np.linspace(-0.5, 0.5, 5))
    np.testing.assert_allclose(s.ys, b0 + np.linspace(-0.5, 0.5, 5))
    probe = mlp(widths=(3,), out=None, n_out=1)
    probe.params[...] = net.params
    probe.params[a], probe.params[b] = s.xs[4], s.ys[1]
    assert s.loss[1, 4] == pytest.approx(evaluate(probe, x, y, "mse")["loss"], rel=1e-12)


def test_salary_like_bowl_and_the_exact_training_path():
    net = neuron()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 1))
    y = 0.9 * x + 0.1 + rng.normal(scale=0.1, size=(30, 1))
    path = WeightPath()
    path.record(net.params)
    cfg = TrainingConfig(loss="mse", optimizer={"type": "sgd", "learning_rate": 0.1},
                         batch_size=30, epochs=40)
    for ev in train(net, cfg, (x, y)):
        if type(ev).__name__ == "BatchEnd":
            path.record(net.params)
    w, b = param_index(net, "lin", "W", (0, 0)), param_index(net, "lin", "b", (0,))
    s = loss_slice(net, x, y, "mse", weight_directions(net, w, b), resolution=21,
                   path=path.array())
    arr = path.array()
    np.testing.assert_allclose(s.path[:, 0], arr[:, w])
    np.testing.assert_allclose(s.path[:, 1], arr[:, b])
    # Gradient descent went downhill: the end is the lowest point of the slice, roughly.
    assert s.center_loss <= s.loss.min() + 1e-3
    assert s.xs.min() <= arr[:, w].min() and s.xs.max() >= arr[:, w].max()


def test_random_directions_are_filter_normalized_and_orthogonal():
    net = mlp(widths=(5,))
    d = random_directions(net, 0)
    W = net.param_views["h1"]["W"]
    sl = net.param_slices["h1/W"]
    dW = d.d1[sl].reshape(W.shape)
    np.testing.assert_allclose(np.linalg.norm(dW, axis=0), np.linalg.norm(W, axis=0))
    assert abs(d.d1 @ d.d2) < 1e-9 * np.linalg.norm(d.d1) * np.linalg.norm(d.d2)
    # Zero biases still get a direction of a typical weight's size.
    assert np.linalg.norm(d.d1[net.param_slices["h1/b"]]) > 0


def test_pca_directions_hold_the_path():
    net = mlp(widths=(4,))
    x, y = xor_data(64)
    path = WeightPath(max_points=16)
    cfg = TrainingConfig(loss="cross_entropy", optimizer={"type": "adam", "learning_rate": 0.05},
                         batch_size=16, epochs=10)
    for ev in train(net, cfg, (x, y)):
        if type(ev).__name__ == "BatchEnd":
            path.record(net.params)
    assert len(path) <= 17
    n = len(path)
    path.record(net.params)  # the same weights again: not a new point
    assert len(path) == n
    arr = path.array()
    np.testing.assert_array_equal(arr[-1], net.params)  # the newest snapshot is kept
    d = pca_directions(net, arr)
    s = loss_slice(net, x, y, "cross_entropy", d, resolution=7, path=arr)
    assert s.path.shape == (len(arr), 2)
    np.testing.assert_allclose(s.path[-1], 0.0, atol=1e-9)  # the path ends at the centre
    with pytest.raises(ValueError):
        pca_directions(net, arr[:2])
