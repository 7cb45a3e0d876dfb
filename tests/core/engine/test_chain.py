"""The compiled Dense-chain step: which networks it takes, and that it computes exactly what
the graph walk (``Network.forward`` + loss + ``Network.backward``) computes."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.engine import Network, NetworkSpec, get_loss
from nnstudio.core.engine.chain import ChainStep
from nnstudio.core.training.evaluate import prepare_targets
from nnstudio.core.training.trainer import fusion_point, graph_step
from tests.core.engine.gradcheck import chain


def graph_walk(net: Network, loss, x, y) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, output and flat gradient the way the trainer computes them without the chain."""
    net.grads.fill(np.nan)  # every entry must be written
    value, pred = graph_step(net, loss, fusion_point(net, loss), x, y)
    return value, pred.copy(), net.grads.copy()


def D(units, **kw):
    return {"type": "Dense", "units": units, **kw}


CASES = {
    "playground tanh, fused sigmoid": (
        [D(8), {"type": "Tanh"}, D(8), {"type": "Tanh"}, D(1), {"type": "Sigmoid"}],
        "binary_cross_entropy", "binary"),
    "relu mlp, fused softmax, class indices": (
        [D(16), {"type": "ReLU"}, D(12), {"type": "ReLU"}, D(4), {"type": "Softmax"}],
        "cross_entropy", "classes"),
    "fused softmax, one-hot targets": (
        [D(6), {"type": "Sigmoid"}, D(3), {"type": "Softmax"}], "cross_entropy", "onehot"),
    "leaky relu without biases, linear output, mse": (
        [D(7, use_bias=False), {"type": "LeakyReLU", "alpha": 0.2}, D(2), {"type": "Linear"}],
        "mse", "values"),
    "sigmoid output trained with mse (not fused)": (
        [D(5), {"type": "Tanh"}, D(2), {"type": "Sigmoid"}], "mse", "unit"),
    "a Dense straight into a Dense, mae": ([D(5), D(3), {"type": "ReLU"}, D(1)], "mae", "values"),
    "leaky relu with alpha 0 (ReLU's edge)": (
        [D(9), {"type": "LeakyReLU", "alpha": 0.0}, D(1)], "mse", "values"),
}


def targets(kind: str, n: int, k: int, rng) -> np.ndarray:
    if kind == "binary":
        return (rng.random(n) > 0.5).astype(np.int64)
    if kind == "classes":
        return rng.integers(0, k, n)
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, n)]
    if kind == "unit":
        return rng.random((n, k))
    return rng.normal(size=(n, k))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(CASES))
def test_chain_step_is_bit_identical_to_the_graph_walk(name, dtype):
    layers, loss_name, kind = CASES[name]
    rng = np.random.default_rng(len(name))
    n_in = 3
    net = Network(chain(layers), (n_in,), dtype=dtype, seed=4)
    loss = get_loss(loss_name)
    step = ChainStep.build(net, loss)
    assert step is not None
    k = net.output_shape[0]
    for m in (11, 4, 11):  # two batch sizes, and back: workspaces are kept per size
        x = rng.normal(size=(m, n_in)).astype(dtype) * 2
        y = prepare_targets(targets(kind, m, k, rng), loss_name, net.dtype)
        expected_value, expected_pred, expected_grads = graph_walk(net, loss, x, y)
        net.grads.fill(np.nan)
        value = step.step(x, y)
        assert value == expected_value
        np.testing.assert_array_equal(step.pred, expected_pred)
        np.testing.assert_array_equal(net.grads, expected_grads)
        assert step.pred.dtype == net.dtype
        net.params -= 0.1 * net.grads  # the next batch sees new weights through the views


def test_a_non_finite_loss_returns_before_touching_the_gradients():
    net = Network(chain([D(4), {"type": "Tanh"}, D(1)]), (2,), seed=0)
    step = ChainStep.build(net, get_loss("mse"))
    net.grads.fill(7.0)
    x = np.array([[np.nan, 1.0], [0.0, 1.0]], np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        value = step.step(x, np.zeros((2, 1), np.float32))
    assert not np.isfinite(value)
    assert (net.grads == 7.0).all()


def merge_spec() -> NetworkSpec:
    return NetworkSpec.from_dict({
        "nodes": [{"id": "in", "type": "Input"}, {"id": "a", "type": "Dense", "units": 4},
                  {"id": "b", "type": "Dense", "units": 4}, {"id": "add", "type": "Add"},
                  {"id": "out", "type": "Dense", "units": 1}],
        "edges": [["in", "a"], ["in", "b"], ["a", "add"], ["b", "add"], ["add", "out"]],
    })


@pytest.mark.parametrize("spec, shape, loss_name", [
    (merge_spec(), (2,), "mse"),
    (chain([D(4), {"type": "Dropout", "rate": 0.5}, D(1)]), (2,), "mse"),
    (chain([D(4), {"type": "BatchNorm"}, D(1)]), (2,), "mse"),
    (chain([{"type": "Tanh"}, D(1)]), (2,), "mse"),
    (chain([D(4), {"type": "Tanh"}, {"type": "ReLU"}, D(1)]), (2,), "mse"),
    (chain([D(3), {"type": "Softmax"}]), (2,), "mse"),  # Softmax not fused with mse
    (chain([D(3), {"type": "Softmax"}, D(3), {"type": "Softmax"}]), (2,), "cross_entropy"),
    (chain([{"type": "Flatten"}, {"type": "Tanh"}, D(3)]), (4,), "mse"),
])
def test_networks_the_chain_does_not_cover_take_the_graph_walk(spec, shape, loss_name):
    net = Network(spec, shape, seed=0)
    assert ChainStep.build(net, get_loss(loss_name)) is None


@pytest.mark.parametrize("prefix", [
    [{"type": "Flatten"}],
    [{"type": "Reshape", "shape": [12]}],
    [{"type": "Reshape", "shape": [3, 4]}, {"type": "Flatten"}],
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_images_flattened_before_the_first_dense_take_the_chain_bit_identically(prefix, dtype):
    """An MNIST MLP reads (28, 28) images through a Reshape: the chain views the batch as
    (m, F) itself and computes exactly what the graph walk computes."""
    layers = [*prefix, D(6), {"type": "ReLU"}, D(3), {"type": "Softmax"}]
    net = Network(chain(layers), (2, 6), dtype=dtype, seed=1)
    loss = get_loss("cross_entropy")
    step = ChainStep.build(net, loss)
    assert step is not None
    rng = np.random.default_rng(0)
    for m in (5, 8):
        x = rng.normal(size=(m, 2, 6)).astype(dtype)
        y = prepare_targets(rng.integers(0, 3, m), "cross_entropy", net.dtype)
        expected_value, expected_pred, expected_grads = graph_walk(net, loss, x, y)
        net.grads.fill(np.nan)
        assert step.step(x, y) == expected_value
        np.testing.assert_array_equal(step.pred, expected_pred)
        np.testing.assert_array_equal(net.grads, expected_grads)
