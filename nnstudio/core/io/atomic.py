"""Atomic writes: a file (or folder) appears complete under its name, or not at all.

A file is written to a temporary file in the destination's folder, flushed and fsynced, then
renamed over the destination with :func:`os.replace` (atomic on POSIX and Windows within one
file system). On any error the temporary file is removed and an existing destination is left
untouched. A folder is built in a temporary folder beside the destination and renamed in.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the ``with`` block succeeds.

    Parameters
    ----------
    path:
        The destination. Its folder must exist.
    mode:
        ``"w"`` (text) or ``"wb"`` (bytes).
    encoding:
        Text encoding (ignored for bytes).

    Examples
    --------
    >>> with atomic_open("out.json") as f:     # doctest: +SKIP
    ...     f.write("{}")
    """
    if mode not in ("w", "wb"):
        raise ValueError("mode must be 'w' or 'wb'")
    dest = Path(path)
    folder = dest.parent if str(dest.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=folder)
    tmp_path = Path(tmp)
    try:
        kwargs = {"encoding": encoding, "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _copy_mode(dest, tmp_path)
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise
    _fsync_dir(folder)


def _umask() -> int:
    """The process's umask (read by setting it, then putting it back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _copy_mode(dest: Path, tmp: Path) -> None:
    """Give the new file the old file's permissions, or the usual ones for a new file."""
    try:
        mode = dest.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w") as f:
        f.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as f:
        f.write(data)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Build a folder in a temporary folder that becomes ``path`` when the block succeeds.

    An existing ``path`` is replaced only after the new folder is complete (it is moved aside,
    the new one renamed in, then the old one deleted); on any error the temporary folder is
    removed and ``path`` is untouched. ``path`` must not be an existing file.
    """
    dest = Path(path)
    folder = dest.parent if str(dest.parent) else Path(".")
    if dest.exists() and not dest.is_dir():
        raise FileExistsError(f"{dest} exists and is not a folder")
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=folder))
    # mkdtemp makes it 0700; the finished folder gets what any new folder gets (the umask).
    with contextlib.suppress(OSError):
        os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        old = None
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=folder))
            os.replace(dest, old / "x")  # rename, never copy
        try:
            os.replace(tmp, dest)
        except BaseException:
            if old is not None:
                os.replace(old / "x", dest)
                shutil.rmtree(old, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(folder)

