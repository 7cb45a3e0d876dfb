"""Prepared samples read batch by batch from a (memory-mapped) raw array.

A :class:`LazySamples` looks like the float32 ``x`` of one split — ``shape``, ``dtype``,
``len``, slicing and fancy indexing give prepared float32 arrays — but only ever converts the
rows asked for: ``(raw[rows] - offset) / divisor``, plus augmentation for the training split.
The trainer reads it with :meth:`LazySamples.take_into` (one batch buffer, reused); code that
needs everything at once can still call ``np.asarray(samples)``.
"""

from __future__ import annotations

import numpy as np

#: Rows converted at a time when the whole split is materialised.
_CHUNK = 2048


class LazySamples:
    """Float32 view of ``raw[rows]`` prepared as ``(raw - offset) / divisor``.

    Parameters
    ----------
    raw : ndarray (M, *sample_shape)
        uint8 pixels or float32 spectrograms, usually a read-only memmap.
    rows : int64 (N,)
        The rows of ``raw`` in this split, in order.
    offset, divisor : float
    augment : Augmenter or None
        Applied (training split only) to the raw values of every batch read through
        :meth:`take_into`; its random generator is seeded, so a run is reproducible.
    """

    #: Lets the trainer recognise a lazy source without importing this module.
    lazy_batches = True

    def __init__(self, raw: np.ndarray, rows: np.ndarray, offset: float, divisor: float,
                 augment=None, dtype=np.float32):
        self.raw = raw
        self.rows = np.asarray(rows, np.int64)
        self.offset = float(offset)
        self.divisor = float(divisor)
        self.augment = augment
        self.dtype = np.dtype(dtype)
        self._scratch: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ array-like
    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.raw.shape[1:])

    @property
    def ndim(self) -> int:
        return self.raw.ndim

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key) -> np.ndarray:
        """Prepared float32 samples (no augmentation): ``x[3]``, ``x[10:20]``, ``x[idx]``."""
        if isinstance(key, tuple):
            return self[key[0]][(slice(None), *key[1:])]
        if isinstance(key, int | np.integer):
            return self._prepare(self.raw[self.rows[key]][None])[0]
        return self._prepare(self.raw[self.rows[key]])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.empty(self.shape, self.dtype)
        for lo in range(0, len(self), _CHUNK):
            out[lo:lo + _CHUNK] = self[lo:lo + _CHUNK]
        return out if dtype is None else out.astype(dtype, copy=False)

    def astype(self, dtype, copy=True) -> np.ndarray:
        return np.asarray(self, dtype)

    def subset(self, idx: np.ndarray) -> LazySamples:
        """The samples ``idx`` (into this split) as another lazy source, no augmentation."""
        return LazySamples(self.raw, self.rows[idx], self.offset, self.divisor, None, self.dtype)

    def raw_rows(self, idx) -> np.ndarray:
        """The raw (unscaled) samples at positions ``idx`` of this split."""
        return np.asarray(self.raw[self.rows[idx]])

    def digest(self) -> str:
        """SHA-256 of what this split holds (raw rows, scaling, augmentation), read in chunks
        from the cache: equal data, equal digest, without a float copy of the split."""
        import hashlib

        h = hashlib.sha256(f"{self.raw.dtype.str}{self.shape}{self.offset!r}"
                           f"{self.divisor!r}".encode())
        if self.augment is not None:
            h.update(repr(self.augment.o).encode())
        for lo in range(0, len(self.rows), _CHUNK):
            chunk = np.ascontiguousarray(self.raw[self.rows[lo:lo + _CHUNK]])
            h.update(memoryview(chunk.reshape(-1)).cast("B"))
        return h.hexdigest()

    # ------------------------------------------------------------------ training
    def take_into(self, idx: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the prepared (and, for training, augmented) samples ``idx`` into ``out``.

        ``idx`` are positions in this split (the trainer's shuffled order), ``out`` a float
        buffer of shape ``(len(idx), *sample_shape)``. Rows are read from ``raw`` in
        ascending order (sequential pages of the memmap), then put in ``idx`` order.
        """
        rows = self.rows[idx]
        order = np.argsort(rows, kind="stable")
        m = len(rows)
        buf = self._scratch.get(m)
        if buf is None:
            buf = self._scratch[m] = np.empty((m, *self.raw.shape[1:]), self.raw.dtype)
        np.take(self.raw, rows[order], 0, buf, "clip")
        out[order] = buf  # unsort while converting to float
        if self.augment is not None:
            # Seeded by the batch itself: the same run (same batch order) draws the same
            # transforms, also when it is replayed on this very object.
            self.augment(out, key=idx)
        out -= self.offset
        out *= 1.0 / self.divisor
        return out

    def _prepare(self, raw: np.ndarray) -> np.ndarray:
        out = np.asarray(raw, self.dtype)
        out = out - self.dtype.type(self.offset)
        out *= self.dtype.type(1.0 / self.divisor)
        return out
