"""Readable JSON for files people diff and edit: short lists and objects stay on one line.

``json.dumps(indent=2)`` puts every number of a ``[x, y]`` position and every end of an edge on
its own line, which makes a project file four times longer than it needs to be and hard to
diff. :func:`dumps` keeps a value on one line when it fits within ``width`` columns.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np


def dumps(obj: Any, width: int = 100, indent: int = 2) -> str:
    """JSON text of ``obj`` with compact leaves and a trailing newline.

    Non-finite floats are written as ``null`` (JSON has no NaN), so every file is standard JSON.
    """
    return _fmt(finite_json(obj), 0, width, indent) + "\n"


def finite_json(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by ``None`` (JSON null)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def _one_line(obj: Any, budget: int) -> str | None:
    """``json.dumps(obj)`` if it is at most ``budget`` characters long, else ``None`` — found
    without writing out more than ``budget`` characters (a long run history would otherwise be
    dumped once for every level it is nested in)."""
    if isinstance(obj, dict):
        parts, used = [], 2
        for k, v in obj.items():
            key = json.dumps(str(k), ensure_ascii=False)
            val = _one_line(v, budget - used - len(key) - 2)
            if val is None:
                return None
            parts.append(f"{key}: {val}")
            used += len(key) + 2 + len(val) + (2 if len(parts) > 1 else 0)
            if used > budget:
                return None
        return "{" + ", ".join(parts) + "}"
    if isinstance(obj, list):
        parts, used = [], 2
        for v in obj:
            val = _one_line(v, budget - used)
            if val is None:
                return None
            parts.append(val)
            used += len(val) + (2 if len(parts) > 1 else 0)
            if used > budget:
                return None
        return "[" + ", ".join(parts) + "]"
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    return text if len(text) <= budget else None


def _fmt(obj: Any, level: int, width: int, indent: int) -> str:
    if not isinstance(obj, (dict, list)) or not obj:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False)
    one_line = _one_line(obj, width - 2 - level * indent)
    if one_line is not None:
        return one_line
    pad = " " * ((level + 1) * indent)
    if isinstance(obj, dict):
        items = [
            f"{pad}{json.dumps(k, ensure_ascii=False)}: {_fmt(v, level + 1, width, indent)}"
            for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * (level * indent) + "}"
    items = [pad + _fmt(v, level + 1, width, indent) for v in obj]
    return "[\n" + ",\n".join(items) + "\n" + " " * (level * indent) + "]"


# -- reading ------------------------------------------------------------------------------------

#: Deepest nesting of arrays/objects accepted. nnstudio's own files nest about 6 deep; 100
#: leaves room for any ``gui``/``x_…`` data a user keeps, and stays far below the depth at
#: which Python's recursive parser and every recursive walk over the result would fail.
MAX_DEPTH = 100
#: Most digits accepted in one integer (an int64 has 19). Python refuses to convert more than
#: 4,300 digits anyway, with an error that names no place.
MAX_INT_DIGITS = 100

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


class JSONCheckError(ValueError):
    """Why a JSON text was refused: ``str()`` is one sentence, :attr:`line` and
    :attr:`column` (1-based) say where, when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.message, self.line, self.column = message, line, column
        at = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(message + at)


def loads_checked(text: str, allow_nan: bool = True) -> Any:
    """Parse JSON ``text`` with the limits a file from a stranger needs.

    Refused with a :class:`JSONCheckError` (never a ``RecursionError`` or a bare ``ValueError``):
    malformed JSON; nesting deeper than :data:`MAX_DEPTH`; an integer longer than
    :data:`MAX_INT_DIGITS` digits; a string holding a lone UTF-16 surrogate (``"\\ud800"``:
    valid JSON, but no file name, column or id can hold it, and writing it back fails);
    ``NaN``/``Infinity`` when not ``allow_nan``. Floats beyond the float range (``1e400``)
    become ``inf`` here and are refused by the validation of the field that holds them.
    """
    depth, where = _max_depth(text)
    if depth > MAX_DEPTH:
        line, col = _line_col(text, where)
        raise JSONCheckError(f"is nested more than {MAX_DEPTH} levels deep", line, col)

    def parse_int(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise JSONCheckError(f"holds an integer of {len(digits.lstrip('-')):,} digits "
                              f"(at most {MAX_INT_DIGITS} are accepted)")
        return int(digits)

    def parse_constant(name: str) -> float:
        if not allow_nan:
            raise JSONCheckError(f"holds {name}, which is not standard JSON (write null)")
        return float(name)

    try:
        value = json.loads(text, parse_int=parse_int, parse_constant=parse_constant)
    except json.JSONDecodeError as e:
        raise JSONCheckError(f"is not valid JSON: {e.msg}", e.lineno, e.colno) from None
    except RecursionError:  # pragma: no cover - the depth check above comes first
        raise JSONCheckError(f"is nested more than {MAX_DEPTH} levels deep") from None
    bad = _lone_surrogate(value, "") if _may_hold_surrogates(text) else None
    if bad is not None:
        raise JSONCheckError(f"holds text with an invalid character (a lone UTF-16 surrogate) "
                          f"at {bad or 'the top level'}")
    return value


def _max_depth(text: str) -> tuple[int, int]:
    """Deepest ``[``/``{`` nesting of ``text`` (strings ignored) and where it first exceeds
    :data:`MAX_DEPTH` (0 when it does not).

    Vectorised: the strings are removed with one regular expression, then the running depth
    is a cumulative sum over the bytes, so a 5 MB file costs about 0.2 s.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0, 0
    depth = _running_depth(_STRING.sub("", text))
    deepest = int(depth.max()) if len(depth) else 0
    if deepest <= MAX_DEPTH:
        return deepest, 0
    # Only on failure: blank (rather than remove) the strings to find the place.
    blank = _STRING.sub(lambda m: " " * len(m.group(0)), text)
    return deepest, int(np.argmax(_running_depth(blank) > MAX_DEPTH))


_DEPTH_STEP = np.zeros(256, np.int8)
_DEPTH_STEP[[ord("["), ord("{")]] = 1
_DEPTH_STEP[[ord("]"), ord("}")]] = -1


def _running_depth(text: str) -> np.ndarray:
    codes = np.frombuffer(text.encode("latin-1", "replace"), np.uint8)  # brackets are ASCII
    return np.cumsum(_DEPTH_STEP[codes], dtype=np.int64)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _lone_surrogate(value: Any, path: str) -> str | None:
    """The place (``a.b[2]``) of the first string holding a lone surrogate, else None."""
    stack = [(value, path)]
    while stack:
        v, p = stack.pop()
        if isinstance(v, str):
            if _has_surrogate(v):
                return p
        elif isinstance(v, dict):
            for k, item in v.items():
                if _has_surrogate(k):
                    return f"{p}.{k!a}" if p else repr(k)
                stack.append((item, f"{p}.{k}" if p else k))
        elif isinstance(v, list):
            stack.extend((item, f"{p}[{i}]") for i, item in enumerate(v))
    return None


def _may_hold_surrogates(text: str) -> bool:
    """Whether parsing ``text`` can give a lone surrogate: one in the text itself or a
    ``\\uD800``–``\\uDFFF`` escape (a fast test that spares the walk for every usual file)."""
    return _has_surrogate(text) or re.search(r"\\u[dD][89a-fA-F]", text) is not None


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
