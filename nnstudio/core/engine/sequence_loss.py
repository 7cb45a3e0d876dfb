"""Cross-entropy over every position of a sequence output (language modelling).

The network outputs one distribution per position ``(N, T, V)``; the targets are token ids
``(N, T)`` int64 where ``-1`` (:data:`IGNORE`) marks a position that does not count (padding).
The loss is the mean over the counted positions (PyTorch's ``ignore_index`` convention),
and its gradient is zero at ignored positions. :class:`~.losses.CrossEntropy` hands a 3-D
prediction to these functions.
"""

from __future__ import annotations

import threading

import numpy as np

from nnstudio.core.engine.layer import Buffers

#: Target id of a position the loss and the accuracy ignore.
IGNORE = -1
_EPS = 1e-7
#: A row's Σ e^(z − shift) below this has underflowed (too far below the shift).
_TINY = {np.float32: 1e-30, np.float64: 1e-290}
_local = threading.local()


def _scratch() -> Buffers:
    """This thread's scratch arrays (training and a view's forward pass may run at once)."""
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = Buffers()
    return buf


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
    """The same loss from the logits before the Softmax, with a stable log-sum-exp.

    One shift for all rows (the largest logit) instead of each row's maximum, which is a
    slow reduction along short rows; a row whose exponentials then underflow (its logits
    far below the largest) gets its own maximum.
    """
    z2, y1, keep, m = _flat(logits, y)
    if np.count_nonzero(keep) == len(y1):
        z, tgt = z2, y1
    else:
        rows = np.flatnonzero(keep)
        z, tgt = z2[rows], y1[rows]
    if not len(z):
        return 0.0
    buf = _scratch()
    e = buf.get("e", z.shape, z.dtype)
    mx = z.max()
    np.subtract(z, mx, out=e)
    np.exp(e, out=e)
    s = buf.get("s", z.shape[:1], z.dtype)
    ones = buf.get("ones", z.shape[1:], z.dtype)
    ones.fill(1.0)
    np.dot(e, ones, out=s)
    low = np.flatnonzero(s < _TINY[z.dtype.type])
    s[low] = 1.0  # replaced below; no log(0) meanwhile
    lse = np.log(s, out=s)
    np.add(lse, mx, out=lse)
    if len(low):
        zl = z[low]
        ml = zl.max(axis=1, keepdims=True)
        lse[low] = np.log(np.exp(zl - ml).sum(axis=1)) + ml[:, 0]
    picked = z[np.arange(len(z)), tgt]
    return float(np.sum(lse, dtype=np.float64) - np.sum(picked, dtype=np.float64)) / m


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
