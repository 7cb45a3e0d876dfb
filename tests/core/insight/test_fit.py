"""check_fit, the trainer's check that the insight views also run before computing: targets
that do not fit the outputs are said in words (these combinations broke the views with NumPy
broadcasting errors, and the trainer let them broadcast silently)."""

import numpy as np
import pytest

from nnstudio.core.errors import ShapeError
from nnstudio.core.insight import layer_stats
from nnstudio.core.training import check_fit
from tests.core.insight.nets import mlp


@pytest.mark.parametrize("loss, n_out, n_targets, expected", [
    ("binary_cross_entropy", 1, 2, "2 target value(s) per sample but the network outputs (1,)"),
    ("cross_entropy", 3, 2, "2 target value(s) per sample but the network outputs (3,)"),
    ("cross_entropy", 2, 1, "1 target value(s) per sample but the network outputs (2,)"),
    ("cross_entropy", 1, 1, "cross-entropy needs a vector of two or more outputs"),
])
def test_targets_that_do_not_fit_the_outputs(loss, n_out, n_targets, expected):
    net = mlp(widths=(4,), out=None, n_in=1, n_out=n_out)
    rng = np.random.default_rng(0)
    x, y = rng.random((20, 1)), rng.random((20, n_targets))
    with pytest.raises(ShapeError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        check_fit(net, loss, x, y, "the data")


def test_fitting_data_passes_and_computes():
    rng = np.random.default_rng(0)
    x = rng.random((30, 2))
    for loss, n_out, y in [
        ("cross_entropy", 2, rng.integers(0, 2, 30)),
        ("binary_cross_entropy", 1, rng.integers(0, 2, 30)),
        ("mse", 3, rng.random((30, 3))),
        ("mse", 1, rng.random(30)),
        ("cross_entropy", 3, np.eye(3)[rng.integers(0, 3, 30)]),  # one-hot rows
    ]:
        net = mlp(widths=(4,), out=None, n_out=n_out)
        check_fit(net, loss, x, y, "the data")
        assert layer_stats(net, x, y, loss).layer("out").grad_norm >= 0


def test_the_input_shape_is_checked_first():
    net = mlp(widths=(4,), n_in=3)
    with pytest.raises(ShapeError, match="Input expects"):
        check_fit(net, "cross_entropy", np.zeros((5, 2)), np.zeros(5, np.int64), "the data")
