"""Numbers written with a decimal comma (``39,1``) or thousands separators (``1,234.5``).

A ``;``-separated file from a European spreadsheet writes ``39,1``; a US one may quote
``"1,234.5"``. Python's ``float`` reads neither, so such a column would look like text.
:func:`detect` finds the columns whose every present value is a number in one of these
writings; :func:`apply` turns them into numeric columns. The dataset builder does this by
default (``decimal=None``: detect) and says which columns it converted; ``decimal="."``
turns it off (the columns stay text, and the builder says why).
"""

from __future__ import annotations

import contextlib
import re

import numpy as np

from .kinds import MISSING_MARKERS
from .table import Column, Table

#: decimal comma, optional "." / " " / "'" thousands groups: 39,1  1.234,5  1 234,5
_COMMA = re.compile(r"[+-]?(\d{1,3}([. '\u00a0]\d{3})+|\d+)(,\d+)?")
#: decimal point with "," thousands groups: 1,234  1,234.5
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?")


def _present(strings: np.ndarray) -> np.ndarray:
    s = np.char.strip(np.asarray(strings, dtype=str))
    lower = np.char.lower(s)
    keep = np.array([t not in MISSING_MARKERS for t in lower.tolist()], bool) if s.size else \
        np.zeros(0, bool)
    return np.unique(s[keep])


def _plain(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def column_format(strings: np.ndarray, delimiter: str | None = None) -> str | None:
    """``","`` (decimal comma), ``"grouped"`` (``,`` thousands, ``.`` decimal) or None.

    None unless every present value is a number in that writing and at least one value is
    not a plain number. ``1,234`` alone fits both writings: a ``;`` or tab delimiter (a
    European export) decides for the decimal comma, else for thousands.
    """
    uniq = _present(strings)
    if uniq.size == 0:
        return None
    odd = [t for t in uniq.tolist() if not _plain(t)]
    if not odd:
        return None
    comma = all(_COMMA.fullmatch(t) for t in uniq.tolist())
    grouped = all(_GROUPED.fullmatch(t) or _plain(t) for t in uniq.tolist())
    if comma and grouped:
        return "," if delimiter in (";", "\t") else "grouped"
    if comma and any("," in t for t in odd):
        return ","
    if grouped:
        return "grouped"
    return None


def parse(strings: np.ndarray, fmt: str) -> np.ndarray:
    """float64 (N,) of ``strings`` written in ``fmt`` (see :func:`column_format`); NaN for
    missing or unparsable values."""
    s = np.char.strip(np.asarray(strings, dtype=str))
    if fmt == ",":
        for sep in (".", " ", "'", "\u00a0"):
            s = np.char.replace(s, sep, "")
        s = np.char.replace(s, ",", ".")
    else:
        s = np.char.replace(s, ",", "")
    out = np.full(s.shape, np.nan)
    for i, t in enumerate(s.tolist()):
        with contextlib.suppress(ValueError):
            out[i] = float(t)
    return out


def detect(table: Table) -> dict[str, str]:
    """``{column: format}`` of the non-numeric (or partly numeric) columns that are numbers
    written with a decimal comma or thousands separators."""
    found = {}
    for name in table.columns:
        col = table[name]
        if col.kind == "numeric" and not col.n_invalid:
            continue
        if col.kind == "numeric":  # a quoted "12,5" among plain numbers
            strings = np.array(col.invalid_values, dtype=str)
            if len(col.invalid_values) < col.n_invalid:
                continue  # only the first few offending texts are kept: do not guess
        else:
            strings = col.values
        fmt = column_format(strings, table.delimiter)
        if fmt is not None:
            found[name] = fmt
    return found


def apply(table: Table, formats: dict[str, str]) -> Table:
    """A table with the ``formats`` columns read as numbers (other columns shared)."""
    if not formats:
        return table
    cols = []
    for name in table.columns:
        col = table[name]
        fmt = formats.get(name)
        if fmt is None:
            cols.append(col)
            continue
        if col.kind == "numeric":
            values = col.values.copy()
            bad = col.invalid_rows
            values[bad] = parse(np.array(col.invalid_values, dtype=str), fmt)
            cols.append(Column(name, "numeric", values))
            continue
        values = parse(col.values, fmt)
        cols.append(Column(name, "numeric", values))
    out = Table(cols, table.path, delimiter=table.delimiter, has_header=table.has_header,
                encoding=table.encoding, line_numbers=table._line_numbers)
    return out


def describe(formats: dict[str, str]) -> str:
    """One sentence for the user: which columns were read as numbers, and how."""
    comma = [n for n, f in formats.items() if f == ","]
    grouped = [n for n, f in formats.items() if f == "grouped"]
    parts = []
    if comma:
        parts.append(f"{', '.join(map(repr, comma))} written with a decimal comma "
                     "(39,1 = 39.1)")
    if grouped:
        parts.append(f"{', '.join(map(repr, grouped))} written with thousands separators "
                     "(1,234.5 = 1234.5)")
    return "Read as numbers: " + "; ".join(parts) + "." if parts else ""
