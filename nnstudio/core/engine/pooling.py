"""Pooling over channels-first images ``(N, C, H, W)``: max, average and global average.

``MaxPool2D`` and ``AvgPool2D`` slide a ``pool_size`` window with ``strides`` (default: the
pool size, so windows do not overlap) and ``padding`` ``valid`` or ``same`` with the output
size and padding rules of :mod:`~nnstudio.core.engine.conv`. ``same`` pads max pooling with
−∞ and average pooling with nothing: a window's average counts only real pixels (ONNX's
``count_include_pad=0``, Keras's behaviour).

Each pass is a handful of whole-array ufunc calls over strided slices, one per window
offset (``ph·pw`` of them), never a Python loop over positions. Max pooling sends each
window's gradient to its *first* maximum in row-major order (PyTorch's and ONNX's argmax),
so ties never double the gradient.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.conv import spatial_plan
from nnstudio.core.engine.layer import Buffers, FilledBuffers, Layer, Setting, Shape, register


class _Pool2D(Layer):
    category = "Convolution & pooling"
    settings = (
        Setting("pool_size", "pair", [2, 2], minimum=1, maximum=1000,
                help="window height and width"),
        Setting("strides", "pair", None, minimum=1, maximum=1000,
                help="step between windows; empty = the pool size (no overlap)"),
        Setting("padding", "choice", "valid", choices=("valid", "same"),
                help="valid: windows inside the image; same: out = ceil(in / stride)"),
    )
    _pad_value = 0.0

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        self._fbuf = FilledBuffers()

    @property
    def strides(self) -> tuple[int, int]:
        s = self.config["strides"]
        return tuple(s) if s else tuple(self.config["pool_size"])

    def describe(self) -> str:
        ph, pw = self.config["pool_size"]
        label = f"{self.type_name} {ph}x{pw}"
        if self.strides != (ph, pw):
            sh, sw = self.strides
            label += f" stride {sh}" if sh == sw else f" stride {sh}x{sw}"
        if self.config["padding"] == "same":
            label += " same"
        return label

    def _plan(self, shape: Shape):
        return spatial_plan(
            self, tuple(shape), tuple(self.config["pool_size"]), self.strides,
            self.config["padding"], "pool",
        )

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        ho, wo = self._plan(shape)[:2]
        return (shape[0], ho, wo)

    # -- shared running code -------------------------------------------------------------
    def _setup(self, x: np.ndarray):
        """Padded source, output buffer and the window slices for ``x``."""
        n, c, h, w = x.shape
        ph, pw = self.config["pool_size"]
        sh, sw = self.strides
        ho, wo, top, bottom, left, right = self._plan((c, h, w))
        padded = bool(top or bottom or left or right)
        if padded:
            src = self._fbuf.get(
                "xp", (n, c, h + top + bottom, w + left + right), self.dtype, self._pad_value
            )
            src[:, :, top:top + h, left:left + w] = x
        else:
            src = x
        hp, wp = src.shape[2:]
        offsets = [
            (slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw))
            for i in range(ph)
            for j in range(pw)
        ]
        overlap = sh < ph or sw < pw
        covered = (ho - 1) * sh + ph == hp and (wo - 1) * sw + pw == wp and not (sh > ph or sw > pw)
        self._geo = (x.shape, src.shape, (top, left), padded, offsets, overlap, covered)
        return src, (n, c, ho, wo), offsets

    def _reduce_windows(self, ufunc: np.ufunc, src: np.ndarray, oshape, offsets) -> np.ndarray:
        """``ufunc`` over every window, as one strided slice per window offset: ``(N, C, Ho,
        Wo)`` in the output buffer."""
        y = self._buf.get("y", oshape, self.dtype)
        first = src[:, :, offsets[0][0], offsets[0][1]]
        if len(offsets) == 1:
            np.copyto(y, first)
        else:
            ufunc(first, src[:, :, offsets[1][0], offsets[1][1]], out=y)
        for si, sj in offsets[2:]:
            ufunc(y, src[:, :, si, sj], out=y)
        return y

    def _grad_target(self) -> tuple[np.ndarray, np.ndarray]:
        """The (padded) input-gradient buffer, zeroed where no window writes, and ``dx``."""
        xshape, pshape, _, padded, _, overlap, covered = self._geo
        dx = self._buf.get("dx", xshape, self.dtype)
        dsrc = self._buf.get("dxp", pshape, self.dtype) if padded else dx
        if overlap or not covered:
            dsrc.fill(0.0)
        return dsrc, dx

    def _finish_grad(self, dsrc: np.ndarray, dx: np.ndarray) -> np.ndarray:
        xshape, _, (top, left), padded, *_ = self._geo
        if padded:
            np.copyto(dx, dsrc[:, :, top:top + xshape[2], left:left + xshape[3]])
        return dx


@register
class MaxPool2D(_Pool2D):
    """Largest value in each window: input ``(N, C, H, W)``, output ``(N, C, Ho, Wo)``."""

    type_name = "MaxPool2D"
    summary = "y = max over each window — shrinks the image, keeps the strongest response"
    _pad_value = -np.inf

    def _forward(self, inputs, training):
        src, oshape, offsets = self._setup(inputs[0])
        self._pairs = None
        if training and self._tiles_2x2():
            return self._forward_2x2(src, oshape, offsets)
        y = self._reduce_windows(np.maximum, src, oshape, offsets)
        if training:
            self._src, self._y = src, y
        return y

    def _tiles_2x2(self) -> bool:
        """2×2 windows, stride 2, no padding (the usual pooling of a CNN; an odd last row or
        column is left out of every window and gets no gradient)."""
        _, _, _, padded, offsets, overlap, _ = self._geo
        return len(offsets) == 4 and self.strides == (2, 2) and not overlap and not padded

    def _forward_2x2(self, src, oshape, offsets):
        """The maximum as a tournament, keeping who won each match for the backward pass:
        first across the columns of every row pair at once (``max(a, b)`` and ``max(c, d)``
        of each window ``a b / c d`` in one call over ``(N, C, 2·Ho, Wo)``), then down the
        row pairs, whose rows are contiguous. Ties go to the earlier one (``≥``), so the
        winner is each window's first maximum in row-major order, as in the general path."""
        n, c, ho, wo = oshape
        buf = self._buf
        x = src[:, :, : 2 * ho, : 2 * wo]
        left, right = x[..., 0::2], x[..., 1::2]
        pair = buf.get("pair", (n, c, 2 * ho, wo), self.dtype)
        w_lr = buf.get("w_lr", pair.shape, np.dtype(bool))
        np.maximum(left, right, out=pair)
        np.greater_equal(left, right, out=w_lr)
        top, bottom = pair[:, :, 0::2], pair[:, :, 1::2]
        w_top = buf.get("w_top", oshape, np.dtype(bool))
        y = buf.get("y", oshape, self.dtype)
        np.maximum(top, bottom, out=y)
        np.greater_equal(top, bottom, out=w_top)
        self._pairs = (w_lr, w_top)
        return y

    def _backward_2x2(self, grad):
        w_lr, w_top = self._pairs
        ho, wo = grad.shape[2:]
        dsrc, dx = self._grad_target()
        g_pair = self._buf.get("g_pair", w_lr.shape, self.dtype)
        g_top, g_bottom = g_pair[:, :, 0::2], g_pair[:, :, 1::2]
        np.multiply(grad, w_top, out=g_top)
        np.subtract(grad, g_top, out=g_bottom)
        d = dsrc[:, :, : 2 * ho, : 2 * wo]
        g_left, g_right = d[..., 0::2], d[..., 1::2]
        np.multiply(g_pair, w_lr, out=g_left)
        np.subtract(g_pair, g_left, out=g_right)
        return [self._finish_grad(dsrc, dx)]

    def _backward(self, grad):
        if self._pairs is not None:
            return self._backward_2x2(grad)
        src, y = self._src, self._y
        offsets, overlap = self._geo[4], self._geo[5]
        dsrc, dx = self._grad_target()
        # `rest` is the gradient not yet given to an earlier maximum of the same window.
        rest = self._buf.get("rest", y.shape, self.dtype)
        np.copyto(rest, grad)
        hit = self._buf.get("hit", y.shape, np.dtype(bool))
        tmp = self._buf.get("tmp", y.shape, self.dtype) if overlap else None
        last = len(offsets) - 1
        for k, (si, sj) in enumerate(offsets):
            np.equal(src[:, :, si, sj], y, out=hit)
            target = dsrc[:, :, si, sj]
            if overlap:
                np.multiply(rest, hit, out=tmp)
                target += tmp
                if k < last:
                    rest -= tmp
            else:
                np.multiply(rest, hit, out=target)
                if k < last:
                    rest -= target
        return [self._finish_grad(dsrc, dx)]


