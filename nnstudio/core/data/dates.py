"""Date features: what a date column becomes as network inputs.

A date is parsed to days since 1970-01-01 (:func:`.kinds.parse_date`); from that day number
the preparation derives the parts the user chose:

============== ==================================================== =============
part           inputs                                               cyclic
============== ==================================================== =============
``year``       the calendar year (2014)                             no
``month``      sin and cos of 2π·(month − 1)/12                      yes
``day_of_year`` sin and cos of 2π·(day of year − 1)/365.25          yes
``weekday``    sin and cos of 2π·weekday/7 (Monday = 0)              yes
``days``       days since 1970-01-01 (only when asked: a trend)     no
============== ==================================================== =============

Cyclic parts are given as a (sin, cos) pair so December sits next to January. The default is
the seasonal parts (month and weekday): a network fed the year or the day number can learn
"which year" instead of "what weather", and then extrapolates badly to dates outside the
training range.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.errors import DataError

PARTS = ("year", "month", "day_of_year", "weekday", "days")
DEFAULT_PARTS = ("month", "weekday")
LABELS = {"year": "year", "month": "month (sin, cos)", "day_of_year": "day of year (sin, cos)",
          "weekday": "weekday (sin, cos)", "days": "days since 1970"}
_CYCLIC = {"month": 12.0, "day_of_year": 365.25, "weekday": 7.0}


def check_parts(parts, where: str = "dataset.date_features") -> list[str]:
    """``parts`` as a list in :data:`PARTS` order; DataError for an unknown or empty list."""
    if not isinstance(parts, list | tuple) or not all(isinstance(p, str) for p in parts):
        raise DataError("must be a list of date parts", where=where)
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise DataError(f"unknown date part(s) {', '.join(unknown)} (known: "
                        f"{', '.join(PARTS)})", where=where)
    if not parts:
        raise DataError("choose at least one date part (or ignore the date column)",
                        where=where)
    return [p for p in PARTS if p in parts]


def part_names(column: str, parts) -> list[str]:
    """Matrix column names of a date column, e.g. ``date:month_sin``, ``date:year``."""
    out = []
    for p in parts:
        if p in _CYCLIC:
            out += [f"{column}:{p}_sin", f"{column}:{p}_cos"]
        else:
            out.append(f"{column}:{p}" if p != "days" else f"{column}:days")
    return out


def width(parts) -> int:
    """Number of matrix columns the parts give."""
    return sum(2 if p in _CYCLIC else 1 for p in parts)


def expand(days: np.ndarray, parts) -> np.ndarray:
    """float64 (N, width(parts)) date features of ``days`` (float (N,), no NaN)."""
    days = np.asarray(days, np.float64)
    whole = np.floor(days).astype(np.int64)
    day = whole.astype("datetime64[D]")
    cols = []
    for p in parts:
        if p == "days":
            cols.append(days)
            continue
        if p == "year":
            cols.append(day.astype("datetime64[Y]").astype(np.int64) + 1970.0)
            continue
        if p == "month":
            k = day.astype("datetime64[M]").astype(np.int64) % 12
        elif p == "day_of_year":
            k = (day - day.astype("datetime64[Y]")).astype(np.int64)
        else:  # weekday: 1970-01-01 was a Thursday (3 with Monday = 0)
            k = (whole + 3) % 7
        angle = 2.0 * np.pi * k / _CYCLIC[p]
        cols += [np.sin(angle), np.cos(angle)]
    if not cols:
        return np.zeros((days.shape[0], 0))
    return np.stack(cols, axis=1).astype(np.float64)


def describe(column: str, parts) -> str:
    """One line for the wizard: ``date → month (sin, cos), weekday (sin, cos): 4 inputs``."""
    n = width(parts)
    return (f"{column} → {', '.join(LABELS[p] for p in parts)}: "
            f"{n} input{'s' if n != 1 else ''}")


def format_date(days: float) -> str:
    """``2014-10-13`` for a day number (days since 1970-01-01)."""
    return str(np.datetime64(int(np.floor(days)), "D"))
