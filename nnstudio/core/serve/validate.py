"""Checking prediction requests: JSON body → clean rows, or one-line 4xx messages.

A request body is JSON, one of::

    {"area": 120, "location": "city"}                  one row (column → value)
    {"rows": [{"area": 120, ...}, {"area": 80, ...}]}  a batch
    [{"area": 120, ...}, ...]                          a batch

Values are written as in the data file: numbers as JSON numbers or numeric text, categories
as text (or numbers for numeric codes), dates as ``YYYY-MM-DD`` text. ``null``, ``""`` or a
missing marker (``NA``, ``?``...) is a missing value, accepted only for the columns the model
fills (trained with a fill strategy). Columns the model does not read (an id, the target) are
ignored and kept in the log. Every problem raises :class:`RequestError` with the HTTP status
and one line naming the row and column.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nnstudio.core.data import kinds as _kinds


@dataclass(frozen=True)
class Limits:
    """What one request may hold (both settable on ``nnstudio serve``)."""

    #: Largest request body in bytes.
    max_body_bytes: int = 1_000_000
    #: Most rows in one batch.
    max_rows: int = 1000
    #: Most new tokens one ``POST /generate`` may ask for (language models).
    max_tokens: int = 1000


class RequestError(Exception):
    """A bad request: ``status`` (4xx) and a one-line ``message``.

    Row-level problems also name the ``column``, the ``kind`` of problem (``missing_column``,
    ``missing_value``, ``wrong_type``, ``not_finite``, ``not_a_date``, ``unknown_category``)
    and the offending ``value`` as text: the log keeps them, so monitoring can count unseen
    categories that the server refused.
    """

    def __init__(self, status: int, message: str, kind: str | None = None,
                 column: str | None = None, value: str | None = None):
        self.status = status
        self.message = message
        self.kind = kind
        self.column = column
        self.value = value
        super().__init__(message)


def _reject_constant(name: str) -> Any:
    raise RequestError(400, f"{name} is not allowed in the JSON body (send finite numbers; "
                       "null for a missing value)")


def parse_json(body: bytes) -> Any:
    """The JSON value of ``body``; 400 when it is not UTF-8 JSON or holds NaN/Infinity."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, f"the body is not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise RequestError(400, "the body is empty: send a JSON object of column → value")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise RequestError(400, f"malformed JSON: {e.msg} at line {e.lineno}, column "
                           f"{e.colno}") from None
    except RecursionError:
        raise RequestError(400, "malformed JSON: nested too deeply") from None


