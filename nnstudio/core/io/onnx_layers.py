"""ONNX converters of the engine's layers (opset 19), used by :mod:`.onnx_export`.

Each converter receives the graph builder, the built layer (settings and weight views), the
names of its input tensors and the per-sample shapes, and returns the name of its output
tensor. Tensors carry the batch axis first, as in the engine; recurrent ops run in ONNX's
default time-major layout (onnxruntime supports no other), so they are wrapped in Transposes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnstudio.core.errors import ExportError

Shape = tuple[int, ...]
Converter = Callable[[Any, Any, list[str], list[Shape], Shape], str]
CONVERTERS: dict[str, Converter] = {}


def converts(*type_names: str):
    def deco(fn: Converter) -> Converter:
        for t in type_names:
            CONVERTERS[t] = fn
        return fn
    return deco


def convert_layer(g: Any, layer: Any, inputs: list[str], in_shapes: list[Shape],
                  out_shape: Shape) -> str:
    """ONNX nodes for one layer; :class:`ExportError` for a layer type with no converter."""
    fn = CONVERTERS.get(layer.type_name)
    if fn is None:
        raise ExportError(
            f"{layer.where}: layer type {layer.type_name} cannot be exported to ONNX "
            f"(supported: {', '.join(sorted(CONVERTERS))})"
        )
    return fn(g, layer, inputs, in_shapes, out_shape)


def _w(layer: Any, name: str) -> np.ndarray:
    return np.asarray(layer.params.get(name, layer.state.get(name)), np.float32)


@converts("Input", "Dropout", "Linear", "Output")
def _identity(g, layer, inputs, in_shapes, out_shape):
    return g.node("Identity", inputs, layer.name)


@converts("Dense")
def _dense(g, layer, inputs, in_shapes, out_shape):
    W = g.const(f"{layer.name}/W", _w(layer, "W"))
    if len(in_shapes[0]) == 2:  # a sequence (N, T, F): MatMul on the last axis (Gemm is 2-D)
        if "b" not in layer.params:
            return g.node("MatMul", [inputs[0], W], layer.name)
        y = g.node("MatMul", [inputs[0], W], f"{layer.name}/xW")
        return g.node("Add", [y, g.const(f"{layer.name}/b", _w(layer, "b"))], layer.name)
    if "b" in layer.params:
        b = g.const(f"{layer.name}/b", _w(layer, "b"))
        return g.node("Gemm", [inputs[0], W, b], layer.name)
    return g.node("MatMul", [inputs[0], W], layer.name)


@converts("ReLU")
def _relu(g, layer, inputs, in_shapes, out_shape):
    return g.node("Relu", inputs, layer.name)


@converts("LeakyReLU")
def _leaky(g, layer, inputs, in_shapes, out_shape):
    return g.node("LeakyRelu", inputs, layer.name, alpha=float(layer.config["alpha"]))


@converts("Sigmoid")
def _sigmoid(g, layer, inputs, in_shapes, out_shape):
    return g.node("Sigmoid", inputs, layer.name)


@converts("Tanh")
def _tanh(g, layer, inputs, in_shapes, out_shape):
    return g.node("Tanh", inputs, layer.name)


@converts("Softmax")
def _softmax(g, layer, inputs, in_shapes, out_shape):
    return g.node("Softmax", inputs, layer.name, axis=-1)


@converts("BatchNorm")
def _batchnorm(g, layer, inputs, in_shapes, out_shape):
    names = [g.const(f"{layer.name}/{k}", _w(layer, k))
             for k in ("gamma", "beta", "running_mean", "running_var")]
    if len(in_shapes[0]) == 2:  # a sequence (N, T, F): ONNX normalizes axis 1
        x = g.node("Transpose", inputs, f"{layer.name}/channels_first", perm=[0, 2, 1])
        y = g.node("BatchNormalization", [x, *names], f"{layer.name}/norm",
                   epsilon=float(layer.config["epsilon"]))
        return g.node("Transpose", [y], layer.name, perm=[0, 2, 1])
    return g.node("BatchNormalization", [inputs[0], *names], layer.name,
                  epsilon=float(layer.config["epsilon"]))


def _pads(layer: Any, shape: Shape, kernel, strides, dilation=(1, 1)) -> list[int]:
    from nnstudio.core.engine.conv import spatial_plan

    _, _, top, bottom, left, right = spatial_plan(
        layer, tuple(shape), tuple(kernel), tuple(strides), layer.config["padding"], "kernel",
        tuple(dilation),
    )
    return [int(top), int(left), int(bottom), int(right)]


@converts("Conv2D", "DepthwiseConv2D")
def _conv(g, layer, inputs, in_shapes, out_shape):
    kernel, strides = layer.config["kernel_size"], layer.config["strides"]
    dilation = list(layer.config.get("dilation_rate", [1, 1]))
    ins = [inputs[0], g.const(f"{layer.name}/W", _w(layer, "W"))]
    if "b" in layer.params:
        ins.append(g.const(f"{layer.name}/b", _w(layer, "b")))
    return g.node("Conv", ins, layer.name, kernel_shape=list(kernel), strides=list(strides),
                  pads=_pads(layer, in_shapes[0], kernel, strides, dilation),
                  dilations=dilation, group=int(layer.config.get("groups", 1)))


@converts("MaxPool2D", "AvgPool2D")
def _pool(g, layer, inputs, in_shapes, out_shape):
    kernel, strides = layer.config["pool_size"], layer.strides
    attrs = {"kernel_shape": list(kernel), "strides": list(strides),
             "pads": _pads(layer, in_shapes[0], kernel, strides)}
    if layer.type_name == "MaxPool2D":
        return g.node("MaxPool", inputs, layer.name, **attrs)
    return g.node("AveragePool", inputs, layer.name, count_include_pad=0, **attrs)


@converts("GlobalAvgPool2D")
def _gap(g, layer, inputs, in_shapes, out_shape):
    pooled = g.node("GlobalAveragePool", inputs, f"{layer.name}/pool")
    return g.node("Flatten", [pooled], layer.name, axis=1)


@converts("Flatten")
def _flatten(g, layer, inputs, in_shapes, out_shape):
    return g.node("Flatten", inputs, layer.name, axis=1)


@converts("Reshape")
def _reshape(g, layer, inputs, in_shapes, out_shape):
    shape = g.const(f"{layer.name}/shape", np.array([-1, *out_shape], np.int64))
    return g.node("Reshape", [inputs[0], shape], layer.name)


@converts("Add")
def _add(g, layer, inputs, in_shapes, out_shape):
    return g.node("Add" if len(inputs) == 2 else "Sum", inputs, layer.name)


@converts("Concatenate")
def _concat(g, layer, inputs, in_shapes, out_shape):
    axis = int(layer.config["axis"]) % len(in_shapes[0])
    return g.node("Concat", inputs, layer.name, axis=axis + 1)


@converts("SimpleRNN", "LSTM", "GRU")
def _recurrent(g, layer, inputs, in_shapes, out_shape):
    op = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[layer.type_name]
    h = int(layer.config["units"])
    n = layer.name
    W = g.const(f"{n}/W", _w(layer, "W")[None])
    R = g.const(f"{n}/R", _w(layer, "R")[None])
    B = g.const(f"{n}/b", _w(layer, "b")[None])
    x_tm = g.node("Transpose", inputs, f"{n}/time_major", perm=[1, 0, 2])  # (T, N, F)
    attrs: dict[str, Any] = {"hidden_size": h}
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    y, y_h = g.node(op, [x_tm, W, R, B], [f"{n}/Y", f"{n}/Y_h"], **attrs)
    if layer.config["return_sequences"]:
        # Y (T, 1, N, H) → (N, T, H)
        seq = g.node("Squeeze", [y, g.const(f"{n}/axis1", np.array([1], np.int64))],
                     f"{n}/seq")
        return g.node("Transpose", [seq], n, perm=[1, 0, 2])
    # Y_h (1, N, H) → (N, H)
    return g.node("Squeeze", [y_h, g.const(f"{n}/axis0", np.array([0], np.int64))], n)


# Converters of the layers added later live in their own modules (new convolution, pooling,
# activation and merge layers; the sequence layers); importing them registers them.
from nnstudio.core.io import onnx_layers_more, onnx_text  # noqa: E402, F401
