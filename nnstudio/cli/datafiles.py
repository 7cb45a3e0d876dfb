"""Read a data file for a trained model: new rows to predict, or labelled rows to evaluate.

A model trained on a table reads a CSV/TSV with (at least) the same feature columns, by name;
extra columns are ignored. A model trained on arrays (IDX images, NPZ) reads an IDX file
(with ``--labels`` for the labels), an NPZ file, or a CSV/TSV whose rows each hold one sample's
values in row-major order (784 columns for a 28×28 image).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError
from nnstudio.core.io.model_file import TrainedModel


@dataclass
class ModelData:
    """Prepared inputs (and targets) for a model, read from a file.

    Attributes
    ----------
    x:
        Prepared inputs ``(N, *input_shape)``.
    y:
        Prepared targets (class indices ``(N,)`` or scaled values ``(N, k)``), or ``None``.
    table:
        The loaded table (to copy columns into a predictions file), or ``None``.
    notes:
        Warnings for the user (rows skipped, unknown categories).
    """

    x: np.ndarray
    y: np.ndarray | None
    table: object = None
    notes: list[str] = field(default_factory=list)


def read_model_data(
    model: TrainedModel, path: str | Path, labels: str | Path | None = None,
    need_targets: bool = False,
) -> ModelData:
    """Load ``path`` and prepare it the way ``model`` was trained.

    Raises :class:`DataError` naming the file (and row and column) for anything unusable.
    """
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", where=str(p))
    if p.is_dir():
        raise DataError("is a folder, not a data file", where=str(p))
    if labels is not None and not Path(labels).is_file():
        raise DataError("file not found", where=str(labels))
    prep = model.preparation
    if prep is not None and getattr(prep, "array", None) is not None:
        return _read_arrays(model, p, labels, need_targets)
    return _read_table(model, p, need_targets)


def _read_table(model: TrainedModel, p: Path, need_targets: bool) -> ModelData:
    from nnstudio.core.data import decimals, load_table

    table = load_table(p)
    prep = model.preparation
    notes: list[str] = []
    formats = {n: f for n, f in decimals.detect(table).items() if n in model.feature_names}
    if formats:  # "39,1" as training read it (see nnstudio.core.data.decimals)
        table = decimals.apply(table, formats)
        notes.append(decimals.describe(formats))
    missing_cols = [f for f in model.feature_names if f not in table]
    if missing_cols:
        raise DataError(
            f"the model needs the column(s) {', '.join(map(repr, missing_cols))}, which the file "
            f"lacks (columns: {', '.join(table.columns)})", where=str(p),
        )
    y = None
    if need_targets:
        absent = [t for t in model.target_names if t not in table]
        if absent:
            raise DataError(
                f"has no target column {absent[0]!r}: evaluating needs the true values "
                f"(columns: {', '.join(table.columns)})", where=str(p),
            )
        keep = np.ones(len(table), bool)
        for t in model.target_names:
            keep &= ~table[t].missing
        if not keep.all():
            notes.append(f"{int((~keep).sum()):,} row(s) without a target value were skipped")
            table = table.take(keep)
        if len(table) == 0:
            raise DataError("has no rows with a target value", where=str(p))
        y = prep.transform_target(table)
    if len(table) == 0:
        raise DataError("has no data rows", where=str(p))
    for col, new in prep.unknown_categories(table).items():
        shown = ", ".join(map(repr, new[:5])) + (", ..." if len(new) > 5 else "")
        notes.append(
            f"column {col!r} has {len(new)} value(s) never seen in training ({shown}): "
            "they count as none of the known categories"
        )
    _check_kinds(table, prep, p)
    if hasattr(prep, "dates_out_of_range"):
        notes += prep.dates_out_of_range({f["name"]: table[f["name"]].as_days()
                                          for f in prep.features if f["kind"] == "date"})
    x = prep.transform_features(table)
    return ModelData(x, y, table, notes)


def _check_kinds(table, prep, p: Path) -> None:
    """A numeric (or date) feature must read as numbers (dates) here too, or the error names
    the first bad value with its row and column."""
    for f in prep.features:
        if f["kind"] == "categorical":
            continue
        col = table[f["name"]]
        if col.kind == "empty":
            continue
        if f["kind"] == "numeric" and col.kind == "numeric" and not col.n_invalid:
            continue
        if f["kind"] == "numeric":
            if col.kind == "numeric":
                row, text = int(col.invalid_rows[0]), col.invalid_values[0]
            else:
                row, text = _first_bad(col.values, _is_number)
            what = "a number"
        else:
            if col.kind == "date":
                continue
            strings = col.as_strings()
            row, text = _first_bad(strings, lambda t: _is_date(t))
            what = "a date (YYYY-MM-DD)"
        raise DataError(f"{text!r} is not {what}, as the model was trained on",
                        where=f"{p}, row {table.line_number(row)}, column {f['name']!r}")


def _is_number(text: str) -> bool:
    from nnstudio.core.data.kinds import MISSING_MARKERS

    if text.strip().lower() in MISSING_MARKERS:
        return True
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _is_date(text: str) -> bool:
    from nnstudio.core.data.kinds import MISSING_MARKERS, parse_date

    return text.strip().lower() in MISSING_MARKERS or not math.isnan(parse_date(text))


def _first_bad(values, ok) -> tuple[int, str]:
    for i, v in enumerate(values.tolist()):
        if not ok(str(v)):
            return i, str(v)
    return 0, str(values[0]) if len(values) else ""


def _read_arrays(
    model: TrainedModel, p: Path, labels: str | Path | None, need_targets: bool
) -> ModelData:
    from nnstudio.core.data import load_idx, load_npz, load_table
    from nnstudio.core.data.idx import is_idx

    prep = model.preparation
    shape = tuple(prep.array["sample_shape"])
    with open(p, "rb") as f:
        magic = f.read(4)
    y_raw = None
    if p.suffix.lower() == ".npz" or magic == b"PK\x03\x04":
        data = load_npz(p)
        x_raw, y_raw = data.x, data.y
    elif is_idx(p):
        data = load_idx(p, labels)
        x_raw, y_raw = data.x, data.y
    else:
        table = load_table(p)
        cols = [table[c] for c in table.columns]
        bad = [c.name for c in cols if c.kind != "numeric"]
        if bad:
            raise DataError(
                f"column {bad[0]!r} is not numeric: a model trained on arrays reads one sample "
                "per row, every value a number", where=str(p),
            )
        x_raw = np.stack([c.values for c in cols], axis=1) if cols else np.zeros((0, 0))
        if np.isnan(x_raw).any():
            row = int(np.argwhere(np.isnan(x_raw))[0][0])
            raise DataError("a value is missing", where=f"{p}, row {table.line_number(row)}")
    size = math.prod(shape)
    if tuple(x_raw.shape[1:]) != shape:
        if math.prod(x_raw.shape[1:]) != size:
            raise DataError(
                f"samples have {math.prod(x_raw.shape[1:])} values ({tuple(x_raw.shape[1:])}), "
                f"the model expects {size} ({shape})", where=str(p),
            )
        x_raw = x_raw.reshape((len(x_raw), *shape))
    if len(x_raw) == 0:
        raise DataError("has no samples", where=str(p))
    y = None
    if need_targets:
        if y_raw is None:
            raise DataError(
                "has no labels: give --labels FILE (IDX) or a 'y' array (NPZ)", where=str(p)
            )
        if len(y_raw) != len(x_raw):
            raise DataError(f"has {len(x_raw)} samples but {len(y_raw)} labels", where=str(p))
        try:
            y = prep.transform_target(y_raw)
        except DataError as e:
            raise DataError(e.message, where=f"{p}: labels") from None
    return ModelData(prep.transform_features(x_raw), y)
