"""The decision map and the fitted curve are the model's own predictions on the grid."""

import numpy as np
import pytest

from nnstudio.core.insight import decision_grid, fitted_curve, grid_axes, grid_points, padded_range
from tests.core.insight.nets import mlp


def test_grid_points_layout_row_major():
    pts = grid_points((0, 1), (10, 20), 3, n_features=2)
    xs, ys = grid_axes((0, 1), (10, 20), 3)
    grid = pts.reshape(3, 3, 2)
    for i in range(3):
        for j in range(3):
            assert tuple(grid[i, j]) == (xs[j], ys[i])


def test_softmax_map_equals_predict_on_the_grid():
    net = mlp(n_out=3)
    probs = decision_grid(net, None, (-2, 2), (-1, 3), resolution=17)
    pts = grid_points((-2, 2), (-1, 3), 17)
    expected = net.predict(pts).reshape(17, 17, 3)
    assert probs.shape == (17, 17, 3)
    np.testing.assert_array_equal(probs, expected)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0)


def test_sigmoid_map_gives_two_class_probabilities():
    net = mlp(out="Sigmoid", n_out=1)
    probs = decision_grid(net, None, (-1, 1), (-1, 1), resolution=10)
    p = net.predict(grid_points((-1, 1), (-1, 1), 10))[:, 0].reshape(10, 10)
    np.testing.assert_array_equal(probs[..., 1], p)
    np.testing.assert_allclose(probs[..., 0], 1 - p)


def test_more_features_fixed_at_means_and_preparation_applied():
    net = mlp(n_in=4, n_out=3)
    raw = np.random.default_rng(3).normal(5.0, 2.0, size=(50, 4))
    mean, std = raw.mean(axis=0), raw.std(axis=0)

    def prepare(x):  # a standardizing preparation, as the data layer fits one
        return (x - mean) / std

    probs = decision_grid(net, prepare, (0, 10), (1, 9), 12, features=(2, 0), fixed=mean)
    pts = np.tile(mean, (144, 1))
    xs, ys = grid_axes((0, 10), (1, 9), 12)
    gx, gy = np.meshgrid(xs, ys)
    pts[:, 2], pts[:, 0] = gx.ravel(), gy.ravel()
    np.testing.assert_allclose(probs, net.predict(prepare(pts)).reshape(12, 12, 3), atol=1e-12)
    # The two fixed features sit at their means: in prepared units, 0.
    with pytest.raises(ValueError):
        decision_grid(net, prepare, (0, 1), (0, 1), 5, features=(1, 1), fixed=mean)


def test_fitted_curve_is_the_regression_line_in_target_units():
    net = mlp(widths=(), out=None, n_in=1, n_out=1)

    class Prep:  # scales x and y like the salary example
        def transform_features(self, x):
            return (x - 5.0) / 3.0

        def inverse_transform_target(self, y):
            return y * 1000.0 + 70000.0

    xs, ys = fitted_curve(net, Prep(), (0, 10), resolution=11)
    w = net.param_views["out"]["W"][0, 0]
    b = net.param_views["out"]["b"][0]
    np.testing.assert_allclose(ys[:, 0], (w * (xs - 5) / 3 + b) * 1000 + 70000)
    assert xs[0] == 0 and xs[-1] == 10


def test_padded_range():
    assert padded_range(np.array([0.0, 10.0])) == (-1.0, 11.0)
    lo, hi = padded_range(np.array([3.0, 3.0]))
    assert lo < 3 < hi
