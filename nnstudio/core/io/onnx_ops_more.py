"""ONNX operators → the engine layers added after the first importer (same contract as
:mod:`.onnx_ops`, whose :data:`~.onnx_ops.OPS` table this module extends when imported).

Smooth and parametric activations (``Gelu``, ``Elu``, ``Softplus``, ``PRelu`` and the fused
``Silu`` the importer makes of ``x·Sigmoid(x)``), element-wise merges (``Mul`` of two computed
values → Multiply, ``Mean`` → Average), ``ConvTranspose``, nearest ``Resize``/``Upsample``,
``LayerNormalization``, reductions that are global pools, ``Gather`` on a weight table
(Embedding), a constant ``(T, D)`` table added to a sequence (learned PositionalEmbedding),
``Cast``, and the outputs of a bidirectional ``LSTM``/``GRU``/``RNN``: ``Y (T, 2, N, H)`` and
``Y_h (2, N, H)`` stay *parts* until the nodes reading them show how the two directions are
joined (concatenated or summed; every step or the last states).
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.conv_transpose import transpose_plan
from nnstudio.core.io.onnx_ops import (
    OPS,
    Dyn,
    UnsupportedError,
    _const,
    _dyn,
    _elementwise,
    _same,
    merge_inputs,
)


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


# -- activations ---------------------------------------------------------------------------------

def gelu(b, node, ins, attrs):
    x = _elementwise(b, ins[0])
    approximate = _text(attrs.get("approximate", "none"))
    if approximate not in ("none", "tanh"):
        raise UnsupportedError(f"approximate = {approximate!r}")
    return [Dyn(b.add("GELU", {"approximate": approximate == "tanh"}, [x], {}), x.layout)]


def elu(b, node, ins, attrs):
    x = _elementwise(b, ins[0])
    alpha = float(attrs.get("alpha", 1.0))
    if not 0.0 <= alpha <= 100.0:
        raise UnsupportedError(f"alpha {alpha} outside [0, 100]")
    return [Dyn(b.add("ELU", {"alpha": alpha}, [x], {}), x.layout)]


def _simple(kind):
    def convert(b, node, ins, attrs):
        x = _elementwise(b, ins[0])
        return [Dyn(b.add(kind, {}, [x], {}), x.layout)]
    return convert


def prelu(b, node, ins, attrs):
    """One slope for all, or one per channel: axis 1 of ONNX's ``(N, C, ...)`` or the last
    axis of features and sequences (PyTorch's ``PReLU(C)``, Keras's shared axes)."""
    x = _elementwise(b, ins[0])
    slope = np.asarray(_const(ins[1], "the slope"), np.float32)
    if slope.size == 1:
        return [Dyn(b.add("PReLU", {"shared": "all"}, [x], {"alpha": slope.reshape(1)}),
                    x.layout)]
    rank = len(b.shape(x.node)) + 1  # ONNX axes, batch included
    full = (1,) * (rank - slope.ndim) + slope.shape
    varying = [i for i, s in enumerate(full) if s != 1]
    if slope.ndim > rank or len(varying) != 1 or varying[0] == 0:
        raise UnsupportedError(f"a slope of shape {slope.shape} (one per channel or one "
                               "for all)")
    axis = varying[0]
    if rank == 3:  # a sequence: the engine's slopes follow its last axis
        x = b.relayout(x, "swap" if axis == 1 else "same")
    elif axis != 1:
        raise UnsupportedError(f"slopes along axis {axis} (the engine's run along the "
                               "channels)")
    return [Dyn(b.add("PReLU", {"shared": "channel"}, [x], {"alpha": slope.reshape(-1)}),
                x.layout)]


# -- merges and constants ------------------------------------------------------------------------

def mul(b, node, ins, attrs):
    if all(isinstance(v, Dyn) for v in ins):
        xs = merge_inputs(b, ins)
        return [Dyn(b.add("Multiply", {}, xs, {}), xs[0].layout)]
    raise UnsupportedError("multiplies by a constant (no engine layer scales by a fixed "
                           "factor)")


def mean(b, node, ins, attrs):
    if len(ins) == 1:
        return [ins[0]]
    xs = merge_inputs(b, ins)
    return [Dyn(b.add("Average", {}, xs, {}), xs[0].layout)]


def add_constant(b, x: Dyn, c: np.ndarray):
    """``x + table`` with a table ``(T, D)`` of the sequence's own shape: learned positions."""
    shape = b.shape(x.node)
    if len(shape) == 2 and c.shape in (tuple(shape), (1, *shape)):
        return [b.add("PositionalEmbedding", {"kind": "learned", "max_length": 0}, [x],
                      {"P": c.reshape(shape)})]
    raise UnsupportedError(f"adds a constant of shape {c.shape} to a value of shape "
                           f"{(None, *shape)} (neither a dense layer's bias nor a sequence's "
                           "position table)")


