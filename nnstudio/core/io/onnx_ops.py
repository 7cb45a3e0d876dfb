"""ONNX operators → engine layers: one entry per operator in :data:`OPS`.

Each converter gets the :class:`~nnstudio.core.io.onnx_import.Builder`, the ONNX node, its
inputs (a :class:`Dyn` for a value that depends on the network's input, a NumPy array for a
constant) and its attributes; it adds layers with ``b.add(type, config, inputs, arrays)``
and returns one value per output of the node. Constant sub-graphs (shapes, initial zero
states) are folded before the converters run (:data:`FOLD`), so converters only see the data
path. Anything a layer cannot express raises :class:`UnsupportedError` with the reason; the
importer names the operator and the node.

Values keep a *layout* relative to the engine's batch-first tensor: ``"same"``, or
``"time"`` for a sequence transposed to ONNX's time-major ``(T, N, F)`` (recurrent operators
read and write that form, between two ``Transpose``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnstudio.core.engine.conv import same_padding


class UnsupportedError(Exception):
    """The operator (with these attributes or inputs) has no engine equivalent."""


@dataclass(frozen=True)
class Dyn:
    """A value computed from the network input: the engine node giving it and its layout.

    ``part`` marks the raw outputs of a recurrent operator (``"Y"``, ``"Y_h"``) before a
    ``Squeeze`` says which one is used.
    """

    node: str
    layout: str = "same"
    part: str | None = None


def _const(v: Any, what: str) -> np.ndarray:
    if isinstance(v, Dyn):
        raise UnsupportedError(f"{what} must be a constant (an initializer), not computed")
    return v


def _dyn(v: Any, what: str = "the input") -> Dyn:
    if not isinstance(v, Dyn):
        raise UnsupportedError(f"{what} is a constant: nothing of the network's input flows in")
    if v.part is not None:
        raise UnsupportedError(f"uses the raw {v.part} output of a recurrent layer")
    return v


def _same(v: Any) -> Dyn:
    d = _dyn(v)
    if d.layout != "same":
        raise UnsupportedError("works on a time-major sequence, which only recurrent layers read")
    return d


# -- dense ---------------------------------------------------------------------------------------

def gemm(b, node, ins, attrs):
    x = _same(ins[0])
    w = _const(ins[1], "B").astype(np.float32)
    if attrs.get("transA", 0):
        raise UnsupportedError("transA = 1 (the data transposed) is not a dense layer")
    if attrs.get("alpha", 1.0) != 1.0 or (len(ins) > 2 and attrs.get("beta", 1.0) != 1.0):
        w = w * np.float32(attrs.get("alpha", 1.0))
    W = w.T if attrs.get("transB", 0) else w
    arrays = {"W": W}
    if len(ins) > 2 and ins[2] is not None:
        c = _const(ins[2], "C").astype(np.float32) * np.float32(attrs.get("beta", 1.0))
        arrays["b"] = np.broadcast_to(c.reshape(-1), (W.shape[1],)).copy()
    return [b.add("Dense", {"units": int(W.shape[1]), "use_bias": "b" in arrays}, [x], arrays)]


def matmul(b, node, ins, attrs):
    x = _same(ins[0])
    W = _const(ins[1], "the second input").astype(np.float32)
    if W.ndim != 2:
        raise UnsupportedError(f"a {W.ndim}-D weight is not a dense layer")
    return [b.add("Dense", {"units": int(W.shape[1]), "use_bias": False}, [x], {"W": W})]


def add(b, node, ins, attrs):
    if all(isinstance(v, Dyn) for v in ins):
        return [b.add("Add", {}, [_same(v) for v in ins], {})]
    x = next(v for v in ins if isinstance(v, Dyn))
    c = next(v for v in ins if not isinstance(v, Dyn))
    if b.absorb_bias(_same(x), np.asarray(c, np.float32)):
        return [x]
    raise UnsupportedError("adds a constant to a value that is not a bias-free dense layer")


# -- convolution and pooling -------------------------------------------------------------------

def _padding(b, x: Dyn, kernel, strides, pads) -> str:
    """``valid`` or ``same`` for ONNX ``pads`` on an input of the node ``x``."""
    if not any(pads):
        return "valid"
    shape = b.shape(x.node)
    if len(shape) == 3:
        (t, bt), (left, r) = (same_padding(shape[1], kernel[0], strides[0]),
                              same_padding(shape[2], kernel[1], strides[1]))
        if list(pads) == [t, left, bt, r]:
            return "same"
    raise UnsupportedError(f"pads {list(pads)} are neither none nor 'same' padding")


def _window(attrs, node_kernel):
    if attrs.get("dilations") and any(d != 1 for d in attrs["dilations"]):
        raise UnsupportedError("dilation other than 1")
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID",
                                                 b"SAME_UPPER", "SAME_UPPER"):
        raise UnsupportedError(f"auto_pad {attrs['auto_pad']!r}")
    if attrs.get("ceil_mode", 0):
        raise UnsupportedError("ceil_mode = 1")
    kernel = list(node_kernel)
    if len(kernel) != 2:
        raise UnsupportedError(f"a {len(kernel)}-D window (only 2-D images)")
    strides = list(attrs.get("strides", [1, 1]))
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    auto = attrs.get("auto_pad", "NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    return kernel, strides, pads, auto


def conv(b, node, ins, attrs):
    x = _same(ins[0])
    W = _const(ins[1], "W").astype(np.float32)
    if attrs.get("group", 1) != 1:
        raise UnsupportedError(f"group = {attrs['group']} (grouped convolution)")
    kernel, strides, pads, auto = _window(attrs, attrs.get("kernel_shape", W.shape[2:]))
    padding = "same" if auto == "SAME_UPPER" else _padding(b, x, kernel, strides, pads)
    arrays = {"W": W}
    if len(ins) > 2 and ins[2] is not None:
        arrays["b"] = _const(ins[2], "B").astype(np.float32)
    return [b.add("Conv2D", {"filters": int(W.shape[0]), "kernel_size": kernel,
                             "strides": strides, "padding": padding,
                             "use_bias": "b" in arrays}, [x], arrays)]


def _pool(kind):
    def convert(b, node, ins, attrs):
        x = _same(ins[0])
        kernel, strides, pads, auto = _window(attrs, attrs.get("kernel_shape", []))
        padding = "same" if auto == "SAME_UPPER" else _padding(b, x, kernel, strides, pads)
        if kind == "AvgPool2D" and padding == "same" and attrs.get("count_include_pad", 0):
            raise UnsupportedError("count_include_pad = 1 (nnstudio averages real pixels only)")
        return [b.add(kind, {"pool_size": kernel, "strides": strides, "padding": padding},
                      [x], {})]
    return convert


def global_avg_pool(b, node, ins, attrs):
    x = _same(ins[0])
    c = b.shape(x.node)[0]
    pooled = b.add("GlobalAvgPool2D", {}, [x], {})
    return [b.add("Reshape", {"shape": [c, 1, 1]}, [pooled], {})]  # ONNX keeps (N, C, 1, 1)


def batch_norm(b, node, ins, attrs):
    x = _same(ins[0])
    names = ("gamma", "beta", "running_mean", "running_var")
    arrays = {n: _const(v, n).astype(np.float32) for n, v in zip(names, ins[1:5], strict=True)}
    return [b.add("BatchNorm", {"momentum": float(attrs.get("momentum", 0.9)),
                                "epsilon": float(attrs.get("epsilon", 1e-5))}, [x], arrays)]


# -- activations, shapes, merges -----------------------------------------------------------------

def _activation(kind):
    def convert(b, node, ins, attrs):
        return [b.add(kind, {}, [_same(ins[0])], {})]
    return convert


def leaky_relu(b, node, ins, attrs):
    alpha = float(attrs.get("alpha", 0.01))
    if not 0.0 <= alpha <= 1.0:
        raise UnsupportedError(f"alpha {alpha} outside [0, 1]")
    return [b.add("LeakyReLU", {"alpha": alpha}, [_same(ins[0])], {})]


def softmax(b, node, ins, attrs):
    x = _same(ins[0])
    ndim = len(b.shape(x.node)) + 1
    axis = attrs.get("axis", -1 if b.opset >= 13 else 1)
    if axis % ndim != ndim - 1:
        raise UnsupportedError(f"softmax over axis {axis}, not the last one")
    return [b.add("Softmax", {}, [x], {})]


def flatten(b, node, ins, attrs):
    if attrs.get("axis", 1) != 1:
        raise UnsupportedError(f"axis {attrs['axis']} (only 1: keep the batch)")
    return [b.add("Flatten", {}, [_same(ins[0])], {})]


def reshape(b, node, ins, attrs):
    x = _same(ins[0])
    shape = [int(v) for v in _const(ins[1], "the shape")]
    rest = shape[1:]
    if not rest:
        raise UnsupportedError("reshapes away the batch axis")
    if 0 in rest:
        old = b.shape(x.node)
        rest = [old[i] if v == 0 else v for i, v in enumerate(rest)]
    return [b.add("Reshape", {"shape": rest}, [x], {})]


def concat(b, node, ins, attrs):
    xs = [_same(v) for v in ins]
    ndim = len(b.shape(xs[0].node)) + 1
    axis = int(attrs["axis"]) % ndim
    if axis == 0:
        raise UnsupportedError("joins along the batch axis")
    return [b.add("Concatenate", {"axis": axis - 1}, xs, {})]


def identity(b, node, ins, attrs):
    return [ins[0]]


def transpose(b, node, ins, attrs):
    x = _dyn(ins[0])
    perm = list(attrs.get("perm", []))
    if perm == [1, 0, 2] and len(b.shape(x.node)) == 2:
        return [Dyn(x.node, "time" if x.layout == "same" else "same")]
    raise UnsupportedError(f"perm {perm}: only the (batch, time) swap around recurrent layers")


def squeeze(b, node, ins, attrs):
    v = ins[0]
    axes = attrs.get("axes")
    if axes is None and len(ins) > 1:
        axes = [int(a) for a in _const(ins[1], "axes")]
    axes = list(axes or [])
    if isinstance(v, Dyn) and v.part == "Y" and axes == [1]:
        b.finish_recurrent(v.node, return_sequences=True)
        return [Dyn(v.node, "time")]
    if isinstance(v, Dyn) and v.part == "Y_h" and axes == [0]:
        b.finish_recurrent(v.node, return_sequences=False)
        return [Dyn(v.node, "same")]
    raise UnsupportedError(f"squeezes axes {axes} (only the direction axis of a recurrent output)")


def gather(b, node, ins, attrs):
    index = _const(ins[1], "the index")
    v = ins[0]
    if isinstance(v, Dyn) and v.part == "Y_h" and attrs.get("axis", 0) == 0 and \
            index.ndim == 0 and int(index) in (0, -1):  # h_n[0]: the last state
        b.finish_recurrent(v.node, return_sequences=False)
        return [Dyn(v.node, "same")]
    x = _same(v)
    steps = b.shape(x.node)
    if attrs.get("axis", 0) == 1 and index.ndim == 0 and len(steps) == 2 and \
            int(index) % steps[0] == steps[0] - 1 and b.last_step(x.node):
        return [Dyn(x.node, "same")]
    raise UnsupportedError("gathers something other than the last step of a recurrent layer")


#: ONNX's default activations of the recurrent operators (what the engine computes).
DEFAULT_ACTIVATIONS = {"SimpleRNN": ["tanh"], "LSTM": ["sigmoid", "tanh", "tanh"],
                       "GRU": ["sigmoid", "tanh"]}


def _recurrent(kind, gates):
    def convert(b, node, ins, attrs):
        x = _dyn(ins[0])
        if x.layout != "time":
            raise UnsupportedError("reads a batch-first sequence (expected the time-major form)")
        if attrs.get("direction", b"forward") not in (b"forward", "forward"):
            raise UnsupportedError(f"direction {attrs['direction']!r} (only forward)")
        acts = [a.decode() if isinstance(a, bytes) else a for a in attrs.get("activations", [])]
        if acts and [a.lower() for a in acts] != DEFAULT_ACTIVATIONS[kind]:
            raise UnsupportedError(f"activations {acts} (only the default ones)")
        if attrs.get("clip") or attrs.get("input_forget", 0):
            raise UnsupportedError("clip or input_forget")
        if kind == "GRU" and attrs.get("linear_before_reset", 0) != 1:
            raise UnsupportedError("linear_before_reset = 0 (nnstudio's GRU, like PyTorch's, "
                              "applies the reset gate after the recurrent product)")
        W = _const(ins[1], "W")[0].astype(np.float32)
        R = _const(ins[2], "R")[0].astype(np.float32)
        h = R.shape[1]
        bias = ins[3] if len(ins) > 3 else None
        B = np.zeros(2 * gates * h, np.float32) if bias is None else \
            _const(bias, "B")[0].astype(np.float32)
        if len(ins) > 4 and ins[4] is not None:
            raise UnsupportedError("sequence_lens (sequences of different lengths)")
        for k, what in ((5, "initial_h"), (6, "initial_c")):
            if len(ins) > k and ins[k] is not None and np.any(_const(ins[k], what)):
                raise UnsupportedError(f"a non-zero {what}")
        if len(ins) > 7 and ins[7] is not None:
            raise UnsupportedError("peepholes")
        layer = b.add(kind, {"units": int(h), "return_sequences": True},
                      [Dyn(x.node, "same")], {"W": W, "R": R, "b": B}, pending=True)
        return [Dyn(layer, "same", "Y"), Dyn(layer, "same", "Y_h"), Dyn(layer, "same", "Y_c")]
    return convert


#: ONNX op type → converter(builder, node, inputs, attributes) → output values.
OPS: dict[str, Callable] = {
    "Gemm": gemm,
    "MatMul": matmul,
    "Add": add,
    "Sum": add,
    "Conv": conv,
    "MaxPool": _pool("MaxPool2D"),
    "AveragePool": _pool("AvgPool2D"),
    "GlobalAveragePool": global_avg_pool,
    "BatchNormalization": batch_norm,
    "Relu": _activation("ReLU"),
    "Sigmoid": _activation("Sigmoid"),
    "Tanh": _activation("Tanh"),
    "LeakyRelu": leaky_relu,
    "Softmax": softmax,
    "Flatten": flatten,
    "Reshape": reshape,
    "Concat": concat,
    "Identity": identity,
    "Dropout": identity,
    "Transpose": transpose,
    "Squeeze": squeeze,
    "Gather": gather,
    "RNN": _recurrent("SimpleRNN", 1),
    "LSTM": _recurrent("LSTM", 4),
    "GRU": _recurrent("GRU", 3),
}


def _fold_gather(data, idx, axis=0):
    return np.take(data, idx, axis=axis)


def _fold_slice(data, starts, ends, axes=None, steps=None):
    sl = [slice(None)] * data.ndim
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    for a, s, e, st in zip(axes, starts, ends, steps, strict=True):
        sl[int(a)] = slice(int(s), int(e), int(st))
    return data[tuple(sl)]


#: Operators evaluated with NumPy when every input is a constant (shape arithmetic, zero
#: initial states): ``fn(inputs, attributes) -> output array``.
FOLD: dict[str, Callable] = {
    "Identity": lambda i, a: i[0],
    "Cast": lambda i, a: i[0],
    "Gather": lambda i, a: _fold_gather(i[0], i[1], a.get("axis", 0)),
    "Unsqueeze": lambda i, a: np.expand_dims(
        i[0], tuple(int(v) for v in (a["axes"] if "axes" in a else i[1]))),
    "Squeeze": lambda i, a: np.squeeze(
        i[0], tuple(int(v) for v in (a["axes"] if "axes" in a else i[1]))),
    "Concat": lambda i, a: np.concatenate([np.atleast_1d(v) for v in i], axis=a["axis"]),
    "Expand": lambda i, a: np.broadcast_to(i[0], np.broadcast_shapes(
        i[0].shape, tuple(int(v) for v in i[1]))).copy(),
    "ConstantOfShape": lambda i, a: np.full(tuple(int(v) for v in i[0]),
                                            a["value"].reshape(-1)[0] if "value" in a else 0.0),
    "Reshape": lambda i, a: i[0].reshape(tuple(int(v) for v in i[1])),
    "Slice": lambda i, a: _fold_slice(i[0], *i[1:]),
    "Add": lambda i, a: i[0] + i[1],
    "Sub": lambda i, a: i[0] - i[1],
    "Mul": lambda i, a: i[0] * i[1],
    "Div": lambda i, a: i[0] // i[1] if i[0].dtype.kind in "iu" else i[0] / i[1],
}
