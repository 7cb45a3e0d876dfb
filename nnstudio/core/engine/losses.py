"""Losses: mean values over the batch and their gradients with respect to the prediction.

Targets: ``cross_entropy`` takes class indices ``(N,)`` (int) or one-hot/soft labels
``(N, K)``; ``binary_cross_entropy`` takes ``(N, 1)`` or ``(N, K)`` in [0, 1]; ``mse`` and
``mae`` take ``(N, K)`` like the prediction. A prediction with more than one axis per sample
(a Conv2D map ``(N, C, H, W)``, a sequence ``(N, T, H)``) is compared with ``(N, K)`` targets
value by value in row-major order, ``K`` being the number of values per sample (see
:func:`aligned`): the exports flatten the output the same way.

When the network ends in Softmax (cross-entropy) or Sigmoid (binary cross-entropy) the
trainer *fuses* the activation with the loss: the loss is computed from the logits ``z`` with
a log-sum-exp, and the gradient with respect to ``z`` is simply ``(p − y) / N``. That is both
stable (no ``log(0)``) and cheaper.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine import sequence_loss
from nnstudio.core.engine.layer import Buffers
from nnstudio.core.errors import ConfigError

LOSSES = ("mse", "mae", "binary_cross_entropy", "cross_entropy")
_EPS = 1e-7


def aligned(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y`` viewed with ``pred``'s shape when both hold the same values per sample.

    Targets come as ``(N, K)``; a network may output ``(N, C, H, W)`` or ``(N, T, H)`` with
    ``C·H·W = K`` values per sample: the k-th target is the k-th output value (row-major).
    """
    if y.shape == pred.shape or y.ndim < 2 or y.size != pred.size or len(y) != len(pred):
        return y
    return y.reshape(pred.shape)


class Loss:
    """A loss. ``value`` returns a Python float; ``grad`` returns ``d value / d pred``."""

    name = ""
    #: The activation this loss fuses with when it ends the network.
    fuses_with: str | None = None

    def __init__(self) -> None:
        self._buf = Buffers()
        self._rows = np.arange(0)

    def _arange(self, n: int) -> np.ndarray:
        """``np.arange(n)``, kept between calls (row indices for class-index targets)."""
        if self._rows.shape[0] != n:
            self._rows = np.arange(n)
        return self._rows

    def value(self, pred: np.ndarray, y: np.ndarray) -> float:
        raise NotImplementedError

    def grad(self, pred: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fused_value(self, logits: np.ndarray, y: np.ndarray) -> float:
        """The loss computed from the logits before the fused activation."""
        raise NotImplementedError

    def fused_grad(self, pred: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``d loss / d logits`` given the activation's output ``pred``: ``(pred − y) / N``."""
        g = self._buf.get("fg", pred.shape, pred.dtype)
        if y.ndim == 1:  # class indices
            np.copyto(g, pred)
            g[self._arange(len(y)), y] -= 1.0
        else:
            np.subtract(pred, y, out=g)
        np.multiply(g, 1.0 / pred.shape[0], out=g)
        return g


class MeanSquaredError(Loss):
    """``mean((pred − y)²)`` over every element."""

    name = "mse"

    def value(self, pred, y):
        y = aligned(pred, y)
        d = pred - y
        return float(np.mean(d * d))

    def grad(self, pred, y):
        y = aligned(pred, y)
        g = self._buf.get("g", pred.shape, pred.dtype)
        np.subtract(pred, y, out=g)
        g *= 2.0 / pred.size
        return g


class MeanAbsoluteError(Loss):
    """``mean(|pred − y|)`` over every element (gradient 0 where they are equal)."""

    name = "mae"

    def value(self, pred, y):
        y = aligned(pred, y)
        return float(np.mean(np.abs(pred - y)))

    def grad(self, pred, y):
        y = aligned(pred, y)
        g = self._buf.get("g", pred.shape, pred.dtype)
        np.subtract(pred, y, out=g)
        np.sign(g, out=g)
        g *= 1.0 / pred.size
        return g


class BinaryCrossEntropy(Loss):
    """``−mean(y·log p + (1 − y)·log(1 − p))`` over every element."""

    name = "binary_cross_entropy"
    fuses_with = "Sigmoid"

    def value(self, pred, y):
        y = aligned(pred, y)
        p = np.clip(pred, _EPS, 1 - _EPS)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))

    def grad(self, pred, y):
        y = aligned(pred, y)
        p = np.clip(pred, _EPS, 1 - _EPS)
        return ((p - y) / (p * (1 - p)) / pred.size).astype(pred.dtype, copy=False)

    def fused_value(self, logits, y):
        y = aligned(logits, y)
        z = logits
        # softplus(z) − z·y with softplus(z) = log(1 + e^z) = logaddexp(0, z), which NumPy
        # computes stably as max(z, 0) + log1p(e^−|z|) for any z (in scratch buffers).
        a = self._buf.get("fa", z.shape, z.dtype)
        t = self._buf.get("ft", z.shape, z.dtype)
        np.logaddexp(0.0, z, a)
        np.multiply(z, y, t)
        np.subtract(a, t, a)
        return float(np.add.reduce(a, axis=None)) / a.size

    def fused_grad(self, pred, y):
        y = aligned(pred, y)
        g = self._buf.get("fg", pred.shape, pred.dtype)
        np.subtract(pred, y, out=g)
        np.multiply(g, 1.0 / pred.size, out=g)
        return g


