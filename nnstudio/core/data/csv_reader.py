"""Load delimited text (CSV, TSV, ...) into a :class:`~.table.Table`.

Two readers share the work. The *fast path* handles files whose data rows are plain numbers
(no quotes, no text, no ``NA``): it reads 1 MB blocks of bytes and parses them with the
vectorised :mod:`.fastnum`, so a 1,000,000 x 20 file costs about as much as the float64 array
it becomes. Anything else goes to the *general path*, built on the standard ``csv`` module
(quoted fields, text columns, missing markers, ``"1"``-style quoted numbers), which also
writes the precise error messages. When the fast path meets something it does not handle it
gives up and the general path starts over: the result never depends on which path ran.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError

from . import fastnum
from .sniff import Dialect, sniff
from .table import Column, Table

#: Bytes per block of the fast path (1 MB keeps the per-token arrays in cache).
BLOCK_BYTES = 1 << 20
#: Threads parsing fast-path blocks (the VMs we target have 2 cores; 1 disables threads).
PARSE_THREADS = min(2, os.cpu_count() or 1)
#: Records per batch of the general path.
BATCH_ROWS = 50_000
_FAST_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "ascii")


def load_table(path: str | Path, delimiter: str | None = None, header: bool | None = None,
               encoding: str | None = None) -> Table:
    """Load a delimited text file.

    Parameters
    ----------
    path : str or Path
    delimiter : str, optional
        One character; sniffed from ``, \\t ; |`` when None (``\\t`` first for ``.tsv``).
    header : bool, optional
        Whether the first line holds column names; sniffed when None. Without a header the
        columns are named ``column_1``, ``column_2``, ...
    encoding : str, optional
        A Python codec name; sniffed when None (BOM, else UTF-8, else cp1252).

    Returns
    -------
    Table
        Every column with its inferred kind. Non-numbers in an otherwise numeric column do
        not stop loading: they are NaN and listed in ``Column.invalid_rows`` (the dataset
        builder refuses them with their row and column when the column is used).

    Raises
    ------
    DataError
        Empty file, header only, ragged rows, binary content, undecodable bytes.
    """
    path = Path(path)
    dialect, text, _ = sniff(path, delimiter, header, encoding)
    # The first *record*, not the first line: a quoted header name may hold a line break.
    first = next(csv.reader(io.StringIO(text), delimiter=dialect.delimiter, quotechar='"'), [])
    names = _column_names(first if dialect.has_header else [], len(first))
    data = _read_fast(path, dialect, len(names))
    if data is not None:
        cols = [_numeric_column(name, data[j]) for j, name in enumerate(names)]
        table = Table(cols, path, delimiter=dialect.delimiter, has_header=dialect.has_header,
                      encoding=dialect.encoding)
    else:
        table = _read_general(path, dialect, names)
    if table.n_rows == 0:
        if dialect.has_header:
            raise DataError("has a header line but no data rows", where=str(path))
        raise DataError("is empty", where=str(path))
    return table


def _column_names(header: list[str], n: int) -> list[str]:
    names, seen = [], set()
    for j in range(n):
        base = header[j].strip() if j < len(header) else ""
        base = base or f"column_{j + 1}"
        name, k = base, 2
        while name in seen:
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        names.append(name)
    return names


def _numeric_column(name: str, values: np.ndarray) -> Column:
    if np.isnan(values).all():
        return Column(name, "empty", np.full(values.shape, "", dtype=str))
    return Column(name, "numeric", values)


def _blocks(path: Path, has_header: bool):
    """Yield (block, file position after it) for the fast path; None means "give up".

    Each block is whole lines ending in ``\\n`` with ``\\r\\n`` normalised; trailing blank
    lines are dropped and blank lines anywhere else make the fast path give up.
    """
    ended = False  # saw trailing blank lines: any more data means a blank line mid-file
    with open(path, "rb") as f:
        if f.read(3) != codecs.BOM_UTF8:
            f.seek(0)
        if has_header and b'"' in f.readline():
            yield None  # a quoted header may span lines: let the csv module decide
            return
        while True:
            block = f.read(BLOCK_BYTES)
            if not block:
                return
            block += f.readline()
            if b"\r" in block:
                block = block.replace(b"\r\n", b"\n")
                if b"\r" in block:
                    yield None
                    return
            if ended and block.strip():
                yield None
                return
            if not block.endswith(b"\n"):
                block += b"\n"
            if block.endswith(b"\n\n"):
                block = block.rstrip(b"\n") + b"\n"
                ended = True
            if block.startswith(b"\n") or b"\n\n" in block:
                yield None
                return
            if block != b"\n":
                yield block, f.tell()


def _read_fast(path: Path, dialect: Dialect, ncols: int) -> np.ndarray | None:
    """float64 (ncols, N) for an all-numeric file, or None to use the general reader.

    Blocks are parsed by :data:`PARSE_THREADS` threads (NumPy releases the GIL inside its
    loops) while the next blocks are read, and written in file order into one array sized
    from the file size: the peak memory is the result plus a few blocks.
    """
    if dialect.encoding not in _FAST_ENCODINGS or dialect.delimiter in ' "0123456789.-+eE':
        return None
    delim = dialect.delimiter.encode("ascii", errors="ignore")
    if len(delim) != 1:
        return None
    pad = b"0" * fastnum.PAD
    size = path.stat().st_size
    out = np.empty((ncols, 0))
    n = 0

    def parse(block: bytes) -> np.ndarray | None:
        return fastnum.parse_numeric_block(pad + block, ncols, delim)

    def store(parsed: np.ndarray, block_len: int, pos: int) -> None:
        nonlocal out, n
        rows = parsed.shape[0]
        if n + rows > out.shape[1]:
            # Room for the rest of the file at this block's bytes per row, plus 10 %.
            cap = n + rows + int(1.1 * (size - pos) * rows / block_len) + 16
            grown = np.empty((ncols, cap))  # pages are committed only when written
            grown[:, :n] = out[:, :n]
            out = grown
        out[:, n:n + rows] = parsed.T
        n += rows

    threads = max(1, int(PARSE_THREADS))
    with ThreadPoolExecutor(threads) if threads > 1 else nullcontext() as pool:
        pending: deque = deque()
        for item in _blocks(path, dialect.has_header):
            if item is None:
                return None
            block, pos = item
            if pool is None:
                parsed = parse(block)
                if parsed is None:
                    return None
                store(parsed, len(block), pos)
                continue
            pending.append((pool.submit(parse, block), len(block), pos))
            if len(pending) > 2 * threads:
                future, length, at = pending.popleft()
                parsed = future.result()
                if parsed is None:
                    for f, _, _ in pending:
                        f.cancel()
                    return None
                store(parsed, length, at)
        while pending:
            future, length, at = pending.popleft()
            parsed = future.result()
            if parsed is None:
                for f, _, _ in pending:
                    f.cancel()
                return None
            store(parsed, length, at)
    return out[:, :n]


def _read_general(path: Path, dialect: Dialect, names: list[str]) -> Table:
    ncols = len(names)
    parts: list[list[np.ndarray]] = [[] for _ in names]
    lines: list[int] = []
    rows: list[list[str]] = []
    where = str(path)
    with open(path, encoding=dialect.encoding, newline="", errors="strict") as f:
        reader = csv.reader(f, delimiter=dialect.delimiter, quotechar='"')
        prev_line = 0
        try:
            if dialect.has_header:
                next(reader, None)
                prev_line = reader.line_num
            for row in reader:
                start, prev_line = prev_line + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != ncols:
                    if len(row) > ncols and not any(v.strip() for v in row[ncols:]):
                        row = row[:ncols]  # trailing delimiters: "1,2,3,"
                    else:
                        raise DataError(
                            f"has {len(row)} fields but {ncols} were expected "
                            f"({'as in the header' if dialect.has_header else 'as in row 1'})",
                            where=f"{where}, row {start}")
                rows.append(row)
                lines.append(start)
                if len(rows) >= BATCH_ROWS:
                    _convert_batch(rows, parts)
                    rows = []
        except UnicodeError as e:
            if not isinstance(e, UnicodeDecodeError):  # "UTF-16 stream does not start with BOM"
                raise DataError(f"cannot be read as {dialect.encoding} text ({e}); save the file "
                                "as UTF-8 or choose its encoding",
                                where=f"{where}, row {prev_line + 1}") from None
            line, byte = _locate_decode_error(path, dialect.encoding)
            line = line or prev_line + 1
            byte = e.object[e.start] if byte is None else byte
            raise DataError(
                f"byte 0x{byte:02x} is not valid {dialect.encoding} text; save "
                "the file as UTF-8 or choose its encoding (e.g. cp1252)",
                where=f"{where}, row {line}") from None
        except csv.Error as e:
            if "field larger than field limit" in str(e):  # e.g. a whole book in one cell
                raise DataError(
                    f"a value is longer than {csv.field_size_limit():,} characters; texts "
                    "that long cannot be one sample: split them into rows, or train a "
                    "language model on the text as a corpus (.txt)",
                    where=f"{where}, row {prev_line + 1}") from None
            raise DataError(f"cannot be parsed ({e})", where=f"{where}, row {prev_line + 1}"
                            ) from None
    if rows:
        _convert_batch(rows, parts)
    columns = _join_parts(parts, names)
    line_numbers = np.asarray(lines, dtype=np.int64)
    regular = line_numbers.size == 0 or (
        line_numbers[0] == (2 if dialect.has_header else 1)
        and np.all(np.diff(line_numbers) == 1))
    return Table(columns, path, delimiter=dialect.delimiter, has_header=dialect.has_header,
                 encoding=dialect.encoding, line_numbers=None if regular else line_numbers)


def _locate_decode_error(path: Path, encoding: str) -> tuple[int | None, int | None]:
    """(1-based line, byte value) of the first undecodable byte, for the error message."""
    if encoding.lower().replace("_", "-") not in ("utf-8", "utf-8-sig", "ascii", "cp1252"):
        return None, None  # multi-byte line ends: cannot split the bytes on b"\n"
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode(encoding)
            except UnicodeDecodeError as e:
                return number, e.object[e.start]
    return None, None


def _convert_batch(rows: list[list[str]], parts: list[list[np.ndarray]]) -> None:
    """Append one batch of records to ``parts`` column by column.

    A batch column whose fields are all numbers becomes float64 at once (through the fast
    parser when the text allows, else NumPy's string conversion), so a big file never keeps
    its text in memory; other batch columns keep their strings.
    """
    pad = b"0" * fastnum.PAD
    for j, col in enumerate(zip(*rows, strict=True)):
        numbers = None
        try:
            buf = ("\n".join(col) + "\n").encode("ascii")
            numbers = fastnum.parse_numeric_block(pad + buf, 1, b",")
        except UnicodeEncodeError:
            pass
        if numbers is not None:
            parts[j].append(numbers[:, 0])
            continue
        strings = np.array(col, dtype=str)
        try:
            numbers = strings.astype(np.float64)
            parts[j].append(strings if np.isinf(numbers).any() else numbers)
        except ValueError:
            parts[j].append(strings)


def _join_parts(parts: list[list[np.ndarray]], names: list[str]) -> list[Column]:
    """One typed column per name from its batch parts (float64 or str arrays)."""
    columns = []
    for name, chunks in zip(names, parts, strict=True):
        if not chunks:
            columns.append(Column(name, "empty", np.zeros(0, dtype=str)))
        elif all(c.dtype.kind == "f" for c in chunks):
            columns.append(_numeric_column(name, np.concatenate(chunks)))
        else:
            text = [Column(name, "numeric", c).as_strings() if c.dtype.kind == "f" else c
                    for c in chunks]
            columns.append(Column.from_strings(name, np.concatenate(text)))
    return columns
