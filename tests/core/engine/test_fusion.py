"""The execution plan's exact rewrites (engine/fusion.py): the same outputs, values and
gradients as the graph run layer by layer, in float32 and float64, ties included."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.engine import Network, fusion
from nnstudio.core.engine.conv import Conv2D
from nnstudio.core.engine.network import NetworkSpec
from nnstudio.core.insight.feature_maps import feature_maps
from tests.core.engine.gradcheck import (
    chain,
    check_network_gradients,
    fusion_pair,
    training_step,
)


def _fused_convs(net) -> set[str]:
    return {k for k, r in net._plan.runners.items()
            if isinstance(r.layer if hasattr(r, "layer") else r, Conv2D)
            and r is not net.layers[k]}


def _same(a, b, err_msg=""):
    np.testing.assert_array_equal(a, b, err_msg=err_msg)


def _close(dtype):
    tol = 2e-5 if dtype == np.float32 else 1e-12

    def check(a, b, err_msg=""):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=err_msg)

    return check


def _rewritten(net) -> set[str]:
    return {k for k, r in net._plan.runners.items() if r is not net.layers[k]}


CNN_CASES = [
    # (layers, input shape): pools valid/same, strides, overlap, odd sizes, channels
    ([{"type": "Conv2D", "filters": 3, "kernel_size": 3}, {"type": "ReLU"},
      {"type": "MaxPool2D"}], (4, 9, 8)),
    ([{"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}, {"type": "ReLU"},
      {"type": "MaxPool2D", "pool_size": 3, "strides": 2, "padding": "same"}], (3, 7, 6)),
    ([{"type": "Conv2D", "filters": 2, "kernel_size": [2, 3], "strides": 2}, {"type": "ReLU"},
      {"type": "MaxPool2D", "pool_size": 2, "strides": 1}], (2, 11, 9)),
    ([{"type": "Conv2D", "filters": 5, "kernel_size": 1}, {"type": "BatchNorm"},
      {"type": "ReLU"}, {"type": "MaxPool2D", "pool_size": [2, 3], "strides": [2, 1]}],
     (3, 6, 7)),
    # the benchmark's CNN: the first convolution (a shallow window) is not fused
    ([{"type": "Conv2D", "filters": 8, "kernel_size": 3}, {"type": "ReLU"},
      {"type": "MaxPool2D"}, {"type": "Conv2D", "filters": 16, "kernel_size": 3},
      {"type": "ReLU"}, {"type": "MaxPool2D"}], (1, 16, 15)),
    # fused convolutions that need their input gradient: stride, 'same', dilation, no bias
    ([{"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}, {"type": "ReLU"},
      {"type": "Conv2D", "filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
      {"type": "ReLU"}, {"type": "MaxPool2D"}], (1, 13, 11)),
    ([{"type": "Conv2D", "filters": 6, "kernel_size": 2, "padding": "same"},
      {"type": "Conv2D", "filters": 2, "kernel_size": [3, 2], "dilation_rate": [2, 1],
       "use_bias": False},
      {"type": "MaxPool2D"}], (2, 12, 9)),
    ([{"type": "Conv2D", "filters": 11, "kernel_size": 1},
      {"type": "Conv2D", "filters": 4, "kernel_size": 2, "strides": [1, 2],
       "padding": "same"}, {"type": "ReLU"}, {"type": "MaxPool2D"}], (3, 7, 10)),
    # a 1×1 convolution over 40 channels, an even kernel with 'same' padding
    ([{"type": "Conv2D", "filters": 4, "kernel_size": 1}, {"type": "ReLU"},
      {"type": "MaxPool2D"}], (40, 7, 9)),
    ([{"type": "Conv2D", "filters": 3, "kernel_size": [2, 4], "padding": "same"},
      {"type": "MaxPool2D"}], (5, 6, 6)),
    # a shallow window (C·kh·kw < 32) is never fused
    ([{"type": "Conv2D", "filters": 3, "kernel_size": 3}, {"type": "ReLU"},
      {"type": "MaxPool2D"}], (2, 8, 8)),
    # tiny maps: stride 2 with padding leaves a phase image of padding only; one window
    ([{"type": "Conv2D", "filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
      {"type": "ReLU"}, {"type": "MaxPool2D"}], (4, 3, 3)),
    ([{"type": "Conv2D", "filters": 2, "kernel_size": 2, "strides": 2}, {"type": "ReLU"},
      {"type": "MaxPool2D"}], (8, 5, 4)),
]
#: How many convolutions of each case run fused with their pool (engine/convpool.py).
FUSED_CONVS = [1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CNN_CASES)))
def test_relu_then_max_pool_runs_reordered_with_identical_results(case, dtype):
    layers, shape = CNN_CASES[case]
    spec = chain(layers + [{"type": "Flatten"}, {"type": "Dense", "units": 3}])
    fused, plain = fusion_pair(spec, shape, dtype)
    assert len(_fused_convs(fused)) == FUSED_CONVS[case]
    relus = {k for k, layer in fused.layers.items() if layer.type_name == "ReLU"
             and fused.layers[fused.succ[k][0]].type_name == "MaxPool2D"}
    pools = {k for k, layer in fused.layers.items() if layer.type_name == "MaxPool2D"}
    assert _rewritten(fused) >= relus | pools and not _rewritten(plain)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, *shape)).astype(dtype)
    g = rng.normal(size=(4, 3)).astype(dtype)
    y1, grads1, values1 = training_step(fused, x, g)
    y2, grads2, values2 = training_step(plain, x, g)
    # A fused convolution (engine/convpool.py) sums its products in another order.
    same = _same if not _fused_convs(fused) else _close(dtype)
    same(y1, y2)
    same(grads1, grads2)
    assert values1.keys() == values2.keys()
    for k in values1:  # every node's true output, the ReLU's full-size map included
        same(values1[k], values2[k], err_msg=k)
    # inference too
    same(fused.forward(x), plain.forward(x))
    for k in relus:
        same(fused.values[k], plain.values[k])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("conv_pool", [False, True])
@pytest.mark.parametrize("kernel, channels", [(1, 32), (3, 4)])
def test_reordering_keeps_gradients_on_ties_exactly(kernel, channels, conv_pool, dtype,
                                                    monkeypatch):
    """Windows of equal values — several equal positive maxima, all zeros, all negative,
    a maximum of exactly 0 — send their gradient where the layer-by-layer run does, with the
    ReLU moved after the pool and with the convolution fused with it too."""
    monkeypatch.setattr(fusion, "CONV_POOL", conv_pool)
    spec = chain([{"type": "Conv2D", "filters": 2, "kernel_size": kernel, "padding": "same"},
                  {"type": "ReLU"}, {"type": "MaxPool2D"}, {"type": "Flatten"},
                  {"type": "Dense", "units": 2}])
    fused, plain = fusion_pair(spec, (channels, 6, 6), dtype)
    assert len(_fused_convs(fused)) == conv_pool
    c = kernel // 2
    for net in (fused, plain):  # the convolution copies channel 0, and its negative
        W = net.layers["n0"].params["W"]
        W[...] = 0.0
        W[:, 0, c, c] = [1.0, -1.0]
        net.layers["n0"].params["b"][...] = 0.0
    x = np.random.default_rng(1).integers(-2, 3, size=(3, channels, 6, 6)).astype(dtype)
    x[0, 0, :2, :2] = 0.0
    x[1, 0, :2, :2] = [[1.0, 1.0], [1.0, 1.0]]
    x[2, 0, 2:4, 2:4] = [[-1.0, 0.0], [0.0, 2.0]]
    x[2, 0, 4:, 4:] = [[0.0, 2.0], [2.0, 2.0]]
    g = np.random.default_rng(2).normal(size=(3, 2)).astype(dtype)
    y1, grads1, values1 = training_step(fused, x, g)
    y2, grads2, values2 = training_step(plain, x, g)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(values1["n1"], values2["n1"])
    # A fused convolution sums its parameter gradients in another order: a tie sent to the
    # wrong pixel would change them by O(1), rounding by 1e-7.
    (_same if not conv_pool else _close(dtype))(grads1, grads2)


def test_a_relu_read_by_another_layer_too_is_not_reordered():
    spec = NetworkSpec.from_dict({
        "nodes": [{"id": "in", "type": "Input"},
                  {"id": "c", "type": "Conv2D", "filters": 2, "kernel_size": 3,
                   "padding": "same"},
                  {"id": "r", "type": "ReLU"}, {"id": "p", "type": "MaxPool2D"},
                  {"id": "u", "type": "UpSampling2D"}, {"id": "add", "type": "Add"},
                  {"id": "f", "type": "Flatten"}, {"id": "d", "type": "Dense", "units": 2}],
        "edges": [["in", "c"], ["c", "r"], ["r", "p"], ["p", "u"], ["u", "add"],
                  ["r", "add"], ["add", "f"], ["f", "d"]],
    })
    net = Network(spec, (1, 6, 6), np.float64)
    assert not _rewritten(net)


def test_reordered_network_passes_the_gradient_check():
    spec = chain([{"type": "Conv2D", "filters": 3, "kernel_size": 3}, {"type": "ReLU"},
                  {"type": "MaxPool2D", "pool_size": 2}, {"type": "Conv2D", "filters": 2,
                                                          "kernel_size": 2, "padding": "same"},
                  {"type": "ReLU"}, {"type": "MaxPool2D", "pool_size": 3, "strides": 1},
                  {"type": "Flatten"}, {"type": "Dense", "units": 3}, {"type": "Softmax"}])
    net = check_network_gradients(spec, (2, 9, 9), "cross_entropy", np.array([0, 2, 1]), seed=2)
    assert _rewritten(net)


def test_a_fused_convolution_passes_the_gradient_check_with_its_input_gradient():
    spec = chain([{"type": "Conv2D", "filters": 4, "kernel_size": 2}, {"type": "ReLU"},
                  {"type": "Conv2D", "filters": 3, "kernel_size": 3, "strides": 2,
                   "padding": "same", "dilation_rate": 1}, {"type": "ReLU"},
                  {"type": "MaxPool2D"}, {"type": "Flatten"}, {"type": "Dense", "units": 3},
                  {"type": "Softmax"}])
    net = check_network_gradients(spec, (2, 12, 11), "cross_entropy", np.array([0, 2, 1]),
                                  seed=3)
    assert _fused_convs(net) == {"n2"}


def test_feature_maps_show_the_true_outputs_of_a_reordered_and_fused_network():
    spec = chain([{"type": "Conv2D", "filters": 4, "kernel_size": 3}, {"type": "ReLU"},
                  {"type": "MaxPool2D"}, {"type": "Conv2D", "filters": 6, "kernel_size": 3},
                  {"type": "ReLU"}, {"type": "MaxPool2D"}, {"type": "Flatten"},
                  {"type": "Dense", "units": 2}])
    fused, plain = fusion_pair(spec, (1, 16, 17), np.float32)
    assert _fused_convs(fused) == {"n3"}
    x = np.random.default_rng(5).normal(size=(1, 16, 17)).astype(np.float32)
    a, b = feature_maps(fused, x), feature_maps(plain, x)
    assert [m.title for m in a] == [m.title for m in b]
    assert a[0].title.startswith("n0 → n1") and a[2].title.startswith("n3 → n4")
    for ma, mb in zip(a, b, strict=True):  # the fused convolution: all 5 × 5, odd row too
        np.testing.assert_allclose(ma.maps, mb.maps, rtol=1e-6, atol=1e-6)
    assert a[2].maps.shape == (6, 5, 5)
    assert (a[0].maps >= 0).all() and (a[0].maps == 0).any()
    # the raw convolution's output too, read after a training step
    fused.forward(x[None], training=True)
    plain.forward(x[None], training=True)
    np.testing.assert_allclose(fused.values["n3"], plain.values["n3"], rtol=1e-6, atol=1e-6)
