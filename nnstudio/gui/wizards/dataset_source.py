"""What the dataset wizard knows about the chosen source, and where a data error belongs.

Plain Python over the core data layer (no Qt): :func:`inspect_source` looks at a file or a
built-in example cheaply (a preview of a delimited file, the header of an IDX file, the array
list of an NPZ archive); :func:`error_place` tells which wizard page and field a
:class:`~nnstudio.core.errors.DataError` is about, so the page can show it next to that field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.core.data import EXAMPLES, npz_keys, preview
from nnstudio.core.data.idx import is_idx
from nnstudio.core.errors import DataError, NNStudioError

#: Column names that are record ids (never features by default).
_ID_NAMES = re.compile(r"^(id|index|row|rowid|row_id|unnamed: ?0|.*_id)$", re.IGNORECASE)


@dataclass
class ColumnInfo:
    """One column as the wizard shows it."""

    name: str
    kind: str
    n_missing: int
    n_distinct: int


@dataclass
class SourceInfo:
    """The chosen data source and a cheap look at it.

    ``kind`` is ``"table"`` (CSV/TSV or a built-in example) or ``"arrays"`` (IDX or NPZ).
    """

    kind: str
    path: str | None = None
    example: str | None = None
    labels: str | None = None
    x_key: str | None = None
    y_key: str | None = None
    columns: list[ColumnInfo] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    n_rows_text: str = ""
    note: str = ""
    problems: list[str] = field(default_factory=list)
    default_target: str | None = None
    samples: np.ndarray | None = None  # a few array samples, for thumbnails
    description: str = ""
    #: Columns of numbers written with a decimal comma / thousands separators (see
    #: nnstudio.core.data.decimals): read as numbers unless the user says otherwise.
    number_formats: dict[str, str] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnInfo | None:
        return next((c for c in self.columns if c.name == name), None)


def file_format(path: str | Path) -> str:
    """``"npz"``, ``"idx"`` or ``"table"`` by the file's content (then its name)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            magic = f.read(4)
    except OSError:
        magic = b""
    if p.suffix.lower() == ".npz" or magic == b"PK\x03\x04":
        return "npz"
    if is_idx(p) or ("idx" in p.name.lower() and "ubyte" in p.name.lower()):
        return "idx"
    return "table"


def guess_labels_file(images: str | Path) -> str | None:
    """The IDX labels file beside an images file.

    ``…-images-idx3-ubyte`` → ``…-labels-idx1-ubyte`` (with or without ``.gz``).
    """
    p = Path(images)
    name = p.name.replace("images", "labels").replace("idx3", "idx1")
    candidate = p.with_name(name)
    return str(candidate) if candidate != p and candidate.is_file() else None


def inspect_source(path: str | None = None, example: str | None = None,
                   labels: str | None = None, x_key: str | None = None,
                   y_key: str | None = None) -> SourceInfo:
    """Look at a source without loading all of it; raises :class:`DataError`."""
    if example is not None:
        return _inspect_example(example)
    if not path:
        raise DataError("choose a file or a built-in example", where="dataset.source")
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError("file not found", where=str(p))
    if not p.is_file():
        raise DataError("is not a file", where=str(p))
    fmt = file_format(p)
    if fmt == "npz":
        return _inspect_npz(p, x_key, y_key)
    if fmt == "idx":
        return _inspect_idx(p, labels)
    pv = preview(p)
    cols = [ColumnInfo(c, pv.kinds[c], pv.n_missing[c], pv.n_distinct[c]) for c in pv.columns]
    rows = f"{pv.estimated_rows:,} rows" if pv.exact else f"about {pv.estimated_rows:,} rows"
    return SourceInfo("table", path=str(p), columns=cols, rows=pv.rows,
                      n_rows_text=f"{rows} · {len(cols)} columns", note=pv.note,
                      problems=list(pv.problems), default_target=pv.columns[-1] if cols else None,
                      number_formats=dict(pv.number_formats))


