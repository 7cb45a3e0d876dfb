"""Checks of samples read from an IDX or NPZ file, shared by training, evaluate and predict.

``train`` and ``evaluate``/``predict`` must refuse the same files: a NaN pixel, a 0-d label
array or labels that are not class numbers are reported here with the array and the first
sample at fault, before anything is prepared from them.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.errors import DataError

#: Most dimensions of one array (N + a sample of up to 4 axes).
MAX_NDIM = 5


def check_x(x: np.ndarray, name: str, where: str) -> None:
    """Inputs ``(N, *sample_shape)``: at least one sample, numbers, every value finite."""
    if x.ndim < 1 or x.shape[0] == 0:
        raise DataError(f"array {name!r} holds no samples (shape {x.shape})", where=where)
    if x.ndim > MAX_NDIM:
        raise DataError(f"array {name!r} has {x.ndim} dimensions (shape {x.shape}); samples "
                        f"may have at most {MAX_NDIM - 1}", where=where)
    if x.dtype.kind not in "biuf":
        raise DataError(f"array {name!r} has dtype {x.dtype}, not numbers", where=where)
    if x.dtype.kind == "f":
        _check_finite(x, f"array {name!r}", where)


def check_y(y: np.ndarray, n: int, name: str, where: str) -> np.ndarray:
    """Targets: one label or row of values per sample, numbers or text, finite.

    Returns ``y`` with float labels that are all whole numbers as int64 (IDX stores class
    numbers as floats at times); other floats stay float64 (regression targets).
    """
    if y.ndim == 0:
        raise DataError(f"array {name!r} holds a single value, not one target per sample",
                        where=where)
    if y.ndim > MAX_NDIM:
        raise DataError(f"array {name!r} has {y.ndim} dimensions (shape {y.shape}); targets "
                        f"may have at most {MAX_NDIM}", where=where)
    if y.shape[0] != n:
        raise DataError(f"array {name!r} has {y.shape[0]:,} targets for {n:,} samples",
                        where=where)
    if y.dtype.kind not in "biufU":
        raise DataError(f"array {name!r} has dtype {y.dtype}, not numbers or labels",
                        where=where)
    if y.dtype.kind == "f":
        _check_finite(y, f"array {name!r}", where)
        if y.ndim == 1 and np.all(y == np.round(y)) and np.all(np.abs(y) < 2**53):
            return y.astype(np.int64)
    return y


def _check_finite(a: np.ndarray, what: str, where: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        value = a.reshape(len(a), -1)[i][~np.isfinite(a.reshape(len(a), -1)[i])][0]
        raise DataError(f"{what}: sample {i + 1:,} holds {value} (every value must be a "
                        f"finite number; {int(bad.sum()):,} are not)", where=where)
