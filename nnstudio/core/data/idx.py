"""IDX files, the format of MNIST (``t10k-images-idx3-ubyte[.gz]``), gzipped or not.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError
from nnstudio.core.fileaccess import check_readable
from nnstudio.core.memory import check_fits

from .arraycheck import check_x, check_y
from .table import ArrayData

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def is_idx(path: str | Path) -> bool:
    """Whether a file starts like an IDX file (after gunzipping when gzipped)."""
    try:
        head = _read_bytes(Path(path), limit=4)
    except DataError:
        return False
    return len(head) == 4 and head[:2] == b"\0\0" and head[2] in _TYPES and 1 <= head[3] <= 4


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def _read_bytes(path: Path, limit: int | None = None) -> bytes:
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        if gz:
            with gzip.open(path, "rb") as g:
                return g.read() if limit is None else g.read(limit)
        with open(path, "rb") as f:
            return f.read() if limit is None else f.read(limit)
    except FileNotFoundError:
        raise DataError("file not found", where=str(path)) from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(f"the gzip data is truncated or corrupt ({e})", where=str(path)) from None
    except OSError as e:
        raise DataError(f"cannot be read ({e.strerror or e})", where=str(path)) from None


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file.

    The header is read and checked first (the dimensions against the data actually present,
    and against free memory), so a file claiming 2⁶⁴ items or a gzip bomb is refused before
    anything large is read.

    Returns
    -------
    ndarray
        Shape as stored (images ``(N, rows, cols)``, labels ``(N,)``), native byte order.
    """
    path = Path(path)
    check_readable(path, DataError, "an IDX file")
    head = _read_bytes(path, limit=4 + 4 * 4)
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _TYPES or not 1 <= head[3] <= 4:
        raise DataError("is not an IDX file (wrong magic number)", where=str(path))
    ndim = head[3]
    header = 4 + 4 * ndim
    if len(head) < header:
        raise DataError("is truncated: the header is incomplete", where=str(path))
    dims = tuple(int(d) for d in np.frombuffer(head, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_TYPES[head[2]])
    expected = math.prod(dims) * dtype.itemsize
    shown = "x".join(map(str, dims))
    if expected == 0:
        raise DataError(f"holds no values (dimensions {shown})", where=str(path))
    if not _is_gzip(path) and path.stat().st_size - header < expected:
        raise DataError(f"is truncated: {shown} values need {expected:,} bytes of data but only "
                        f"{path.stat().st_size - header:,} are present", where=str(path))
    check_fits(expected, f"the IDX data ({shown} values)", str(path))
    # Read at most one byte more than declared: enough to tell "too long" from "exact".
    raw = _read_bytes(path, limit=header + expected + 1)
    found = len(raw) - header
    if found < expected:
        raise DataError(f"is truncated: {shown} values need {expected:,} "
                        f"bytes of data but only {found:,} are present", where=str(path))
    if found > expected:
        raise DataError("has bytes after its data: not a valid IDX file", where=str(path))
    data = np.frombuffer(raw, dtype, count=expected // dtype.itemsize, offset=header)
    return data.reshape(dims).astype(dtype.newbyteorder("="))


def load_idx(images_path: str | Path, labels_path: str | Path | None = None) -> ArrayData:
    """Load IDX images and optional labels.

    Parameters
    ----------
    images_path : str or Path
        E.g. ``t10k-images-idx3-ubyte.gz``.
    labels_path : str or Path, optional
        E.g. ``t10k-labels-idx1-ubyte.gz``; must hold one label per image.

    Returns
    -------
    ArrayData
        ``x`` as stored, e.g. uint8 ``(10000, 28, 28)`` (sample shape ``(28, 28)``: an LSTM
        reads it as 28 steps of 28 features; Flatten/Reshape adapt it for Dense/Conv2D);
        ``y`` int64 ``(N,)`` or None.
    """
    images_path = Path(images_path)
    x = read_idx(images_path)
    check_x(x, images_path.name, str(images_path))
    if x.ndim < 2:
        raise DataError(f"holds a 1-D array of {x.shape[0]} values, not samples (is it the "
                        "labels file?)", where=str(images_path))
    y = None
    if labels_path is not None:
        labels_path = Path(labels_path)
        y = read_idx(labels_path)
        if y.ndim != 1:
            raise DataError(f"holds an array of shape {y.shape}, not one label per sample",
                            where=str(labels_path))
        if y.shape[0] != x.shape[0]:
            raise DataError(f"holds {y.shape[0]:,} labels for {x.shape[0]:,} images in "
                            f"{images_path.name}", where=str(labels_path))
        y = check_y(y, x.shape[0], labels_path.name, str(labels_path))
        if y.dtype.kind == "f":  # not class numbers: 2.5 is not silently class 2
            i = int(np.flatnonzero((y != np.round(y)) | (np.abs(y) >= 2**53))[0])
            raise DataError(f"label {i + 1:,} is {y[i]:g}, not a class number (IDX labels must "
                            "be whole numbers)", where=str(labels_path))
        y = y.astype(np.int64)
    return ArrayData(x=x, y=y, path=images_path, x_name=images_path.name,
                     y_name=labels_path.name if labels_path is not None else "y")