def _inspect_example(name: str) -> SourceInfo:
    if name not in EXAMPLES:
        raise DataError(f"unknown example {name!r}", where="dataset.example")
    ex = EXAMPLES[name]
    table = ex.make(seed=0)
    cols = [ColumnInfo(c, table[c].kind, table[c].n_missing, table[c].n_distinct)
            for c in table.columns]
    return SourceInfo("table", example=name, columns=cols, rows=table.head(50),
                      n_rows_text=f"{table.n_rows:,} rows · {len(cols)} columns",
                      note=f"counts over all {table.n_rows:,} rows", default_target=ex.target,
                      description=ex.description)


def _inspect_npz(p: Path, x_key: str | None, y_key: str | None) -> SourceInfo:
    from nnstudio.core.data import load_npz

    keys = npz_keys(p)
    data = load_npz(p, x_key, y_key)
    info = _arrays_info(data, "npz", str(p))
    info.x_key, info.y_key = data.x_name, (data.y_name if data.y is not None else None)
    info.columns = [ColumnInfo(k["name"], f"{k['dtype']} {_shape(k['shape'])}", 0, 0)
                    for k in keys]
    return info


def _inspect_idx(p: Path, labels: str | None) -> SourceInfo:
    from nnstudio.core.data import load_idx

    labels = labels or guess_labels_file(p)
    data = load_idx(p, labels)
    info = _arrays_info(data, "idx", str(p))
    info.labels = labels
    return info


def _arrays_info(data, fmt: str, path: str) -> SourceInfo:
    x, y = data.x, data.y
    text = f"{len(x):,} samples of {_shape(x.shape[1:])} ({x.dtype})"
    if y is not None:
        if y.ndim == 1 and y.dtype.kind in "biu":
            classes = np.unique(y)
            text += f" · labels: {classes.size} classes ({classes.min()}–{classes.max()})"
        else:
            text += f" · targets {_shape(y.shape[1:]) if y.ndim > 1 else 'one value'}"
    else:
        text += " · no labels"
    return SourceInfo("arrays", path=path, n_rows_text=text, samples=np.asarray(x[:12]),
                      description=f"{fmt.upper()} arrays")


def _shape(shape) -> str:
    return " × ".join(str(int(s)) for s in shape) or "scalar"


def default_ignored(info: SourceInfo) -> list[str]:
    """Columns a person would not learn from: record ids, free text, empty columns."""
    out = []
    for c in info.columns:
        if _ID_NAMES.match(c.name) or c.kind in ("text", "empty"):
            out.append(c.name)
    return out


# -- where an error belongs ------------------------------------------------------------------
PAGES = ("source", "columns", "prepare", "split")
_COLUMN_RE = re.compile(r"(?:column|target|feature)s? '([^']+)'")


@dataclass
class ErrorPlace:
    """A wizard page (``source``, ``columns``, ``prepare``, ``split``), an optional column,
    and the message to show there (without the file's path)."""

    page: str
    column: str | None
    text: str


def error_place(err: NNStudioError) -> ErrorPlace:
    """Which page and field a data-layer error is about."""
    where = err.where or ""
    msg = err.message
    text = msg
    if ", row " in where:  # "<path>, row 12, column 'x'": keep the row and column
        text = f"{where.split(', ', 1)[1]}: {msg}"
    m = _COLUMN_RE.search(where + " " + msg)
    column = m.group(1) if m else None
    lower = msg.lower()
    if where.startswith("dataset.split"):
        return ErrorPlace("split", None, text)
    if where.startswith(("dataset.scaling", "dataset.missing", "dataset.target_scaling")) \
            or "after dropping rows" in lower:
        return ErrorPlace("prepare", column, text)
    if where.startswith(("dataset.target", "dataset.features", "dataset.ignore",
                         "dataset.categorical", "dataset.task")):
        return ErrorPlace("columns", column, text)
    if where.startswith(("dataset.source", "dataset.example", "dataset.labels")):
        return ErrorPlace("source", None, text)
    if lower.startswith(("target", "features", "ignore", "categorical")) or column \
            or "class" in lower or "feature" in lower:
        return ErrorPlace("columns", column, text)
    if "labels file" in lower or "y array" in lower:
        return ErrorPlace("source", None, text)
    return ErrorPlace("source", None, text)