def cast(b, node, ins, attrs):
    x = _dyn(ins[0])
    to = int(attrs.get("to", 1))
    if to in (1, 10, 11):  # float, float16, double: the engine's float
        return [x]
    if to in (6, 7) and x.node == "input":  # token ids: the input holds whole numbers
        return [x]
    raise UnsupportedError(f"to ONNX type {to} (only to a float, or the input to integer ids)")


def embedding(b, table, ids, axis: int):
    """``Gather(weights, ids)``: each id of the input sequence becomes a row of the table."""
    x = _same(b, ids)
    table = np.asarray(table, np.float32)
    if axis != 0 or table.ndim != 2 or len(b.shape(x.node)) != 1:
        raise UnsupportedError("looks up something other than rows of a 2-D table with a "
                               "sequence of ids (T,)")
    v, d = table.shape
    # No padding mask: PyTorch's padding_idx row (zeros) is looked up like any other.
    return [b.add("Embedding", {"vocab_size": int(v), "dim": int(d), "mask_padding": False},
                  [x], {"E": table})]


# -- convolution, resizing, normalization, reductions -----------------------------------------

def conv_transpose(b, node, ins, attrs):
    x = _same(b, ins[0])
    W = _const(ins[1], "W").astype(np.float32)
    kernel = [int(k) for k in attrs.get("kernel_shape", W.shape[2:])]
    if len(kernel) != 2:
        raise UnsupportedError(f"a {len(kernel)}-D kernel (only 2-D images)")
    if int(attrs.get("group", 1)) != 1:
        raise UnsupportedError(f"group = {attrs['group']}")
    if any(int(d) != 1 for d in attrs.get("dilations", [1, 1])):
        raise UnsupportedError("dilation other than 1")
    if "output_shape" in attrs:
        raise UnsupportedError("an explicit output_shape")
    if _text(attrs.get("auto_pad", "NOTSET")) not in ("NOTSET", "VALID"):
        raise UnsupportedError(f"auto_pad {_text(attrs['auto_pad'])}")
    strides = [int(s) for s in attrs.get("strides", [1, 1])]
    pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
    extra = [int(p) for p in attrs.get("output_padding", [0, 0])]
    _, h, w = b.shape(x.node)
    # ONNX: out = s·(n − 1) + output_padding + k − pad_begin − pad_end, from row pad_begin of
    # the full result; the engine's valid and same crop (and pad) it in fixed ways.
    want = [(s * (n - 1) + e + k - pb - pe, pb) for n, k, s, pb, pe, e in
            zip((h, w), kernel, strides, pads[:2], pads[2:], extra, strict=True)]
    for padding in ("valid", "same"):
        plans = [transpose_plan(n, k, s, padding) for n, k, s in zip((h, w), kernel, strides,
                                                                   strict=True)]
        if [(p[0], p[2]) for p in plans] == want:
            break
    else:
        raise UnsupportedError(f"pads {pads} with output_padding {extra} crop the result "
                               "neither as 'valid' (no crop) nor as 'same' (out = in × stride, "
                               "the smaller half of the crop first)")
    arrays = {"W": W}
    if len(ins) > 2 and ins[2] is not None:
        arrays["b"] = _const(ins[2], "B").astype(np.float32)
    return [b.add("Conv2DTranspose", {"filters": int(W.shape[1]), "kernel_size": kernel,
                                      "strides": strides, "padding": padding,
                                      "use_bias": "b" in arrays}, [x], arrays)]


