"""Validation of a stored preparation (the ``preparation`` entry of a model file).

A model file may come from anywhere, so :meth:`Preparation.from_dict` checks every field with
:func:`check_preparation` before building: types, finite numbers, non-zero divisors, sorted
unique categories, shapes that match. Each problem is one :class:`DataError` naming the field
(``features[2] 'price'.divisor: must be a finite number other than 0 (got inf)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

KINDS = ("numeric", "date", "categorical")
TASKS = ("classification", "regression", "language_model", "multi_output")
SCALINGS = ("none", "standard", "minmax")
#: Largest sample (values per sample) a stored array preparation may declare.
MAX_SAMPLE_VALUES = 100_000_000


def _fail(where: str, message: str) -> None:
    raise DataError(message, where=where)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _finite(v: Any, where: str, nonzero: bool = False) -> float:
    if not _is_number(v) or not math.isfinite(v) or (nonzero and v == 0):
        _fail(where, f"must be a finite number{' other than 0' if nonzero else ''} "
                     f"(got {_show(v)})")
    return float(v)


def _text(v: Any, where: str) -> str:
    if not isinstance(v, str):
        _fail(where, f"must be text (got {_show(v)})")
    return v


def _text_list(v: Any, where: str, unique: bool = True) -> list[str]:
    if not isinstance(v, list):
        _fail(where, f"must be a list of names (got {_show(v)})")
    for i, item in enumerate(v):
        _text(item, f"{where}[{i}]")
    if unique and len(set(v)) != len(v):
        _fail(where, "holds the same name twice")
    return v


def _numbers_like(v: Any, shape: tuple[int, ...], where: str, nonzero: bool) -> None:
    """A number, or nested lists of numbers that broadcast against ``shape``; all finite."""
    try:
        arr = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(where, "must be a number or a list of numbers")
    if arr.dtype != np.float64 or not np.isfinite(arr).all() or (nonzero and (arr == 0).any()):
        _fail(where, f"must hold finite numbers{' other than 0' if nonzero else ''}")
    try:
        np.broadcast_shapes(arr.shape, shape)
    except ValueError:
        _fail(where, f"has shape {arr.shape}, which does not fit samples of shape {shape}")


def check_preparation(d: Any, version: int) -> None:
    """Raise :class:`DataError` for the first invalid field of a stored preparation."""
    if not isinstance(d, Mapping):
        _fail("preparation", "must be an object")
    v = d.get("version", 0)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        _fail("version", f"must be a whole number (got {_show(v)})")
    if v > version:
        _fail("version", f"preparation format {v} is newer than this nnstudio understands "
                         f"({version})")
    task = d.get("task")
    if task not in TASKS:
        _fail("task", f"must be one of {', '.join(TASKS)} (got {_show(task)})")
    _text_list(d.get("targets"), "targets", unique=False)
    if d.get("class_names") is not None:
        _text_list(d["class_names"], "class_names")
    if task == "classification" and not d.get("class_names"):
        _fail("class_names", "a classifier needs its class names")
    if d.get("scaling", "standard") not in SCALINGS:
        _fail("scaling", f"must be one of {', '.join(SCALINGS)} (got {_show(d['scaling'])})")
    feats = d.get("features")
    if not isinstance(feats, list):
        _fail("features", "must be a list")
    names = set()
    for i, f in enumerate(feats):
        _check_feature(f, f"features[{i}]")
        if f["name"] in names:
            _fail(f"features[{i}]", f"the column {f['name']!r} appears twice")
        names.add(f["name"])
    stats = d.get("target_stats") or []
    if not isinstance(stats, list):
        _fail("target_stats", "must be a list")
    for i, t in enumerate(stats):
        where = f"target_stats[{i}]"
        if not isinstance(t, Mapping):
            _fail(where, "must be an object")
        _text(t.get("name"), f"{where}.name")
        _finite(t.get("mean"), f"{where}.mean")
        _finite(t.get("std"), f"{where}.std", nonzero=True)
    array = d.get("array")
    if array is not None:
        _check_array(array)
        if feats:
            _fail("features", "must be empty for a model that reads arrays")
    elif not feats and d.get("text") is None:  # a text column may be the only input
        _fail("features", "lists no input column")
    if d.get("text") is not None and not isinstance(d["text"], Mapping):
        _fail("text", "must be an object")
    if (task == "multi_output") != (d.get("heads") is not None):
        _fail("heads", "a preparation has heads exactly when it has several targets "
                       "(task multi_output)")
    if d.get("heads") is not None:
        from .target_heads import check_heads

        check_heads(d["heads"], _fail)
        if [h["target"] for h in d["heads"]] != list(d["targets"]):
            _fail("heads", "must follow the order of targets")
    if task == "language_model" and d.get("text") is None:
        _fail("text", "a language model needs its text preparation (the vocabulary)")


def _check_feature(f: Any, where: str) -> None:
    if not isinstance(f, Mapping):
        _fail(where, "must be an object")
    name = _text(f.get("name"), f"{where}.name")
    where = f"{where} {name!r}"
    kind = f.get("kind")
    if kind not in KINDS:
        _fail(f"{where}.kind", f"must be one of {', '.join(KINDS)} (got {_show(kind)})")
    if kind == "categorical":
        cats = _text_list(f.get("categories"), f"{where}.categories")
        if cats != sorted(cats):
            _fail(f"{where}.categories", "must be sorted")
        for key in ("fill", "most_frequent"):
            if f.get(key) is not None:
                _text(f[key], f"{where}.{key}")
        return
    # The column's statistics are shown (predict form, Inside the network): numbers or null.
    for key in ("mean", "std", "min", "max", "median"):
        if f.get(key) is not None and not _is_number(f[key]):
            _fail(f"{where}.{key}", f"must be a number (got {_show(f[key])})")
    if f.get("fill") is not None:
        _finite(f["fill"], f"{where}.fill")
    if kind == "date" and f.get("parts") is not None:
        from .dates import check_parts, part_names

        parts = check_parts(f["parts"], f"{where}.parts")
        width = len(part_names(name, parts))
        if isinstance(f.get("offset"), list) or width != 1:  # one scaling per matrix column
            for key, nonzero in (("offset", False), ("divisor", True)):
                values = f.get(key)
                if not isinstance(values, list) or len(values) != width:
                    _fail(f"{where}.{key}", f"must be a list of {width} numbers (one per date "
                                            f"part column)")
                for i, v in enumerate(values):
                    _finite(v, f"{where}.{key}[{i}]", nonzero=nonzero)
            return
    _finite(f.get("offset"), f"{where}.offset")
    _finite(f.get("divisor"), f"{where}.divisor", nonzero=True)


def _check_array(a: Any) -> None:
    if not isinstance(a, Mapping):
        _fail("array", "must be an object")
    _text(a.get("name"), "array.name")
    shape = a.get("sample_shape")
    if not isinstance(shape, list) or not 1 <= len(shape) <= 4 or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
        _fail("array.sample_shape", f"must be 1 to 4 whole numbers ≥ 1 (got {_show(shape)})")
    if math.prod(shape) > MAX_SAMPLE_VALUES:
        _fail("array.sample_shape", f"declares {math.prod(shape):,} values per sample")
    _numbers_like(a.get("offset"), tuple(shape), "array.offset", nonzero=False)
    _numbers_like(a.get("divisor"), tuple(shape), "array.divisor", nonzero=True)
    for key in ("mean", "min", "max"):
        if a.get(key) is not None and not _is_number(a[key]):
            _fail(f"array.{key}", f"must be a number (got {_show(a[key])})")