@register
class AvgPool2D(_Pool2D):
    """Mean of each window (padding not counted): ``(N, C, H, W)`` → ``(N, C, Ho, Wo)``."""

    type_name = "AvgPool2D"
    summary = "y = mean over each window — shrinks the image smoothly"

    def _scale(self, oshape) -> np.ndarray | float:
        """``1 / (number of real pixels)`` per output position: a scalar without padding."""
        ph, pw = self.config["pool_size"]
        if not self._geo[3]:
            return 1.0 / (ph * pw)
        key = ("scale", self._geo[1], oshape[2:])
        cached = getattr(self, "_scale_cache", None)
        if cached is not None and cached[0] == key and cached[1].dtype == self.dtype:
            return cached[1]
        (h, w), (top, left) = self._geo[0][2:], self._geo[2]
        real = np.zeros(self._geo[1][2:])
        real[top:top + h, left:left + w] = 1.0
        count = np.zeros(oshape[2:])
        for si, sj in self._geo[4]:
            count += real[si, sj]
        scale = (1.0 / count).astype(self.dtype)
        self._scale_cache = (key, scale)
        return scale

    def _forward(self, inputs, training):
        src, oshape, offsets = self._setup(inputs[0])
        y = self._reduce_windows(np.add, src, oshape, offsets)
        y *= self._scale(oshape)
        return y

    def _backward(self, grad):
        offsets, overlap = self._geo[4], self._geo[5]
        dsrc, dx = self._grad_target()
        gs = self._buf.get("gs", grad.shape, self.dtype)
        np.multiply(grad, self._scale(grad.shape), out=gs)
        for si, sj in offsets:
            if overlap:
                dsrc[:, :, si, sj] += gs
            else:
                np.copyto(dsrc[:, :, si, sj], gs)
        return [self._finish_grad(dsrc, dx)]


@register
class GlobalAvgPool2D(Layer):
    """Mean of each channel over the whole image: ``(N, C, H, W)`` → ``(N, C)``."""

    type_name = "GlobalAvgPool2D"
    category = "Convolution & pooling"
    summary = "y_c = mean of channel c over the image — one number per feature map"

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        self._w: np.ndarray | None = None

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) != 3:
            spatial_plan(self, tuple(shape), (1, 1), (1, 1), "valid", "pool")
        return (shape[0],)

    def _forward(self, inputs, training):
        x = inputs[0]
        n, c, h, w = x.shape
        hw = h * w
        if self._w is None or self._w.shape[0] != hw or self._w.dtype != self.dtype:
            self._w = np.full(hw, 1.0 / hw, self.dtype)
        y = self._buf.get("y", (n, c), self.dtype)
        np.matmul(x.reshape(n * c, hw), self._w, out=y.reshape(n * c))
        self._xshape = x.shape
        return y

    def _backward(self, grad):
        n, c, h, w = self._xshape
        dx = self._buf.get("dx", self._xshape, self.dtype)
        np.multiply(grad.reshape(n, c, 1), self._w[0], out=dx.reshape(n, c, h * w))
        return [dx]

