"""Targets of a network with several outputs: one column per ``Output`` layer.

A table can feed a network that predicts several of its columns at once (a house's price
*and* whether it sold within a month). Each target is prepared on its own terms and packed
into one float32 matrix ``y (N, H)``, a column per target in :attr:`Preparation.heads`
order, so that splitting, shuffling and batching stay those of one array:

* a class target holds its class index (``0 … K−1``, the classes sorted as for one target);
* a number target holds its value standardized with the train rows' mean and std (undone
  when predictions are shown).

A head is stored in the preparation (and so in model files) as plain JSON:
``{"target": "price", "task": "regression", "mean": 2.1e5, "std": 4.0e4}`` or
``{"target": "sold", "task": "classification", "class_names": ["no", "yes"]}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

from . import kinds as _kinds
from .table import Table

#: ``Preparation.task`` of a preparation with several targets.
MULTI_OUTPUT = "multi_output"


def fit_heads(table: Table, rows: np.ndarray, targets: Sequence[tuple[str, str]],
              class_names: Mapping[str, list[str]], target_scaling: str) -> list[dict]:
    """The heads of ``targets`` ``[(column, task)]`` fitted on the train ``rows``;
    ``class_names`` gives each class target's classes (taken from every row)."""
    heads = []
    for name, task in targets:
        if task == "classification":
            heads.append({"target": name, "task": task,
                          "class_names": list(class_names[name])})
            continue
        y = table[name].values[rows]
        y = y[~np.isnan(y)]
        if y.size == 0:
            raise DataError(f"target column {name!r} has no values in the training rows",
                            where=table.where())
        mean, std = float(y.mean()), float(y.std()) or 1.0
        if target_scaling != "standard":
            mean, std = 0.0, 1.0
        heads.append({"target": name, "task": task, "mean": mean, "std": std})
    return heads


def encode_heads(heads: list[dict], columns: Mapping[str, np.ndarray],
                 where: str = "target") -> np.ndarray:
    """Packed float32 targets ``(N, H)`` from raw target columns (``{name: values}``:
    strings or numbers as loaded). An unknown class is a :class:`DataError`."""
    n = len(next(iter(columns.values()))) if columns else 0
    out = np.empty((n, len(heads)), np.float32)
    for j, h in enumerate(heads):
        raw = np.asarray(columns[h["target"]])
        if h["task"] == "classification":
            if raw.dtype.kind == "f":
                raw = _kinds.format_numbers(raw)
            index = {c: i for i, c in enumerate(h["class_names"])}
            labels = np.asarray(raw, dtype=str).tolist()
            for i, lab in enumerate(labels):
                k = index.get(lab)
                if k is None:
                    raise DataError(f"unknown class {lab!r} of {h['target']!r} (classes: "
                                    f"{', '.join(h['class_names'])})", where=where)
                out[i, j] = k
        else:
            out[:, j] = (np.asarray(raw, np.float64) - h["mean"]) / h["std"]
    return out


def encode_table(heads: list[dict], table: Table) -> np.ndarray:
    """Packed targets ``(N, H)`` of every row of ``table`` (it holds the target columns)."""
    cols = {}
    for h in heads:
        col = table[h["target"]]
        cols[h["target"]] = col.as_strings() if h["task"] == "classification" else col.values
    return encode_heads(heads, cols, table.where())


def decode_values(head: Mapping[str, Any], values: np.ndarray) -> np.ndarray:
    """A regression head's standardized values ``(N,)`` in the user's units (float64)."""
    return np.asarray(values, np.float64) * head["std"] + head["mean"]


def decode_outputs(heads: list[dict], outputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each head's network output ``(N, k)`` in the user's terms: class names ``(N,)`` (from
    probabilities, or a sigmoid's ``(N, 1)`` with threshold 0.5) or numbers ``(N,)``."""
    out = []
    for h, y in zip(heads, outputs, strict=True):
        y = np.asarray(y).reshape(len(y), -1)
        if h["task"] == "classification":
            idx = (y[:, 0] > 0.5).astype(np.int64) if y.shape[1] == 1 else y.argmax(axis=1)
            out.append(np.asarray(h["class_names"], dtype=str)[idx])
        else:
            out.append(decode_values(h, y[:, 0]))
    return out


def check_heads(heads: Any, fail) -> None:
    """Validate stored heads (a model file's preparation); ``fail(where, message)`` raises."""
    if not isinstance(heads, list) or not heads:
        fail("heads", "must be a non-empty list")
    seen = set()
    for i, h in enumerate(heads):
        where = f"heads[{i}]"
        if not isinstance(h, Mapping):
            fail(where, "must be an object")
        target = h.get("target")
        if not isinstance(target, str) or not target or target in seen:
            fail(f"{where}.target", "must be a column name, each once")
        seen.add(target)
        if h.get("task") == "classification":
            names = h.get("class_names")
            if not isinstance(names, list) or len(names) < 2 or len(set(map(str, names))) \
                    != len(names) or not all(isinstance(c, str) for c in names):
                fail(f"{where}.class_names", "must list two or more distinct class names")
        elif h.get("task") == "regression":
            for key in ("mean", "std"):
                v = h.get(key)
                if isinstance(v, bool) or not isinstance(v, int | float) \
                        or not np.isfinite(v) or (key == "std" and v == 0):
                    fail(f"{where}.{key}", "must be a finite number" + (
                        " other than 0" if key == "std" else ""))
        else:
            fail(f"{where}.task", "must be classification or regression")
