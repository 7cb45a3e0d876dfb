"""ONNX converters (opset 19) of the layers added with issue 15; same contract as
:mod:`.onnx_layers`, whose table they join on import.

Sequences ``(N, T, F)`` are channels-last in the engine and channels-first in ONNX's
``Conv``/pooling ops, so 1-D layers are wrapped in two ``Transpose`` nodes. GELU is written
with ``Erf`` (ONNX's ``Gelu`` op needs opset 20).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnstudio.core.io.onnx_layers import _w, converts


def _f32(g, name: str, value) -> str:
    return g.const(name, np.asarray(value, np.float32))


def _i64(g, name: str, value) -> str:
    return g.const(name, np.asarray(value, np.int64))


@converts("GELU")
def _gelu(g, layer, inputs, in_shapes, out_shape):
    n, x = layer.name, inputs[0]
    if layer.config["approximate"]:
        x3 = g.node("Mul", [g.node("Mul", [x, x], f"{n}/x2"), x], f"{n}/x3")
        inner = g.node("Add", [x, g.node("Mul", [x3, _f32(g, f"{n}/c", 0.044715)], f"{n}/cx3")],
                       f"{n}/inner")
        u = g.node("Mul", [inner, _f32(g, f"{n}/k", math.sqrt(2 / math.pi))], f"{n}/u")
        t = g.node("Tanh", [u], f"{n}/tanh")
    else:
        u = g.node("Div", [x, _f32(g, f"{n}/sqrt2", math.sqrt(2))], f"{n}/u")
        t = g.node("Erf", [u], f"{n}/erf")
    one = g.node("Add", [t, _f32(g, f"{n}/one", 1.0)], f"{n}/one_plus")
    half_x = g.node("Mul", [x, _f32(g, f"{n}/half", 0.5)], f"{n}/half_x")
    return g.node("Mul", [half_x, one], n)


@converts("ELU")
def _elu(g, layer, inputs, in_shapes, out_shape):
    return g.node("Elu", inputs, layer.name, alpha=float(layer.config["alpha"]))


@converts("SiLU")
def _silu(g, layer, inputs, in_shapes, out_shape):
    s = g.node("Sigmoid", inputs, f"{layer.name}/sigmoid")
    return g.node("Mul", [inputs[0], s], layer.name)


@converts("Softplus")
def _softplus(g, layer, inputs, in_shapes, out_shape):
    return g.node("Softplus", inputs, layer.name)


@converts("PReLU")
def _prelu(g, layer, inputs, in_shapes, out_shape):
    alpha = _w(layer, "alpha")
    shape = layer.slope_shape(len(in_shapes[0]) + 1)[1:]  # per sample: drop the batch axis
    slope = alpha.reshape([len(alpha) if s == -1 else 1 for s in shape] or [1])
    return g.node("PRelu", [inputs[0], g.const(f"{layer.name}/alpha", slope)], layer.name)


@converts("Multiply")
def _multiply(g, layer, inputs, in_shapes, out_shape):
    y = inputs[0]
    for i, x in enumerate(inputs[1:], 1):
        y = g.node("Mul", [y, x], layer.name if i == len(inputs) - 1 else f"{layer.name}/p{i}")
    return y


@converts("Average")
def _average(g, layer, inputs, in_shapes, out_shape):
    return g.node("Mean", inputs, layer.name)


@converts("Permute")
def _permute(g, layer, inputs, in_shapes, out_shape):
    return g.node("Transpose", inputs, layer.name, perm=[0, *map(int, layer.config["dims"])])


@converts("GlobalMaxPool2D")
def _gmp(g, layer, inputs, in_shapes, out_shape):
    pooled = g.node("GlobalMaxPool", inputs, f"{layer.name}/pool")
    return g.node("Flatten", [pooled], layer.name, axis=1)


def _channels_first(g, layer, op: str, inputs: list[str], **attrs: Any) -> str:
    """``op`` on a sequence: ``(N, T, F)`` → ``(N, F, T)`` → op → back to channels last."""
    n = layer.name
    x = g.node("Transpose", [inputs[0]], f"{n}/channels_first", perm=[0, 2, 1])
    y = g.node(op, [x, *inputs[1:]], f"{n}/{op.lower()}", **attrs)
    return g.node("Transpose", [y], n, perm=[0, 2, 1])


@converts("MaxPool1D", "AvgPool1D")
def _pool1d(g, layer, inputs, in_shapes, out_shape):
    k, s = layer.config["pool_size"], layer.stride
    _, before, after = layer._plan(in_shapes[0])
    attrs = {"kernel_shape": [k], "strides": [s], "pads": [before, after]}
    if layer.type_name == "MaxPool1D":
        return _channels_first(g, layer, "MaxPool", inputs, **attrs)
    return _channels_first(g, layer, "AveragePool", inputs, count_include_pad=0, **attrs)


@converts("Conv1D")
def _conv1d(g, layer, inputs, in_shapes, out_shape):
    c = layer.config
    _, before, after = layer.plan(in_shapes[0])
    ins = [inputs[0], g.const(f"{layer.name}/W", _w(layer, "W"))]
    if "b" in layer.params:
        ins.append(g.const(f"{layer.name}/b", _w(layer, "b")))
    return _channels_first(g, layer, "Conv", ins, kernel_shape=[c["kernel_size"]],
                           strides=[c["strides"]], pads=[before, after],
                           dilations=[c["dilation_rate"]], group=int(c["groups"]))


@converts("Conv2DTranspose")
def _conv_transpose(g, layer, inputs, in_shapes, out_shape):
    (oh, fh, th, eh), (ow, fw, tw, ew) = layer.plans(tuple(in_shapes[0]))
    ins = [inputs[0], g.const(f"{layer.name}/W", _w(layer, "W"))]
    if "b" in layer.params:
        ins.append(g.const(f"{layer.name}/b", _w(layer, "b")))
    # ONNX: out = s·(n − 1) + output_padding + k − pad_begin − pad_end
    pads = [th, tw, fh + eh - oh - th, fw + ew - ow - tw]
    return g.node("ConvTranspose", ins, layer.name,
                  kernel_shape=list(layer.config["kernel_size"]),
                  strides=list(layer.config["strides"]), pads=[int(p) for p in pads],
                  output_padding=[int(eh), int(ew)])


@converts("UpSampling2D")
def _upsample(g, layer, inputs, in_shapes, out_shape):
    n = layer.name
    c, h, w = in_shapes[0]
    sh, sw = layer.config["size"]
    # (N, C, H, 1, W, 1) broadcast to (N, C, H, sh, W, sw), then merged: exact repeats.
    x = g.node("Reshape", [inputs[0], _i64(g, f"{n}/split", [0, c, h, 1, w, 1])], f"{n}/split")
    x = g.node("Expand", [x, _i64(g, f"{n}/repeats", [1, 1, 1, sh, 1, sw])], f"{n}/expand")
    return g.node("Reshape", [x, _i64(g, f"{n}/shape", [0, c, h * sh, w * sw])], n)


@converts("Bidirectional")
def _bidirectional(g, layer, inputs, in_shapes, out_shape):
    kind = layer.config["layer"]
    op = {"SimpleRNN": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[kind]
    h = int(layer.config["units"])
    n = layer.name
    W, R, B = (g.const(f"{n}/{k}", _w(layer, k)) for k in ("W", "R", "b"))
    x_tm = g.node("Transpose", inputs, f"{n}/time_major", perm=[1, 0, 2])  # (T, N, F)
    attrs: dict[str, Any] = {"hidden_size": h, "direction": "bidirectional"}
    if op == "GRU":
        attrs["linear_before_reset"] = 1
    y, y_h = g.node(op, [x_tm, W, R, B], [f"{n}/Y", f"{n}/Y_h"], **attrs)
    concat = layer.config["merge_mode"] == "concat"
    if layer.config["return_sequences"]:  # Y (T, 2, N, H)
        if concat:
            yt = g.node("Transpose", [y], f"{n}/batch_major", perm=[2, 0, 1, 3])  # (N, T, 2, H)
            return g.node("Reshape", [yt, _i64(g, f"{n}/shape", [0, 0, 2 * h])], n)
        s = g.node("ReduceSum", [y, _i64(g, f"{n}/axis1", [1])], f"{n}/sum", keepdims=0)
        return g.node("Transpose", [s], n, perm=[1, 0, 2])
    if concat:  # Y_h (2, N, H) → (N, 2, H) → (N, 2H): [forward, backward]
        yt = g.node("Transpose", [y_h], f"{n}/batch_major", perm=[1, 0, 2])
        return g.node("Reshape", [yt, _i64(g, f"{n}/shape", [0, 2 * h])], n)
    return g.node("ReduceSum", [y_h, _i64(g, f"{n}/axis0", [0])], n, keepdims=0)