class CrossEntropy(Loss):
    """Categorical cross-entropy ``−mean_n Σ_k y_nk·log p_nk`` (class indices or one-hot)."""

    name = "cross_entropy"
    fuses_with = "Softmax"

    # A sequence output (N, T, V) with token-id targets (N, T): see sequence_loss.py.
    def value(self, pred, y):
        if pred.ndim == 3:
            return sequence_loss.value(pred, y)
        n = pred.shape[0]
        if y.ndim == 1:
            return float(-np.mean(np.log(np.clip(pred[np.arange(n), y], _EPS, None))))
        return float(-np.sum(y * np.log(np.clip(pred, _EPS, None))) / n)

    def grad(self, pred, y):
        n = pred.shape[0]
        g = self._buf.get("g", pred.shape, pred.dtype)
        if pred.ndim == 3:
            return sequence_loss.grad(pred, y, g)
        g.fill(0.0)
        if y.ndim == 1:
            rows = np.arange(n)
            g[rows, y] = -1.0 / (np.clip(pred[rows, y], _EPS, None) * n)
        else:
            np.divide(-y, np.clip(pred, _EPS, None) * n, out=g)
        return g

    def fused_grad(self, pred, y):
        if pred.ndim == 3:
            return sequence_loss.fused_grad(pred, y, self._buf.get("sg", pred.shape, pred.dtype))
        return super().fused_grad(pred, y)

    def fused_value(self, logits, y):
        if logits.ndim == 3:
            return sequence_loss.fused_value(logits, y)
        n = logits.shape[0]
        # lse = log Σ e^z computed as m + log Σ e^(z − m), in scratch buffers.
        m = self._buf.get("fm", (n, 1), logits.dtype)
        e = self._buf.get("fe", logits.shape, logits.dtype)
        lse = self._buf.get("fl", (n, 1), logits.dtype)
        np.maximum.reduce(logits, axis=-1, keepdims=True, out=m)
        np.subtract(logits, m, out=e)
        np.exp(e, out=e)
        np.add.reduce(e, axis=-1, keepdims=True, out=lse)
        np.log(lse, out=lse)
        np.add(lse, m, out=lse)
        if y.ndim == 1:
            np.subtract(lse[:, 0], logits[self._arange(n), y], out=lse[:, 0])
            return float(np.add.reduce(lse, axis=None)) / n
        np.subtract(lse, logits, out=e)
        np.multiply(e, y, out=e)
        return float(np.add.reduce(e, axis=None)) / n


def get_loss(name: str) -> Loss:
    """A loss by its project-file name (``mse``, ``mae``, ``binary_cross_entropy``,
    ``cross_entropy``; ``categorical_cross_entropy`` is accepted too)."""
    table = {
        "mse": MeanSquaredError,
        "mean_squared_error": MeanSquaredError,
        "mae": MeanAbsoluteError,
        "mean_absolute_error": MeanAbsoluteError,
        "binary_cross_entropy": BinaryCrossEntropy,
        "cross_entropy": CrossEntropy,
        "categorical_cross_entropy": CrossEntropy,
    }
    try:
        return table[name]()
    except KeyError:
        raise ConfigError(f"unknown loss {name!r} (known: {', '.join(LOSSES)})") from None
