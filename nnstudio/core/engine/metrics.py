"""Evaluation metrics for classification and regression.

Classification takes class indices: ``y_true`` ``(N,)`` int and ``y_pred`` ``(N,)`` int (use
:func:`predicted_classes` to turn probabilities into indices). Regression takes ``(N,)`` or
``(N, K)`` float arrays; multi-output scores average over outputs.
"""

from __future__ import annotations

import numpy as np


def predicted_classes(probs: np.ndarray) -> np.ndarray:
    """Class indices from network outputs: ``(N, K)`` → argmax; ``(N, 1)`` sigmoid → ``p ≥ 0.5``."""
    if probs.ndim == 2 and probs.shape[1] == 1:
        return (probs[:, 0] >= 0.5).astype(np.int64)
    return np.argmax(probs, axis=-1)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of samples whose predicted class is the true one."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else float("nan")


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``(K, K)`` int64 counts; row = true class, column = predicted class."""
    idx = np.asarray(y_true, np.int64) * n_classes + np.asarray(y_pred, np.int64)
    return np.bincount(idx, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def precision_recall_f1(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, F1 and support ``(K,)`` from a confusion matrix.

    A class never predicted has precision 0 (not NaN); a class absent has recall 0.
    """
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(y_pred, np.float64) - y_true)))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    d = np.asarray(y_pred, np.float64) - y_true
    return float(np.sqrt(np.mean(d * d)))


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination ``1 − SS_res/SS_tot``, averaged over outputs."""
    yt = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    yp = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    ss_res = ((yt - yp) ** 2).sum(axis=0)
    ss_tot = ((yt - yt.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1 - ss_res / ss_tot, 0.0)
    return float(scores.mean())


def classification_report(y_true, y_pred, n_classes: int) -> dict:
    """Accuracy, confusion matrix and per-class scores as JSON-able Python values."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    prf = precision_recall_f1(cm)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "confusion_matrix": cm.tolist(),
        **{k: v.tolist() for k, v in prf.items()},
    }


def regression_report(y_true, y_pred) -> dict:
    """MAE, RMSE and R² as Python floats."""
    return {"mae": mae(y_true, y_pred), "rmse": rmse(y_true, y_pred), "r2": r2(y_true, y_pred)}
