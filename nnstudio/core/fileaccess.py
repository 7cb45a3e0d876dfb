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
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ELOOP: "too many symbolic links",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "is a folder",
}


def os_error_reason(e: OSError, doing: str = "read") -> str:
    """``"cannot be read: permission denied"``, ``"cannot be written: the disk is full"``."""
    if e.errno == errno.ENOENT and doing == "read":
        return "no such file"
    reason = _REASONS.get(e.errno) or (e.strerror or str(e) or type(e).__name__)
    verb = {"read": "read", "write": "written", "use": "used"}.get(doing, doing)
    if e.errno == errno.ENAMETOOLONG:
        verb = "opened"
    return f"cannot be {verb}: {reason}"


def shorten(path: str | os.PathLike, limit: int = 120) -> str:
    """``path`` for a message: very long names are cut in the middle."""
    text = str(path)
    return text if len(text) <= limit else f"{text[:60]}…{text[-50:]} ({len(text):,} characters)"


def check_readable(path: str | os.PathLike, error: type[NNStudioError] = DataError,
                   what: str = "a file", missing: str = "file not found") -> os.stat_result:
    """``stat`` of an existing regular file, or ``error`` saying why it cannot be read
    (``missing`` is the words for a file that does not exist)."""
    where = shorten(path)
    if "\0" in str(path):
        raise error("is not a usable file name (it holds a NUL character)", where)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(missing, where) from None
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
                   what: str = "a file", missing: str = "file not found") -> bytes:
    """The first ``n`` bytes of a readable regular file (see :func:`check_readable`)."""
    check_readable(path, error, what, missing)
    try:
        with open(Path(path), "rb") as f:
            return f.read(n)
    except OSError as e:
        raise error(os_error_reason(e), shorten(path)) from None


def is_regular_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an existing regular file; never raises (a name too long, a NUL,
    a permission problem all mean "no"), unlike ``Path.is_file`` on Python 3.11."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def expand_user(text: str) -> Path:
    """``Path(text).expanduser()``, or the path as typed when ``~name`` names no user (which
    makes ``expanduser`` raise) — for fields a user is still typing in."""
    try:
        return Path(text).expanduser()
    except RuntimeError:
        return Path(text)
