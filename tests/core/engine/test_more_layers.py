"""The layers of issue 15: gradients against central differences (float64), float32 against
float64, shape inference against the forward pass, readable shape errors, and direct
reference computations for the convolutions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnstudio.core.engine import LAYERS, Network, infer_shapes
from nnstudio.core.engine.activations_smooth import erfc
from nnstudio.core.errors import ShapeError
from tests.core.engine.gradcheck import chain, check_layer_gradients, check_network_gradients

#: (type, settings, per-sample input shapes) — every case is gradient-checked.
CASES = [
    ("GELU", {}, [(3, 4)]),
    ("GELU", {"approximate": True}, [(5,)]),
    ("ELU", {}, [(6,)]),
    ("ELU", {"alpha": 0.5}, [(2, 3, 3)]),
    ("SiLU", {}, [(7,)]),
    ("Softplus", {}, [(2, 5)]),
    ("PReLU", {}, [(6,)]),
    ("PReLU", {}, [(4, 3)]),
    ("PReLU", {}, [(2, 3, 3)]),
    ("PReLU", {"shared": "all"}, [(2, 3, 3)]),
    ("Multiply", {}, [(4,), (4,)]),
    ("Multiply", {}, [(2, 3), (2, 3), (2, 3)]),
    ("Average", {}, [(2, 2, 3), (2, 2, 3), (2, 2, 3)]),
    ("Permute", {"dims": [2, 1]}, [(3, 4)]),
    ("Permute", {"dims": [3, 1, 2]}, [(2, 3, 4)]),
    ("GlobalMaxPool2D", {}, [(3, 4, 5)]),
    ("MaxPool1D", {}, [(7, 3)]),
    ("MaxPool1D", {"pool_size": 3, "strides": 2, "padding": "same"}, [(6, 2)]),
    ("AvgPool1D", {"pool_size": 3, "strides": 1, "padding": "same"}, [(5, 2)]),
    ("AvgPool1D", {}, [(6, 3)]),
    ("Conv1D", {"filters": 3, "kernel_size": 3}, [(7, 2)]),
    ("Conv1D", {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, [(7, 3)]),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
     [(8, 2)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "groups": 2, "use_bias": False}, [(6, 4)]),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "groups": 4, "padding": "same"}, [(5, 4)]),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2}, [(2, 7, 6)]),
    ("Conv2D", {"filters": 2, "kernel_size": 2, "dilation_rate": [2, 1], "strides": 2,
                "padding": "same"}, [(1, 7, 6)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"}, [(4, 5, 5)]),
    # A window of C·kh·kw ≥ 32 values takes the transposed forward product (colsᵀ @ Wᵀ).
    ("Conv2D", {"filters": 3, "kernel_size": 3}, [(4, 5, 6)]),
    ("Conv2D", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, [(4, 6, 5)]),
    ("DepthwiseConv2D", {"kernel_size": 3}, [(3, 5, 5)]),
    ("DepthwiseConv2D", {"kernel_size": 2, "depth_multiplier": 2, "strides": 2,
                         "padding": "same"}, [(2, 5, 4)]),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2}, [(3, 3, 4)]),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 1, "padding": "valid"},
     [(2, 3, 3)]),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": [2, 3], "strides": [3, 2]}, [(1, 3, 2)]),
    ("UpSampling2D", {}, [(2, 3, 2)]),
    ("UpSampling2D", {"size": [1, 3]}, [(1, 2, 2)]),
    ("BatchNorm", {}, [(4, 3)]),
    ("Bidirectional", {"units": 3}, [(4, 2)]),
    ("Bidirectional", {"layer": "GRU", "units": 2, "return_sequences": True}, [(3, 2)]),
    ("Bidirectional", {"layer": "SimpleRNN", "units": 2, "merge_mode": "sum",
                       "return_sequences": True}, [(4, 3)]),
    ("Bidirectional", {"layer": "LSTM", "units": 2, "merge_mode": "sum"}, [(3, 2)]),
]


def _ids(case):
    kind, cfg, shapes = case
    return kind + "".join(f"-{k}={v}" for k, v in cfg.items()) + "-" + "x".join(
        map(str, shapes[0]))


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_gradients(case):
    kind, cfg, shapes = case
    # Max pooling: inputs spread far apart so a step of ε never changes which value wins.
    scale = 10.0 if "Max" in kind else 1.0
    errors = check_layer_gradients(lambda: LAYERS[kind]("l", **cfg), shapes, seed=3,
                                   params_scale=None if kind == "BatchNorm" else 0.5,
                                   input_scale=scale)
    assert any(k.startswith("x") for k in errors)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_float32_matches_float64_and_shape_inference(case):
    kind, cfg, shapes = case
    if len(shapes) > 1:
        nodes = [{"id": "in", "type": "Input"}]
        edges = []
        for i in range(len(shapes)):
            nodes.append({"id": f"a{i}", "type": "Linear"})
            edges.append(["in", f"a{i}"])
            edges.append([f"a{i}", "m"])
        nodes.append({"id": "m", "type": kind, **cfg})
        from nnstudio.core.engine import NetworkSpec

        spec = NetworkSpec.from_dict({"nodes": nodes, "edges": edges})
        out_id = "m"
    else:
        spec, out_id = chain([{"type": kind, **cfg}]), "n0"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, *shapes[0]))
    outs = []
    for dt in (np.float64, np.float32):
        net = Network(spec, shapes[0], dtype=dt, seed=1)
        net.params[...] = np.random.default_rng(2).normal(0, 0.5, net.params.shape)
        y = net.forward(x.astype(dt), training=True)
        assert y.dtype == dt and y.shape == (4, *net.shapes[out_id])
        net.backward(np.ones_like(y))
        outs.append((y.copy(), net.grads.copy()))
    np.testing.assert_allclose(outs[1][0], outs[0][0], rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(outs[1][1], outs[0][1], rtol=2e-3, atol=2e-4)


def test_erfc_has_small_relative_error_everywhere():
    xs = np.linspace(-6, 6, 2001)
    ref = np.array([math.erfc(v) for v in xs])
    assert np.max(np.abs(erfc(xs) / ref - 1)) < 1.3e-7


def test_gelu_matches_the_exact_definition():
    x = np.linspace(-8, 8, 101)
    net = Network(chain([{"type": "GELU"}]), (101,), dtype=np.float64)
    ref = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(net.forward(x[None])[0], ref, rtol=2e-7, atol=1e-300)


def test_conv1d_matches_a_direct_sum():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(2, 9, 4))
    net = Network(chain([{"type": "Conv1D", "filters": 6, "kernel_size": 3, "strides": 2,
                          "dilation_rate": 2, "groups": 2, "padding": "causal"}]), (9, 4),
                  dtype=np.float64, seed=0)
    W, b = net.param_views["n0"]["W"], net.param_views["n0"]["b"]
    b[...] = rng.normal(size=b.shape)
    xp = np.pad(x, ((0, 0), (4, 0), (0, 0)))
    y = net.forward(x)
    to = y.shape[1]
    assert to == 5
    ref = np.zeros((2, to, 6))
    for t in range(to):
        for f in range(6):
            grp = f // 3
            for i in range(3):
                ref[:, t, f] += xp[:, 2 * t + 2 * i, 2 * grp:2 * grp + 2] @ W[f, :, i]
            ref[:, t, f] += b[f]
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)


def test_conv2d_transpose_is_the_input_gradient_of_conv2d():
    """⟨ConvT(x), z⟩ = ⟨x, Conv(z)⟩ with the same kernel (W laid out (C, F, kh, kw))."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4, 5))
    tnet = Network(chain([{"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3,
                           "strides": 2, "padding": "valid", "use_bias": False}]), (3, 4, 5),
                   dtype=np.float64, seed=0)
    y = tnet.forward(x)
    assert y.shape == (2, 2, 9, 11)
    z = rng.normal(size=y.shape)
    cnet = Network(chain([{"type": "Conv2D", "filters": 3, "kernel_size": 3, "strides": 2,
                           "use_bias": False}]), (2, 9, 11), dtype=np.float64, seed=0)
    cnet.param_views["n0"]["W"][...] = tnet.param_views["n0"]["W"]
    assert np.isclose(np.sum(y * z), np.sum(x * cnet.forward(z)), rtol=1e-12)


