"""NumPy ``.npz`` archives, always opened with ``allow_pickle=False``.

A file from a stranger must not run code: arrays of Python objects (which NumPy stores with
pickle) are refused with a clear error instead of being loaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError
from nnstudio.core.fileaccess import check_readable

from .arraycheck import check_x, check_y
from .npyfile import DAMAGED, check_entries, first_line, open_zip
from .table import ArrayData

#: Array names tried, in order, when the caller does not name x or y.
X_NAMES = ("x", "X", "x_train", "X_train", "images", "data", "features", "inputs")
Y_NAMES = ("y", "Y", "y_train", "labels", "label", "target", "targets")


def npz_keys(path: str | Path) -> list[dict]:
    """List the arrays of an ``.npz`` file without loading them.

    Returns
    -------
    list of dict
        ``{"name", "shape", "dtype", "pickled"}`` per array, in archive order; ``pickled``
        arrays (dtype object) cannot be loaded.
    """
    path = Path(path)
    out = []
    with open_zip(path) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                continue
            try:
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                              else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = reader(f)
            except DAMAGED as e:
                raise DataError(f"array {info.filename[:-4]!r} is damaged ({first_line(e)})",
                                where=str(path)) from None
            out.append({"name": info.filename[:-4], "shape": tuple(shape), "dtype": str(dtype),
                        "pickled": dtype.hasobject})
    return out


def _pick(keys: list[str], wanted: str | None, defaults: tuple[str, ...], what: str,
          path: Path, required: bool) -> str | None:
    if wanted is not None:
        if wanted not in keys:
            raise DataError(f"has no array named {wanted!r} (arrays: {', '.join(keys)})",
                            where=str(path))
        return wanted
    for name in defaults:
        if name in keys:
            return name
    if required and len(keys) == 1:
        return keys[0]
    if required:
        raise DataError(f"choose which array holds {what} (arrays: {', '.join(keys) or 'none'})",
                        where=str(path))
    return None


def load_npz(path: str | Path, x_key: str | None = None, y_key: str | None = None) -> ArrayData:
    """Load inputs (and targets) from an ``.npz`` archive.

    Parameters
    ----------
    path : str or Path
    x_key, y_key : str, optional
        Array names; when None, the usual names are tried (``x``, ``X``, ``images``... and
        ``y``, ``labels``, ``target``...); a single-array file needs no name.

    Returns
    -------
    ArrayData
        ``x`` (N, *sample_shape) as stored; ``y`` (N,) or (N, k), or None.
    """
    path = Path(path)
    check_readable(path, DataError, "an .npz file")
    entries = check_entries(path, DataError, skip_other=True)  # sizes, headers, no pickle
    keys = list(entries)
    xk = _pick(keys, x_key, X_NAMES, "the inputs (x)", path, required=True)
    yk = _pick([k for k in keys if k != xk], y_key, Y_NAMES, "the targets (y)", path,
               required=False)
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key in (xk, yk):
                if key is not None:
                    arrays[key] = npz[key]
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise DataError("holds pickled Python objects, which are never loaded (they could "
                            "run code); save plain numeric arrays", where=str(path)) from None
        raise DataError(f"cannot be read ({e})", where=str(path)) from None
    except DAMAGED as e:  # a damaged entry body (the headers were checked above)
        raise DataError(f"is damaged: an array cannot be read ({e})", where=str(path)) from None
    except MemoryError:
        raise DataError("does not fit in memory", where=str(path)) from None
    x = arrays[xk]
    check_x(x, xk, str(path))
    y = arrays.get(yk) if yk else None
    if y is not None:
        y = check_y(y, x.shape[0], yk, str(path))
    if x.ndim == 1:
        x = x[:, None]
    return ArrayData(x=x, y=y, path=path, x_name=xk, y_name=yk or "y")
