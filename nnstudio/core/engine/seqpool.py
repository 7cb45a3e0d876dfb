"""Sequence pooling: one vector per sequence, ``(N, T, D)`` → ``(N, D)``, padding ignored.

Both layers read the padding mask ``(N, T)`` (True = a real token) published by the Embedding
upstream (:attr:`mask_from`, set by the network); without one every position counts.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Buffers, Layer, Shape, register
from nnstudio.core.errors import ShapeError


class _SequencePool(Layer):
    category = "Convolution & pooling"

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        #: The layer that publishes the padding mask (an Embedding), or None.
        self.mask_from: Layer | None = None

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) != 2:
            raise ShapeError(f"needs a sequence (T, D), not {shape}", self.where)
        return (shape[1],)

    def _valid(self, n: int, t: int) -> np.ndarray | None:
        src = self.mask_from.mask if self.mask_from is not None else None
        return src if src is not None and src.shape == (n, t) else None


@register
class GlobalAvgPool1D(_SequencePool):
    """Mean over the positions of a sequence that are real tokens (not padding).

    ``y[n] = Σ_t m[n,t]·x[n,t] / max(1, Σ_t m[n,t])`` with ``m`` the padding mask (all ones
    without one).
    """

    type_name = "GlobalAvgPool1D"
    summary = "y = mean over the sequence's tokens (padding ignored) — one vector per text"

    def _forward(self, inputs, training):
        x = inputs[0]
        n, t, d = x.shape
        valid = self._valid(n, t)
        w = self._buf.get("w", (n, t), self.dtype)
        if valid is None:
            w.fill(1.0 / t)
        else:
            np.copyto(w, valid)
            np.divide(w, np.maximum(w.sum(axis=1, keepdims=True), 1.0), out=w)
        y = self._buf.get("y", (n, d), self.dtype)
        # Batched (1, T)·(T, D) per sample.
        np.matmul(w[:, None, :], x, out=y[:, None, :])
        self._w = w
        return y

    def _backward(self, grad):
        w = self._w
        dx = self._buf.get("dx", (*w.shape, grad.shape[1]), self.dtype)
        np.multiply(w[:, :, None], grad[:, None, :], out=dx)
        return [dx]


@register
class LastPosition(_SequencePool):
    """The vector at the last real token of each sequence (the last position without a
    padding mask): what a causal model has read the whole text by."""

    type_name = "LastPosition"
    summary = "y = the vector at the last token — the summary a causal model builds"

    def _forward(self, inputs, training):
        x = inputs[0]
        n, t, _ = x.shape
        valid = self._valid(n, t)
        if valid is None:
            idx = np.full(n, t - 1)
        else:
            # Last True per row (texts are right-padded); an all-padding row takes position 0.
            idx = np.where(valid.any(axis=1), t - 1 - np.argmax(valid[:, ::-1], axis=1), 0)
        self._idx = idx
        self._shape = x.shape
        return x[np.arange(n), idx].astype(self.dtype, copy=False)

    def _backward(self, grad):
        dx = self._buf.get("dx", self._shape, self.dtype)
        dx.fill(0.0)
        dx[np.arange(len(self._idx)), self._idx] = grad
        return [dx]
