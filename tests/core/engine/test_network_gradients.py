"""End-to-end gradient checks: the network's backward pass (fan-out, merges, every dense
layer, every loss, fused and unfused) against central finite differences in float64."""

import numpy as np
import pytest

from nnstudio.core.engine import NetworkSpec, get_loss
from tests.core.engine.gradcheck import check_network_gradients as check


def spec(nodes, edges):
    return NetworkSpec.from_dict({"nodes": nodes, "edges": edges})


DAG = spec(
    [
        {"id": "in", "type": "Input"},
        {"id": "a", "type": "Dense", "units": 5},
        {"id": "ta", "type": "Tanh"},
        {"id": "b", "type": "Dense", "units": 5},
        {"id": "sb", "type": "Sigmoid"},
        {"id": "sum", "type": "Add"},
        {"id": "cat", "type": "Concatenate"},
        {"id": "lr", "type": "LeakyReLU", "alpha": 0.2},
        {"id": "out", "type": "Dense", "units": 3},
        {"id": "p", "type": "Softmax"},
    ],
    [
        ["in", "a"], ["a", "ta"], ["in", "b"], ["b", "sb"],
        ["ta", "sum"], ["sb", "sum"],          # merge by sum
        ["sum", "cat"], ["ta", "cat"],          # ta fans out to sum and cat
        ["cat", "lr"], ["lr", "out"], ["out", "p"],
    ],
)


def test_dag_with_fan_out_add_and_concatenate_fused_cross_entropy():
    y = np.array([0, 2, 1, 1, 0, 2])
    net = check(DAG, (4,), "cross_entropy", y)
    assert net.shapes["cat"] == (10,)
    assert net.shapes["p"] == (3,)


def test_unfused_cross_entropy_through_softmax_backward_and_one_hot_targets():
    # With one-hot float targets and a Linear layer after Softmax the loss is not fused,
    # so Softmax's own backward is exercised.
    s = spec(
        [
            {"id": "in", "type": "Input"},
            {"id": "d", "type": "Dense", "units": 3},
            {"id": "p", "type": "Softmax"},
            {"id": "id", "type": "Linear"},
        ],
        [["in", "d"], ["d", "p"], ["p", "id"]],
    )
    y = np.eye(3)[[0, 1, 2, 2, 1, 0]]
    check(s, (4,), "cross_entropy", y)


@pytest.mark.parametrize("act", ["ReLU", "Tanh", "Sigmoid", "Linear", "LeakyReLU"])
@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_regression_losses_through_each_activation(act, loss):
    s = spec(
        [
            {"id": "in", "type": "Input"},
            {"id": "h", "type": "Dense", "units": 7},
            {"id": "a", "type": act},
            {"id": "o", "type": "Dense", "units": 2},
        ],
        [["in", "h"], ["h", "a"], ["a", "o"]],
    )
    y = np.random.default_rng(1).normal(size=(6, 2))
    check(s, (3,), loss, y)


def test_binary_cross_entropy_fused_with_sigmoid_and_batchnorm():
    s = spec(
        [
            {"id": "in", "type": "Input"},
            {"id": "h", "type": "Dense", "units": 4},
            {"id": "bn", "type": "BatchNorm"},
            {"id": "r", "type": "Tanh"},
            {"id": "o", "type": "Dense", "units": 1},
            {"id": "s", "type": "Sigmoid"},
        ],
        [["in", "h"], ["h", "bn"], ["bn", "r"], ["r", "o"], ["o", "s"]],
    )
    y = np.array([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0]])
    check(s, (3,), "binary_cross_entropy", y)


def test_binary_cross_entropy_unfused():
    s = spec(
        [
            {"id": "in", "type": "Input"},
            {"id": "o", "type": "Dense", "units": 2},
            {"id": "s", "type": "Sigmoid"},
            {"id": "l", "type": "Linear"},
        ],
        [["in", "o"], ["o", "s"], ["s", "l"]],
    )
    y = np.array([[0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    check(s, (3,), "binary_cross_entropy", y)


def test_fused_losses_equal_unfused_values():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(5, 4)) * 3
    y = np.array([0, 3, 1, 2, 3])
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    ce = get_loss("cross_entropy")
    assert ce.fused_value(z, y) == pytest.approx(ce.value(p, y), rel=1e-10)
    zb = rng.normal(size=(5, 1)) * 3
    yb = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])
    pb = 1 / (1 + np.exp(-zb))
    bce = get_loss("binary_cross_entropy")
    assert bce.fused_value(zb, yb) == pytest.approx(bce.value(pb, yb), rel=1e-8)


def test_fused_cross_entropy_is_finite_for_extreme_logits():
    ce = get_loss("cross_entropy")
    z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], np.float32)
    assert ce.fused_value(z, np.array([1, 0])) == pytest.approx(2000.0)
    assert ce.fused_value(z, np.array([0, 1])) == pytest.approx(0.0)
