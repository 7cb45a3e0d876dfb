"""Smooth and parametric activations: GELU, ELU, SiLU (Swish), Softplus and PReLU.

All keep the input shape ``(N, ...)``. Each is differentiated from the values its forward
pass keeps, written into reusable buffers, so the steady state allocates little.

GELU needs the error function, which NumPy lacks: :func:`erfc` is the Chebyshev fit of
*Numerical Recipes* (``erfcc``), whose **relative** error is below 1.2e-7 for every ``x`` —
so ``GELU(x) = x·Φ(x)`` keeps that relative accuracy even far out on the negative side,
where ``Φ(x)`` is tiny (float32 rounding is larger than the fit's error).
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.core.engine.activations import _Activation, sigmoid_forward
from nnstudio.core.engine.layer import Setting, Shape, register
from nnstudio.core.errors import ShapeError

#: Coefficients of the erfc fit, highest power of t last (Numerical Recipes, ``erfcc``).
_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
         -1.13520398, 1.48851587, -0.82215223, 0.17087277)
_SQRT_HALF = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_C = math.sqrt(2.0 / math.pi)


def erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function ``1 − erf(x)`` with relative error < 1.2e-7 (any ``x``)."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = np.full_like(t, _ERFC[-1])
    for c in _ERFC[-2::-1]:
        poly *= t
        poly += c
    poly -= z * z
    out = t * np.exp(poly)
    return np.where(x >= 0, out, 2.0 - out)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """``Φ(x) = erfc(−x/√2) / 2``, the standard normal distribution function."""
    return 0.5 * erfc(-_SQRT_HALF * x)


@register
class GELU(_Activation):
    """Gaussian error linear unit ``x·Φ(x)`` (``approximate``: the tanh form of BERT/GPT-2)."""

    type_name = "GELU"
    summary = "GELU(z) = z·Φ(z) — a smooth ReLU, the transformers' activation"
    settings = (
        Setting("approximate", "bool", False,
                help="use 0.5·z·(1 + tanh(√(2/π)(z + 0.044715·z³))) instead of the exact form"),
    )

    def describe(self) -> str:
        return "GELU tanh" if self.config["approximate"] else "GELU"

    def _forward(self, inputs, training):
        x = inputs[0]
        y = self._out("y", x)
        if self.config["approximate"]:
            u = _TANH_C * (x + 0.044715 * x * x * x)
            th = np.tanh(u)
            np.multiply(0.5 * x, 1.0 + th, out=y)
            self._cache = (x, th)
        else:
            cdf = normal_cdf(x)
            np.multiply(x, cdf, out=y)
            self._cache = (x, cdf)
        return y

    def _backward(self, grad):
        x, c = self._cache
        dx = self._out("dx", x)
        if self.config["approximate"]:
            # d/dx = 0.5(1 + th) + 0.5·x·(1 − th²)·√(2/π)(1 + 3·0.044715·x²)
            du = _TANH_C * (1.0 + 3 * 0.044715 * x * x)
            d = 0.5 * (1.0 + c) + 0.5 * x * (1.0 - c * c) * du
        else:
            # d/dx x·Φ(x) = Φ(x) + x·φ(x)
            d = c + x * (_INV_SQRT_2PI * np.exp(-0.5 * x * x))
        np.multiply(grad, d, out=dx)
        return [dx]


@register
class ELU(_Activation):
    """Exponential linear unit: ``z`` for ``z > 0``, ``alpha·(e^z − 1)`` otherwise."""

    type_name = "ELU"
    summary = "ELU(z) = z if z > 0 else α·(e^z − 1) — smooth below zero, mean near 0"
    settings = (Setting("alpha", "float", 1.0, minimum=0.0, maximum=100.0,
                        help="value approached for large negative z is −α"),)

    def describe(self) -> str:
        a = self.config["alpha"]
        return "ELU" if a == 1.0 else f"ELU {a:g}"

    def _forward(self, inputs, training):
        x = inputs[0]
        y = self._out("y", x)
        a = self.config["alpha"]
        neg = np.minimum(x, 0.0)
        np.expm1(neg, out=neg)
        neg *= a
        np.copyto(y, x)
        np.copyto(y, neg, where=x <= 0)
        self._cache = (x, y)
        return y

    def _backward(self, grad):
        x, y = self._cache
        dx = self._out("dx", x)
        # slope 1 above zero, α·e^z = y + α below
        slope = y + self.config["alpha"]
        np.copyto(slope, 1.0, where=x > 0)
        np.multiply(grad, slope, out=dx)
        return [dx]


@register
class SiLU(_Activation):
    """Sigmoid-weighted linear unit (Swish): ``z·σ(z)``."""

    type_name = "SiLU"
    summary = "SiLU/Swish(z) = z·σ(z) — smooth, slightly negative dip, used in EfficientNet"

    def _forward(self, inputs, training):
        x = inputs[0]
        s = self._out("s", x)
        with np.errstate(over="ignore"):
            sigmoid_forward(x, s)
        y = self._out("y", x)
        np.multiply(x, s, out=y)
        self._cache = (x, s)
        return y

    def _backward(self, grad):
        x, s = self._cache
        dx = self._out("dx", x)
        # σ + z·σ(1 − σ) = σ·(1 + z·(1 − σ))
        np.subtract(1.0, s, out=dx)
        dx *= x
        dx += 1.0
        dx *= s
        dx *= grad
        return [dx]


@register
class Softplus(_Activation):
    """``log(1 + e^z)``, a smooth ReLU (computed stably as ``logaddexp(0, z)``)."""

    type_name = "Softplus"
    summary = "Softplus(z) = log(1 + e^z) — a smooth ReLU, always positive"

    def _forward(self, inputs, training):
        x = inputs[0]
        y = self._out("y", x)
        np.logaddexp(0.0, x, out=y)
        self._x = x
        return y

    def _backward(self, grad):
        dx = self._out("dx", self._x)
        with np.errstate(over="ignore"):
            sigmoid_forward(self._x, dx)
        dx *= grad
        return [dx]


@register
class PReLU(_Activation):
    """Leaky ReLU with learned slopes: ``z`` for ``z > 0``, ``alpha·z`` otherwise.

    ``alpha`` holds one slope per channel — the first axis of images ``(C, H, W)``, the
    last axis of features ``(F,)`` and sequences ``(T, F)`` — or a single slope with
    ``shared = "all"``. Slopes start at ``alpha_init`` (0.25, like PyTorch).
    """

    type_name = "PReLU"
    summary = "PReLU(z) = z if z > 0 else α·z with α learned per channel"
    settings = (
        Setting("shared", "choice", "channel", choices=("channel", "all"),
                help="one learned slope per channel, or one for every value"),
        Setting("alpha_init", "float", 0.25, minimum=0.0, maximum=1.0,
                help="starting slope below zero"),
    )

    def describe(self) -> str:
        return "PReLU" if self.config["shared"] == "channel" else "PReLU shared"

    def _channels(self, shape: Shape) -> int:
        if self.config["shared"] == "all":
            return 1
        if len(shape) not in (1, 2, 3):
            raise ShapeError(f"works on features, sequences or images, not on {shape}",
                             self.where)
        return shape[0] if len(shape) == 3 else shape[-1]

    def output_shape(self, input_shapes):
        self._channels(tuple(input_shapes[0]))
        return tuple(input_shapes[0])

    def param_shapes(self, input_shapes):
        return {"alpha": (self._channels(tuple(input_shapes[0])),)}

    def init_params(self, input_shapes, rng):
        self.params["alpha"][...] = self.config["alpha_init"]

    def slope_shape(self, ndim: int) -> tuple[int, ...]:
        """Broadcast shape of ``alpha`` against a batch of ``ndim`` axes."""
        if self.config["shared"] == "all":
            return (1,) * ndim
        if ndim == 4:
            return (1, -1, 1, 1)
        return (1,) * (ndim - 1) + (-1,)

    def _forward(self, inputs, training):
        x = inputs[0]
        y = self._out("y", x)
        a = self.params["alpha"].reshape(self.slope_shape(x.ndim))
        np.multiply(x, a, out=y)
        np.copyto(y, x, where=x > 0)
        self._x = x
        return y

    def _backward(self, grad):
        x = self._x
        pos = x > 0
        axes = tuple(i for i, s in enumerate(self.slope_shape(x.ndim)) if s == 1)
        gneg = np.where(pos, 0.0, grad * x)
        self.grads["alpha"][...] = gneg.sum(axis=axes).reshape(-1)
        dx = self._out("dx", x)
        np.multiply(grad, self.params["alpha"].reshape(self.slope_shape(x.ndim)), out=dx)
        np.copyto(dx, grad, where=pos)
        return [dx]
