"""UpSampling2D: repeat each pixel ``size`` times along height and width (nearest neighbour).

``(N, C, H, W)`` → ``(N, C, H·sh, W·sw)``. The gradient of an output block sums back into
its source pixel.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.conv import fmt_shape
from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


@register
class UpSampling2D(Layer):
    """Nearest-neighbour upsampling by whole factors: ``(N, C, H, W)`` → ``(N, C, H·sh, W·sw)``."""

    type_name = "UpSampling2D"
    category = "Convolution & pooling"
    summary = "y = each pixel repeated sh×sw times — enlarges an image, nothing learned"
    settings = (
        Setting("size", "pair", [2, 2], minimum=1, maximum=1000,
                help="repeats along height and width"),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def describe(self) -> str:
        sh, sw = self.config["size"]
        return f"UpSampling2D {sh}x{sw}"

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) != 3:
            raise ShapeError(
                f"needs images (C, H, W) but gets {fmt_shape(tuple(shape))}; add a Reshape "
                "layer before it", self.where,
            )
        sh, sw = self.config["size"]
        return (shape[0], shape[1] * sh, shape[2] * sw)

    def _forward(self, inputs, training):
        x = inputs[0]
        n, c, h, w = x.shape
        sh, sw = self.config["size"]
        y = self._buf.get("y", (n, c, h * sh, w * sw), self.dtype)
        np.copyto(y.reshape(n, c, h, sh, w, sw), x[:, :, :, None, :, None])
        self._xshape = x.shape
        return y

    def _backward(self, grad):
        n, c, h, w = self._xshape
        sh, sw = self.config["size"]
        dx = self._buf.get("dx", self._xshape, self.dtype)
        np.sum(grad.reshape(n, c, h, sh, w, sw), axis=(3, 5), out=dx)
        return [dx]
