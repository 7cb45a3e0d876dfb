"""Flatten and Reshape: change the per-sample shape, keep the values (and their order).

Both are views when they can be: the output shares memory with the input, nothing is copied.
Order is row-major (C order), as in NumPy, ONNX ``Reshape``/``Flatten`` and Keras with
channels-first data.
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.core.engine.conv import fmt_shape
from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


class _Reshaping(Layer):
    category = "Core"

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def _reshape(self, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        if x.flags.c_contiguous:
            return x.reshape(shape)
        out = self._buf.get("copy", x.shape, self.dtype)  # a strided view: copy, once
        np.copyto(out, x)
        return out.reshape(shape)

    def _forward(self, inputs, training):
        x = inputs[0]
        self._xshape = x.shape
        return self._reshape(x, (x.shape[0], *self._target(x.shape[1:])))

    def _backward(self, grad):
        return [self._reshape(grad, self._xshape)]

    def _target(self, sample_shape: Shape) -> Shape:
        return self.output_shape([tuple(sample_shape)])


@register
class Flatten(_Reshaping):
    """Flattens each sample to a vector: ``(N, C, H, W)`` → ``(N, C·H·W)``."""

    type_name = "Flatten"
    summary = "y = x as one long vector — feeds images or sequences to a Dense layer"

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        return (math.prod(shape),)


@register
class Reshape(_Reshaping):
    """Gives each sample a new shape with the same number of values.

    ``shape`` may hold one ``-1``, the size that makes the count fit: a row of 784 pixels
    becomes an image with ``[1, 28, 28]`` or ``[1, -1, 28]``, an image ``(28, 28)`` a
    sequence of 28 rows with ``[28, 28]``.
    """

    type_name = "Reshape"
    summary = "y = x with a new shape, same values — e.g. 784 pixels → a 1×28×28 image"
    settings = (
        Setting("shape", "shape", [1, 28, 28],
                help="per-sample target shape; one entry may be -1 (inferred)"),
    )

    def describe(self) -> str:
        return "Reshape " + "x".join("?" if v == -1 else str(v) for v in self.config["shape"])

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        target = list(self.config["shape"])
        size = math.prod(shape)
        unknown = [i for i, v in enumerate(target) if v == -1]
        if len(unknown) > 1:
            raise ShapeError(
                f"shape {fmt_shape(tuple(target))} may hold at most one -1", self.where
            )
        known = math.prod(v for v in target if v != -1)
        if unknown:
            if size % known:
                raise ShapeError(
                    f"cannot reshape {fmt_shape(shape)} ({size} values) to "
                    f"{fmt_shape(tuple(target))}: {size} is not a multiple of {known}",
                    self.where,
                )
            target[unknown[0]] = size // known
        elif known != size:
            raise ShapeError(
                f"cannot reshape {fmt_shape(shape)} ({size} values) to "
                f"{fmt_shape(tuple(target))} ({known} values)",
                self.where,
            )
        return tuple(target)
