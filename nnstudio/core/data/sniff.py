"""Guess how a delimited text file is written: encoding, delimiter, header.

Only the first bytes of the file are read, so sniffing a 1 GB file costs as little as a 1 kB one.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from nnstudio.core.errors import DataError

#: How much of the file sniffing reads.
SNIFF_BYTES = 256 * 1024
#: Delimiters tried, most likely first (ties go to the earlier one).
CANDIDATES = (",", "\t", ";", "|")

_MAGIC = {
    b"\x1f\x8b": "a gzip-compressed file",
    b"PK\x03\x04": "a zip archive (an .xlsx or .npz file?)",
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
    b"\x93NUMPY": "a NumPy .npy file",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office file",
}


@dataclass(frozen=True)
class Dialect:
    """How a delimited file is written."""

    delimiter: str
    has_header: bool
    encoding: str  # a Python codec name; "utf-8-sig" when the file starts with a BOM


def read_head(path: Path, n_bytes: int = SNIFF_BYTES) -> bytes:
    """The first ``n_bytes`` of a file; DataError if it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(n_bytes)
    except FileNotFoundError:
        raise DataError("file not found", where=str(path)) from None
    except IsADirectoryError:
        raise DataError("is a folder, not a file", where=str(path)) from None
    except OSError as e:
        raise DataError(f"cannot be read ({e.strerror})", where=str(path)) from None


def sniff_encoding(head: bytes, path: Path) -> str:
    """Pick a codec for a text file from its first bytes.

    A BOM decides (UTF-8 or UTF-16); otherwise UTF-8 if the bytes decode as UTF-8, else cp1252
    (what Excel writes on Western Windows). Binary files are refused here.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"is {what}, not delimited text (CSV/TSV)", where=str(path))
    sample = head[:65536]
    if b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample[:4096]) > 10:
        raise DataError("looks like a binary file, not delimited text (CSV/TSV)",
                        where=str(path))
    try:
        # A multi-byte character may be cut at the end of the sample: an incremental decoder
        # keeps an incomplete last character pending instead of failing on it (slicing off
        # the last bytes instead could itself cut a character and make UTF-8 look like cp1252).
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def decode_head(head: bytes, encoding: str, complete: bool) -> str:
    """Decode the sampled bytes, dropping a possibly cut last line unless ``complete``."""
    text = head.decode(encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not complete:
        cut = max(text.rfind("\n"), 0)
        text = text[:cut]
    return text


def _records(text: str, delimiter: str, limit: int = 200) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"')
    rows = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows


def sniff_delimiter(text: str, prefer: str | None = None) -> str:
    """The candidate delimiter that splits the sample lines into the most consistent fields."""
    best, best_score = ",", (0.0, 0)
    order = list(CANDIDATES)
    if prefer in order:
        order.remove(prefer)
        order.insert(0, prefer)
    for cand in order:
        rows = _records(text, cand)
        if not rows:
            continue
        counts = [len(r) for r in rows]
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = (counts.count(mode) / len(counts), mode)
        if score[0] > best_score[0] + 1e-9 or (abs(score[0] - best_score[0]) < 1e-9
                                               and score[1] > best_score[1]):
            best, best_score = cand, score
    return best


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def sniff_header(rows: list[list[str]]) -> bool:
    """Whether the first record is a header.

    Yes when some column is mostly numbers below a first value that is not a number; for
    all-text files, when every first value is non-empty, distinct and not repeated below.
    """
    if not rows:
        return True
    first, rest = rows[0], rows[1:]
    if not rest:
        return not any(_is_number(v) for v in first)
    # A header of numbers only ("2019,2020") is read as data: pass header=True for it.
    numeric_below = 0
    for j, value in enumerate(first):
        below = [r[j] for r in rest if j < len(r) and r[j].strip()]
        if not below:
            continue
        share = sum(_is_number(v) for v in below) / len(below)
        if share >= 0.8:
            numeric_below += 1
            if value.strip() and not _is_number(value):
                return True
    if numeric_below:
        return False
    stripped = [v.strip() for v in first]
    if not all(stripped) or len(set(stripped)) != len(stripped):
        return False
    return not any(r[j].strip() == v for r in rest for j, v in enumerate(stripped)
                   if j < len(r))


def sniff(path: Path, delimiter: str | None = None, header: bool | None = None,
          encoding: str | None = None) -> tuple[Dialect, str, bool]:
    """Sniff a delimited file.

    Returns
    -------
    dialect : Dialect
    text : str
        The decoded sample (whole lines only).
    complete : bool
        Whether the sample is the whole file.
    """
    head = read_head(path)
    complete = len(head) < SNIFF_BYTES
    if not head.strip(b" \t\r\n\x00") and not head.startswith(codecs.BOM_UTF16_LE):
        raise DataError("is empty", where=str(path))
    enc = encoding or sniff_encoding(head, path)
    try:
        info = codecs.lookup(enc)
    except (LookupError, TypeError, ValueError):
        raise DataError(f"unknown text encoding {enc!r}", where=str(path)) from None
    if not getattr(info, "_is_text_encoding", True):  # "rot13", "hex", "zlib": not text
        raise DataError(f"{enc!r} is not a text encoding", where=str(path))
    try:
        text = decode_head(head, enc, complete)
    except UnicodeError as e:  # e.g. "utf-16" on a file without a BOM
        raise DataError(f"cannot be read as {enc} text ({e}); save the file as UTF-8 or "
                        "choose its encoding", where=str(path)) from None
    if not text.strip():
        if not complete:
            raise DataError("has no line break in its first 256 kB: not delimited text",
                            where=str(path))
        raise DataError("is empty", where=str(path))
    prefer = "\t" if path.suffix.lower() in (".tsv", ".tab") else None
    delim = delimiter or sniff_delimiter(text, prefer)
    if len(delim) != 1:
        raise DataError(f"the delimiter must be one character (got {delim!r})", where=str(path))
    has_header = sniff_header(_records(text, delim)) if header is None else bool(header)
    return Dialect(delim, has_header, enc), text, complete
