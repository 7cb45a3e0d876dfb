"""Permute (Transpose): reorder the axes of each sample, e.g. a Conv2D map ``(C, H, W)`` to
``(W, C, H)`` so that a Reshape to ``(W, C·H)`` reads it column by column as a sequence.

``dims`` numbers the sample axes from 1 (Keras's ``Permute``): ``[2, 1]`` swaps the two axes
of a sequence ``(T, F)`` → ``(F, T)``; ``[3, 1, 2]`` turns ``(C, H, W)`` into ``(W, C, H)``.
The batch axis never moves. The output is a contiguous copy.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.conv import fmt_shape
from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


@register
class Permute(Layer):
    """Reorders the sample axes: output axis ``i`` is input axis ``dims[i]`` (from 1)."""

    type_name = "Permute"
    category = "Core"
    summary = "y = x with its axes reordered (Transpose) — e.g. (C, H, W) → (W, C, H)"
    settings = (
        Setting("dims", "shape", [2, 1],
                help="new order of the sample axes, numbered from 1 (batch axis excluded)"),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def describe(self) -> str:
        return "Permute " + ",".join(map(str, self.config["dims"]))

    def perm(self, rank: int) -> tuple[int, ...]:
        """The permutation of a batch ``(N, ...)``: ``(0, dims...)``."""
        dims = list(self.config["dims"])
        if sorted(dims) != list(range(1, rank + 1)):
            raise ShapeError(
                f"dims {dims} must order the {rank} sample axes 1..{rank} of its input "
                f"(each once)", self.where,
            )
        return (0, *dims)

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(self.config["dims"]) != len(shape):
            raise ShapeError(
                f"dims {list(self.config['dims'])} name {len(self.config['dims'])} axes but "
                f"the input {fmt_shape(tuple(shape))} has {len(shape)}", self.where,
            )
        perm = self.perm(len(shape))
        return tuple(shape[p - 1] for p in perm[1:])

    def _forward(self, inputs, training):
        x = inputs[0]
        perm = self.perm(x.ndim - 1)
        yv = x.transpose(perm)
        y = self._buf.get("y", yv.shape, self.dtype)
        np.copyto(y, yv)
        self._inv = tuple(np.argsort(perm))
        self._xshape = x.shape
        return y

    def _backward(self, grad):
        dx = self._buf.get("dx", self._xshape, self.dtype)
        np.copyto(dx, grad.transpose(self._inv))
        return [dx]
