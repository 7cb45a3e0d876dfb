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


def _fmt(obj: Any, level: int, width: int, indent: int) -> str:
    one_line = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    if not isinstance(obj, (dict, list)) or not obj:
        return one_line
    if level * indent + len(one_line) <= width - 2:
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