def check_content_type(value: str | None) -> None:
    """415 unless the content type is JSON (``application/json`` or ``…+json``)."""
    media = (value or "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        shown = media or "none"
        raise RequestError(415, f"content type {shown!r} is not supported: send "
                           "application/json")


def split_rows(payload: Any, limits: Limits) -> tuple[list[dict], bool]:
    """``(rows, single)``: the row objects of a request body and whether it was one row."""
    if isinstance(payload, list):
        rows, single = payload, False
    elif isinstance(payload, dict) and "rows" in payload and isinstance(payload["rows"], list):
        rows, single = payload["rows"], False
    elif isinstance(payload, dict):
        rows, single = [payload], True
    else:
        raise RequestError(422, f"the body is a JSON {_json_type(payload)}: send an object "
                           "of column → value, or {\"rows\": [...]}")
    if not rows:
        raise RequestError(422, "the batch is empty: send at least one row")
    if len(rows) > limits.max_rows:
        raise RequestError(413, f"the batch has {len(rows):,} rows; this server takes at most "
                           f"{limits.max_rows:,} per request")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise RequestError(422, f"row {i + 1} is a JSON {_json_type(row)}, not an object "
                               "of column → value")
    return rows, single


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _place(i: int, n: int, name: str) -> str:
    return f"row {i + 1}, column {name!r}" if n > 1 else f"column {name!r}"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


class RowChecker:
    """Checks raw rows against a table model's fitted preparation.

    Parameters
    ----------
    features : list of dict
        ``Preparation.features`` (name, kind, categories, fill).
    text : str or None
        The model's text column (a JSON string of at most ``MAX_TEXT_CHARS`` characters;
        ``null`` is an empty text, as a missing cell is in training).
    """

    def __init__(self, features: list[Mapping[str, Any]], text: str | None = None):
        self.features = [
            (str(f["name"]), str(f["kind"]), frozenset(f.get("categories") or ()),
             sorted(f.get("categories") or ()), f.get("fill") is not None)
            for f in features
        ]
        if text is not None:
            self.features.append((str(text), "text", frozenset(), [], True))

    def clean(self, rows: list[dict]) -> list[dict]:
        """Rows holding only the model's columns, values checked (see the module docstring).

        Returns one dict per row: numbers as float (None when missing), categories and dates
        as str ("" when missing).
        """
        n = len(rows)
        out = []
        for i, row in enumerate(rows):
            clean: dict[str, Any] = {}
            for name, kind, cats, cat_list, fills in self.features:
                if name not in row:
                    raise RequestError(422, f"{_place(i, n, name)}: the column is missing "
                                       f"(the model reads {self.column_list()})",
                                       "missing_column", name)
                clean[name] = self._value(row[name], name, kind, cats, cat_list, fills, i, n)
            out.append(clean)
        return out

    def column_list(self) -> str:
        names = [f[0] for f in self.features]
        shown = ", ".join(names[:12]) + (f", ... ({len(names)} columns)" if len(names) > 12
                                         else "")
        return shown

    @staticmethod
    def _value(value: Any, name: str, kind: str, cats: frozenset, cat_list: list,
               fills: bool, i: int, n: int) -> Any:
        where = _place(i, n, name)
        if kind == "text":
            return _text_value(value, name, where)
        missing = value is None or (isinstance(value, str)
                                    and value.strip().lower() in _kinds.MISSING_MARKERS)
        if missing:
            if not fills:
                raise RequestError(422, f"{where}: the value is missing and the model was "
                                   "trained without filling this column", "missing_value", name)
            return None if kind == "numeric" else ""
        if isinstance(value, bool | list | dict):
            raise RequestError(422, f"{where}: wrong type, a JSON {_json_type(value)} "
                               f"({_shown(value)}); expected {_expected(kind)}", "wrong_type",
                               name, _shown(value))
        if kind == "numeric":
            if isinstance(value, str):
                try:
                    number = float(value.strip())
                except ValueError:
                    raise RequestError(422, f"{where}: wrong type, {_shown(value)} is not a "
                                       "number", "wrong_type", name, _shown(value)) from None
            else:
                number = float(value)
            if not math.isfinite(number):
                raise RequestError(422, f"{where}: {_shown(value)} is not a finite number",
                                   "not_finite", name, _shown(value))
            return number
        if kind == "date":
            if not isinstance(value, str) or math.isnan(_kinds.parse_date(value)):
                raise RequestError(422, f"{where}: {_shown(value)} is not a date (use "
                                   "YYYY-MM-DD)", "not_a_date", name, _shown(value))
            return value.strip()
        text = _kinds.format_number(float(value)) if isinstance(value, int | float) \
            else value.strip()
        if text not in cats:
            allowed = ", ".join(cat_list[:10]) + (f", ... ({len(cat_list)} in all)"
                                                  if len(cat_list) > 10 else "")
            raise RequestError(422, f"{where}: unknown category {_shown(text)} (allowed: "
                               f"{allowed})", "unknown_category", name, text)
        return text


def _text_value(value: Any, name: str, where: str) -> str:
    """A text cell: a JSON string (``null`` = empty text), at most ``MAX_TEXT_CHARS``."""
    from nnstudio.core.data.text import MAX_TEXT_CHARS

    if value is None:
        return ""
    if not isinstance(value, str):
        raise RequestError(422, f"{where}: wrong type, a JSON {_json_type(value)} "
                           f"({_shown(value)}); expected a text (a JSON string)", "wrong_type",
                           name, _shown(value))
    if len(value) > MAX_TEXT_CHARS:
        raise RequestError(422, f"{where}: the text has {len(value):,} characters; at most "
                           f"{MAX_TEXT_CHARS:,}", "text_too_long", name, f"{len(value)} chars")
    return value


def _expected(kind: str) -> str:
    return {"numeric": "a number", "date": "a date text (YYYY-MM-DD)"}.get(
        kind, "a category text")
