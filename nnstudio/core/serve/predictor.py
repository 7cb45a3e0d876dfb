"""The request → prediction path on a :class:`~nnstudio.core.io.TrainedModel`.

:class:`Predictor` turns checked raw rows into predictions in the user's terms::

    classification  {"class": "spam", "probabilities": {"ham": 0.08, "spam": 0.92}}
    regression      {"price": 351200.0}            (one key per target, in its units)

and describes the model for ``GET /model`` (:meth:`Predictor.schema`). The fingerprint
(:func:`fingerprint`) identifies the exact weights and preparation; the log stores it with
every prediction so rows from different models are never mixed up.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np

from nnstudio.core.errors import NNStudioError
from nnstudio.core.io.jsonfmt import finite_json
from nnstudio.core.io.model_file import TrainedModel, model_arrays

from .validate import Limits, RequestError, RowChecker, split_rows


def fingerprint(model: TrainedModel) -> str:
    """First 16 hex digits of the SHA-256 of every entry of the model file (names, dtypes,
    shapes, bytes; sorted). The same weights and preparation give the same fingerprint
    whether the model came from a file or from the GUI's session."""
    h = hashlib.sha256()
    for key, arr in sorted(model_arrays(model).items()):
        if key == "reference":  # a summary of the data, not part of what predicts
            continue
        a = np.ascontiguousarray(arr)
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


class ArrayChecker:
    """Checks rows of an array model: ``{"<name>": nested list of sample_shape numbers}``."""

    def __init__(self, name: str, sample_shape: tuple[int, ...]):
        self.name = name
        self.shape = tuple(sample_shape)

    def clean(self, rows: list[dict]) -> np.ndarray:
        out = np.empty((len(rows), *self.shape), np.float64)
        for i, row in enumerate(rows):
            where = f"row {i + 1}, column {self.name!r}" if len(rows) > 1 else \
                f"column {self.name!r}"
            if self.name not in row:
                raise RequestError(422, f"{where}: the column is missing")
            try:
                a = np.asarray(row[self.name], np.float64)
            except (TypeError, ValueError):
                raise RequestError(422, f"{where}: wrong type, expected nested lists of "
                                   f"numbers of shape {self.shape}") from None
            if a.shape != self.shape:
                raise RequestError(422, f"{where}: shape {a.shape}, the model expects "
                                   f"{self.shape}")
            if not np.isfinite(a).all():
                raise RequestError(422, f"{where}: holds a value that is not a finite number")
            out[i] = a
        return out


class Predictor:
    """Prediction for a server, the CLI and tests: checked rows in, JSON-able outputs out.

    Parameters
    ----------
    model : TrainedModel
    limits : Limits
        Request size limits (used by :meth:`rows_from_payload`).
    """

    def __init__(self, model: TrainedModel, limits: Limits | None = None):
        self.model = model
        self.limits = limits or Limits()
        self.fingerprint = fingerprint(model)
        prep = model.preparation
        if prep is None:
            raise NNStudioError("the model has no data preparation, so raw rows cannot be "
                                "served: save it from a trained project")
        if prep.array is not None:
            self.checker: Any = ArrayChecker(prep.array["name"], tuple(prep.array["sample_shape"]))
        else:
            self.checker = RowChecker(prep.features)
        self.task = model.task
        self.targets = model.target_names
        self.classes = list(model.class_names)

    # -- predicting ------------------------------------------------------------------------
    def rows_from_payload(self, payload: Any) -> tuple[list[dict], bool]:
        """``(rows, single)`` of a parsed JSON body (4xx :class:`RequestError` if bad)."""
        return split_rows(payload, self.limits)

    def predict_rows(self, rows: list[dict]) -> list[dict[str, Any]]:
        """Predictions (one dict per row, see the module docstring) for raw rows.

        Raises :class:`RequestError` (422) for a row the model cannot read.
        """
        clean = self.checker.clean(rows)
        try:
            x = self.model.prepare(clean)
            with np.errstate(all="ignore"):
                pred = self.model.predict_prepared(x)
        except NNStudioError as e:  # the preparation's own checks (should not happen)
            raise RequestError(422, str(e)) from None
        return self.outputs(pred)

    def outputs(self, pred: Any) -> list[dict[str, Any]]:
        """JSON-able outputs of a :class:`~nnstudio.core.io.model_file.Predictions`."""
        if pred.probabilities is not None:
            names = pred.class_names
            probs = np.asarray(pred.probabilities, np.float64)
            return [{"class": str(v), "probabilities": {c: _num(p) for c, p in
                                                        zip(names, row, strict=True)}}
                    for v, row in zip(pred.values.tolist(), probs.tolist(), strict=True)]
        vals = np.asarray(pred.values, np.float64).reshape(len(pred.values), -1)
        return [{t: _num(v) for t, v in zip(self.targets, row, strict=True)}
                for row in vals.tolist()]

    @staticmethod
    def headline(output: dict[str, Any]) -> Any:
        """The single value a log row keeps for quick queries: the class, or the first
        target's value."""
        if "class" in output:
            return output["class"]
        return next(iter(output.values()))

    # -- describing ------------------------------------------------------------------------
    def schema(self) -> dict[str, Any]:
        """``GET /model``: inputs (types, categories, ranges seen in training), outputs,
        classes, metrics and fingerprint."""
        m = self.model
        prep = m.preparation
        inputs = []
        for info in prep.feature_info():
            item: dict[str, Any] = {"name": info["name"]}
            if info["kind"] == "array":
                item.update(type="array", shape=list(info["shape"]))
            elif info["kind"] == "categorical":
                item.update(type="category", categories=list(info["categories"] or []))
            else:
                item.update(type="date" if info.get("date") else "number",
                            mean=info.get("mean"), min=info.get("min"), max=info.get("max"))
            fills = next((f.get("fill") is not None for f in prep.features
                          if f["name"] == info["name"]), False)
            item["missing_allowed"] = bool(fills)
            inputs.append(item)
        out: dict[str, Any] = {
            "fingerprint": self.fingerprint,
            "task": self.task,
            "inputs": inputs,
            "limits": {"max_body_bytes": self.limits.max_body_bytes,
                       "max_rows": self.limits.max_rows},
            "metrics": m.summary.get("metrics", {}),
            "trained_at": m.summary.get("trained_at"),
        }
        if self.task == "classification":
            out["classes"] = self.classes
            out["output"] = {"class": "one of classes", "probabilities": "class → probability"}
        else:
            out["targets"] = self.targets
            out["output"] = {t: "number, in the target's units" for t in self.targets}
        return finite_json(out)

    def example_row(self) -> dict[str, Any]:
        """A valid row (training means, first categories) for docs and the curl example."""
        prep = self.model.preparation
        if prep.array is not None:
            return {prep.array["name"]: np.zeros(prep.array["sample_shape"]).tolist()}
        row: dict[str, Any] = {}
        for f in prep.features:
            if f["kind"] == "categorical":
                row[f["name"]] = (f.get("categories") or [""])[0]
            elif f["kind"] == "date":
                row[f["name"]] = "2024-01-01"
            else:
                row[f["name"]] = _round_sig(f.get("mean", 0.0))
        return row


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _round_sig(v: float, digits: int = 4) -> float:
    if not v or not math.isfinite(v):
        return 0.0
    return float(f"{v:.{digits}g}")


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON (never NaN)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
