"""What the model sees now: the rows of a prediction log or of a new data file.

:class:`Current` holds the raw feature columns (float64 with NaN for numbers and dates, str
with ``""`` for categories), the model's predictions, the true outcomes where known (for a log:
those sent to ``/feedback`` or imported; for a file: the ``--labels`` column), and for a log the
time of each prediction. A log is read in chunks with SQLite's ``json_extract``, so a million
rows need neither a million Python dicts nor much memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.data import kinds as _kinds
from nnstudio.core.errors import DataError

CHUNK_ROWS = 100_000


@dataclass
class Current:
    """The data to compare with the reference (arrays have one entry per row, ``n`` rows)."""

    source: str
    n: int
    columns: dict[str, np.ndarray]
    predictions: np.ndarray | None = None
    outcomes: np.ndarray | None = None
    times: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    models: dict[str, int] = field(default_factory=dict)
    #: For a log: refused requests, ``{"total": n, "by_kind": {kind: n}, "unseen": {column:
    #: {value: n}}}`` (unknown categories the server refused).
    rejected: dict[str, Any] = field(default_factory=dict)
    #: Derived statistics that are counts, not per-row values (a text column's unknown and
    #: known tokens): ``{derived name: {...}}`` (see :mod:`.derived`).
    aggregates: dict[str, Any] = field(default_factory=dict)


def check_columns(prep: Any, table: Any) -> None:
    """DataError naming the model's columns that ``table`` lacks."""
    lacking = [f["name"] for f in prep.features if f["name"] not in table]
    if lacking:
        raise DataError(f"the model reads column(s) {', '.join(map(repr, lacking))} that the "
                        f"file does not have (it has: {', '.join(table.columns[:20])})",
                        where=table.where())


def _table_numbers(table: Any, name: str, kind: str) -> tuple[np.ndarray, int]:
    """float64 values of a numeric/date column and how many were present but unreadable."""
    col = table[name]
    if kind == "date":
        days = col.as_days()
        bad = int(np.count_nonzero(np.isnan(days) & ~col.missing))
        return days, bad
    if col.values.dtype.kind == "f":
        return col.values.astype(np.float64, copy=False), col.n_invalid
    values, _missing, invalid = _kinds.parse_numbers(col.as_strings())
    return values, int(np.count_nonzero(invalid))


def predict_columns(model: Any, cols: dict[str, np.ndarray], n: int,
                    ) -> tuple[np.ndarray | None, np.ndarray]:
    """The model's predictions for the rows it can read: ``(values, rows)``.

    ``values`` holds class names (str) or the first target's values (float64) for the rows
    ``rows`` (int64 indices): rows with a missing value in a column the model does not fill
    are left out. Unseen categories encode as all zeros, as in the model.
    """
    prep = model.preparation
    ok = np.ones(n, bool)
    if model.task == "multi_output":  # several outputs: inputs only (see reference.py)
        return None, np.flatnonzero(ok)
    for f in prep.features:
        v = cols[f["name"]]
        if f.get("fill") is None:
            ok &= ~(np.isnan(v) if v.dtype.kind == "f" else (v == ""))
    rows = np.flatnonzero(ok)
    if rows.size == 0:
        return None, rows
    out = []
    for start in range(0, rows.size, CHUNK_ROWS):
        part = rows[start:start + CHUNK_ROWS]
        x = prep._encode({k: v[part] for k, v in cols.items()}, part.size, "data")
        with np.errstate(all="ignore"):
            pred = model.predict_prepared(x)
        vals = pred.values if model.task == "classification" else pred.values[:, 0]
        out.append(np.asarray(vals))
    return np.concatenate(out), rows


def from_table(model: Any, path: str | Path, labels: str | None = None) -> Current:
    """The rows of a data file (CSV/TSV), predicted by ``model``; ``labels`` names the column
    of true outcomes, if any."""
    from nnstudio.core.data import load_table

    if getattr(model.preparation, "media", None) is not None:
        from .media_sources import from_media_files

        return from_media_files(model, path, labels)
    table = load_table(path)
    prep = model.preparation
    check_columns(prep, table)
    text = getattr(prep, "text", None)
    if text is not None and text.column not in table:
        raise DataError(f"the model reads the text column {text.column!r} that the file does "
                        f"not have (it has: {', '.join(table.columns[:20])})",
                        where=table.where())
    notes = []
    cols: dict[str, np.ndarray] = {}
    for f in prep.features:
        if f["kind"] == "categorical":
            cols[f["name"]] = table[f["name"]].as_strings()
        else:
            cols[f["name"]], bad = _table_numbers(table, f["name"], f["kind"])
            if bad:
                notes.append(f"column {f['name']!r}: {bad:,} value(s) are not "
                             f"{'dates' if f['kind'] == 'date' else 'numbers'}; counted as "
                             "missing")
    outcomes = None
    if labels is not None:
        if labels not in table:
            raise DataError(f"--labels: no column named {labels!r} (columns: "
                            f"{', '.join(table.columns[:20])})", where=table.where())
        if model.task == "classification":
            outcomes = table[labels].as_strings()
        else:
            outcomes, _ = _table_numbers(table, labels, "numeric")
    if text is not None:
        cols[text.column] = np.asarray(table[text.column].as_strings(), dtype=object)
    return from_columns(model, cols, str(path), outcomes, notes)


