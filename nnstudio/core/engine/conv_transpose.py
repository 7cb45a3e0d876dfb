"""Transposed 2-D convolution (the decoder half of an autoencoder) over ``(N, C, H, W)``.

Each input pixel scatters a ``kh × kw`` patch, scaled by the learned kernel, into an output
``stride`` times larger: the gradient of a :class:`~nnstudio.core.engine.conv.Conv2D` with
respect to its input, run forward. Sizes per axis with input ``n``, kernel ``k``, stride ``s``:

* ``valid``: ``out = (n − 1)·s + k`` (every contribution kept);
* ``same``: ``out = n·s``: the full ``(n − 1)·s + k`` result is cropped by ``k − s``, the
  smaller half before (or, when ``k < s``, padded with ``s − k`` zero rows after).

Parameters use ONNX ``ConvTranspose``'s layout: ``W (C, filters, kh, kw)``, ``b (filters,)``;
an export writes the crop as ``pads`` and the padding as ``output_padding``.

How it runs: one matmul ``Wᵀ (filters·kh·kw, C) @ x (C, N·H·W)`` makes every patch, and
``kh·kw`` strided slice additions put them in place. The backward pass reads the gradient
through the same ``kh·kw`` strided slices (an im2col) and does two matmuls.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.conv import fmt_shape
from nnstudio.core.engine.initializers import INITIALIZERS, initialize
from nnstudio.core.engine.layer import Buffers, FilledBuffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


def transpose_plan(n: int, k: int, s: int, padding: str) -> tuple[int, int, int, int]:
    """``(out, full, before, extra)`` of one axis: the output length, the full result's
    length ``(n − 1)·s + k``, the rows cropped before the output, and zero rows added after
    the full result (``k < s`` with ``same``)."""
    full = (n - 1) * s + k
    if padding == "valid":
        return full, full, 0, 0
    out = n * s
    total = full - out
    if total >= 0:
        return out, full, total // 2, 0
    return out, full, 0, -total


@register
class Conv2DTranspose(Layer):
    """Transposed convolution: ``(N, C, H, W)`` → ``(N, filters, Ho, Wo)``, larger by the
    stride (see the module docstring)."""

    type_name = "Conv2DTranspose"
    category = "Convolution & pooling"
    summary = "the mirror of Conv2D: each pixel paints a learned patch — upsamples an image"
    settings = (
        Setting("filters", "int", 16, minimum=1, maximum=100_000, help="number of output maps"),
        Setting("kernel_size", "pair", [3, 3], minimum=1, maximum=1000,
                help="patch height and width"),
        Setting("strides", "pair", [2, 2], minimum=1, maximum=1000,
                help="upsampling factor (step between patches)"),
        Setting("padding", "choice", "same", choices=("valid", "same"),
                help="same: out = in × stride; valid: out = (in − 1) × stride + kernel"),
        Setting("use_bias", "bool", True, help="add a learned bias per filter"),
        Setting("kernel_initializer", "choice", "glorot_uniform", choices=INITIALIZERS),
        Setting("bias_initializer", "choice", "zeros", choices=INITIALIZERS),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        self._zbuf = FilledBuffers()

    def describe(self) -> str:
        kh, kw = self.config["kernel_size"]
        sh, sw = self.config["strides"]
        label = f"Conv2DTranspose {self.config['filters']} {kh}x{kw}"
        if (sh, sw) != (1, 1):
            label += f" stride {sh}" if sh == sw else f" stride {sh}x{sw}"
        return label + (" same" if self.config["padding"] == "same" else "")

    def plans(self, shape: Shape):
        """Per-axis :func:`transpose_plan` of an image ``(C, H, W)``."""
        if len(shape) != 3:
            raise ShapeError(
                f"needs images (C, H, W) but gets {fmt_shape(tuple(shape))}; add a Reshape "
                "layer before it", self.where,
            )
        (kh, kw), (sh, sw) = self.config["kernel_size"], self.config["strides"]
        pad = self.config["padding"]
        return transpose_plan(shape[1], kh, sh, pad), transpose_plan(shape[2], kw, sw, pad)

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        ph, pw = self.plans(tuple(input_shapes[0]))
        return (self.config["filters"], ph[0], pw[0])

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        (shape,) = input_shapes
        self.plans(tuple(shape))
        kh, kw = self.config["kernel_size"]
        f = self.config["filters"]
        out = {"W": (shape[0], f, kh, kw)}
        if self.config["use_bias"]:
            out["b"] = (f,)
        return out

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        W = self.params["W"]
        receptive = W.shape[2] * W.shape[3]
        # Keras's fans for a transposed kernel: in = filters·k·k, out = C·k·k.
        fi, fo = W.shape[1] * receptive, W.shape[0] * receptive
        initialize(W, self.config["kernel_initializer"], rng, fi, fo)
        if "b" in self.params:
            initialize(self.params["b"], self.config["bias_initializer"], rng, fi, fo)

    # -- running -------------------------------------------------------------------------
    def _geometry(self, x: np.ndarray):
        n, c, h, w = x.shape
        (oh, fh, th, eh), (ow, fw, tw, ew) = self.plans((c, h, w))
        return n, c, h, w, oh, ow, fh + eh, fw + ew, th, tw

    def _forward(self, inputs, training):
        x = inputs[0]
        n, c, h, w, oh, ow, hf, wf, top, left = geo = self._geometry(x)
        (kh, kw), (sh, sw) = self.config["kernel_size"], self.config["strides"]
        f = self.config["filters"]
        dt = self.dtype
        m = n * h * w
        xc = self._buf.get("xc", (c, n, h, w), dt)
        np.copyto(xc, x.transpose(1, 0, 2, 3))
        xc2 = xc.reshape(c, m)
        cols = self._buf.get("cols", (f, kh, kw, n, h, w), dt)
        np.matmul(self.params["W"].reshape(c, f * kh * kw).T, xc2, out=cols.reshape(-1, m))
        full = self._buf.get("full", (f, n, hf, wf), dt)
        full.fill(0.0)
        for i in range(kh):
            for j in range(kw):
                full[:, :, i:i + sh * (h - 1) + 1:sh, j:j + sw * (w - 1) + 1:sw] += cols[:, i, j]
        y = self._buf.get("y", (n, f, oh, ow), dt)
        np.copyto(y, full[:, :, top:top + oh, left:left + ow].transpose(1, 0, 2, 3))
        if "b" in self.params:
            np.add(y, self.params["b"].reshape(1, f, 1, 1), out=y)
        if training:
            self._geo, self._xc2 = geo, xc2
        return y

    def _backward(self, grad):
        n, c, h, w, oh, ow, hf, wf, top, left = self._geo
        (kh, kw), (sh, sw) = self.config["kernel_size"], self.config["strides"]
        f = self.config["filters"]
        dt = self.dtype
        m = n * h * w
        gfull = self._zbuf.get("gfull", (f, n, hf, wf), dt)  # the cropped border stays 0
        np.copyto(gfull[:, :, top:top + oh, left:left + ow], grad.transpose(1, 0, 2, 3))
        dcols = self._buf.get("dcols", (f, kh, kw, n, h, w), dt)
        for i in range(kh):
            for j in range(kw):
                np.copyto(dcols[:, i, j],
                          gfull[:, :, i:i + sh * (h - 1) + 1:sh, j:j + sw * (w - 1) + 1:sw])
        d2 = dcols.reshape(-1, m)
        np.matmul(self._xc2, d2.T, out=self.grads["W"].reshape(c, f * kh * kw))
        if "b" in self.grads:
            np.sum(grad, axis=(0, 2, 3), out=self.grads["b"])
        dxc = self._buf.get("dxc", (c, n, h, w), dt)
        np.matmul(self.params["W"].reshape(c, f * kh * kw), d2, out=dxc.reshape(c, m))
        dx = self._buf.get("dx", (n, c, h, w), dt)
        np.copyto(dx, dxc.transpose(1, 0, 2, 3))
        return [dx]
