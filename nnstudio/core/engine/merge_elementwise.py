"""Element-wise merges besides Add: Multiply (gating) and Average.

Both take two or more inputs of one shape, in the order of their incoming edges, and keep
that shape: ``(N, ...)`` each → ``(N, ...)``.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import register
from nnstudio.core.engine.merge import Add, _Merge


@register
class Multiply(_Merge):
    """Element-wise product ``y = x₁ ⊙ x₂ ⊙ …`` (a gate: one branch scales another)."""

    type_name = "Multiply"
    summary = "y = x₁ ⊙ x₂ ⊙ … — element-wise product (one branch gates another)"
    output_shape = Add.output_shape

    def _forward(self, inputs, training):
        y = self._buf.get("y", inputs[0].shape, self.dtype)
        np.multiply(inputs[0], inputs[1], out=y)
        for x in inputs[2:]:
            y *= x
        self._xs = list(inputs)
        return y

    def _backward(self, grad):
        xs = self._xs
        out = []
        for i in range(len(xs)):
            d = self._buf.get(f"d{i}", grad.shape, self.dtype)
            np.copyto(d, grad)
            for j, x in enumerate(xs):  # the product of every other input
                if j != i:
                    d *= x
            out.append(d)
        return out


@register
class Average(_Merge):
    """Element-wise mean ``y = (x₁ + … + x_k) / k``."""

    type_name = "Average"
    summary = "y = (x₁ + x₂ + …) / k — element-wise mean (ensembles, shared paths)"
    output_shape = Add.output_shape

    def _forward(self, inputs, training):
        y = self._buf.get("y", inputs[0].shape, self.dtype)
        np.add(inputs[0], inputs[1], out=y)
        for x in inputs[2:]:
            y += x
        y *= 1.0 / len(inputs)
        self._n = len(inputs)
        return y

    def _backward(self, grad):
        d = self._buf.get("d", grad.shape, self.dtype)
        np.multiply(grad, 1.0 / self._n, out=d)
        return [d] * self._n
