"""Readable JSON for files people diff and edit: short lists and objects stay on one line.

``json.dumps(indent=2)`` puts every number of a ``[x, y]`` position and every end of an edge on
its own line, which makes a project file four times longer than it needs to be and hard to
diff. :func:`dumps` keeps a value on one line when it fits within ``width`` columns.
"""

from __future__ import annotations

import json
import math
from typing import Any


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
