"""Cross-entropy over every position of a sequence output (language modelling).

The network outputs one distribution per position ``(N, T, V)``; the targets are token ids
``(N, T)`` int64 where ``-1`` (:data:`IGNORE`) marks a position that does not count (padding).
The loss is the mean over the counted positions (PyTorch's ``ignore_index`` convention),
and its gradient is zero at ignored positions. :class:`~.losses.CrossEntropy` hands a 3-D
prediction to these functions.
"""

from __future__ import annotations

import numpy as np

#: Target id of a position the loss and the accuracy ignore.
IGNORE = -1
_EPS = 1e-7


def _flat(pred: np.ndarray, y: np.ndarray):
    v = pred.shape[-1]
    p2 = pred.reshape(-1, v)
    y1 = y.reshape(-1)
    keep = y1 >= 0
    return p2, y1, keep, max(int(np.count_nonzero(keep)), 1)


def value(pred: np.ndarray, y: np.ndarray) -> float:
    """Mean ``−log p[target]`` over the counted positions, from probabilities ``pred``."""
    p2, y1, keep, m = _flat(pred, y)
    rows = np.flatnonzero(keep)
    return float(-np.sum(np.log(np.clip(p2[rows, y1[rows]], _EPS, None)))) / m


def grad(pred: np.ndarray, y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``d value / d pred`` into ``out`` (shaped like ``pred``)."""
    p2, y1, keep, m = _flat(pred, y)
    out.fill(0.0)
    o2 = out.reshape(p2.shape)
    rows = np.flatnonzero(keep)
    o2[rows, y1[rows]] = -1.0 / (np.clip(p2[rows, y1[rows]], _EPS, None) * m)
    return out


def fused_value(logits: np.ndarray, y: np.ndarray) -> float:
    """The same loss from the logits before the Softmax, with a stable log-sum-exp."""
    z2, y1, keep, m = _flat(logits, y)
    rows = np.flatnonzero(keep)
    z = z2[rows]
    mx = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - mx).sum(axis=1)) + mx[:, 0]
    return float(np.sum(lse - z[np.arange(len(rows)), y1[rows]])) / m


def fused_grad(pred: np.ndarray, y: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``d loss / d logits = (softmax − onehot) / count`` at counted positions, 0 elsewhere."""
    p2, y1, keep, m = _flat(pred, y)
    o2 = out.reshape(p2.shape)
    np.copyto(o2, p2)
    rows = np.flatnonzero(keep)
    o2[rows, y1[rows]] -= 1.0
    if len(rows) != len(y1):
        o2[~keep] = 0.0
    np.multiply(o2, 1.0 / m, out=o2)
    return out


def accuracy_counts(pred: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """``(right, counted)``: positions whose most likely token is the target."""
    p2, y1, keep, _ = _flat(pred, y)
    hit = (np.argmax(p2, axis=1) == y1) & keep
    return int(np.count_nonzero(hit)), int(np.count_nonzero(keep))
