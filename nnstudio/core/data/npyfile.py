"""The entries of an ``.npz`` archive, checked from their headers before any is loaded.

Every entry's ``.npy`` header declares a shape and dtype; NumPy allocates what it declares
before reading. A damaged or hostile file can declare 600 million floats in 2 MB: checking the
declared size against the entry's real length (and against free memory) first turns that into
one sentence instead of 20 seconds and gigabytes. Entries that are not ``.npy`` arrays (a
``readme.txt``) and object arrays (which need pickle) are reported too.
"""

from __future__ import annotations

import math
import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError, NNStudioError
from nnstudio.core.memory import check_fits, format_bytes

#: What reading a damaged entry raises: a broken deflate stream (``zlib.error``), a bad
#: checksum (``BadZipFile``), a cut file, a garbled ``.npy`` header (NumPy parses it as a
#: Python literal: ``SyntaxError``, ``tokenize.TokenError``, ``ValueError``).
DAMAGED = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, tokenize.TokenError,
           SyntaxError, NotImplementedError, RuntimeError, TypeError)


@dataclass(frozen=True)
class Entry:
    """One array of an archive: ``name`` (without ``.npy``), declared ``shape``/``dtype``,
    ``nbytes`` of data."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    nbytes: int


def open_zip(path: Path, error: type[NNStudioError] = DataError,
             not_zip: str = "is not a valid .npz archive") -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise error("file not found", str(path)) from None
    except zipfile.BadZipFile:
        raise error(not_zip, str(path)) from None
    except (OSError, ValueError, EOFError) as e:  # ValueError: a damaged central directory
        raise error(f"{not_zip} ({first_line(e)})", str(path)) from None


def check_entries(path: str | Path, error: type[NNStudioError] = DataError,
                  extra_ok: tuple[str, ...] = (), skip_other: bool = False,
                  not_zip: str = "is not a valid .npz archive") -> dict[str, Entry]:
    """Read every entry's header; return ``{name: Entry}`` in archive order.

    Raises ``error`` (naming the file and the entry) for an entry that is not an ``.npy``
    array (unless its name is in ``extra_ok`` or ``skip_other``: a data archive may carry a
    readme), a damaged or oversized header, an object
    array, a declared size larger than the entry, or an array larger than free memory.
    """
    path = Path(path)
    where = str(path)
    out: dict[str, Entry] = {}
    with open_zip(path, error, not_zip) as z:
        for info in z.infolist():
            if info.is_dir():
                continue
            if not info.filename.endswith(".npy"):
                if skip_other or info.filename in extra_ok:
                    continue
                raise error(f"holds an entry {info.filename!r} that is not a NumPy array",
                            where)
            name = info.filename[:-4]
            try:
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version not in ((1, 0), (2, 0), (3, 0)):
                        raise ValueError(f"unknown .npy format version {version}")
                    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                              else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = reader(f)
                    header_len = f.tell()
            except DAMAGED as e:
                raise error(f"array {name!r} is damaged ({first_line(e)})", where) from None
            if dtype.hasobject:
                raise error(f"holds an object array under {name!r} (pickled Python objects), "
                            "which is never loaded: unpickling a stranger's file could run "
                            "code", where)
            shape = tuple(int(s) for s in shape)
            nbytes = math.prod(shape) * dtype.itemsize
            present = info.file_size - header_len
            if nbytes > present:
                raise error(
                    f"array {name!r} declares {_describe(shape, dtype)} "
                    f"({format_bytes(nbytes)}) but the file holds only "
                    f"{format_bytes(max(present, 0))} of it: the file is damaged", where)
            check_fits(nbytes, f"array {name!r} ({_describe(shape, dtype)})", where, error)
            out[name] = Entry(name, shape, dtype, nbytes)
    return out


def _describe(shape: tuple[int, ...], dtype: np.dtype) -> str:
    dims = "×".join(f"{s:,}" for s in shape) if shape else "a single"
    return f"{dims} {dtype} value{'s' if math.prod(shape) != 1 else ''}"


def first_line(e: BaseException) -> str:
    if isinstance(e, (tokenize.TokenError, SyntaxError)):
        return "its header is garbled"  # NumPy read the header as a Python literal
    text = str(e).strip()
    return (text.splitlines()[0] if text else type(e).__name__)[:200]
