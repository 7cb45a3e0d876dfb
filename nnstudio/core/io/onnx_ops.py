"""ONNX operators → engine layers: one entry per operator in :data:`OPS`.

Each converter gets the :class:`~nnstudio.core.io.onnx_import.Builder`, the ONNX node, its
inputs (a :class:`Dyn` for a value that depends on the network's input, a NumPy array for a
constant) and its attributes; it adds layers with ``b.add(type, config, inputs, arrays)``
and returns one value per output of the node. Constant sub-graphs (shapes, initial zero
states) are folded before the converters run (:data:`FOLD`), so converters only see the data
path. Anything a layer cannot express raises :class:`UnsupportedError` with the reason; the
importer names the operator and the node.

Values keep a *layout* relative to the engine's batch-first tensor: ``"same"``, ``"time"``
for a sequence transposed to ONNX's time-major ``(T, N, F)`` (recurrent operators read and
write that form, between two ``Transpose``), or ``"swap"`` for a channels-first sequence: ONNX
holds ``(N, C, L)`` (PyTorch's ``Conv1d`` layout), the engine the channels-last ``(N, L, C)``
its 1-D layers read. Element-wise layers keep any layout; a layer that needs the other one gets
a ``Permute`` in front (:meth:`~nnstudio.core.io.onnx_import.Builder.relayout`), so a chain of
1-D convolutions and pools needs none between its layers. The converters of the layers added
after the first importer live in :mod:`.onnx_ops_more`.
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


def part_name(part: str) -> str:
    """How messages name a raw recurrent output (``Y``, ``Y_h``, one direction's ``Y_h``)."""
    base = part.split("@")[0]
    if base in ("BY_h0", "BY_h1"):
        return f"Y_h of the {'forward' if base == 'BY_h0' else 'backward'} direction"
    return {"BY_tn": "Y", "BY_nt": "Y", "BY_hn": "Y_h"}.get(base, base.removeprefix("B"))


def _dyn(v: Any, what: str = "the input") -> Dyn:
    if not isinstance(v, Dyn):
        raise UnsupportedError(f"{what} is a constant: nothing of the network's input flows in")
    if v.part is not None:
        raise UnsupportedError(f"uses the raw {part_name(v.part)} output of the recurrent "
                               f"layer {v.node!r}")
    return v


def _same(b, v: Any) -> Dyn:
    """``v`` in the engine's own layout (a channels-first sequence gets a Permute)."""
    d = _dyn(v)
    if d.layout == "time":
        raise UnsupportedError("works on a time-major sequence (T, N, ...), which only "
                               "recurrent layers read")
    return b.relayout(d, "same")


# -- dense ---------------------------------------------------------------------------------------

def gemm(b, node, ins, attrs):
    x = _same(b, ins[0])
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
    x = _same(b, ins[0])
    W = _const(ins[1], "the second input").astype(np.float32)
    if W.ndim != 2:
        raise UnsupportedError(f"a {W.ndim}-D weight is not a dense layer")
    return [b.add("Dense", {"units": int(W.shape[1]), "use_bias": False}, [x], {"W": W})]


def add(b, node, ins, attrs):
    from nnstudio.core.io.onnx_ops_more import add_constant, bidirectional_sum

    if any(isinstance(v, Dyn) and v.part for v in ins):
        return bidirectional_sum(b, ins)
    if all(isinstance(v, Dyn) for v in ins):
        xs = merge_inputs(b, ins)
        return [Dyn(b.add("Add", {}, xs, {}), xs[0].layout)]
    x = next(v for v in ins if isinstance(v, Dyn))
    c = next(v for v in ins if not isinstance(v, Dyn))
    if b.absorb_bias(_same(b, x), np.asarray(c, np.float32)):
        return [x]
    return add_constant(b, _same(b, x), np.asarray(c, np.float32))


# -- convolution and pooling -------------------------------------------------------------------

def _padding(b, x: Dyn, kernel, strides, pads, dilations) -> str:
    """``valid``, ``same`` (or ``causal`` for a sequence) for ONNX ``pads`` on ``x``.

    ``x`` is an image ``(C, H, W)`` or, for a 1-D window, a sequence in the engine's
    channels-last form ``(L, C)``.
    """
    if not any(pads):
        return "valid"
    shape = b.shape(x.node)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilations, strict=True)]
    if len(kernel) == 2 and len(shape) == 3:
        (t, bt), (left, r) = (same_padding(shape[1], spans[0], strides[0]),
                              same_padding(shape[2], spans[1], strides[1]))
        if list(pads) == [t, left, bt, r]:
            return "same"
    if len(kernel) == 1 and len(shape) == 2:
        if list(pads) == list(same_padding(shape[0], spans[0], strides[0])):
            return "same"
        if list(pads) == [spans[0] - 1, 0]:
            return "causal"
    raise UnsupportedError(f"pads {list(pads)} are neither none nor 'same' padding")


