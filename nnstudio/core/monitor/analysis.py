"""``monitor(model, current)``: the whole comparison as one JSON-able report dict.

Report keys: ``model`` (fingerprint, task), ``source`` and ``rows`` (what was read),
``reference`` (its source and rows), ``thresholds``, ``features`` (per column: kind, verdict,
reasons, statistics, histogram or bars), ``predictions`` (the same for the model's outputs),
``performance`` (accuracy or mean absolute error where outcomes are known, with a rolling
series), ``summary`` (columns per verdict), ``drifted`` (True when any column or the
predictions drifted), ``notes``, and for a log ``rejected`` (refused requests by kind).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

from .drift import Thresholds, categorical_drift, numeric_drift, verdict
from .sources import Current

MAX_SERIES_POINTS = 200

NO_REFERENCE = (
    "the model file holds no summary of its training split (it was saved by an older "
    "nnstudio): retrain and save the model, or compare with a data file: --reference data.csv"
)


def monitor(model: Any, current: Current, reference: dict[str, Any] | None = None,
            thresholds: Thresholds | None = None, fingerprint: str | None = None,
            ) -> dict[str, Any]:
    """Compare ``current`` with ``reference`` (default: the model's own) and judge each column.

    Raises :class:`DataError` when there is no reference or no rows to compare.
    """
    t = thresholds or Thresholds()
    ref = reference if reference is not None else getattr(model, "reference", None)
    if not ref and model.task == "language_model":
        raise DataError("a language model is not monitored: its prompts have no training "
                        "split to compare with (the log keeps every /generate request)")
    if not ref:
        raise DataError(NO_REFERENCE)
    if current.n == 0:
        raise DataError("holds no rows to compare (no predictions logged yet?)",
                        where=current.source)
    prep = model.preparation
    if fingerprint is None:
        from nnstudio.core.serve.predictor import fingerprint as _fingerprint

        fingerprint = _fingerprint(model)
    ref_feats = {f["name"]: f for f in ref.get("features", [])}
    feats = []
    for f in prep.features:
        r = ref_feats.get(f["name"])
        values = current.columns[f["name"]]
        entry: dict[str, Any] = {"name": f["name"],
                                 "kind": "categorical" if f["kind"] == "categorical"
                                 else "numeric"}
        if r is None or r.get("unavailable"):
            why = r.get("unavailable") if r else "the reference lacks this column"
            entry.update(verdict="no reference", reasons=[why])
            feats.append(entry)
            continue
        if entry["kind"] == "categorical":
            refused = (current.rejected.get("unseen") or {}).get(f["name"])
            s = categorical_drift(r, values, list(f.get("categories") or []), refused)
        else:
            s = numeric_drift(r, values)
        entry.update(s)
        entry["reference"] = {k: r.get(k) for k in ("n", "missing", "mean", "std", "min", "max")
                              if k in r}
        entry["verdict"], entry["reasons"] = verdict(s, r.get("missing"), t)
        feats.append(entry)
    from .derived import derived_entries

    feats += derived_entries(ref, current, t)  # text, image and sound statistics
    report: dict[str, Any] = {
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "model": {"fingerprint": fingerprint, "task": model.task,
                  "trained_at": model.summary.get("trained_at")},
        "source": current.source, "rows": current.n,
        "reference": {"source": ref.get("source"), "rows": ref.get("rows")},
        "thresholds": t.to_dict(),
        "features": feats,
        "notes": list(current.notes),
    }
    if current.models:
        report["models_in_log"] = dict(current.models)
    if current.rejected:
        report["rejected"] = dict(current.rejected)
        kinds = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in
                          sorted(current.rejected["by_kind"].items(), key=lambda kv: -kv[1]))
        report["notes"].append(f"the server refused {current.rejected['total']:,} request(s): "
                               f"{kinds}; refused unknown categories count as unseen")
    report["predictions"] = _predictions(model, current, ref, t)
    report["performance"] = _performance(model, current)
    counts: dict[str, int] = {}
    for e in feats:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    report["summary"] = counts
    pv = report["predictions"].get("verdict") if report["predictions"] else None
    report["drifted"] = any(e["verdict"] == "drifted" for e in feats) or pv == "drifted"
    return report


def _predictions(model: Any, current: Current, ref: dict, t: Thresholds) -> dict[str, Any]:
    pred = current.predictions
    rp = ref.get("predictions")
    if pred is None:
        return {}
    out: dict[str, Any] = {"kind": "categorical" if model.task == "classification"
                           else "numeric"}
    if rp is None:
        out.update(verdict="no reference", reasons=["the reference has no predictions"])
        return out
    if out["kind"] == "categorical":
        s = categorical_drift(rp, pred, list(model.class_names))
        s.pop("unseen", None)
        s.pop("unseen_categories", None)
    else:
        s = numeric_drift(rp, pred)
    out.update(s)
    out["verdict"], out["reasons"] = verdict(s, 0.0, t)
    return out


def _performance(model: Any, current: Current) -> dict[str, Any]:
    y, p = current.outcomes, current.predictions
    if y is None or p is None:
        return {"rows_with_outcome": 0}
    if model.task == "classification":
        known = (y != "") & (p != "")
        score = (y[known] == p[known]).astype(np.float64)
        metric = "accuracy"
        trained = _summary_metric(model, "accuracy")
    else:
        known = np.isfinite(y) & np.isfinite(p)
        score = np.abs(y[known] - p[known])
        metric = "mae"
        trained = _summary_metric(model, "mae")
    k = int(known.sum())
    if k == 0:
        return {"rows_with_outcome": 0}
    window = int(max(20, min(1000, k // 20)))
    window = min(window, k)
    csum = np.concatenate([[0.0], np.cumsum(score)])
    roll = (csum[window:] - csum[:-window]) / window  # mean of each window, ends at row i
    ends = np.flatnonzero(known)[window - 1:]
    pick = np.unique(np.linspace(0, roll.size - 1, min(MAX_SERIES_POINTS, roll.size))
                     .astype(np.int64))
    return {"rows_with_outcome": k, "metric": metric, "value": float(score.mean()),
            "training": trained, "window": window,
            "rolling": {"row": ends[pick].tolist(), "value": roll[pick].tolist()}}


def _summary_metric(model: Any, name: str) -> dict[str, float]:
    metrics = model.summary.get("metrics") or {}
    return {split: float(m[name]) for split, m in metrics.items()
            if isinstance(m, dict) and name in m}
