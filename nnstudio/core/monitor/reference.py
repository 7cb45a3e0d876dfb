"""The training split's reference statistics, stored in the model file as ``reference``.

Monitoring compares what a model sees now with what it learned on. The model file does not
keep the training data, so it keeps a compact summary of it (a few kB per feature)::

    {"version": 1, "source": "training split", "rows": 14000,
     "features": [
        {"name": "area_m2", "kind": "numeric", "n": 14000, "missing": 0.0,
         "mean": ..., "std": ..., "min": ..., "max": ...,
         "quantiles": [256 values at probabilities (i + 0.5) / 256]},
        {"name": "location", "kind": "categorical", "n": 14000, "missing": 0.0,
         "counts": {"city": 5012, "suburb": 6001, "village": 2987}}],
     "predictions": {"kind": "numeric", "n": ..., "quantiles": [...]} |
                    {"kind": "categorical", "n": ..., "counts": {class: n}},
     "targets": same shape as predictions (the true values of the training split)}

``kind`` is ``numeric`` for numbers and dates (dates as days since 1970-01-01). ``missing`` is
the share of missing values in the training rows: 0 for columns whose missing rows training
dropped, the share of mean-filled values for mean-filled columns, ``null`` (unknown) for
median- and most-frequent-filled columns. The quantiles stand in for the sample: PSI bins
and the KS test use them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

REFERENCE_VERSION = 1
#: Quantiles kept per numeric column (the KS test treats them as a sample of this size).
N_QUANTILES = 256
#: Rows used to summarize the model's own predictions on the training split.
MAX_PREDICTED_ROWS = 20_000


def quantile_sketch(values: np.ndarray, m: int = N_QUANTILES) -> list[float]:
    """``m`` quantiles of the finite ``values`` at probabilities ``(i + 0.5) / m``."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return []
    probs = (np.arange(m) + 0.5) / m
    return [float(f"{q:.7g}") for q in np.quantile(v, probs)]  # 7 digits: compact


def numeric_summary(name: str, values: np.ndarray, missing: float | None,
                    kind: str = "numeric") -> dict[str, Any]:
    """Summary of a numeric column (NaN = missing)."""
    v = np.asarray(values, np.float64)
    present = v[np.isfinite(v)]
    out: dict[str, Any] = {"name": name, "kind": "numeric", "n": int(v.size),
                           "missing": missing}
    if kind == "date":
        out["date"] = True
    if present.size:
        out.update(mean=float(present.mean()), std=float(present.std()),
                   min=float(present.min()), max=float(present.max()),
                   quantiles=quantile_sketch(present))
    else:
        out["quantiles"] = []
    return out


def categorical_summary(name: str, values: np.ndarray, missing: float | None,
                        ) -> dict[str, Any]:
    """Summary of a categorical column (``""`` = missing)."""
    v = np.asarray(values, dtype=str)
    uniq, counts = np.unique(v[v != ""], return_counts=True)
    return {"name": name, "kind": "categorical", "n": int(v.size), "missing": missing,
            "counts": {str(u): int(c) for u, c in zip(uniq.tolist(), counts.tolist(),
                                                      strict=True)}}


def _outputs_summary(values: np.ndarray, classification: bool) -> dict[str, Any]:
    if classification:
        s = categorical_summary("prediction", np.asarray(values, dtype=str), 0.0)
    else:
        s = numeric_summary("prediction", np.asarray(values, np.float64), 0.0)
    s.pop("name")
    s.pop("missing")
    return s


def _every(n: int, m: int) -> np.ndarray:
    """At most ``m`` evenly spaced indices of ``range(n)`` (deterministic)."""
    if n <= m:
        return np.arange(n)
    return np.linspace(0, n - 1, m).astype(np.int64)


