"""In-memory tables (columns of a delimited file) and array data (IDX/NPZ)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError

from . import kinds as _kinds

KINDS = ("numeric", "categorical", "date", "text", "empty")


class Column:
    """One column of a :class:`Table`.

    Attributes
    ----------
    name : str
    kind : str
        ``numeric``, ``categorical``, ``date``, ``text`` or ``empty`` (see :mod:`.kinds`).
    values : ndarray (N,)
        float64 with NaN for missing when numeric; str otherwise, ``""`` for missing.
    invalid_rows : int64 ndarray
        Row indices (0-based, into the table) of non-numbers in a numeric column.
    invalid_values : list of str
        The offending text of the first few of them.
    """

    def __init__(self, name: str, kind: str, values: np.ndarray,
                 invalid_rows: np.ndarray | None = None, invalid_values: Sequence[str] = ()):
        if kind not in KINDS:
            raise ValueError(f"unknown column kind {kind!r}")
        self.name = name
        self.kind = kind
        self.values = values
        self.invalid_rows = (np.zeros(0, np.int64) if invalid_rows is None
                             else np.asarray(invalid_rows, np.int64))
        self.invalid_values = list(invalid_values)

    @classmethod
    def from_strings(cls, name: str, strings: np.ndarray) -> Column:
        """Build a column from raw field text, inferring its kind."""
        strings = np.asarray(strings, dtype=str)
        kind, numbers, missing, invalid = _kinds.infer_kind(strings)
        if kind == "numeric":
            bad = np.flatnonzero(invalid)
            return cls(name, kind, numbers, bad, strings[bad[:20]].tolist())
        values = np.where(missing, "", np.char.strip(strings))
        return cls(name, kind, np.asarray(values, dtype=str))

    @cached_property
    def missing(self) -> np.ndarray:
        """bool (N,): missing values (invalid numbers count as missing here)."""
        if self.values.dtype.kind == "f":
            return np.isnan(self.values)
        return self.values == ""

    @property
    def n_missing(self) -> int:
        """Number of missing values."""
        return int(np.count_nonzero(self.missing))

    @property
    def n_invalid(self) -> int:
        """Number of values in a numeric column that were not numbers."""
        return int(self.invalid_rows.size)

    @cached_property
    def n_distinct(self) -> int:
        """Number of distinct non-missing values."""
        return int(np.unique(self.values[~self.missing]).size)

    def as_strings(self) -> np.ndarray:
        """str (N,): values as text (numbers written as a user would, ``""`` for missing)."""
        if self.values.dtype.kind == "f":
            return _kinds.format_numbers(self.values)
        return self.values

    def as_days(self) -> np.ndarray:
        """float64 (N,): a date column as days since 1970-01-01, NaN when missing/unparsable."""
        return _kinds.parse_dates(self.values)

    def __repr__(self) -> str:
        return f"Column({self.name!r}, kind={self.kind!r}, n={self.values.shape[0]})"


class Table:
    """Named columns of equal length, as loaded from a delimited file or built in memory.

    Attributes
    ----------
    path : Path or None
    columns : list of str
        Column names in file order.
    n_rows : int
    delimiter, has_header, encoding
        What the reader used (None for in-memory tables).
    """

    def __init__(self, columns: Iterable[Column], path: str | Path | None = None, *,
                 delimiter: str | None = None, has_header: bool = True,
                 encoding: str | None = None, line_numbers: np.ndarray | None = None):
        self._columns = {c.name: c for c in columns}
        lengths = {c.values.shape[0] for c in self._columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        self.n_rows = lengths.pop() if lengths else 0
        self.path = Path(path) if path is not None else None
        self.delimiter = delimiter
        self.has_header = has_header
        self.encoding = encoding
        self._line_numbers = line_numbers

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def __getitem__(self, name: str) -> Column:
        try:
            return self._columns[name]
        except KeyError:
            raise DataError(f"no column named {name!r} (columns: {', '.join(self.columns)})",
                            where=self.where()) from None

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __len__(self) -> int:
        return self.n_rows

    def where(self) -> str:
        """The file name used to prefix error messages."""
        return str(self.path) if self.path is not None else "table"

    def line_number(self, row: int | np.ndarray) -> int | np.ndarray:
        """1-based line of the file holding data row ``row`` (0-based), header included."""
        if self._line_numbers is not None:
            return self._line_numbers[row]
        return row + (2 if self.has_header else 1)

    def take(self, rows: np.ndarray) -> Table:
        """A new table with only the rows at ``rows`` (indices or a bool mask)."""
        picked = np.arange(self.n_rows)[rows]
        new_pos = np.full(self.n_rows, -1, np.int64)
        new_pos[picked] = np.arange(picked.size)
        cols = []
        for c in self._columns.values():
            inv = new_pos[c.invalid_rows]
            kept = inv >= 0
            # The texts travel with their rows (they name the bad value in messages).
            texts = [t for t, k in zip(c.invalid_values, kept.tolist(), strict=False) if k]
            cols.append(Column(c.name, c.kind, c.values[picked], inv[kept], texts))
        lines = np.asarray(self.line_number(picked))
        return Table(cols, self.path, delimiter=self.delimiter, has_header=self.has_header,
                     encoding=self.encoding, line_numbers=lines)

    def head(self, n: int = 10) -> list[list[str]]:
        """The first ``n`` rows as text, for display."""
        cols = [c.as_strings()[:n] if c.values.dtype.kind == "f" else c.values[:n]
                for c in self._columns.values()]
        return [list(map(str, row)) for row in zip(*cols, strict=True)]

    @classmethod
    def from_columns(cls, data: Mapping[str, Sequence | np.ndarray],
                     kinds: Mapping[str, str] | None = None,
                     path: str | Path | None = None) -> Table:
        """Build a table from ``{name: values}``.

        Numeric arrays become numeric columns; anything else is converted to str and its kind
        inferred, unless given in ``kinds``.
        """
        kinds = dict(kinds or {})
        cols = []
        for name, values in data.items():
            arr = np.asarray(values)
            kind = kinds.get(name)
            if arr.dtype.kind in "biuf" and kind in (None, "numeric"):
                cols.append(Column(name, "numeric", arr.astype(np.float64)))
            elif kind is None:
                cols.append(Column.from_strings(name, arr.astype(str)))
            else:
                cols.append(Column(name, kind, arr.astype(str)))
        return cls(cols, path)

    @classmethod
    def from_arrays(cls, x: np.ndarray, y: np.ndarray | None = None,
                    feature_names: Sequence[str] | None = None, target_name: str = "target",
                    path: str | Path | None = None) -> Table:
        """Build a table from a feature matrix ``x`` (N, F) and an optional target ``y`` (N,)."""
        x = np.asarray(x)
        if x.ndim == 1:
            x = x[:, None]
        names = list(feature_names or [f"x{i + 1}" for i in range(x.shape[1])])
        data: dict[str, np.ndarray] = {n: x[:, i] for i, n in enumerate(names)}
        if y is not None:
            data[target_name] = np.asarray(y)
        return cls.from_columns(data, path=path)

    def __repr__(self) -> str:
        return f"Table({self.where()!r}, {self.n_rows} rows, columns={self.columns})"


@dataclass
class ArrayData:
    """Samples as one array, from an IDX or NPZ file.

    Attributes
    ----------
    x : ndarray (N, *sample_shape)
        As stored (IDX images stay uint8 (N, 28, 28)).
    y : ndarray (N,) or (N, k), or None
        Labels or targets.
    path : Path or None
    x_name, y_name : str
        Where x and y came from (file name or NPZ key), for messages.
    """

    x: np.ndarray
    y: np.ndarray | None = None
    path: Path | None = None
    x_name: str = "x"
    y_name: str = "y"
    extra: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.x.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.x.shape[1:])

    def where(self) -> str:
        return str(self.path) if self.path is not None else "arrays"
