"""Conv2D: gradients against central differences, shapes, messages, ONNX semantics; and the
image-shaped uses of BatchNorm and Dropout."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.engine import Layer, Network, infer_shapes
from nnstudio.core.engine.conv import Conv2D, same_padding
from nnstudio.core.errors import ShapeError
from tests.core.engine.gradcheck import (
    chain,
    check_layer_gradients,
    check_network_gradients,
    step_allocations,
)


@pytest.mark.parametrize(
    "config, shape",
    [
        ({"filters": 3, "kernel_size": 3}, (2, 5, 6)),
        ({"filters": 2, "kernel_size": 3, "strides": 2}, (2, 7, 7)),
        ({"filters": 2, "kernel_size": 3, "strides": 2}, (1, 6, 8)),  # stride leaves a rest
        ({"filters": 2, "kernel_size": 3, "padding": "same"}, (2, 5, 6)),
        ({"filters": 2, "kernel_size": 2, "padding": "same"}, (2, 5, 6)),  # even kernel
        ({"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"}, (1, 7, 6)),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 6, 5)),
        ({"filters": 2, "kernel_size": [2, 3], "strides": [2, 1]}, (1, 7, 6)),
        ({"filters": 4, "kernel_size": 1}, (3, 3, 4)),
        ({"filters": 2, "kernel_size": 5}, (2, 5, 5)),  # the kernel covers the image
        ({"filters": 3, "kernel_size": 3, "use_bias": False}, (2, 5, 5)),
        # A window of ≥ 32 values (C·kh·kw) runs channel-major: stride 1 (wide rows), a
        # stride, padding and dilation there too.
        ({"filters": 3, "kernel_size": 3}, (4, 5, 6)),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}, (4, 7, 6)),
        ({"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (4, 6, 6)),
        ({"filters": 2, "kernel_size": 3, "dilation_rate": 2, "strides": 2}, (1, 7, 8)),
        ({"filters": 2, "kernel_size": 1}, (33, 3, 4)),  # 1×1: the input is the columns
        ({"filters": 2, "kernel_size": 1, "strides": 2}, (33, 5, 4)),
    ],
)
def test_conv2d_gradients(config, shape):
    errors = check_layer_gradients(
        lambda: Conv2D("conv", **config), [shape], seed=1, params_scale=0.5
    )
    assert set(errors) == ({"W", "b", "x0"} if config.get("use_bias", True) else {"W", "x0"})


def test_conv2d_reading_the_input_skips_the_input_gradient_but_keeps_parameter_gradients():
    net = check_network_gradients(
        chain([
            {"type": "Conv2D", "filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
            {"type": "ReLU"},
            {"type": "MaxPool2D"},
            {"type": "Conv2D", "filters": 3, "kernel_size": 2, "padding": "same"},
            {"type": "BatchNorm"},
            {"type": "Tanh"},
            {"type": "Flatten"},
            {"type": "Dense", "units": 3},
            {"type": "Softmax"},
        ]),
        (2, 8, 7), "cross_entropy", np.array([0, 2, 1, 1]),
    )
    assert net.layers["n0"].skip_input_grad and not net.layers["n3"].skip_input_grad
    assert net.shapes["n0"] == (2, 4, 4) and net.shapes["n3"] == (3, 2, 2)


@pytest.mark.parametrize(
    "config, shape, out, params",
    [
        ({"filters": 8, "kernel_size": 3}, (1, 28, 28), (8, 26, 26), 8 * 9 + 8),
        ({"filters": 16, "kernel_size": 3}, (8, 13, 13), (16, 11, 11), 16 * 72 + 16),
        ({"filters": 4, "kernel_size": 3, "strides": 2}, (3, 8, 9), (4, 3, 4), 4 * 27 + 4),
        ({"filters": 4, "kernel_size": 4, "padding": "same"}, (3, 7, 7), (4, 7, 7), 4 * 48 + 4),
        ({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (1, 7, 8),
         (4, 4, 4), 4 * 9 + 4),
        ({"filters": 2, "kernel_size": [1, 5], "use_bias": False}, (1, 5, 5), (2, 5, 1), 10),
    ],
)
def test_conv2d_shape_inference_matches_the_forward_pass(config, shape, out, params):
    layer = Conv2D("c", **config)
    assert layer.output_shape([shape]) == out
    assert layer.param_count([shape]) == params
    net = Network(chain([{"type": "Conv2D", **config}]), shape)
    y = net.forward(np.zeros((3, *shape), np.float32))
    assert y.shape == (3, *out) and y.dtype == np.float32


@pytest.mark.parametrize(
    "config, shape, message",
    [
        ({"kernel_size": 5}, (3, 4, 4), "Conv2D 'conv2': kernel 5x5 is larger than its 4x4 input"),
        ({"kernel_size": [3, 6]}, (1, 8, 5), "Conv2D 'conv2': kernel 3x6 is larger than its 8x5"),
        ({}, (784,), "Conv2D 'conv2': needs images (C, H, W) but gets (784,); add a Reshape "
                     "layer before it"),
        ({}, (28, 28), "Reshape to (1, H, W)"),
    ],
)
def test_conv2d_shape_errors_name_the_layer_and_the_problem(config, shape, message):
    layer = Conv2D("conv2", **config)
    with pytest.raises(ShapeError) as err:
        layer.output_shape([shape])
    assert message in str(err.value)
    report = infer_shapes(chain([{"id": "conv2", "type": "Conv2D", **config}]), shape)
    assert message in report.nodes["conv2"].error


def test_same_padding_with_a_kernel_that_fits_needs_no_padding_error():
    # `same` never complains about the kernel size: the image is padded instead.
    assert Conv2D("c", kernel_size=7, padding="same").output_shape([(1, 3, 3)]) == (16, 3, 3)


def test_same_padding_formula():
    # out = ceil(n / s); total = max((out − 1)·s + k − n, 0); extra pixel after.
    assert same_padding(5, 3, 1) == (1, 1)
    assert same_padding(5, 2, 1) == (0, 1)
    assert same_padding(6, 4, 1) == (1, 2)
    assert same_padding(7, 4, 2) == (1, 2)
    assert same_padding(6, 3, 2) == (0, 1)
    assert same_padding(5, 1, 2) == (0, 0)


def test_conv2d_describe_and_layout():
    assert Conv2D("c", filters=16, kernel_size=3).describe() == "Conv2D 16 3x3"
    assert Conv2D("c", filters=8, kernel_size=[5, 3], strides=2, padding="same").describe() == (
        "Conv2D 8 5x3 stride 2 same"
    )
    assert Conv2D("c", filters=8, kernel_size=3).param_shapes([(3, 9, 9)]) == {
        "W": (8, 3, 3, 3), "b": (8,),
    }
    assert Conv2D.category == "Convolution & pooling"


def test_conv2d_matches_a_direct_convolution():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 7, 6))
    net = Network(chain([{"type": "Conv2D", "filters": 4, "kernel_size": [3, 2], "strides": 2,
                          "padding": "same"}]), (3, 7, 6), dtype=np.float64)
    W, b = net.param_views["n0"]["W"], net.param_views["n0"]["b"]
    b[...] = rng.normal(size=b.shape)
    top, bottom = same_padding(7, 3, 2)
    left, right = same_padding(6, 2, 2)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    ho, wo = 4, 3
    ref = np.zeros((2, 4, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 2]
            ref[:, :, i, j] = np.tensordot(patch, W, axes=([1, 2, 3], [1, 2, 3])) + b
    np.testing.assert_allclose(net.forward(x), ref, rtol=1e-12, atol=1e-12)


def _onnx_run(node, x, initializers, out_shape):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(out_shape))],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


@pytest.mark.parametrize(
    "kernel, strides, padding",
    [([3, 3], [1, 1], "valid"), ([2, 2], [1, 1], "same"), ([4, 3], [2, 2], "same"),
     ([3, 3], [2, 1], "same"), ([5, 5], [3, 3], "valid")],
)
def test_conv2d_equals_onnx_conv_with_explicit_pads(kernel, strides, padding):
    """The export contract: W (F, C, kh, kw), b (F,), pads = [top, left, bottom, right]."""
    rng = np.random.default_rng(2)
    shape = (3, 9, 8)
    spec = chain([{"type": "Conv2D", "filters": 4, "kernel_size": kernel, "strides": strides,
                   "padding": padding}])
    net = Network(spec, shape, seed=3)
    net.param_views["n0"]["b"][...] = rng.normal(size=4)
    x = rng.normal(size=(2, *shape)).astype(np.float32)
    y = net.forward(x).copy()
    if padding == "same":
        (t, bo), (le, r) = same_padding(9, kernel[0], strides[0]), same_padding(8, kernel[1],
                                                                               strides[1])
    else:
        t = bo = le = r = 0
    from onnx import helper

    node = helper.make_node("Conv", ["x", "W", "b"], ["y"], kernel_shape=kernel,
                            strides=strides, pads=[t, le, bo, r])
    ref = _onnx_run(node, x, {"W": net.param_views["n0"]["W"].copy(),
                              "b": net.param_views["n0"]["b"].copy()}, y.shape)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_float32_and_float64_networks_agree():
    spec = chain([
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"},
        {"type": "ReLU"}, {"type": "MaxPool2D"},
        {"type": "Conv2D", "filters": 6, "kernel_size": 3, "strides": 2},
        {"type": "GlobalAvgPool2D"}, {"type": "Dense", "units": 3},
    ])
    x = np.random.default_rng(0).normal(size=(5, 2, 12, 12))
    y32 = Network(spec, (2, 12, 12), np.float32, seed=4).forward(x)
    y64 = Network(spec, (2, 12, 12), np.float64, seed=4).forward(x)
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)


# -- BatchNorm and Dropout on images --------------------------------------------------------
def test_batchnorm_gradients_on_images():
    errors = check_layer_gradients(
        lambda: Layer.from_config("BatchNorm", "bn", {}), [(3, 4, 5)], seed=2, params_scale=0.7
    )
    assert set(errors) == {"gamma", "beta", "x0"}


def test_batchnorm_on_images_normalizes_per_channel_and_infers_with_running_statistics():
    rng = np.random.default_rng(0)
    net = Network(chain([{"type": "BatchNorm", "momentum": 0.0}]), (3, 4, 5), np.float64)
    x = rng.normal(loc=[[[2.0]], [[-1.0]], [[5.0]]], scale=3.0, size=(8, 3, 4, 5))
    y = net.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1.0, rtol=1e-3)
    state = net.state_dict()
    np.testing.assert_allclose(state["n0/running_mean"], x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(net.forward(x, training=False), y, atol=1e-4)


def test_dropout_gradients_on_images_with_a_fixed_mask():
    errors = check_layer_gradients(
        lambda: Layer.from_config("Dropout", "d", {"rate": 0.4}), [(2, 3, 4)], seed=3
    )
    assert errors["x0"] < 1e-7


def test_dropout_on_images_keeps_the_shape_and_drops_about_the_rate():
    net = Network(chain([{"type": "Dropout", "rate": 0.25}]), (4, 8, 8), seed=1)
    x = np.ones((32, 4, 8, 8), np.float32)
    y = net.forward(x, training=True)
    assert y.shape == x.shape
    assert abs(np.mean(y == 0) - 0.25) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / 0.75, rtol=1e-6)
    np.testing.assert_array_equal(net.forward(x, training=False), x)


def test_a_cnn_training_step_allocates_nothing_in_the_steady_state():
    spec = chain([
        {"type": "Conv2D", "filters": 8, "kernel_size": 3}, {"type": "ReLU"},
        {"type": "MaxPool2D"}, {"type": "Conv2D", "filters": 16, "kernel_size": 3,
                                "padding": "same"},
        {"type": "ReLU"}, {"type": "AvgPool2D"}, {"type": "Flatten"},
        {"type": "Dense", "units": 10},
    ])
    net = Network(spec, (1, 28, 28))
    x = np.random.default_rng(0).normal(size=(64, 1, 28, 28)).astype(np.float32)
    g = np.ones((64, 10), np.float32)

    kept, peak = step_allocations(net, x, g)
    # Nothing is kept, and nothing of batch size is created: the only transient allocations
    # are NumPy's own iterator buffers (≤ 32 KB each) for ufuncs over strided views, against
    # ≈ 4 MB of activations and scratch held by the layers.
    assert kept < 4_000, f"a steady-state step kept {kept} bytes"
    assert peak < 150_000, f"a steady-state step allocated {peak} bytes at once"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "config, shape",
    [
        ({"filters": 4, "kernel_size": 3}, (3, 9, 8)),
        ({"filters": 3, "kernel_size": [2, 3], "strides": [2, 1], "padding": "same"}, (2, 7, 9)),
        ({"filters": 2, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (3, 8, 8)),
    ],
)
def test_conv2d_batch_major_and_channel_major_paths_agree(config, shape, dtype):
    """A shallow window runs batch-major, a deep one channel-major (``transposed_from_k``);
    both give the same output and gradients for the same layer."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, *shape)).astype(dtype)
    results = []
    for threshold in (10_000, 1):  # everything batch-major, then everything channel-major
        net = Network(chain([{"type": "Conv2D", **config}]), shape, dtype=dtype, seed=4)
        layer = net.layers["n0"]
        layer.transposed_from_k = threshold
        layer.skip_input_grad = False  # it reads the Input: ask for dx anyway
        y = net.forward(x, training=True).copy()
        g = rng.normal(size=y.shape).astype(dtype) if not results else results[0][3]
        (dx,) = layer.backward(g)
        results.append((y, dx.copy(), {k: v.copy() for k, v in layer.grads.items()}, g))
        assert layer._per_sample == (threshold > 1)
    (y1, dx1, g1, _), (y2, dx2, g2, _) = results
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y1, y2, rtol=tol, atol=tol)
    np.testing.assert_allclose(dx1, dx2, rtol=tol, atol=tol)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=tol, atol=tol * 10)