def raw_columns_from_prepared(prep: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """Undo a table preparation on prepared rows ``x`` ``(N, F)``: ``{column: raw values}``
    (float64 for numbers and dates, str for categories). Filled values come back as the fill
    value; rows training dropped are not there."""
    cols: dict[str, np.ndarray] = {}
    j = 0
    x = np.asarray(x)
    for f in prep.features:
        if f["kind"] == "categorical":
            cats = list(f.get("categories") or [])
            block = x[:, j:j + len(cats)]
            if cats:
                hit = block.max(axis=1) > 0.5
                names = np.asarray(cats, dtype=str)[np.argmax(block, axis=1)]
                cols[f["name"]] = np.where(hit, names, "")
            else:
                cols[f["name"]] = np.full(len(x), "", dtype=str)
            j += len(cats)
        elif isinstance(f.get("offset"), list):
            # A date turned into parts (year, month as sin/cos, ...): the day it came from
            # cannot be read back from the parts, so the training reference has no quantiles.
            cols[f["name"]] = None  # type: ignore[assignment]
            j += len(f["offset"])
        else:
            cols[f["name"]] = x[:, j].astype(np.float64) * f["divisor"] + f["offset"]
            j += 1
    return cols


def summarize(prep: Any, columns: dict[str, np.ndarray], missing: dict[str, float | None],
              source: str) -> dict[str, Any]:
    """A reference dict from raw feature columns (see the module docstring)."""
    feats = []
    n = next((len(v) for v in columns.values() if v is not None), 0)
    for f in prep.features:
        vals = columns[f["name"]]
        if vals is None:
            feats.append({"name": f["name"], "kind": "numeric", "date": True, "n": n,
                          "missing": None, "quantiles": [],
                          "unavailable": "the training split keeps only this date's parts; "
                          "compare with --reference data.csv"})
            continue
        if f["kind"] == "categorical":
            feats.append(categorical_summary(f["name"], vals, missing.get(f["name"])))
        else:
            feats.append(numeric_summary(f["name"], vals, missing.get(f["name"]), f["kind"]))
    return {"version": REFERENCE_VERSION, "source": source, "rows": n, "features": feats}


def reference_from_training(model: Any, prepared: Any) -> dict[str, Any] | None:
    """The reference of a model trained on ``prepared`` (a PreparedData): its train split.

    Text columns and image/sound datasets get derived features (:mod:`.derived`: tokens per
    text, unknown-token rate, token distribution; brightness, contrast, colour, size;
    duration, loudness, spectrum). Returns None for plain array data (NPZ, IDX), language
    models, and when ``prepared`` has no train split. A network with several outputs gets the
    summaries of its inputs only (no "predictions"/"targets": drift is watched on the inputs).
    """
    prep = getattr(model, "preparation", None)
    x = getattr(prepared, "x_train", None)
    if prep is None or x is None or len(x) == 0 or model.task == "language_model":
        return None
    media = getattr(prep, "media", None)
    text = getattr(prep, "text", None)
    if media is not None:
        ref = _media_reference(prep, prepared)
        if ref is None:
            return None
    elif getattr(prep, "array", None) is not None:
        return None
    else:
        if text is not None and getattr(prepared, "texts", None) is None:
            return None  # built without its raw texts: nothing to summarise
        cols = raw_columns_from_prepared(prep, x) if prep.features else {}
        # Rows with a missing value were dropped unless the column is filled: the model saw
        # none missing; a filled column's share is lost in the filled values.
        missing = {f["name"]: (0.0 if f.get("fill") is None else None) for f in prep.features}
        if prep.features:
            _unfill_means(prep, x, cols, missing)
        ref = summarize(prep, cols, missing, "training split")
        if text is not None:
            from .derived import text_reference

            ref["rows"] = len(x)
            ref["features"] += text_reference(text, list(prepared.texts["train"]),
                                              list(prepared.texts.get("validation", [])))
    if model.task == "multi_output":
        return ref
    classification = model.task == "classification"
    rows = _every(len(x), MAX_PREDICTED_ROWS)
    with np.errstate(all="ignore"):
        pred = model.predict_prepared(x[rows])
    ref["predictions"] = _outputs_summary(
        pred.values if classification else pred.values[:, 0], classification)
    y = getattr(prepared, "y_train", None)
    if y is not None and len(y):
        if classification:
            names = np.asarray(model.class_names, dtype=str)
            ref["targets"] = _outputs_summary(names[np.asarray(y, np.int64)], True)
        else:
            yy = prep.decode_target(np.asarray(y).reshape(len(y), -1))
            ref["targets"] = _outputs_summary(yy[:, 0], False)
    return ref


def _media_reference(prep: Any, prepared: Any) -> dict[str, Any] | None:
    """The reference of an image/sound dataset: derived features of its training files."""
    from .derived import media_reference

    info = getattr(prepared, "media", None) or {}
    rows = (getattr(prepared, "indices", None) or {}).get("train")
    if info.get("raw") is None or rows is None or not info.get("files"):
        return None
    feats = media_reference(prep.media["kind"], prep.media, info["files"], info["raw"],
                            np.asarray(rows))
    return {"version": REFERENCE_VERSION, "source": "training split", "rows": len(rows),
            "features": feats}


def reference_from_table(model: Any, table: Any, source: str) -> dict[str, Any]:
    """A reference from a data file (``--reference data.csv``): every row, the true missing
    shares, and the model's predictions on the rows it can read."""
    from nnstudio.core.data.preparation import raw_feature

    from .sources import check_columns

    prep = model.preparation
    check_columns(prep, table)
    cols = {f["name"]: raw_feature(table, f["name"], f["kind"]) for f in prep.features}
    missing = {name: float(_missing_mask(v).mean()) if len(v) else 0.0
               for name, v in cols.items()}
    ref = summarize(prep, cols, missing, f"reference file {table.where()}")
    from .sources import predict_columns

    classification = model.task == "classification"
    pred, _ = predict_columns(model, cols, len(table))
    if pred is not None:
        ref["predictions"] = _outputs_summary(pred, classification)
    return ref


def _missing_mask(v: np.ndarray) -> np.ndarray:
    return np.isnan(v) if v.dtype.kind == "f" else (v == "")


def _unfill_means(prep: Any, x: np.ndarray, cols: dict[str, np.ndarray],
                  missing: dict[str, float | None]) -> None:
    """Numeric columns filled with their mean: the rows holding exactly the encoded mean were
    missing (a real value equal to the mean to float32 precision is vanishingly rare). Turn
    them back into NaN and record the share, so the reference shows the values as they came.
    Median and most-frequent fills hit real values too; their share stays unknown."""
    names = prep.output_names()
    for f in prep.features:
        fill = f.get("fill")
        if f["kind"] == "categorical" or fill is None or fill != f.get("mean") or \
                isinstance(f.get("offset"), list):
            continue
        j = names.index(f["name"])
        encoded = np.float32((fill - f["offset"]) / f["divisor"])
        mask = np.asarray(x[:, j]) == encoded
        cols[f["name"]] = np.where(mask, np.nan, cols[f["name"]])
        missing[f["name"]] = float(mask.mean())