@pytest.mark.parametrize("shape, kernel, strides, out", [
    ((1, 4, 4), 3, 2, (2, 8, 8)), ((1, 4, 4), 2, 3, (2, 12, 12)), ((1, 5, 3), 4, 2, (2, 10, 6)),
])
def test_conv2d_transpose_same_multiplies_the_size_by_the_stride(shape, kernel, strides, out):
    net = Network(chain([{"type": "Conv2DTranspose", "filters": 2, "kernel_size": kernel,
                          "strides": strides}]), shape)
    assert net.shapes["n0"] == out


def test_depthwise_equals_grouped_conv2d():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 3, 6, 6))
    d = Network(chain([{"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2}]),
                (3, 6, 6), dtype=np.float64, seed=0)
    g = Network(chain([{"type": "Conv2D", "filters": 6, "kernel_size": 3, "groups": 3}]),
                (3, 6, 6), dtype=np.float64, seed=0)
    assert d.param_views["n0"]["W"].shape == (6, 1, 3, 3)
    g.params[...] = d.params
    np.testing.assert_array_equal(d.forward(x), g.forward(x))
    assert d.layers["n0"].describe() == "DepthwiseConv2D 3x3 ×2"
    assert set(d.layers["n0"].get_config()) == {s.name for s in LAYERS["DepthwiseConv2D"].settings}


def test_bidirectional_directions_are_independent_recurrent_layers():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 5, 2))
    bi = Network(chain([{"type": "Bidirectional", "layer": "GRU", "units": 4,
                         "return_sequences": True}]), (5, 2), dtype=np.float64, seed=0)
    one = Network(chain([{"type": "GRU", "units": 4, "return_sequences": True}]), (5, 2),
                  dtype=np.float64, seed=0)
    y = bi.forward(x)
    for d, xs, flip in ((0, x, False), (1, x[:, ::-1], True)):
        for k in ("W", "R", "b"):
            one.param_views["n0"][k][...] = bi.param_views["n0"][k][d]
        ref = one.forward(xs)
        ref = ref[:, ::-1] if flip else ref
        np.testing.assert_allclose(y[..., 4 * d:4 * d + 4], ref, rtol=1e-12)


def test_a_conv_to_recurrent_network_trains_through_permute():
    """(1, 8, 6) → Conv2D → (4, 6, 4) → Permute (W, C, H) → Reshape (4, 24) → LSTM."""
    spec = chain([
        {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"},
        {"type": "Permute", "dims": [3, 1, 2]}, {"type": "Reshape", "shape": [6, 32]},
        {"type": "Bidirectional", "units": 3}, {"type": "Dense", "units": 2},
        {"type": "Softmax"},
    ])
    check_network_gradients(spec, (1, 8, 6), "cross_entropy", np.array([0, 1, 1]))


def test_autoencoder_and_sequence_networks_gradients():
    check_network_gradients(chain([
        {"type": "Conv2D", "filters": 2, "kernel_size": 3, "padding": "same"}, {"type": "GELU"},
        {"type": "MaxPool2D"}, {"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3},
        {"type": "UpSampling2D", "size": [1, 1]}, {"type": "Conv2D", "filters": 1,
                                                   "kernel_size": 1},
        {"type": "Flatten"},
    ]), (1, 4, 4), "mse", np.random.default_rng(0).normal(size=(2, 16)))
    check_network_gradients(chain([
        {"type": "Conv1D", "filters": 3, "kernel_size": 3, "padding": "causal"},
        {"type": "BatchNorm"}, {"type": "ELU"}, {"type": "MaxPool1D"},
        {"type": "Flatten"}, {"type": "Dense", "units": 1},
    ]), (6, 2), "mse", np.random.default_rng(1).normal(size=(4, 1)))


@pytest.mark.parametrize("kind, cfg, shape, message", [
    ("Permute", {"dims": [1, 1]}, (3, 4), "must order the 2 sample axes"),
    ("Permute", {"dims": [2, 1]}, (3, 4, 5), "name 2 axes but the input (3, 4, 5) has 3"),
    ("Conv1D", {}, (28,), "needs sequences (T, F) but gets (28,)"),
    ("Conv1D", {"kernel_size": 9}, (5, 2), "kernel of 9 steps is longer than its 5-step"),
    ("Conv1D", {"groups": 3, "filters": 6}, (5, 4), "groups 3 must divide both the 4 input"),
    ("Conv2D", {"groups": 2, "filters": 3}, (4, 5, 5), "groups 2 must divide both"),
    ("Conv2D", {"kernel_size": 3, "dilation_rate": 3}, (1, 6, 6), "kernel 7x7 is larger"),
    ("MaxPool1D", {}, (2, 3, 4), "needs sequences (T, F)"),
    ("Conv2DTranspose", {}, (5, 4), "needs images (C, H, W)"),
    ("UpSampling2D", {}, (7,), "needs images (C, H, W)"),
    ("Bidirectional", {}, (9,), "needs sequences (T, F)"),
    ("GlobalMaxPool2D", {}, (9,), "needs images (C, H, W)"),
])
def test_shape_errors_name_the_layer(kind, cfg, shape, message):
    report = infer_shapes(chain([{"id": "L", "type": kind, **cfg}]), shape)
    err = report.nodes["L"].error
    assert err and message in err and f"{kind} 'L'" in err, err
    with pytest.raises(ShapeError):
        Network(chain([{"id": "L", "type": kind, **cfg}]), shape)


def test_no_gradient_is_computed_for_a_parameter_free_prefix():
    """Input (28, 28) → Reshape → Conv2D: nothing before the Conv2D has parameters, so it skips
    its input gradient and the Reshape never runs backward; the parameter gradients are the
    same as those of a network reading (1, 28, 28) directly."""
    conv = {"type": "Conv2D", "filters": 2, "kernel_size": 3}
    rest = [{"type": "Flatten"}, {"type": "Dense", "units": 2}]
    a = Network(chain([{"type": "Reshape", "shape": [1, 6, 6]}, conv, *rest]), (6, 6),
                dtype=np.float64, seed=0)
    b = Network(chain([conv, *rest]), (1, 6, 6), dtype=np.float64, seed=0)
    assert a.layers["n1"].skip_input_grad and not a.needs_grad["n0"] and a.needs_grad["n1"]
    calls = []
    a.layers["n0"].backward = lambda g: calls.append(g)
    x = np.random.default_rng(0).normal(size=(3, 6, 6))
    ya, yb = a.forward(x, training=True), b.forward(x.reshape(3, 1, 6, 6), training=True)
    np.testing.assert_array_equal(ya, yb)
    a.backward(np.ones_like(ya))
    b.backward(np.ones_like(yb))
    assert calls == []
    np.testing.assert_array_equal(a.grads, b.grads)


@pytest.mark.parametrize("seed, hw", [(0, (6, 8)), (1, (6, 8)), (2, (7, 9)), (3, (5, 4))])
def test_max_pool_2x2_tournament_matches_the_general_path_with_ties(seed, hw):
    """The 2×2 fast path gives each window's gradient to its first maximum, like the general
    path, bit for bit, on data full of ties."""
    from nnstudio.core.engine.pooling import MaxPool2D

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=(3, 2, *hw)).astype(np.float64)  # many ties; odd sizes too
    fast, slow = MaxPool2D("f"), MaxPool2D("s")
    slow._tiles_2x2 = lambda: False  # the general path, one strided slice per offset
    for layer in (fast, slow):
        layer.dtype = np.dtype(np.float64)
    y1 = fast.forward([x], True).copy()
    assert fast._pairs is not None
    y2 = slow.forward([x], True).copy()
    assert slow._pairs is None
    np.testing.assert_array_equal(y1, y2)
    g = rng.normal(size=y1.shape)
    np.testing.assert_array_equal(fast.backward(g)[0], slow.backward(g)[0])
