"""Dropout and batch normalization."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


@register
class Dropout(Layer):
    """Inverted dropout on any shape: in training each value is zeroed with probability
    ``rate`` and the rest scaled by ``1 / (1 − rate)``; at inference it is the identity."""

    type_name = "Dropout"
    category = "Normalization & regularization"
    summary = "randomly zeroes a share of values while training, so units cannot co-adapt"
    settings = (Setting("rate", "float", 0.5, minimum=0.0, maximum=0.95, help="share dropped"),)

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        #: Set by the network from its seed, so dropout masks are reproducible.
        self.rng = np.random.default_rng(0)

    def describe(self):
        return f"Dropout {self.config['rate']:g}"

    def _forward(self, inputs, training):
        x = inputs[0]
        rate = self.config["rate"]
        if not training or rate == 0.0:
            self._mask = None
            return x
        mask = self._buf.get("mask", x.shape, self.dtype)
        self.rng.random(out=mask, dtype=self.dtype.type)
        # mask ← (u ≥ rate) / (1 − rate), computed in place.
        np.greater_equal(mask, rate, out=mask)
        mask *= 1.0 / (1.0 - rate)
        y = self._buf.get("y", x.shape, self.dtype)
        np.multiply(x, mask, out=y)
        self._mask = mask
        return y

    def _backward(self, grad):
        if self._mask is None:
            return [grad]
        dx = self._buf.get("dx", grad.shape, self.dtype)
        np.multiply(grad, self._mask, out=dx)
        return [dx]


@register
class BatchNorm(Layer):
    """Batch normalization over features ``(N, F)``, channels ``(N, C, H, W)`` or the
    features of sequences ``(N, T, F)`` (per feature, over the batch and the steps: Keras's
    ``BatchNormalization`` on a sequence; an ONNX export transposes to ``(N, F, T)``).

    Training normalizes with the batch's mean and (biased) variance and updates the running
    statistics ``running = momentum·running + (1 − momentum)·batch`` (ONNX's convention);
    inference uses the running statistics. ``y = gamma·(x − mean)/sqrt(var + epsilon) + beta``
    with ``gamma``, ``beta``, ``running_mean``, ``running_var`` of shape ``(F,)`` or ``(C,)``.
    """

    type_name = "BatchNorm"
    category = "Normalization & regularization"
    summary = "y = γ·(x − μ_batch)/σ_batch + β — keeps activations centred and scaled"
    settings = (
        Setting("momentum", "float", 0.9, minimum=0.0, maximum=0.9999),
        Setting("epsilon", "float", 1e-5, minimum=1e-12, maximum=1.0),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) not in (1, 2, 3):
            raise ShapeError(
                f"works on features (F,), sequences (T, F) or images (C, H, W), not on {shape}",
                self.where,
            )
        return shape

    @staticmethod
    def _channels(shape) -> int:
        return shape[-1] if len(shape) == 2 else shape[0]  # sequences: features last

    def param_shapes(self, input_shapes):
        c = self._channels(input_shapes[0])
        return {"gamma": (c,), "beta": (c,)}

    def state_shapes(self, input_shapes):
        c = self._channels(input_shapes[0])
        return {"running_mean": (c,), "running_var": (c,)}

    def init_params(self, input_shapes, rng):
        self.params["gamma"][...] = 1.0
        self.params["beta"][...] = 0.0

    def init_state(self, input_shapes):
        self.state["running_mean"][...] = 0.0
        self.state["running_var"][...] = 1.0

    def _bshape(self, x: np.ndarray) -> tuple[int, ...]:
        # Broadcast shape of per-channel vectors: (1, C), (1, 1, F) or (1, C, 1, 1).
        if x.ndim == 3:
            return (1, 1, x.shape[2])
        return (1, x.shape[1]) + (1,) * (x.ndim - 2)

    def _axes(self, x: np.ndarray) -> tuple[int, ...]:
        return {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[x.ndim]

    def _forward(self, inputs, training):
        x = inputs[0]
        eps = self.config["epsilon"]
        bshape = self._bshape(x)
        gamma = self.params["gamma"].reshape(bshape)
        beta = self.params["beta"].reshape(bshape)
        y = self._buf.get("y", x.shape, self.dtype)
        if not training:
            mean = self.state["running_mean"].reshape(bshape)
            inv = 1.0 / np.sqrt(self.state["running_var"].reshape(bshape) + eps)
            np.subtract(x, mean, out=y)
            y *= inv * gamma
            y += beta
            return y
        axes = self._axes(x)
        mean = x.mean(axis=axes, keepdims=True)
        np.subtract(x, mean, out=y)
        xhat = self._buf.get("xhat", x.shape, self.dtype)
        np.multiply(y, y, out=xhat)
        var = xhat.mean(axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(var + eps)
        np.multiply(y, inv, out=xhat)
        np.multiply(xhat, gamma, out=y)
        y += beta
        m = self.config["momentum"]
        rm, rv = self.state["running_mean"], self.state["running_var"]
        rm *= m
        rm += (1.0 - m) * mean.reshape(-1)
        rv *= m
        rv += (1.0 - m) * var.reshape(-1)
        self._xhat, self._inv = xhat, inv
        return y

    def _backward(self, grad):
        xhat, inv = self._xhat, self._inv
        axes = self._axes(grad)
        count = grad.size // self.params["gamma"].size
        # Per-channel sums straight into the gradient views; the only batch-sized scratch
        # array is a kept buffer, so a step allocates nothing of batch size.
        gx = self._buf.get("gx", grad.shape, self.dtype)
        np.multiply(grad, xhat, out=gx)
        dgamma = np.sum(gx, axis=axes, out=self.grads["gamma"])
        dbeta = np.sum(grad, axis=axes, out=self.grads["beta"])
        bshape = self._bshape(grad)
        # dx = γ·inv/m · (m·g − Σg − x̂·Σ(g·x̂))
        dx = self._buf.get("dx", grad.shape, self.dtype)
        np.multiply(xhat, dgamma.reshape(bshape), out=dx)
        dx += dbeta.reshape(bshape)
        dx *= -1.0 / count
        dx += grad
        dx *= self.params["gamma"].reshape(bshape) * inv
        return [dx]