#: (coordinate_transformation_mode, nearest_mode) pairs that repeat pixels for whole factors.
_REPEATS = {("asymmetric", "floor"), ("half_pixel", "round_prefer_floor"),
            ("half_pixel", "round_prefer_ceil"), ("pytorch_half_pixel", "round_prefer_floor"),
            ("pytorch_half_pixel", "round_prefer_ceil")}


def resize(b, node, ins, attrs):
    """Nearest-neighbour ``Resize`` (``Upsample``) by whole factors → UpSampling2D."""
    x = _same(b, ins[0])
    if _text(attrs.get("mode", "nearest")) != "nearest":
        raise UnsupportedError(f"mode {_text(attrs['mode'])!r} (only nearest)")
    if node.op_type == "Upsample":
        modes = ("asymmetric", "floor")
        scales = attrs.get("scales", ins[1] if len(ins) > 1 else None)
    else:
        modes = (_text(attrs.get("coordinate_transformation_mode", "half_pixel")),
                 _text(attrs.get("nearest_mode", "round_prefer_floor")))
        scales = ins[2] if len(ins) > 2 and b.opset >= 11 else ins[1] if b.opset < 11 else None
        if "axes" in attrs:
            raise UnsupportedError("an axes attribute")
    if modes not in _REPEATS:
        raise UnsupportedError(f"coordinate_transformation_mode {modes[0]!r} with nearest_mode "
                               f"{modes[1]!r} does not repeat pixels")
    shape = b.shape(x.node)
    if len(shape) != 3:
        raise UnsupportedError(f"resizes a value of shape {(None, *shape)} (only images)")
    scales = None if scales is None else np.asarray(_const(scales, "scales"), np.float64)
    if scales is None or scales.size == 0:
        sizes = np.asarray(_const(ins[3], "sizes"), np.float64) if len(ins) > 3 else None
        if sizes is None or sizes.size != 4:
            raise UnsupportedError("neither scales nor sizes")
        scales = np.concatenate([[1.0, 1.0], sizes[2:] / np.array(shape[1:], np.float64)])
        if sizes[1] != shape[0]:
            raise UnsupportedError("resizes the channels")
    factors = [float(s) for s in scales]
    if len(factors) != 4 or factors[:2] != [1.0, 1.0] or \
            any(f < 1 or f != int(f) for f in factors[2:]):
        raise UnsupportedError(f"scales {factors} (only whole factors ≥ 1 on height and width)")
    return [b.add("UpSampling2D", {"size": [int(f) for f in factors[2:]]}, [x], {})]


def layer_norm(b, node, ins, attrs):
    x = _same(b, ins[0])
    shape = b.shape(x.node)
    axis = int(attrs.get("axis", -1)) % (len(shape) + 1)
    if axis != len(shape):
        raise UnsupportedError(f"normalizes from axis {attrs.get('axis')} on (only the last "
                               "axis)")
    f = shape[-1]
    gamma = np.asarray(_const(ins[1], "the scale"), np.float32).reshape(-1)
    beta = np.zeros(f, np.float32) if len(ins) < 3 or ins[2] is None else \
        np.asarray(_const(ins[2], "the bias"), np.float32).reshape(-1)
    if gamma.size == 1:
        gamma = np.full(f, gamma[0], np.float32)
    if beta.size == 1:
        beta = np.full(f, beta[0], np.float32)
    return [b.add("LayerNorm", {"epsilon": float(attrs.get("epsilon", 1e-5))}, [x],
                  {"gamma": gamma, "beta": beta})]