def from_columns(model: Any, cols: dict[str, np.ndarray], source: str,
                 outcomes: np.ndarray | None = None, notes: list[str] | None = None) -> Current:
    """Raw columns (float64/NaN for numbers and dates, str/"" for categories), predicted by
    ``model``; ``outcomes`` are the true values (str, or float64 with NaN) if known."""
    notes = list(notes or [])
    n = len(next(iter(cols.values()))) if cols else 0
    values, rows = predict_columns(model, cols, n)
    text = getattr(model.preparation, "text", None)
    aggregates: dict[str, Any] = {}
    if text is not None and text.column in cols:
        from .derived import text_current

        texts = cols.pop(text.column)
        derived, aggregates = text_current(text, [str(t) for t in texts])
        cols.update(derived)
    predictions = None
    if values is not None:
        if model.task == "classification":
            predictions = np.full(n, "", dtype=values.dtype)
        else:
            predictions = np.full(n, np.nan)
        predictions[rows] = values
        if rows.size < n:
            notes.append(f"{n - rows.size:,} row(s) have a missing value the model cannot "
                         "fill: no prediction for them")
    return Current(source, n, cols, predictions, outcomes, None, notes,
                   aggregates=aggregates)


def from_log(model: Any, path: str | Path, fingerprint: str | None = None) -> Current:
    """The predictions logged in ``path`` (rows of ``fingerprint`` when the log holds any;
    else every row, with a note), oldest first, with the outcomes recorded for them."""
    from nnstudio.core.serve.log import connect

    con = connect(path, readonly=True)
    try:
        return _read_log(con, model, str(path), fingerprint)
    finally:
        con.close()


def _read_log(con: Any, model: Any, where: str, fingerprint: str | None) -> Current:
    import sqlite3

    prep = model.preparation
    notes: list[str] = []
    try:
        models = dict(con.execute("SELECT model, COUNT(*) FROM predictions GROUP BY model"))
        total = sum(models.values())
        use_filter = bool(fingerprint) and fingerprint in models
        if fingerprint and not use_filter and total:
            notes.append(f"the log holds no predictions of this model ({fingerprint}); "
                         f"read all {total:,} rows of model(s) {', '.join(sorted(models))}")
        elif use_filter and len(models) > 1:
            notes.append(f"read the {models[fingerprint]:,} rows of this model; the log also "
                         f"holds {total - models[fingerprint]:,} rows of other models")
        n = models[fingerprint] if use_filter else total
        feats = list(prep.features)
        extra = _derived_fields(prep)
        exprs = [f"json_extract(p.inputs, '$.\"{_sql_key(f['name'])}\"')" for f in feats]
        exprs += [expr for _name, expr in extra]
        sql = (f"SELECT p.time, p.prediction, o.outcome{''.join(', ' + e for e in exprs)} "
               "FROM predictions p LEFT JOIN outcomes o ON o.request_id = p.request_id AND "
               "o.row = p.row" + (" WHERE p.model = ?" if use_filter else "") +
               " ORDER BY p.id")
        cur = con.execute(sql, (fingerprint,) if use_filter else ())
        classification = model.task == "classification"
        times = np.empty(n)
        preds = np.empty(n, dtype=object) if classification else np.empty(n)
        outs = np.empty(n, dtype=object) if classification else np.empty(n)
        cols: dict[str, list[np.ndarray]] = {f["name"]: [] for f in feats}
        derived: dict[str, list] = {name: [] for name, _ in extra}
        i = 0
        while True:
            chunk = cur.fetchmany(CHUNK_ROWS)
            if not chunk:
                break
            k = len(chunk)
            if i + k > n:  # the server is still writing: keep what was counted
                chunk = chunk[:n - i]
                k = len(chunk)
            fields = list(zip(*chunk, strict=True))
            times[i:i + k] = np.asarray(fields[0], np.float64)
            if classification:
                preds[i:i + k] = ["" if v is None else str(v) for v in fields[1]]
                outs[i:i + k] = ["" if v is None else str(v) for v in fields[2]]
            else:
                preds[i:i + k] = _floats(fields[1])
                outs[i:i + k] = _floats(fields[2])
            for f, values in zip(feats, fields[3:3 + len(feats)], strict=True):
                cols[f["name"]].append(_column(values, f["kind"]))
            for (name, _), values in zip(extra, fields[3 + len(feats):], strict=True):
                derived[name].extend(values)
            i += k
            if i >= n:
                break
    except sqlite3.Error as e:
        raise DataError(f"cannot be read ({e})", where) from None
    n = i
    rejected = _rejected(con)
    columns = {
        name: (np.concatenate(parts) if parts else
               np.zeros(0, dtype=str if f["kind"] == "categorical" else np.float64))
        for (name, parts), f in zip(cols.items(), feats, strict=True)}
    if classification:
        preds = np.asarray(preds[:n].tolist(), dtype=str) if n else np.zeros(0, dtype=str)
        outs = np.asarray(outs[:n].tolist(), dtype=str) if n else np.zeros(0, dtype=str)
        known = outs != ""
    else:
        preds, outs = preds[:n], outs[:n]
        known = ~np.isnan(outs)
    aggregates: dict[str, Any] = {}
    text = getattr(prep, "text", None)
    for name, values in derived.items():
        if text is not None and name == text.column:
            from .derived import text_current

            more, aggregates = text_current(text, ["" if v is None else str(v)
                                                   for v in values[:n]])
            columns.update(more)
        else:
            columns[name] = _floats(tuple(values[:n])) if n else np.zeros(0)
    if model.task == "multi_output":  # drift of several outputs is not summarised (yet)
        preds, known = None, np.zeros(0, bool)
    return Current(where, n, columns, preds, outs if known.any() else None, times[:n], notes,
                   models, rejected, aggregates)


