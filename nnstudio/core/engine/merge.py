"""Merge layers: they take two or more inputs, in the order of their incoming edges."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


def _fmt(shapes: list[Shape]) -> str:
    return ", ".join("x".join(map(str, s)) for s in shapes)


class _Merge(Layer):
    category = "Merge"
    n_inputs = None

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def _check_count(self, input_shapes: list[Shape]) -> None:
        if len(input_shapes) < 2:
            raise ShapeError(f"needs two or more inputs (has {len(input_shapes)})", self.where)


@register
class Add(_Merge):
    """Element-wise sum of inputs of one shape (a residual connection)."""

    type_name = "Add"
    summary = "y = x₁ + x₂ + … — element-wise sum (residual connections)"

    def output_shape(self, input_shapes):
        self._check_count(input_shapes)
        if any(tuple(s) != tuple(input_shapes[0]) for s in input_shapes):
            raise ShapeError(f"needs inputs of one shape, got {_fmt(input_shapes)}", self.where)
        return tuple(input_shapes[0])

    def _forward(self, inputs, training):
        y = self._buf.get("y", inputs[0].shape, self.dtype)
        np.add(inputs[0], inputs[1], out=y)
        for x in inputs[2:]:
            y += x
        self._n = len(inputs)
        return y

    def _backward(self, grad):
        return [grad] * self._n


@register
class Concatenate(_Merge):
    """Joins inputs along one axis of the sample (default: the last one)."""

    type_name = "Concatenate"
    summary = "y = [x₁, x₂, …] — joins inputs side by side along an axis"
    settings = (Setting("axis", "int", -1, help="sample axis to join along (-1 = last)"),)

    def _axis(self, ndim: int) -> int:
        axis = self.config["axis"]
        if not -ndim <= axis < ndim:
            raise ShapeError(f"axis {axis} does not exist in a {ndim}-D sample", self.where)
        return axis % ndim

    def output_shape(self, input_shapes):
        self._check_count(input_shapes)
        ndims = {len(s) for s in input_shapes}
        if len(ndims) != 1:
            raise ShapeError(f"needs inputs of one rank, got {_fmt(input_shapes)}", self.where)
        axis = self._axis(ndims.pop())
        rest = {tuple(s[:axis]) + tuple(s[axis + 1:]) for s in input_shapes}
        if len(rest) != 1:
            raise ShapeError(
                f"inputs {_fmt(input_shapes)} differ outside the joined axis {axis}", self.where
            )
        out = list(input_shapes[0])
        out[axis] = sum(s[axis] for s in input_shapes)
        return tuple(out)

    def _forward(self, inputs, training):
        axis = self._axis(inputs[0].ndim - 1) + 1
        shape = list(inputs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in inputs)
        y = self._buf.get("y", tuple(shape), self.dtype)
        np.concatenate(inputs, axis=axis, out=y)
        self._sizes = [x.shape[axis] for x in inputs]
        self._axis_run = axis
        return y

    def _backward(self, grad):
        bounds = np.cumsum(self._sizes)[:-1]
        return np.split(grad, bounds, axis=self._axis_run)
