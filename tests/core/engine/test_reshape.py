"""Flatten and Reshape; and the contract every registered layer keeps (config round trip,
palette metadata, shape inference agreeing with the forward pass)."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.engine import CATEGORIES, LAYERS, Layer, Network, infer_shapes
from nnstudio.core.engine.reshape import Flatten, Reshape
from nnstudio.core.errors import ConfigError, ShapeError
from tests.core.engine.gradcheck import chain, check_layer_gradients


@pytest.mark.parametrize(
    "target, shape, out",
    [
        ([1, 28, 28], (784,), (1, 28, 28)),
        ([1, -1, 28], (784,), (1, 28, 28)),
        ([28, 28], (1, 28, 28), (28, 28)),
        ([-1], (3, 4, 5), (60,)),
        ([2, -1], (3, 4), (2, 6)),
    ],
)
def test_reshape_shapes(target, shape, out):
    assert Reshape("r", shape=target).output_shape([shape]) == out
    net = Network(chain([{"type": "Reshape", "shape": target}]), shape)
    x = np.arange(2 * np.prod(shape), dtype=np.float32).reshape(2, *shape)
    y = net.forward(x)
    assert y.shape == (2, *out)
    np.testing.assert_array_equal(y.reshape(-1), x.reshape(-1))  # row-major, values kept


@pytest.mark.parametrize(
    "target, shape, message",
    [
        ([1, 28, 28], (100,), "cannot reshape (100,) (100 values) to (1, 28, 28) (784 values)"),
        ([-1, 3], (10,), "10 is not a multiple of 3"),
        ([-1, -1], (10,), "at most one -1"),
    ],
)
def test_reshape_errors(target, shape, message):
    with pytest.raises(ShapeError) as err:
        Reshape("rs", shape=target).output_shape([shape])
    assert str(err.value).startswith("Reshape 'rs': ") and message in str(err.value)


def test_reshape_rejects_zero_sizes():
    with pytest.raises(ConfigError, match="positive sizes"):
        Reshape("rs", shape=[0, 5])


@pytest.mark.parametrize("kind, config, shape", [
    (Flatten, {}, (2, 3, 4)), (Reshape, {"shape": [4, -1]}, (2, 3, 4)),
    (Reshape, {"shape": [1, 2, 3]}, (6,)),
])
def test_reshaping_gradients(kind, config, shape):
    check_layer_gradients(lambda: kind("r", **config), [shape], seed=0)


def test_flatten_is_a_view_and_copies_a_strided_input():
    layer = Flatten("f")
    x = np.zeros((2, 3, 4, 5), np.float32)
    assert np.shares_memory(layer.forward([x], True), x)
    strided = np.zeros((2, 5, 4, 3), np.float32).transpose(0, 3, 2, 1)
    y = layer.forward([strided], True)
    assert y.shape == (2, 60) and y.flags.c_contiguous
    assert layer.backward(np.ones((2, 60), np.float32))[0].shape == (2, 3, 4, 5)


def test_describe():
    assert Flatten("f").describe() == "Flatten"
    assert Reshape("r", shape=[1, -1, 28]).describe() == "Reshape 1x?x28"
    assert Flatten.category == Reshape.category == "Core"


def test_a_mnist_row_of_pixels_feeds_a_convolution_through_reshape():
    spec = chain([
        {"type": "Reshape", "shape": [1, 28, 28]},
        {"type": "Conv2D", "filters": 4, "kernel_size": 5},
        {"type": "MaxPool2D"},
        {"type": "Flatten"},
        {"type": "Dense", "units": 10},
    ])
    report = infer_shapes(spec, (784,))
    assert report.ok, report.errors
    assert [report.nodes[f"n{i}"].shape for i in range(5)] == [
        (1, 28, 28), (4, 24, 24), (4, 12, 12), (576,), (10,)
    ]
    assert report.total_params == 4 * 25 + 4 + 576 * 10 + 10
    net = Network(spec, (784,))
    net.forward(np.zeros((3, 784), np.float32))
    assert {k: v.shape[1:] for k, v in net.values.items()} == {
        "in": (784,), **{f"n{i}": report.nodes[f"n{i}"].shape for i in range(5)}
    }
    assert net.n_params == report.total_params


# -- every registered layer ------------------------------------------------------------------
@pytest.mark.parametrize("type_name", list(LAYERS))
def test_every_layer_round_trips_through_its_config(type_name):
    cls = LAYERS[type_name]
    layer = cls("node_1")
    again = Layer.from_config(type_name, "node_1", layer.get_config())
    assert type(again) is cls
    assert again.get_config() == layer.get_config()
    assert again.describe() == layer.describe()


@pytest.mark.parametrize("type_name", list(LAYERS))
def test_every_layer_has_palette_metadata(type_name):
    cls = LAYERS[type_name]
    assert cls.type_name == type_name
    assert cls.category in CATEGORIES
    assert cls.summary and "\n" not in cls.summary
    names = [s.name for s in cls.settings]
    assert len(names) == len(set(names))
    assert isinstance(cls("x").describe(), str)


NON_DEFAULT = {
    "Conv2D": {"filters": 3, "kernel_size": [2, 3], "strides": [2, 1], "padding": "same",
               "use_bias": False, "kernel_initializer": "he_normal"},
    "MaxPool2D": {"pool_size": [3, 3], "strides": [2, 2], "padding": "same"},
    "AvgPool2D": {"pool_size": 3, "strides": 1},
    "Reshape": {"shape": [7, -1, 2]},
    "LSTM": {"units": 7, "return_sequences": True},
    "GRU": {"units": 2, "return_sequences": True},
    "SimpleRNN": {"units": 9},
}


@pytest.mark.parametrize("type_name", sorted(NON_DEFAULT))
def test_new_layers_round_trip_non_default_configs(type_name):
    layer = Layer.from_config(type_name, "n", NON_DEFAULT[type_name])
    again = Layer.from_config(type_name, "n", layer.get_config())
    assert again.get_config() == layer.get_config()
    for key, value in NON_DEFAULT[type_name].items():
        got = layer.get_config()[key]
        assert got == (list(value) if isinstance(value, list) else
                       [value, value] if isinstance(got, list) else value)
