"""End-to-end gradient checks: the network's backward pass (fan-out, merges, every dense
layer, every loss, fused and unfused) against central finite differences in float64."""

import numpy as np
import pytest

from nnstudio.core.engine import Network, NetworkSpec, get_loss
from nnstudio.core.training.trainer import fusion_point


def spec(nodes, edges):
    return NetworkSpec.from_dict({"nodes": nodes, "edges": edges})


def loss_and_grad(net, loss, x, y):
    """Loss and d loss / d params the way the trainer computes them (fused when it can)."""
    at = fusion_point(net, loss)
    pred = net.forward(x, training=True)
    if at is not None:
        value = loss.fused_value(net.values[at], y)
        g = loss.fused_grad(pred, y)
    else:
        value = loss.value(pred, y)
        g = loss.grad(pred, y)
    net.backward(g, at=at)
    return value, net.grads.copy()


def numeric_grad(net, loss, x, y, eps=1e-6):
    out = np.zeros_like(net.params)
    for i in range(net.params.size):
        old = net.params[i]
        net.params[i] = old + eps
        up, _ = loss_and_grad(net, loss, x, y)
        net.params[i] = old - eps
        down, _ = loss_and_grad(net, loss, x, y)
        net.params[i] = old
        out[i] = (up - down) / (2 * eps)
    return out


def check(net_spec, input_shape, loss_name, y, seed=0, n=6):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *input_shape))
    net = Network(net_spec, input_shape, dtype=np.float64, seed=seed)
    loss = get_loss(loss_name)
    _, analytic = loss_and_grad(net, loss, x, y)
    numeric = numeric_grad(net, loss, x, y)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
    return net


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
