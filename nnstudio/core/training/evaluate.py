"""Evaluate a trained network on a labelled split."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine import metrics as m_
from nnstudio.core.engine import sequence_loss
from nnstudio.core.engine.losses import get_loss
from nnstudio.core.engine.network import Network

#: Largest inference batch for image/sound sources (see evaluate()).
LAZY_BATCH = 256


def is_classification(loss_name: str) -> bool:
    return loss_name in ("cross_entropy", "binary_cross_entropy")


def prepare_targets(y: np.ndarray, loss_name: str, dtype: np.dtype) -> np.ndarray:
    """Targets in the form the loss wants.

    ``cross_entropy``: int64 indices ``(N,)`` (one-hot ``(N, K)`` kept as floats);
    ``binary_cross_entropy``: ``(N, 1)`` floats from 0/1 indices; ``mse``/``mae``: ``(N, K)``.
    """
    y = np.asarray(y)
    if loss_name == "cross_entropy":
        if y.ndim == 1 or (y.ndim == 2 and y.dtype.kind in "iu"):  # classes, or token ids
            return y.astype(np.int64, copy=False)
        return y.astype(dtype, copy=False)
    return np.ascontiguousarray(y.reshape(len(y), -1), dtype=dtype)


def evaluate(
    net: Network, x: np.ndarray, y: np.ndarray, loss_name: str, batch_size: int | None = None,
    report: bool = False,
) -> dict:
    """Loss and metrics of ``net`` on ``(x, y)`` in inference mode.

    Returns ``{"loss", "accuracy"}`` for classification or ``{"loss", "mae", "rmse", "r2"}``
    for regression (values in the units the network was trained on). With ``report=True``
    classification adds ``confusion_matrix`` and per-class ``precision``/``recall``/``f1``/
    ``support`` lists.
    """
    loss = get_loss(loss_name)
    if len(net.output_shape) == 2 and is_classification(loss_name):
        return _evaluate_sequences(net, x, y, batch_size)
    # A lazy source (core/data/batches.py) is sliced batch by batch by predict(), in batches
    # of at most 256: its samples are images, and the layers keep scratch buffers per batch
    # size (1,024 64×64 RGB images cost ~200 MB of them per conv layer).
    lazy = getattr(x, "lazy_batches", False)
    pred = net.predict(x if lazy else np.asarray(x, net.dtype),
                       min(batch_size or LAZY_BATCH, LAZY_BATCH) if lazy else batch_size)
    yy = prepare_targets(y, loss_name, net.dtype)
    out: dict = {"loss": loss.value(pred, yy) if len(x) else float("nan")}
    if is_classification(loss_name):
        classes = m_.predicted_classes(pred)
        truth = yy if yy.ndim == 1 else (
            (yy[:, 0] >= 0.5).astype(np.int64) if yy.shape[1] == 1 else yy.argmax(axis=1)
        )
        n_classes = max(2, pred.shape[-1])
        if report:
            out.update(m_.classification_report(truth, classes, n_classes))
        else:
            out["accuracy"] = m_.accuracy(truth, classes)
    else:
        out.update(m_.regression_report(yy, pred.reshape(len(pred), -1)))
    return out


def _evaluate_sequences(
    net: Network, x: np.ndarray, y: np.ndarray, batch_size: int | None
) -> dict:
    """Loss and per-position accuracy of a sequence output ``(N, T, V)``, batch by batch:
    the predictions of a whole corpus split (N·T·V floats) are never held at once."""
    yy = np.asarray(y).astype(np.int64, copy=False)
    total, right, counted = 0.0, 0, 0
    bs = max(1, min(batch_size or net.inference_batch(), 256))
    for lo in range(0, len(x), bs):
        pred = net.forward(np.asarray(x[lo:lo + bs], net.dtype))
        yb = yy[lo:lo + bs]
        n_b = int(np.count_nonzero(yb >= 0))
        total += sequence_loss.value(pred, yb) * n_b
        r, c = sequence_loss.accuracy_counts(pred, yb)
        right += r
        counted += c
    nan = float("nan")
    return {"loss": total / counted if counted else nan,
            "accuracy": right / counted if counted else nan}
