"""A cheap look at a delimited file: the first rows, kinds, missing and distinct counts.

Only the start of the file is read (at most :data:`.sniff.SNIFF_BYTES`), so previewing a
100 MB file costs milliseconds. Counts are over the sampled rows, and say so.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError

from .csv_reader import _column_names
from .decimals import column_format, parse
from .sniff import sniff
from .table import Column


@dataclass
class Preview:
    """What a dataset wizard shows before loading.

    Attributes
    ----------
    path : Path
    columns : list of str
    kinds : dict {column: kind}
        Inferred on the sampled rows.
    n_missing, n_distinct : dict {column: int}
        Over the sampled rows only (``n_sampled`` of them).
    rows : list of list of str
        The first ``n_rows`` data rows as text.
    delimiter : str
    has_header : bool
    encoding : str
    size_bytes : int
    n_sampled : int
        Data rows the counts are based on.
    estimated_rows : int
        Data rows in the whole file (exact when ``exact``).
    exact : bool
        True when the sample is the whole file.
    problems : list of str
        Issues seen in the sample (ragged rows, non-numbers in numeric columns).
    top_values : dict {column: list of (value, count)}
        The most frequent sampled values (up to 10) of categorical, text and date columns.
    number_formats : dict {column: format}
        Columns that are numbers written with a decimal comma (``","``) or thousands
        separators (``"grouped"``), see :mod:`.decimals`; their ``kinds`` say ``numeric``.
    """

    path: Path
    columns: list[str]
    kinds: dict[str, str]
    n_missing: dict[str, int]
    n_distinct: dict[str, int]
    rows: list[list[str]]
    delimiter: str
    has_header: bool
    encoding: str
    size_bytes: int
    n_sampled: int
    estimated_rows: int
    exact: bool
    problems: list[str] = field(default_factory=list)
    top_values: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    number_formats: dict[str, str] = field(default_factory=dict)

    @property
    def note(self) -> str:
        """Says what the counts are based on."""
        if self.exact:
            return f"counts over all {self.n_sampled:,} rows"
        return (f"counts over the first {self.n_sampled:,} rows of about "
                f"{self.estimated_rows:,}")


def preview(path: str | Path, n_rows: int = 50, delimiter: str | None = None,
            header: bool | None = None, encoding: str | None = None) -> Preview:
    """Preview a delimited file.

    Parameters
    ----------
    path : str or Path
    n_rows : int
        Rows returned in ``Preview.rows``; kinds and counts use every row of the sample
        (up to 256 kB of the file).
    delimiter, header, encoding
        Overrides, as for :func:`.load_table`.
    """
    path = Path(path)
    dialect, text, complete = sniff(path, delimiter, header, encoding)
    reader = csv.reader(io.StringIO(text), delimiter=dialect.delimiter, quotechar='"')
    records, problems = [], []
    try:
        for row in reader:
            if row and not (len(row) == 1 and not row[0].strip()):
                records.append(row)
    except csv.Error as e:
        problems.append(f"row {reader.line_num}: {e}")
    header_row = records[0] if dialect.has_header and records else []
    data = records[1:] if dialect.has_header else records
    ncols = len(records[0]) if records else 0
    names = _column_names(header_row, ncols)
    for i, row in enumerate(data):
        if len(row) != ncols and len(problems) < 5:
            # Numbered as the preview grid numbers its rows (data rows from 1).
            problems.append(f"row {i + 1} has {len(row)} fields, expected {ncols}")
    size = path.stat().st_size
    if not data and complete:
        raise DataError("has a header line but no data rows" if dialect.has_header
                        else "is empty", where=str(path))
    kinds, n_missing, n_distinct, top, formats = {}, {}, {}, {}, {}
    for j, name in enumerate(names):
        values = np.array([r[j] if j < len(r) else "" for r in data], dtype=str)
        col = Column.from_strings(name, values)
        fmt = column_format(values, dialect.delimiter)
        if fmt is not None:  # "39,1": numbers, as the dataset builder will read them
            formats[name] = fmt
            col = Column(name, "numeric", parse(values, fmt))
        kinds[name], n_missing[name], n_distinct[name] = col.kind, col.n_missing, col.n_distinct
        if col.kind in ("categorical", "text", "date"):
            uniq, counts = np.unique(col.values[~col.missing], return_counts=True)
            order = np.argsort(-counts, kind="stable")[:10]
            top[name] = [(str(uniq[i]), int(counts[i])) for i in order]
        if col.n_invalid and len(problems) < 10:
            row = int(col.invalid_rows[0]) + 1
            problems.append(f"row {row}, column {name!r}: {col.invalid_values[0]!r} is not a "
                            "number")
    if complete:
        estimated = len(data)
    else:
        used = len(text.encode(dialect.encoding, errors="replace"))
        estimated = round(len(data) * size / max(used, 1))
    return Preview(path, names, kinds, n_missing, n_distinct,
                   [list(r) for r in data[:n_rows]], dialect.delimiter, dialect.has_header,
                   dialect.encoding, size, len(data), estimated, complete, problems, top,
                   formats)
