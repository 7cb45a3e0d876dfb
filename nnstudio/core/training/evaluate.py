"""Evaluate a trained network on a labelled split."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine import metrics as m_
from nnstudio.core.engine import sequence_loss
from nnstudio.core.engine.losses import get_loss
from nnstudio.core.engine.network import Network


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
    net: Network, x: np.ndarray, y: np.ndarray, loss_name: str, batch_size: int = 1024,
    report: bool = False,
) -> dict:
    """Loss and metrics of ``net`` on ``(x, y)`` in inference mode.

    Returns ``{"loss", "accuracy"}`` for classification or ``{"loss", "mae", "rmse", "r2"}``
    for regression (values in the units the network was trained on). With ``report=True``
    classification adds ``confusion_matrix`` and per-class ``precision``/``recall``/``f1``/
    ``support`` lists.
    """
    loss = get_loss(loss_name)
    pred = net.predict(np.asarray(x, net.dtype), batch_size)
    yy = prepare_targets(y, loss_name, net.dtype)
    out: dict = {"loss": loss.value(pred, yy) if len(x) else float("nan")}
    if pred.ndim == 3 and is_classification(loss_name):  # one distribution per position
        right, counted = sequence_loss.accuracy_counts(pred, yy)
        out["accuracy"] = right / counted if counted else float("nan")
    elif is_classification(loss_name):
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
