"""Element-wise activations and Softmax.

All work on any input shape ``(N, ...)`` and keep it; Softmax normalizes over the last axis.
Each writes into its own reusable buffers, so the steady state allocates nothing.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Buffers, Layer, Setting, register


class _Activation(Layer):
    category = "Activations"

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def _out(self, key: str, like: np.ndarray) -> np.ndarray:
        return self._buf.get(key, like.shape, self.dtype)


@register
class Linear(_Activation):
    """Identity: ``y = x`` (the output of a regression)."""

    type_name = "Linear"
    summary = "y = z — identity, the output of a regression"

    def _forward(self, inputs, training):
        return inputs[0]

    def _backward(self, grad):
        return [grad]


@register
class Sigmoid(_Activation):
    """Logistic function ``σ(z) = 1 / (1 + e^−z)``, output in (0, 1)."""

    type_name = "Sigmoid"
    summary = "σ(z) = 1 / (1 + e^−z) — squashes to (0, 1), a probability"

    def _forward(self, inputs, training):
        z = inputs[0]
        y = self._out("y", z)
        np.negative(z, out=y)
        with np.errstate(over="ignore"):  # e^(large) = inf gives σ = 0, which is right
            np.exp(y, out=y)
        np.add(y, 1.0, out=y)
        np.reciprocal(y, out=y)
        self._y = y
        return y

    def _backward(self, grad):
        y = self._y
        dz = self._out("dz", y)
        np.subtract(1.0, y, out=dz)
        np.multiply(dz, y, out=dz)
        np.multiply(dz, grad, out=dz)
        return [dz]


@register
class Tanh(_Activation):
    """Hyperbolic tangent, output in (−1, 1)."""

    type_name = "Tanh"
    summary = "tanh(z) = (e^z − e^−z) / (e^z + e^−z) — squashes to (−1, 1)"

    def _forward(self, inputs, training):
        z = inputs[0]
        y = self._out("y", z)
        np.tanh(z, out=y)
        self._y = y
        return y

    def _backward(self, grad):
        y = self._y
        dz = self._out("dz", y)
        np.multiply(y, y, out=dz)
        np.subtract(1.0, dz, out=dz)
        np.multiply(dz, grad, out=dz)
        return [dz]


@register
class ReLU(_Activation):
    """Rectified linear unit ``max(0, z)``."""

    type_name = "ReLU"
    summary = "ReLU(z) = max(0, z) — passes positives, zeroes negatives"

    def _forward(self, inputs, training):
        z = inputs[0]
        y = self._out("y", z)
        np.maximum(z, 0, out=y)
        self._y = y
        return y

    def _backward(self, grad):
        y = self._y
        mask = self._buf.get("mask", y.shape, np.dtype(bool))
        np.greater(y, 0, out=mask)
        dz = self._out("dz", y)
        np.multiply(grad, mask, out=dz)
        return [dz]


@register
class LeakyReLU(_Activation):
    """``z`` for positive ``z``, ``alpha·z`` otherwise (``0 ≤ alpha ≤ 1``)."""

    type_name = "LeakyReLU"
    summary = "LeakyReLU(z) = z if z > 0 else α·z — a small slope keeps units alive"
    settings = (Setting("alpha", "float", 0.01, minimum=0.0, maximum=1.0, help="negative slope"),)

    def describe(self):
        return f"LeakyReLU {self.config['alpha']:g}"

    def _forward(self, inputs, training):
        z = inputs[0]
        y = self._out("y", z)
        # For 0 ≤ α ≤ 1, max(z, α·z) is z on the positive side and α·z on the negative one.
        np.multiply(z, self.config["alpha"], out=y)
        np.maximum(z, y, out=y)
        self._z = z
        return y

    def _backward(self, grad):
        z = self._z
        slope = self._out("slope", z)
        mask = self._buf.get("mask", z.shape, np.dtype(bool))
        np.greater(z, 0, out=mask)
        slope.fill(self.config["alpha"])
        np.copyto(slope, 1.0, where=mask)
        np.multiply(grad, slope, out=slope)
        return [slope]


@register
class Softmax(_Activation):
    """``softmax(z)_i = e^{z_i} / Σ_j e^{z_j}`` over the last axis: class probabilities.

    Followed by the cross-entropy loss, the trainer fuses both into the stable
    ``softmax(z) − y`` gradient and never calls this layer's backward.
    """

    type_name = "Softmax"
    category = "Input/Output"
    summary = "softmax(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ — class probabilities that sum to 1"

    def _forward(self, inputs, training):
        z = inputs[0]
        y = self._out("y", z)
        red = self._buf.get("red", z.shape[:-1] + (1,), self.dtype)
        np.max(z, axis=-1, keepdims=True, out=red)
        np.subtract(z, red, out=y)
        np.exp(y, out=y)
        np.sum(y, axis=-1, keepdims=True, out=red)
        y /= red
        self._y = y
        return y

    def _backward(self, grad):
        y = self._y
        dz = self._out("dz", y)
        red = self._buf.get("red_b", y.shape[:-1] + (1,), self.dtype)
        np.multiply(grad, y, out=dz)
        np.sum(dz, axis=-1, keepdims=True, out=red)
        np.subtract(grad, red, out=dz)
        dz *= y
        return [dz]
