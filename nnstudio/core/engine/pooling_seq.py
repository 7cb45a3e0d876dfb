"""Pooling over the steps of sequences ``(N, T, F)``: MaxPool1D and AvgPool1D.

Features stay on the last axis (channels last, like Keras's ``MaxPooling1D``): a window of
``pool_size`` steps slides along ``T`` with ``strides`` (default: the pool size) and
``padding`` ``valid`` or ``same`` with the size rules of :mod:`~nnstudio.core.engine.conv`
(``same`` pads max pooling with −∞, and average pooling counts only real steps).
Output ``(N, To, F)``. Each pass is one ufunc call per window offset over strided slices;
max pooling sends a window's gradient to its first maximum (ONNX's and PyTorch's argmax).
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.conv import fmt_shape, output_size, same_padding
from nnstudio.core.engine.layer import Buffers, FilledBuffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


def seq_plan(layer: Layer, shape: Shape, k: int, s: int, padding: str, what: str,
             dilation: int = 1) -> tuple[int, int, int]:
    """Check a sequence input ``(T, F)``; return ``(To, before, after)`` for the time axis."""
    if len(shape) != 2:
        raise ShapeError(
            f"needs sequences (T, F) but gets {fmt_shape(tuple(shape))}; add a Reshape layer "
            "before it", layer.where,
        )
    t = shape[0]
    span = dilation * (k - 1) + 1
    if padding == "valid" and span > t:
        raise ShapeError(f"{what} of {span} steps is longer than its {t}-step input", layer.where)
    to = output_size(t, span, s, padding)
    before, after = same_padding(t, span, s) if padding == "same" else (0, 0)
    return to, before, after


class _Pool1D(Layer):
    category = "Convolution & pooling"
    settings = (
        Setting("pool_size", "int", 2, minimum=1, maximum=100_000, help="window length (steps)"),
        Setting("strides", "int", 0, minimum=0, maximum=100_000,
                help="step between windows; 0 = the pool size (no overlap)"),
        Setting("padding", "choice", "valid", choices=("valid", "same"),
                help="valid: windows inside the sequence; same: out = ceil(T / stride)"),
    )
    _pad_value = 0.0

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        self._fbuf = FilledBuffers()

    @property
    def stride(self) -> int:
        return self.config["strides"] or self.config["pool_size"]

    def describe(self) -> str:
        k = self.config["pool_size"]
        label = f"{self.type_name} {k}"
        if self.stride != k:
            label += f" stride {self.stride}"
        return label + (" same" if self.config["padding"] == "same" else "")

    def _plan(self, shape: Shape):
        return seq_plan(self, tuple(shape), self.config["pool_size"], self.stride,
                        self.config["padding"], "pool")

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        return (self._plan(shape)[0], shape[1])

    def _setup(self, x: np.ndarray):
        n, t, f = x.shape
        k, s = self.config["pool_size"], self.stride
        to, before, after = self._plan((t, f))
        if before or after:
            src = self._fbuf.get("xp", (n, t + before + after, f), self.dtype, self._pad_value)
            src[:, before:before + t] = x
        else:
            src = x
        offsets = [slice(i, i + s * (to - 1) + 1, s) for i in range(k)]
        self._geo = (x.shape, src.shape, before, offsets)
        return src, (n, to, f), offsets

    def _grad_target(self):
        dsrc = self._buf.get("dxp", self._geo[1], self.dtype)
        dsrc.fill(0.0)
        return dsrc

    def _finish(self, dsrc):
        xshape, _, before, _ = self._geo
        dx = self._buf.get("dx", xshape, self.dtype)
        np.copyto(dx, dsrc[:, before:before + xshape[1]])
        return dx


@register
class MaxPool1D(_Pool1D):
    """Largest value of each feature in each window of steps: ``(N, T, F)`` → ``(N, To, F)``."""

    type_name = "MaxPool1D"
    summary = "y = max over each window of steps — shortens a sequence, keeps the peaks"
    _pad_value = -np.inf

    def _forward(self, inputs, training):
        src, oshape, offsets = self._setup(inputs[0])
        y = self._buf.get("y", oshape, self.dtype)
        np.copyto(y, src[:, offsets[0]])
        for sl in offsets[1:]:
            np.maximum(y, src[:, sl], out=y)
        self._src, self._y = src, y
        return y

    def _backward(self, grad):
        src, y, offsets = self._src, self._y, self._geo[3]
        dsrc = self._grad_target()
        rest = self._buf.get("rest", y.shape, self.dtype)
        np.copyto(rest, grad)
        hit = self._buf.get("hit", y.shape, np.dtype(bool))
        tmp = self._buf.get("tmp", y.shape, self.dtype)
        for sl in offsets:
            np.equal(src[:, sl], y, out=hit)
            np.multiply(rest, hit, out=tmp)
            dsrc[:, sl] += tmp
            rest -= tmp
        return [self._finish(dsrc)]


@register
class AvgPool1D(_Pool1D):
    """Mean of each feature over each window of steps (padding not counted)."""

    type_name = "AvgPool1D"
    summary = "y = mean over each window of steps — shortens a sequence smoothly"

    def _scale(self, to: int) -> np.ndarray:
        xshape, pshape, before, offsets = self._geo
        real = np.zeros(pshape[1])
        real[before:before + xshape[1]] = 1.0
        count = sum(real[sl] for sl in offsets)
        return (1.0 / count).astype(self.dtype).reshape(1, to, 1)

    def _forward(self, inputs, training):
        src, oshape, offsets = self._setup(inputs[0])
        y = self._buf.get("y", oshape, self.dtype)
        np.copyto(y, src[:, offsets[0]])
        for sl in offsets[1:]:
            np.add(y, src[:, sl], out=y)
        y *= self._scale(oshape[1])
        return y

    def _backward(self, grad):
        offsets = self._geo[3]
        dsrc = self._grad_target()
        gs = grad * self._scale(grad.shape[1])
        for sl in offsets:
            dsrc[:, sl] += gs
        return [self._finish(dsrc)]
