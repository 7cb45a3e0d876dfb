"""MaxPool2D, AvgPool2D, GlobalAvgPool2D: gradients, shapes, ties, padding, ONNX semantics."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.engine import Network
from nnstudio.core.engine.conv import same_padding
from nnstudio.core.engine.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from nnstudio.core.errors import ShapeError
from tests.core.engine.gradcheck import chain, check_layer_gradients
from tests.core.engine.test_conv import _onnx_run

POOL_CASES = [
    ({}, (2, 4, 6)),  # 2x2, divisible
    ({}, (2, 5, 7)),  # 2x2, a row and a column left over
    ({"pool_size": 3, "strides": 2}, (2, 7, 6)),  # overlapping windows
    ({"pool_size": 3, "strides": 1}, (1, 5, 5)),  # heavily overlapping
    ({"pool_size": [3, 2], "strides": [2, 1]}, (2, 7, 5)),
    ({"pool_size": 2, "strides": 3}, (2, 8, 7)),  # gaps between windows
    ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 6, 5)),
    ({"pool_size": 2, "padding": "same"}, (1, 5, 7)),  # even window, odd image
    ({"pool_size": 4, "strides": 1, "padding": "same"}, (1, 4, 3)),  # window > image
]


@pytest.mark.parametrize("kind", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("config, shape", POOL_CASES)
def test_pool_gradients(kind, config, shape):
    errors = check_layer_gradients(lambda: kind("pool", **config), [shape], seed=4)
    assert set(errors) == {"x0"}


def test_global_avg_pool_gradients_and_values():
    check_layer_gradients(lambda: GlobalAvgPool2D("g"), [(3, 4, 5)], seed=1)
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    net = Network(chain([{"type": "GlobalAvgPool2D"}]), (3, 4, 5), np.float64)
    np.testing.assert_allclose(net.forward(x), x.mean(axis=(2, 3)))


def test_max_pool_gives_a_tied_window_gradient_to_its_first_maximum_only():
    net = Network(chain([{"type": "MaxPool2D", "pool_size": 2}]), (1, 2, 4), np.float64)
    x = np.array([[[[1.0, 1.0, 0.0, 2.0], [1.0, 0.5, 2.0, 2.0]]]])
    net.forward(x, training=True)
    dx = net.layers["n0"].backward(np.array([[[[3.0, 5.0]]]]))[0]
    np.testing.assert_array_equal(dx, [[[[3.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0]]]])


def test_max_pool_with_overlap_sums_gradients_reaching_one_pixel():
    net = Network(chain([{"type": "MaxPool2D", "pool_size": 2, "strides": 1}]), (1, 2, 3),
                  np.float64)
    x = np.array([[[[0.0, 9.0, 0.0], [1.0, 2.0, 3.0]]]])
    y = net.forward(x, training=True)
    np.testing.assert_array_equal(y, [[[[9.0, 9.0]]]])
    dx = net.layers["n0"].backward(np.array([[[[1.0, 2.0]]]]))[0]
    np.testing.assert_array_equal(dx, [[[[0.0, 3.0, 0.0], [0.0, 0.0, 0.0]]]])


def test_avg_pool_same_padding_counts_only_real_pixels():
    net = Network(chain([{"type": "AvgPool2D", "pool_size": 2, "padding": "same"}]),
                  (1, 3, 3), np.float64)
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    np.testing.assert_allclose(net.forward(x)[0, 0], [[2.0, 3.5], [6.5, 8.0]])


@pytest.mark.parametrize(
    "kind, config, shape, out",
    [
        (MaxPool2D, {}, (8, 26, 26), (8, 13, 13)),
        (MaxPool2D, {}, (16, 11, 11), (16, 5, 5)),
        (AvgPool2D, {"pool_size": 3, "strides": 2}, (4, 9, 8), (4, 4, 3)),
        (MaxPool2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (4, 9, 8), (4, 5, 4)),
        (AvgPool2D, {"pool_size": [2, 1]}, (1, 6, 5), (1, 3, 5)),
        (GlobalAvgPool2D, {}, (32, 7, 7), (32,)),
    ],
)
def test_pool_shape_inference_matches_the_forward_pass(kind, config, shape, out):
    assert kind("p", **config).output_shape([shape]) == out
    assert kind("p", **config).param_count([shape]) == 0
    net = Network(chain([{"type": kind.type_name, **config}]), shape)
    assert net.forward(np.zeros((2, *shape), np.float32)).shape == (2, *out)


@pytest.mark.parametrize(
    "kind, config, shape, message",
    [
        (MaxPool2D, {"pool_size": 3}, (4, 2, 2), "MaxPool2D 'p': pool 3x3 is larger than its 2x2"),
        (AvgPool2D, {}, (10,), "AvgPool2D 'p': needs images (C, H, W) but gets (10,)"),
        (GlobalAvgPool2D, {}, (5, 4), "GlobalAvgPool2D 'p': needs images (C, H, W)"),
    ],
)
def test_pool_shape_errors(kind, config, shape, message):
    with pytest.raises(ShapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        kind("p", **config).output_shape([shape])


def test_pool_describe_and_default_strides():
    assert MaxPool2D("p").describe() == "MaxPool2D 2x2"
    assert AvgPool2D("p", pool_size=3, strides=2).describe() == "AvgPool2D 3x3 stride 2"
    assert MaxPool2D("p", pool_size=3).strides == (3, 3)
    assert MaxPool2D("p").get_config() == {"pool_size": [2, 2], "strides": None,
                                           "padding": "valid"}


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize(
    "pool, strides, padding",
    [([2, 2], [2, 2], "valid"), ([3, 3], [2, 2], "same"), ([2, 3], [1, 2], "same"),
     ([3, 2], [2, 2], "valid")],
)
def test_pooling_equals_onnx_with_explicit_pads(op, pool, strides, padding):
    """The export contract: pads = [top, left, bottom, right], count_include_pad = 0."""
    rng = np.random.default_rng(1)
    shape = (3, 7, 8)
    kind = "MaxPool2D" if op == "MaxPool" else "AvgPool2D"
    net = Network(chain([{"type": kind, "pool_size": pool, "strides": strides,
                          "padding": padding}]), shape)
    x = rng.normal(size=(2, *shape)).astype(np.float32)
    y = net.forward(x).copy()
    if padding == "same":
        (t, b), (le, r) = same_padding(7, pool[0], strides[0]), same_padding(8, pool[1],
                                                                              strides[1])
    else:
        t = b = le = r = 0
    from onnx import helper

    node = helper.make_node(op, ["x"], ["y"], kernel_shape=pool, strides=strides,
                            pads=[t, le, b, r])
    np.testing.assert_allclose(y, _onnx_run(node, x, {}, y.shape), rtol=1e-5, atol=1e-6)
