"""GlobalMaxPool2D: the largest value of each channel over the whole image.

``(N, C, H, W)`` → ``(N, C)``. The gradient goes to each channel's first maximum in
row-major order (ONNX's and PyTorch's argmax), so ties never double it.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.conv import spatial_plan
from nnstudio.core.engine.layer import Buffers, Layer, Shape, register


@register
class GlobalMaxPool2D(Layer):
    """Maximum of each channel over the image: ``(N, C, H, W)`` → ``(N, C)``."""

    type_name = "GlobalMaxPool2D"
    category = "Convolution & pooling"
    summary = "y_c = max of channel c over the image — is the feature anywhere?"

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) != 3:
            spatial_plan(self, tuple(shape), (1, 1), (1, 1), "valid", "pool")
        return (shape[0],)

    def _forward(self, inputs, training):
        x = inputs[0]
        n, c, h, w = x.shape
        flat = x.reshape(n * c, h * w)
        idx = np.argmax(flat, axis=1)
        y = self._buf.get("y", (n, c), self.dtype)
        np.copyto(y.reshape(-1), flat[np.arange(n * c), idx])
        self._idx, self._xshape = idx, x.shape
        return y

    def _backward(self, grad):
        n, c, h, w = self._xshape
        dx = self._buf.get("dx", self._xshape, self.dtype)
        dx.fill(0.0)
        dx.reshape(n * c, h * w)[np.arange(n * c), self._idx] = grad.reshape(-1)
        return [dx]