def _axes(ins, attrs) -> list[int] | None:
    if "axes" in attrs:
        return [int(a) for a in attrs["axes"]]
    if len(ins) > 1 and ins[1] is not None:
        return [int(a) for a in np.asarray(_const(ins[1], "axes")).reshape(-1)]
    return None


def _reduce(kind):
    """``ReduceMean``/``ReduceMax`` over the whole image (or the steps of a sequence)."""
    def convert(b, node, ins, attrs):
        v = ins[0]
        axes = _axes(ins, attrs)
        if kind == "Sum" and isinstance(v, Dyn) and v.part:
            return _bidirectional_reduce_sum(b, v, axes, int(attrs.get("keepdims", 1)))
        x = _dyn(v)
        rank = len(b.shape(x.node)) + 1
        axes = sorted(a % rank for a in (axes or range(rank)))
        keep = int(attrs.get("keepdims", 1))
        if kind != "Sum" and rank == 4 and axes == [2, 3]:
            x = _same(b, x)
            c = b.shape(x.node)[0]
            pooled = b.add(f"Global{kind}Pool2D", {}, [x], {})
            return [b.add("Reshape", {"shape": [c, 1, 1]}, [pooled], {}) if keep else pooled]
        if kind == "Avg" and rank == 3 and not keep and x.layout != "time":
            # the mean over the steps of (N, T, F) (axis 1), or of (N, C, L) (axis 2)
            x = b.relayout(x, "same" if axes == [1] else "swap") if axes in ([1], [2]) else None
            if x is not None:
                return [b.add("GlobalAvgPool1D", {}, [x], {})]
        raise UnsupportedError(f"over axes {axes} of a {rank}-D value (only the pixels of an "
                               "image or the steps of a sequence)")
    return convert


def squeeze_axes(b, x: Dyn, axes: list[int]):
    """``Squeeze`` of single axes of each sample: a Reshape."""
    shape = list(b.shape(x.node))
    drop = {a % (len(shape) + 1) for a in axes}
    if 0 in drop or any(shape[a - 1] != 1 for a in drop):
        raise UnsupportedError(f"squeezes axes {sorted(drop)} of a value of shape "
                               f"{(None, *shape)} (only single axes of a sample)")
    rest = [n for i, n in enumerate(shape, 1) if i not in drop]
    return [b.add("Reshape", {"shape": rest or [1]}, [x], {})]


def unsqueeze(b, node, ins, attrs):
    x = _same(b, ins[0])
    axes = _axes(ins, attrs) or []
    shape = list(b.shape(x.node))
    rank = len(shape) + 1 + len(axes)
    new = sorted(a % rank for a in axes)
    if 0 in new:
        raise UnsupportedError("adds an axis before the batch axis")
    it = iter(shape)
    out = [1 if i in new else next(it) for i in range(1, rank)]
    return [b.add("Reshape", {"shape": out}, [x], {})]


# -- bidirectional recurrent layers ----------------------------------------------------------

def _finish(b, v: Dyn, sequences: bool, merge: str) -> Dyn:
    b.finish_recurrent(v.node, return_sequences=sequences, merge_mode=merge)
    return Dyn(v.node, "time" if sequences else "same")


def bidirectional_transpose(b, v: Dyn, perm: list[int]):
    steps = {("BY", (0, 2, 1, 3)): "BY_tn", ("BY", (2, 0, 1, 3)): "BY_nt",
             ("BY_h", (1, 0, 2)): "BY_hn"}
    part = steps.get((v.part, tuple(perm)))
    if part is None:
        raise UnsupportedError(f"perm {perm} of the {v.part} output of a recurrent layer")
    return [Dyn(v.node, "same", part)]