def _window(attrs, node_kernel):
    """``(kernel, strides, pads, auto_pad, dilations)`` of a 1-D or 2-D window."""
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID",
                                                 b"SAME_UPPER", "SAME_UPPER"):
        raise UnsupportedError(f"auto_pad {attrs['auto_pad']!r}")
    if attrs.get("ceil_mode", 0):
        raise UnsupportedError("ceil_mode = 1")
    kernel = [int(k) for k in node_kernel]
    if len(kernel) not in (1, 2):
        raise UnsupportedError(f"a {len(kernel)}-D window (only 1-D sequences and 2-D images)")
    n = len(kernel)
    strides = [int(s) for s in attrs.get("strides", [1] * n)]
    pads = [int(p) for p in attrs.get("pads", [0] * 2 * n)]
    dilations = [int(d) for d in attrs.get("dilations", [1] * n)]
    auto = attrs.get("auto_pad", "NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    return kernel, strides, pads, auto, dilations


def _spatial_input(b, v, rank: int) -> Dyn:
    """The input of a ``rank``-D window: an image as it is, a sequence channels-last."""
    x = _dyn(v)
    if rank == 1:
        if x.layout == "time" or len(b.shape(x.node)) != 2:
            raise UnsupportedError("a 1-D window needs a sequence (N, C, L)")
        return b.relayout(x, "swap")
    return _same(b, x)


def conv(b, node, ins, attrs):
    W = _const(ins[1], "W").astype(np.float32)
    kernel, strides, pads, auto, dil = _window(attrs, attrs.get("kernel_shape", W.shape[2:]))
    x = _spatial_input(b, ins[0], len(kernel))
    padding = "same" if auto == "SAME_UPPER" else _padding(b, x, kernel, strides, pads, dil)
    arrays = {"W": W}
    if len(ins) > 2 and ins[2] is not None:
        arrays["b"] = _const(ins[2], "B").astype(np.float32)
    group = int(attrs.get("group", 1))
    config = {"kernel_size": kernel, "strides": strides, "padding": padding,
              "dilation_rate": dil, "use_bias": "b" in arrays}
    if len(kernel) == 1:
        config.update(kernel_size=kernel[0], strides=strides[0], dilation_rate=dil[0],
                      filters=int(W.shape[0]), groups=group)
        return [Dyn(b.add("Conv1D", config, [x], arrays), "swap")]
    if padding == "causal":
        raise UnsupportedError("causal padding of an image")
    channels = b.shape(x.node)[0]
    if group == channels and group > 1 and W.shape[1] == 1:  # one filter set per channel
        config["depth_multiplier"] = int(W.shape[0]) // channels
        return [b.add("DepthwiseConv2D", config, [x], arrays)]
    config.update(filters=int(W.shape[0]), groups=group)
    return [b.add("Conv2D", config, [x], arrays)]


def _pool(kind):
    def convert(b, node, ins, attrs):
        kernel, strides, pads, auto, dil = _window(attrs, attrs.get("kernel_shape", []))
        if any(d != 1 for d in dil):
            raise UnsupportedError(f"dilations {dil} of a pooling window")
        x = _spatial_input(b, ins[0], len(kernel))
        padding = "same" if auto == "SAME_UPPER" else _padding(b, x, kernel, strides, pads, dil)
        if padding == "causal":
            raise UnsupportedError(f"pads {pads} are neither none nor 'same' padding")
        if kind == "AvgPool" and padding == "same" and attrs.get("count_include_pad", 0):
            raise UnsupportedError("count_include_pad = 1 (nnstudio averages real pixels only)")
        if len(kernel) == 1:
            return [Dyn(b.add(f"{kind}1D", {"pool_size": kernel[0], "strides": strides[0],
                                            "padding": padding}, [x], {}), "swap")]
        return [b.add(f"{kind}2D", {"pool_size": kernel, "strides": strides,
                                    "padding": padding}, [x], {})]
    return convert


def _global_pool(kind):
    def convert(b, node, ins, attrs):
        x = _dyn(ins[0])
        if x.layout != "time" and len(b.shape(x.node)) == 2:  # a sequence (N, C, L)
            x = b.relayout(x, "swap")
            length = b.shape(x.node)[0]  # a window over the whole sequence keeps (N, C, 1)
            return [Dyn(b.add(f"{kind}Pool1D", {"pool_size": length}, [x], {}), "swap")]
        x = _same(b, x)
        c = b.shape(x.node)[0]
        pooled = b.add(f"Global{kind}Pool2D", {}, [x], {})
        return [b.add("Reshape", {"shape": [c, 1, 1]}, [pooled], {})]  # ONNX keeps (N, C, 1, 1)
    return convert


def batch_norm(b, node, ins, attrs):
    x = _dyn(ins[0])
    # ONNX normalizes axis 1: the channels of a sequence (N, C, L) are the engine's last axis
    x = b.relayout(x, "swap") if len(b.shape(x.node)) == 2 else _same(b, x)
    names = ("gamma", "beta", "running_mean", "running_var")
    arrays = {n: _const(v, n).astype(np.float32) for n, v in zip(names, ins[1:5], strict=True)}
    y = b.add("BatchNorm", {"momentum": float(attrs.get("momentum", 0.9)),
                            "epsilon": float(attrs.get("epsilon", 1e-5))}, [x], arrays)
    return [Dyn(y, x.layout)]


# -- activations, shapes, merges -----------------------------------------------------------------

def _elementwise(b, v) -> Dyn:
    """The input of an element-wise layer, in whatever layout it comes (kept by the output)."""
    x = _dyn(v)
    if x.layout == "time":
        raise UnsupportedError("works on a time-major sequence, which only recurrent layers read")
    return x


def _activation(kind):
    def convert(b, node, ins, attrs):
        x = _elementwise(b, ins[0])
        return [Dyn(b.add(kind, {}, [x], {}), x.layout)]
    return convert


def merge_inputs(b, ins) -> list[Dyn]:
    """Inputs of a merge layer in one layout: channels-first sequences stay so if all are."""
    xs = [_elementwise(b, v) for v in ins]
    layout = "swap" if all(x.layout == "swap" for x in xs) else "same"
    return [b.relayout(x, layout) for x in xs]


def leaky_relu(b, node, ins, attrs):
    alpha = float(attrs.get("alpha", 0.01))
    if not 0.0 <= alpha <= 1.0:
        raise UnsupportedError(f"alpha {alpha} outside [0, 1]")
    return [b.add("LeakyReLU", {"alpha": alpha}, [_same(b, ins[0])], {})]


def softmax(b, node, ins, attrs):
    x = _same(b, ins[0])
    ndim = len(b.shape(x.node)) + 1
    axis = attrs.get("axis", -1 if b.opset >= 13 else 1)
    if axis % ndim != ndim - 1:
        raise UnsupportedError(f"softmax over axis {axis}, not the last one")
    return [b.add("Softmax", {}, [x], {})]


def flatten(b, node, ins, attrs):
    if attrs.get("axis", 1) != 1:
        raise UnsupportedError(f"axis {attrs['axis']} (only 1: keep the batch)")
    return [b.add("Flatten", {}, [_same(b, ins[0])], {})]


def reshape(b, node, ins, attrs):
    shape = [int(v) for v in _const(ins[1], "the shape")]
    if isinstance(ins[0], Dyn) and ins[0].part:
        from nnstudio.core.io.onnx_ops_more import bidirectional_reshape

        return bidirectional_reshape(b, ins[0], shape)
    x = _same(b, ins[0])
    rest = shape[1:]
    if not rest:
        raise UnsupportedError("reshapes away the batch axis")
    if 0 in rest:
        old = b.shape(x.node)
        rest = [old[i] if v == 0 else v for i, v in enumerate(rest)]
    return [b.add("Reshape", {"shape": rest}, [x], {})]


def concat(b, node, ins, attrs):
    if any(isinstance(v, Dyn) and v.part for v in ins):
        from nnstudio.core.io.onnx_ops_more import bidirectional_concat

        return bidirectional_concat(b, ins, int(attrs["axis"]))
    xs = merge_inputs(b, ins)
    ndim = len(b.shape(xs[0].node)) + 1
    axis = int(attrs["axis"]) % ndim
    if axis == 0:
        raise UnsupportedError("joins along the batch axis")
    if xs[0].layout == "swap":  # (N, C, L) held as (N, L, C): ONNX axis 1 is the engine's 2
        axis = 3 - axis
    return [Dyn(b.add("Concatenate", {"axis": axis - 1}, xs, {}), xs[0].layout)]


def identity(b, node, ins, attrs):
    return [ins[0]]


def transpose(b, node, ins, attrs):
    v = ins[0]
    perm = [int(p) for p in attrs.get("perm", [])]
    if isinstance(v, Dyn) and v.part:
        from nnstudio.core.io.onnx_ops_more import bidirectional_transpose

        return bidirectional_transpose(b, v, perm)
    x = _dyn(v)
    rank = len(b.shape(x.node))
    if not perm:
        perm = list(range(rank, -1, -1))
    if perm == [1, 0, 2] and rank == 2:
        return [Dyn(b.relayout(x, "same").node, "time") if x.layout != "time" else
                Dyn(x.node, "same")]
    if x.layout == "time":
        raise UnsupportedError(f"perm {perm} of a time-major sequence")
    if perm[0] != 0 or sorted(perm) != list(range(rank + 1)):
        raise UnsupportedError(f"perm {perm} moves the batch axis")
    if perm == list(range(rank + 1)):
        return [x]
    if perm == [0, 2, 1] and rank == 2:  # no layer: the engine's view of it changes
        return [Dyn(x.node, "swap" if x.layout == "same" else "same")]
    x = _same(b, x)
    return [b.add("Permute", {"dims": perm[1:]}, [x], {})]


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
    if isinstance(v, Dyn) and v.part is None and v.layout != "time" and axes:
        from nnstudio.core.io.onnx_ops_more import squeeze_axes

        return squeeze_axes(b, _same(b, v), axes)
    raise UnsupportedError(f"squeezes axes {axes} (only the direction axis of a recurrent "
                           "output, or single axes of a sample)")


def gather(b, node, ins, attrs):
    v = ins[0]
    if not isinstance(v, Dyn) and isinstance(ins[1], Dyn):
        from nnstudio.core.io.onnx_ops_more import embedding

        return embedding(b, v, ins[1], int(attrs.get("axis", 0)))
    index = _const(ins[1], "the index")
    if isinstance(v, Dyn) and v.part == "Y_h" and attrs.get("axis", 0) == 0 and \
            index.ndim == 0 and int(index) in (0, -1):  # h_n[0]: the last state
        b.finish_recurrent(v.node, return_sequences=False)
        return [Dyn(v.node, "same")]
    if isinstance(v, Dyn) and v.part:
        from nnstudio.core.io.onnx_ops_more import bidirectional_gather

        return bidirectional_gather(b, v, index, int(attrs.get("axis", 0)))
    x = _same(b, v)
    steps = b.shape(x.node)
    if attrs.get("axis", 0) == 1 and index.size == 1 and index.ndim <= 1 and len(steps) == 2 \
            and int(index.reshape(-1)[0]) % steps[0] == steps[0] - 1:  # x[:, -1]: last step
        if index.ndim == 0 and b.last_step(x.node):
            return [Dyn(x.node, "same")]
        last = b.add("LastPosition", {}, [x], {})
        # a 1-D index keeps the axis: (N, 1, F)
        return [last if index.ndim == 0 else b.add("Reshape", {"shape": [1, steps[1]]},
                                                   [last], {})]
    raise UnsupportedError("gathers something other than the last step of a sequence")


#: ONNX's default activations of the recurrent operators (what the engine computes).
DEFAULT_ACTIVATIONS = {"SimpleRNN": ["tanh"], "LSTM": ["sigmoid", "tanh", "tanh"],
                       "GRU": ["sigmoid", "tanh"]}


def _recurrent(kind, gates):
    def convert(b, node, ins, attrs):
        x = _dyn(ins[0])
        if x.layout != "time":
            raise UnsupportedError("reads a batch-first sequence (expected the time-major form)")
        direction = attrs.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction not in ("forward", "bidirectional"):
            raise UnsupportedError(f"direction {direction!r} (only forward or bidirectional)")
        both = direction == "bidirectional"
        acts = [a.decode() if isinstance(a, bytes) else a for a in attrs.get("activations", [])]
        if acts and [a.lower() for a in acts] != DEFAULT_ACTIVATIONS[kind] * (1 + both):
            raise UnsupportedError(f"activations {acts} (only the default ones)")
        if attrs.get("clip") or attrs.get("input_forget", 0):
            raise UnsupportedError("clip or input_forget")
        if kind == "GRU" and attrs.get("linear_before_reset", 0) != 1:
            raise UnsupportedError("linear_before_reset = 0 (nnstudio's GRU, like PyTorch's, "
                              "applies the reset gate after the recurrent product)")
        pick = slice(None) if both else 0  # a bidirectional layer keeps both directions
        W = _const(ins[1], "W")[pick].astype(np.float32)
        R = _const(ins[2], "R")[pick].astype(np.float32)
        h = R.shape[-1]
        bias = ins[3] if len(ins) > 3 else None
        B = np.zeros((2,) * both + (2 * gates * h,), np.float32) if bias is None else \
            _const(bias, "B")[pick].astype(np.float32)
        if len(ins) > 4 and ins[4] is not None:
            raise UnsupportedError("sequence_lens (sequences of different lengths)")
        for k, what in ((5, "initial_h"), (6, "initial_c")):
            if len(ins) > k and ins[k] is not None and np.any(_const(ins[k], what)):
                raise UnsupportedError(f"a non-zero {what}")
        if len(ins) > 7 and ins[7] is not None:
            raise UnsupportedError("peepholes")
        if both:  # the outputs' directions axis is resolved by the nodes reading them
            layer = b.add("Bidirectional", {"layer": kind, "units": int(h),
                                            "return_sequences": True, "merge_mode": "concat"},
                          [Dyn(x.node, "same")], {"W": W, "R": R, "b": B}, pending=True)
            return [Dyn(layer, "same", "BY"), Dyn(layer, "same", "BY_h"),
                    Dyn(layer, "same", "BY_c")]
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
    "MaxPool": _pool("MaxPool"),
    "AveragePool": _pool("AvgPool"),
    "GlobalAveragePool": _global_pool("Avg"),
    "GlobalMaxPool": _global_pool("Max"),
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
    "Transpose": lambda i, a: np.transpose(i[0], a.get("perm")),
    "Add": lambda i, a: i[0] + i[1],
    "Sub": lambda i, a: i[0] - i[1],
    "Mul": lambda i, a: i[0] * i[1],
    "Div": lambda i, a: i[0] // i[1] if i[0].dtype.kind in "iu" else i[0] / i[1],
}
