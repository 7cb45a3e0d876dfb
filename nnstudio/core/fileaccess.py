"""Opening a file a user named: every way it can fail, as one sentence naming the file.

``Path.exists()`` itself raises for a 5,000-character name (``ENAMETOOLONG``), and
``expanduser`` for ``~nosuchuser``; these helpers turn such conditions into the caller's
:class:`~nnstudio.core.errors.NNStudioError` subclass instead of an internal error.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from nnstudio.core.errors import DataError, NNStudioError

_REASONS = {
    errno.ENOENT: "no such file",
    errno.ENOTDIR: "no such file (a part of the path is not a folder)",
    errno.EACCES: "cannot be read (permission denied)",
    errno.EPERM: "cannot be read (permission denied)",
    errno.ELOOP: "cannot be read (too many symbolic links)",
    errno.ENAMETOOLONG: "cannot be opened: the file name is too long",
}


def os_error_reason(e: OSError) -> str:
    """A short reason for an ``OSError`` (``"no such file"``, ``"disk full"``...)."""
    if e.errno in _REASONS:
        return _REASONS[e.errno]
    if e.errno == errno.ENOSPC:
        return "the disk is full"
    if e.errno == errno.EROFS:
        return "the file system is read-only"
    return f"cannot be read ({e.strerror or e})"


def shorten(path: str | os.PathLike, limit: int = 120) -> str:
    """``path`` for a message: very long names are cut in the middle."""
    text = str(path)
    return text if len(text) <= limit else f"{text[:60]}…{text[-50:]} ({len(text):,} characters)"


def check_readable(path: str | os.PathLike, error: type[NNStudioError] = DataError,
                   what: str = "a file") -> os.stat_result:
    """``stat`` of an existing regular file, or ``error`` saying why it cannot be read."""
    where = shorten(path)
    if "\0" in str(path):
        raise error("is not a usable file name (it holds a NUL character)", where)
    try:
        st = os.stat(path)
    except OSError as e:
        raise error(os_error_reason(e), where) from None
    except ValueError as e:  # e.g. embedded NUL on some platforms
        raise error(f"is not a usable file name ({e})", where) from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"is a folder, not {what}", where)
    if not stat.S_ISREG(st.st_mode):
        raise error(f"is not a regular file, not {what}", where)
    return st


def read_file_head(path: str | os.PathLike, n: int, error: type[NNStudioError] = DataError,
                   what: str = "a file") -> bytes:
    """The first ``n`` bytes of a readable regular file (see :func:`check_readable`)."""
    check_readable(path, error, what)
    try:
        with open(Path(path), "rb") as f:
            return f.read(n)
    except OSError as e:
        raise error(os_error_reason(e), shorten(path)) from None
