"""Never a traceback in a dialog: unexpected errors become a short message and a log entry.

:func:`install_excepthook` replaces ``sys.excepthook``: a user-caused
:class:`~nnstudio.core.errors.NNStudioError` shows its sentence; any other exception shows
one line and the promise that the design is safe, and its traceback goes to
``<AppDataLocation>/logs/nnstudio.log``.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QMessageBox, QWidget

from nnstudio.core.errors import NNStudioError

MAX_LOG_BYTES = 1_000_000


def log_path() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".nnstudio") / "logs" / "nnstudio.log"


def write_log(exc_type: type[BaseException], exc: BaseException,
              tb: TracebackType | None, path: Path | None = None) -> Path | None:
    """Append the traceback to the log file (kept under ~1 MB); returns its path."""
    path = path or log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.replace(path.with_suffix(".log.1"))
        with path.open("a", encoding="utf-8") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            f.write("".join(traceback.format_exception(exc_type, exc, tb)))
        return path
    except OSError:
        return None


def install_excepthook(parent: QWidget | None = None):
    """Install the hook; returns the previous one."""
    previous = sys.excepthook
    showing = []

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        if issubclass(exc_type, NNStudioError):
            title, text = "nnstudio", str(exc)
            logged = None
        else:
            logged = write_log(exc_type, exc, tb)
            title = "Something went wrong"
            text = (f"An unexpected error happened: {exc_type.__name__}: {_clip(str(exc))}\n\n"
                    "Your design is autosaved every minute; saving now is a good idea.")
            if logged is not None:
                text += f"\n\nDetails were written to {logged}"
        print(f"error: {text}", file=sys.stderr)
        if showing or parent is None or not getattr(parent, "interactive", True):
            return
        showing.append(True)
        try:
            QMessageBox.warning(parent, title, text)
        finally:
            showing.pop()

    sys.excepthook = hook
    return previous


def _clip(text: str, n: int = 200) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
