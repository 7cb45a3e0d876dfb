"""Column kinds: parse text fields into numbers or dates and infer what a column holds.

Kinds
-----
``numeric``      numbers (values float64, NaN for missing); a few non-numbers in a column that is
                 otherwise numeric are *invalid* values, reported with their row, not a new kind.
``date``         ISO-like dates (``2014-10-13``, ``2014/10/13 12:30``, ``20141013T000000``); kept
                 as strings, turned into "days since 1970-01-01" when used as a feature.
``categorical``  a few distinct strings (``spam``/``ham``, a location).
``text``         many distinct strings (names, free text, string ids): not used unless asked.
``empty``        every value is missing.
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np

#: Field values read as "missing" (compared after stripping spaces, case-insensitively).
MISSING_MARKERS = ("", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a", "missing")

#: A column is numeric when at least this share of its non-missing values are numbers.
NUMERIC_SHARE = 0.9

_DATE_RES = (
    re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
               r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?Z?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z?"),
)
_EPOCH = _dt.datetime(1970, 1, 1)


def is_categorical_count(n_distinct: int, n_present: int) -> bool:
    """Whether ``n_distinct`` different strings among ``n_present`` look like categories."""
    return n_distinct <= max(20, min(1000, n_present // 20))


def missing_mask(strings: np.ndarray) -> np.ndarray:
    """bool (N,): which strings are missing markers (see :data:`MISSING_MARKERS`)."""
    if strings.size == 0:
        return np.zeros(0, bool)
    uniq, inverse = np.unique(strings, return_inverse=True)
    marks = np.array([u.strip().lower() in MISSING_MARKERS for u in uniq.tolist()], bool)
    return marks[inverse.reshape(-1)]


def parse_numbers(strings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse strings as numbers.

    Parameters
    ----------
    strings : str array (N,)

    Returns
    -------
    values : float64 (N,)
        NaN where missing or invalid.
    missing : bool (N,)
    invalid : bool (N,)
        Present but not a finite number (``inf`` is refused: it would poison the scaling).
    """
    missing = missing_mask(strings)
    values = np.full(strings.shape, np.nan)
    invalid = np.zeros(strings.shape, bool)
    present = np.flatnonzero(~missing)
    if present.size == 0:
        return values, missing, invalid
    sub = strings[present]
    try:
        parsed = sub.astype(np.float64)
        if np.isinf(parsed).any():
            raise ValueError("infinity")
        values[present] = parsed
    except ValueError:
        # Only here on mixed columns: find the culprits one by one (on distinct values).
        uniq, inverse = np.unique(sub, return_inverse=True)
        parsed = np.empty(uniq.size)
        bad = np.zeros(uniq.size, bool)
        for i, text in enumerate(uniq.tolist()):
            try:
                parsed[i] = float(text)
            except ValueError:
                parsed[i] = np.nan
            bad[i] = not np.isfinite(parsed[i])
        inverse = inverse.reshape(-1)
        values[present] = parsed[inverse]
        invalid[present] = bad[inverse]
    return values, missing, invalid


def parse_date(text: str) -> float:
    """Days since 1970-01-01 (fractional for a time of day), NaN if ``text`` is no date."""
    text = text.strip()
    for pattern in _DATE_RES:
        m = pattern.fullmatch(text)
        if m:
            parts = [int(p) if p else 0 for p in m.groups()]
            try:
                when = _dt.datetime(*parts)
            except ValueError:
                return float("nan")
            return (when - _EPOCH).total_seconds() / 86400.0
    return float("nan")


def parse_dates(strings: np.ndarray) -> np.ndarray:
    """float64 (N,): :func:`parse_date` of each string (computed once per distinct value)."""
    if strings.size == 0:
        return np.zeros(0)
    uniq, inverse = np.unique(strings, return_inverse=True)
    days = np.array([parse_date(u) for u in uniq.tolist()])
    return days[inverse.reshape(-1)]


def infer_kind(strings: np.ndarray) -> tuple[str, np.ndarray | None, np.ndarray, np.ndarray]:
    """Decide what a column of strings holds.

    Parameters
    ----------
    strings : str array (N,)

    Returns
    -------
    kind : str
        One of ``numeric``, ``date``, ``categorical``, ``text``, ``empty``.
    numbers : float64 (N,) or None
        The parsed values when ``kind == "numeric"``.
    missing : bool (N,)
    invalid : bool (N,)
        Non-numbers in a numeric column (all False for other kinds).
    """
    numbers, missing, invalid = parse_numbers(strings)
    n_present = int(strings.size - np.count_nonzero(missing))
    no_invalid = np.zeros(strings.shape, bool)
    if n_present == 0:
        return "empty", None, missing, no_invalid
    n_bad = int(np.count_nonzero(invalid))
    if n_bad <= (1.0 - NUMERIC_SHARE) * n_present and n_bad < n_present:
        return "numeric", numbers, missing, invalid
    present = strings[~missing]
    uniq = np.unique(present)
    dated = np.count_nonzero(~np.isnan(parse_dates(uniq)))
    if dated >= NUMERIC_SHARE * uniq.size:
        return "date", None, missing, no_invalid
    if is_categorical_count(uniq.size, n_present):
        return "categorical", None, missing, no_invalid
    return "text", None, missing, no_invalid


def format_number(value: float) -> str:
    """Text of a number as a user wrote it: ``3`` not ``3.0``; ``""`` for NaN."""
    if value != value:
        return ""
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def format_numbers(values: np.ndarray) -> np.ndarray:
    """str array (N,) of :func:`format_number` (computed once per distinct value)."""
    if values.size == 0:
        return np.zeros(0, dtype=str)
    uniq, inverse = np.unique(values, return_inverse=True)
    text = np.array([format_number(v) for v in uniq.tolist()], dtype=str)
    return text[inverse.reshape(-1)]
