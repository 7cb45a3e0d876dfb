"""Layer normalization over the last axis (features, or each position of a sequence)."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


@register
class LayerNorm(Layer):
    """``y = gamma·(x − mean)/sqrt(var + epsilon) + beta`` with mean and (biased) variance
    over the last axis of each sample (each position of a sequence): the same in training and
    inference, no running statistics.

    Input and output ``(N, F)`` or ``(N, T, F)``; ``gamma`` and ``beta`` are ``(F,)``.
    """

    type_name = "LayerNorm"
    category = "Normalization & regularization"
    summary = "y = γ·(x − μ)/σ + β over each sample's features — steadies deep networks"
    settings = (Setting("epsilon", "float", 1e-5, minimum=1e-12, maximum=1.0),)

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) not in (1, 2):
            raise ShapeError(
                f"works on features (F,) or sequences (T, F), not on {shape}", self.where
            )
        return tuple(shape)

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        (shape,) = input_shapes
        return {"gamma": (shape[-1],), "beta": (shape[-1],)}

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        self.params["gamma"].fill(1.0)
        self.params["beta"].fill(0.0)

    def _forward(self, inputs, training):
        x = inputs[0]
        f = x.shape[-1]
        x2 = x.reshape(-1, f)
        m = x2.shape[0]
        dt = self.dtype
        mean = self._buf.get("mean", (m, 1), dt)
        xhat = self._buf.get("xhat", (m, f), dt)
        inv = self._buf.get("inv", (m, 1), dt)
        np.mean(x2, axis=1, keepdims=True, out=mean)
        np.subtract(x2, mean, out=xhat)
        # var = mean(xc²); inv = 1/sqrt(var + eps), computed in the (m, 1) buffers.
        sq = self._buf.get("sq", (m, f), dt)
        np.multiply(xhat, xhat, out=sq)
        np.mean(sq, axis=1, keepdims=True, out=inv)
        np.add(inv, self.config["epsilon"], out=inv)
        np.sqrt(inv, out=inv)
        np.divide(1.0, inv, out=inv)
        np.multiply(xhat, inv, out=xhat)
        y = self._buf.get("y", x.shape, dt)
        y2 = y.reshape(m, f)
        np.multiply(xhat, self.params["gamma"], out=y2)
        np.add(y2, self.params["beta"], out=y2)
        self._shape = x.shape
        return y

    def _backward(self, grad):
        f = grad.shape[-1]
        g2 = grad.reshape(-1, f)
        m = g2.shape[0]
        dt = self.dtype
        xhat = self._buf.get("xhat", (m, f), dt)
        inv = self._buf.get("inv", (m, 1), dt)
        np.sum(g2 * xhat, axis=0, out=self.grads["gamma"])
        np.sum(g2, axis=0, out=self.grads["beta"])
        # dxhat = g·γ; dx = inv·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)).
        dxh = self._buf.get("dxh", (m, f), dt)
        np.multiply(g2, self.params["gamma"], out=dxh)
        a = self._buf.get("a", (m, 1), dt)
        b = self._buf.get("b", (m, 1), dt)
        np.mean(dxh, axis=1, keepdims=True, out=a)
        sq = self._buf.get("sq", (m, f), dt)
        np.multiply(dxh, xhat, out=sq)
        np.mean(sq, axis=1, keepdims=True, out=b)
        dx = self._buf.get("dx", self._shape, dt)
        d2 = dx.reshape(m, f)
        np.subtract(dxh, a, out=d2)
        np.multiply(xhat, b, out=sq)
        np.subtract(d2, sq, out=d2)
        np.multiply(d2, inv, out=d2)
        return [dx]
