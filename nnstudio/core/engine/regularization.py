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

    def _channel_sum(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Σ of ``a`` per channel into ``out (C,)`` as one or two matrix-vector products.

        (NumPy's ``sum`` over axes ``(0, 2, 3)`` walks the array with a slow strided loop;
        ``(N·C, H·W) @ ones`` then ``ones @ (N, C)`` is a BLAS pass, ≈ 5× faster.)
        """
        dt = self.dtype
        if a.ndim == 4:
            n, c = a.shape[:2]
            hw = a.shape[2] * a.shape[3]
            rows = self._buf.get("rows", (n, c), dt)
            np.dot(a.reshape(n * c, hw), self._ones(hw, "ones_hw"), out=rows.reshape(-1))
            return np.dot(self._ones(n, "ones_n"), rows, out=out)
        a2 = a.reshape(-1, a.shape[-1])
        return np.dot(self._ones(a2.shape[0], "ones_n"), a2, out=out)

    def _channel_dot(self, a: np.ndarray, b: np.ndarray, out: np.ndarray,
                     scratch: np.ndarray) -> np.ndarray:
        """Σ of ``a·b`` per channel into ``out (C,)``. On images each ``(n, c)`` row's dot
        product comes from ``einsum`` without writing ``a·b`` (≈ 2× faster than a product
        pass and a matrix-vector sum); elsewhere the product goes through ``scratch``."""
        if a.ndim == 4:
            n, c = a.shape[:2]
            hw = a.shape[2] * a.shape[3]
            rows = self._buf.get("rows", (n, c), self.dtype)
            np.einsum("ij,ij->i", a.reshape(n * c, hw), b.reshape(n * c, hw),
                      out=rows.reshape(-1))
            return np.dot(self._ones(n, "ones_n"), rows, out=out)
        np.multiply(a, b, out=scratch)
        return self._channel_sum(scratch, out)

    def _ones(self, n: int, key: str) -> np.ndarray:
        ones = self._buf.get(key, (n,), self.dtype)
        ones.fill(1.0)  # a few hundred values: cheaper than remembering whether it was filled
        return ones

    def _forward(self, inputs, training):
        x = inputs[0]
        eps = self.config["epsilon"]
        bshape = self._bshape(x)
        y = self._buf.get("y", x.shape, self.dtype)
        if not training:  # y = x·scale + shift with the running statistics
            scale = self.params["gamma"] / np.sqrt(self.state["running_var"] + eps)
            shift = self.params["beta"] - self.state["running_mean"] * scale
            np.multiply(x, scale.reshape(bshape), out=y)
            y += shift.reshape(bshape)
            return y
        count = x.size // self.params["gamma"].size
        c = self.params["gamma"].size
        dt = self.dtype
        mean = self._channel_sum(x, self._buf.get("mean", (c,), dt))
        mean *= 1.0 / count
        # The centred input xc = x − mean is kept for the backward pass (instead of x̂).
        xc = self._buf.get("xc", x.shape, dt)
        np.subtract(x, mean.reshape(bshape), out=xc)
        var = self._channel_dot(xc, xc, self._buf.get("var", (c,), dt), y)
        var *= 1.0 / count
        inv = self._buf.get("inv", (c,), dt)
        np.add(var, eps, out=inv)
        np.sqrt(inv, out=inv)
        np.divide(1.0, inv, out=inv)
        # y = xc·(γ·inv) + β: two passes.
        np.multiply(xc, (inv * self.params["gamma"]).reshape(bshape), out=y)
        y += self.params["beta"].reshape(bshape)
        m = self.config["momentum"]
        rm, rv = self.state["running_mean"], self.state["running_var"]
        rm *= m
        rm += (1.0 - m) * mean
        rv *= m
        rv += (1.0 - m) * var
        self._xc, self._inv = xc, inv
        return y

    def _backward(self, grad):
        xc, inv = self._xc, self._inv
        count = grad.size // self.params["gamma"].size
        bshape = self._bshape(grad)
        gamma = self.params["gamma"]
        dt = self.dtype
        # Per-channel sums straight into the gradient views: Σg and Σ g·x̂ = inv·Σ g·xc.
        gx = self._buf.get("gx", grad.shape, dt)
        dgamma = self._channel_dot(grad, xc, self.grads["gamma"], gx)
        dgamma *= inv
        dbeta = self._channel_sum(grad, self.grads["beta"])
        # dx = γ·inv/m · (m·g − Σg − x̂·Σ(g·x̂)) = a·g + b·xc + d, per channel:
        # a = γ·inv, b = −γ·inv²·Σ(g·x̂)/m, d = −γ·inv·Σg/m.
        a = gamma * inv
        b = a * inv * dgamma * (-1.0 / count)
        d = a * dbeta * (-1.0 / count)
        dx = self._buf.get("dx", grad.shape, dt)
        np.multiply(grad, a.reshape(bshape), out=dx)
        np.multiply(xc, b.reshape(bshape), out=gx)
        dx += gx
        dx += d.reshape(bshape)
        return [dx]