def _derived_fields(prep: Any) -> list[tuple[str, str]]:
    """``(name, SQL expression)`` of what a log holds for derived monitoring: the raw text
    of a text column, or each image/sound statistic the server stored."""
    from .derived import media_name
    from .samples import stat_columns

    text = getattr(prep, "text", None)
    media = getattr(prep, "media", None)
    if text is not None:
        return [(text.column, f"json_extract(p.inputs, '$.\"{_sql_key(text.column)}\"')")]
    if media is None:
        return []
    kind = media["kind"]
    return [(media_name(kind, st), f"json_extract(p.inputs, '$.\"{kind}\".\"{st}\"')")
            for st in stat_columns(kind, media.get("color") == "rgb")]


def _rejected(con: Any) -> dict[str, Any]:
    """Summary of the ``rejected`` table ({} when the log has none)."""
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "rejected" not in tables:
        return {}
    by_kind: dict[str, int] = {}
    for kind, status, count in con.execute(
            "SELECT kind, status, COUNT(*) FROM rejected GROUP BY kind, status"):
        key = kind or f"HTTP {status}"
        by_kind[key] = by_kind.get(key, 0) + int(count)
    unseen: dict[str, dict[str, int]] = {}
    for col, value, count in con.execute(
            "SELECT column_name, value, COUNT(*) FROM rejected WHERE kind = 'unknown_category' "
            "GROUP BY column_name, value"):
        unseen.setdefault(str(col), {})[str(value)] = int(count)
    total = sum(by_kind.values())
    return {"total": total, "by_kind": by_kind, "unseen": unseen} if total else {}


def _sql_key(name: str) -> str:
    return name.replace("'", "''").replace('"', '\\"')


def _floats(values: tuple) -> np.ndarray:
    try:
        return np.asarray(values, np.float64)  # None → NaN
    except (TypeError, ValueError):
        return np.array([_to_float(v) for v in values])


def _to_float(v: Any) -> float:
    if v is None:
        return float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _column(values: tuple, kind: str) -> np.ndarray:
    """One chunk of a logged column as float64 (numbers, dates) or str (categories)."""
    if kind == "categorical":
        return np.array(["" if v is None else (_kinds.format_number(float(v))
                                               if isinstance(v, int | float) else str(v).strip())
                         for v in values], dtype=str)
    if kind == "date":
        return np.array([np.nan if v is None else _kinds.parse_date(str(v)) for v in values])
    try:
        return np.asarray(values, np.float64)
    except (TypeError, ValueError):  # numeric text or missing markers such as "NA"
        return np.array([_to_float(v) for v in values])
