"""A decode-once cache of media samples, memory-mapped (images as uint8, spectrograms float32).

Decoding 60,000 PNGs takes tens of seconds; reading them back from one flat file takes a
fraction of a second, and a memory map lets training read only the rows of each batch (the
operating system pages them in and out; the whole set is never copied into memory).

Layout, in the cache folder (see :func:`cache_dir`)::

    <key>.bin    raw array (N, *sample_shape) of dtype, C order
    <key>.files.npy  int64 (N, 3): size, mtime_ns and ok (0/1) of each file when decoded
    <key>.json   {"version", "shape", "dtype", "reasons": {row: why it was skipped}}

``key`` hashes the decoding options and the ordered file list: other options or another set of
files is another cache. When a file changed since it was decoded (size or modification time),
only its row is decoded again. Both files are replaced atomically (temporary name, rename), so
an interrupted build leaves no half-valid cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nnstudio.core.errors import NNStudioError

from .images import SkipFile
from .npyfile import DAMAGED

VERSION = 2


class DecodeCancelled(NNStudioError):  # noqa: N818 (a user's choice, not an error)
    """The user cancelled decoding (nothing is left half-written)."""

    def __init__(self) -> None:
        super().__init__("decoding was cancelled")


def cache_dir(near: str | Path | None = None) -> Path:
    """Where caches go: ``$NNSTUDIO_CACHE_DIR``, else the user's cache folder
    (``$XDG_CACHE_HOME`` or ``~/.cache``)``/nnstudio/media``; beside the data
    (``<data>/.nnstudio-cache``) when that cannot be created."""
    env = os.environ.get("NNSTUDIO_CACHE_DIR")
    candidates = [Path(env)] if env else []
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidates.append(Path(base) / "nnstudio" / "media")
    if near is not None:
        p = Path(near)
        candidates.append((p if p.is_dir() else p.parent) / ".nnstudio-cache")
    for c in candidates:
        try:
            c.mkdir(parents=True, exist_ok=True)
            if os.access(c, os.W_OK):
                return c
        except OSError:
            continue
    return Path(tempfile.gettempdir())


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
        return int(st.st_size), int(st.st_mtime_ns)
    except OSError:
        return (-1, -1)


class MediaCache:
    """Decoded samples of ``files``, one row each, memory-mapped read-only.

    Parameters
    ----------
    files : list of str
    sample_shape : tuple
        Shape of one decoded sample, e.g. ``(1, 28, 28)``.
    dtype : numpy dtype
        ``uint8`` for images, ``float32`` for spectrograms.
    options : dict
        Everything that changes the decoded values (size, colour, filter, rates, ...).
    decode : callable(path) -> ndarray of ``sample_shape``
        Raises :class:`SkipFile` with the reason for an unusable file.
    folder : Path, optional
        Cache folder (default :func:`cache_dir`).

    After :meth:`load`: ``array`` (N, *sample_shape) (rows of skipped files are zeros), ``ok``
    bool (N,), ``reasons`` {row: reason}, ``decoded`` (how many files were decoded now; 0 for
    a complete cache hit).
    """

    def __init__(self, files: list[str], sample_shape: tuple[int, ...], dtype,
                 options: dict, decode: Callable[[str], np.ndarray],
                 folder: str | Path | None = None):
        self.files = list(files)
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.dtype = np.dtype(dtype)
        self.decode = decode
        h = hashlib.sha256(json.dumps({"v": VERSION, "options": options,
                                       "shape": self.sample_shape, "dtype": self.dtype.str},
                                      sort_keys=True).encode())
        for f in self.files:
            h.update(f.encode("utf-8", "surrogateescape") + b"\0")
        self.key = h.hexdigest()[:32]
        self.folder = Path(folder) if folder is not None else cache_dir(
            self.files[0] if self.files else None)
        self.bin_path = self.folder / f"{self.key}.bin"
        self.json_path = self.folder / f"{self.key}.json"
        self.table_path = self.folder / f"{self.key}.files.npy"
        self.array: np.ndarray | None = None
        self.ok = np.zeros(len(self.files), bool)
        self.reasons: dict[int, str] = {}
        self.decoded = 0

    # ------------------------------------------------------------------ public
    def load(self, progress: Callable[[int, int], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> MediaCache:
        """Open the cache, decoding what is missing or changed; returns ``self``.

        ``progress(done, total)`` is called now and then; ``cancelled()`` returning True stops
        with :class:`DecodeCancelled` (a partial first build is discarded).
        """
        n = len(self.files)
        stats = np.array([_stat(f) for f in self.files], np.int64).reshape(n, 2)
        index = self._read_index()
        if index is None:
            todo = list(range(n))
            table = np.zeros((n, 3), np.int64)  # size, mtime_ns, ok — per file
            table[:, :2] = stats
            reasons: dict[int, str] = {}
            fresh = True
        else:
            table, reasons = index
            todo = np.flatnonzero((table[:, :2] != stats).any(axis=1)).tolist()
            fresh = False
        if todo:
            self._decode_rows(todo, table, stats, reasons, fresh, progress, cancelled)
        elif progress is not None:
            progress(n, n)
        self.decoded = len(todo)
        self.ok = table[:, 2].astype(bool)
        self.reasons = reasons
        self.array = self._map("r")
        return self

    # ------------------------------------------------------------------ internals
    def _read_index(self) -> tuple[np.ndarray, dict[int, str]] | None:
        """``(table (N, 3) int64, reasons)`` of a valid cache, else None."""
        try:
            index = json.loads(self.json_path.read_text("utf-8"))
            table = np.load(self.table_path, allow_pickle=False)
            if (index.get("version") != VERSION
                    or tuple(index["shape"]) != (len(self.files), *self.sample_shape)
                    or index["dtype"] != self.dtype.str
                    or table.shape != (len(self.files), 3) or table.dtype != np.int64
                    or self.bin_path.stat().st_size != self._nbytes()):
                return None
            return table, {int(k): v for k, v in index["reasons"].items()}
        except (*DAMAGED, KeyError):  # a damaged cache is rebuilt, not an error
            return None

    def _nbytes(self) -> int:
        return len(self.files) * int(np.prod(self.sample_shape)) * self.dtype.itemsize

    def _map(self, mode: str, path: Path | None = None) -> np.ndarray:
        shape = (len(self.files), *self.sample_shape)
        if len(self.files) == 0 or self._nbytes() == 0:
            return np.zeros(shape, self.dtype)
        return np.memmap(path or self.bin_path, self.dtype, mode, shape=shape)

    def _decode_rows(self, todo, table, stats, reasons, fresh, progress, cancelled) -> None:
        if fresh:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.key}.", suffix=".bin", dir=self.folder)
            os.close(fd)
            with open(tmp, "wb") as f:
                f.truncate(self._nbytes())
            target = Path(tmp)
        else:
            target = self.bin_path
        try:
            out = self._map("r+", target)
            total = len(todo)
            for done, i in enumerate(todo):
                if cancelled is not None and done % 16 == 0 and cancelled():
                    raise DecodeCancelled()
                if progress is not None and done % 64 == 0:
                    progress(done, total)
                path = self.files[i]
                try:
                    sample = self.decode(path)
                    if sample.shape != self.sample_shape:
                        raise SkipFile(f"decoded to shape {sample.shape}, expected "
                                       f"{self.sample_shape}")
                    out[i] = sample
                    ok = True
                    reasons.pop(i, None)
                except SkipFile as e:
                    out[i] = 0
                    ok = False
                    reasons[i] = str(e)
                table[i] = (stats[i, 0], stats[i, 1], ok)
            if isinstance(out, np.memmap):
                out.flush()
            del out
            if fresh:
                os.replace(target, self.bin_path)
            self._write_index(table, reasons)
            if progress is not None:
                progress(total, total)
        except BaseException:
            if fresh:
                Path(target).unlink(missing_ok=True)
            elif not isinstance(sys_exc(), DecodeCancelled):
                self.json_path.unlink(missing_ok=True)
            else:
                # Rows decoded before the cancel are valid; keep the index in step with them.
                self._write_index(table, reasons)
            raise

    def _write_index(self, table: np.ndarray, reasons: dict[int, str]) -> None:
        """The per-file table (.npy), then the JSON header: each replaced atomically."""
        fd, tmp = tempfile.mkstemp(prefix=f".{self.key}.", suffix=".npy", dir=self.folder)
        with os.fdopen(fd, "wb") as f:
            np.save(f, table, allow_pickle=False)
        os.replace(tmp, self.table_path)
        text = json.dumps({"version": VERSION, "shape": [len(self.files), *self.sample_shape],
                           "dtype": self.dtype.str,
                           "reasons": {str(k): v for k, v in reasons.items()}})
        fd, tmp = tempfile.mkstemp(prefix=f".{self.key}.", suffix=".json", dir=self.folder)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, self.json_path)


def sys_exc() -> BaseException | None:
    import sys

    return sys.exc_info()[1]