def bidirectional_reshape(b, v: Dyn, shape: list[int]):
    """``(T, N, 2, H)`` → ``(T, N, 2H)``, ``(N, T, 2, H)`` → ``(N, T, 2H)``, ``(N, 2, H)`` →
    ``(N, 2H)``: the directions side by side."""
    h = b.node(v.node).config["units"]
    rank = {"BY_tn": 3, "BY_nt": 3, "BY_hn": 2}.get(v.part)
    if rank is None or len(shape) != rank or shape[-1] not in (-1, 2 * h):
        raise UnsupportedError(f"to {shape} (from the {v.part} output of a bidirectional "
                               "layer)")
    d = _finish(b, v, rank == 3, "concat")
    return [Dyn(d.node, "same") if v.part == "BY_nt" else d]


def bidirectional_gather(b, v: Dyn, index: np.ndarray, axis: int):
    if v.part == "BY_h" and axis == 0 and index.ndim == 0 and int(index) in (0, 1, -1, -2):
        return [Dyn(v.node, "same", f"BY_h{int(index) % 2}")]
    if "@" in (v.part or "") and axis == 0 and index.ndim == 0:  # h_n of stacked layers
        part, total = v.part.split("@")
        i = int(index) - int(total) if int(index) >= 0 else int(index)
        if part == "Y_h" and i == -1:
            b.finish_recurrent(v.node, return_sequences=False)
            return [Dyn(v.node, "same")]
        if part == "BY_h" and i in (-1, -2):
            return [Dyn(v.node, "same", f"BY_h{i % 2}")]
        raise UnsupportedError(f"gathers the state {int(index)} of stacked recurrent layers "
                               "(only the last layer's)")
    if v.part in ("Y_h", "Y", "Y_c"):
        raise UnsupportedError(f"gathers from the {v.part} output of a recurrent layer")
    raise UnsupportedError(f"gathers {index.tolist()} along axis {axis} of the {v.part} output "
                           "of a bidirectional layer")


def bidirectional_concat(b, ins, axis: int):
    if axis == 0 and all(isinstance(v, Dyn) and v.part in ("Y_h", "BY_h") for v in ins):
        # h_n of stacked layers (PyTorch's num_layers): only the last layer's can be read
        total = sum(2 if v.part == "BY_h" else 1 for v in ins)
        return [Dyn(ins[-1].node, "same", f"{ins[-1].part}@{total}")]
    if len(ins) == 2 and all(isinstance(v, Dyn) for v in ins) and \
            [v.part for v in ins] == ["BY_h0", "BY_h1"] and ins[0].node == ins[1].node and \
            axis in (1, -1):
        return [_finish(b, ins[0], False, "concat")]
    raise UnsupportedError("joins the directions of a bidirectional layer other than "
                           "[forward, backward] along the features")


def bidirectional_sum(b, ins):
    if len(ins) == 2 and all(isinstance(v, Dyn) for v in ins) and \
            sorted(v.part for v in ins) == ["BY_h0", "BY_h1"] and ins[0].node == ins[1].node:
        return [_finish(b, ins[0], False, "sum")]
    raise UnsupportedError("adds the raw output of a recurrent layer to something other than "
                           "its other direction")


def _bidirectional_reduce_sum(b, v: Dyn, axes, keep: int):
    if not keep and v.part == "BY" and axes == [1]:
        return [_finish(b, v, True, "sum")]
    if not keep and v.part == "BY_h" and axes == [0]:
        return [_finish(b, v, False, "sum")]
    raise UnsupportedError(f"sums axes {axes} of the {v.part} output of a recurrent layer")


OPS.update({
    "Gelu": gelu,
    "Elu": elu,
    "Softplus": _simple("Softplus"),
    "Silu": _simple("SiLU"),  # made by the importer of Mul(x, Sigmoid(x))
    "PRelu": prelu,
    "Mul": mul,
    "Mean": mean,
    "Cast": cast,
    "ConvTranspose": conv_transpose,
    "Resize": resize,
    "Upsample": resize,
    "LayerNormalization": layer_norm,
    "ReduceMean": _reduce("Avg"),
    "ReduceMax": _reduce("Max"),
    "ReduceSum": _reduce("Sum"),
    "Unsqueeze": unsqueeze,
})
