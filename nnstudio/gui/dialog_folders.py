"""Where a file dialog starts: the folder last chosen for that kind of file, else the open
project's folder, else the home folder — never the process's working directory (what an
empty start path means to Qt; from a desktop launcher that is ``/`` or home, from a shell
wherever it stood).

``kind`` names the kind of file (``"predict"``, ``"recording"``, ``"chart"``…); the choice is
kept in the main window's settings under ``dialogs/<kind>``, across sessions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QWidget


def _main_window(widget: QWidget | None) -> Any:
    """The nearest ancestor (or the widget itself) with the app's ``settings``."""
    w: Any = widget
    while w is not None:
        if getattr(w, "settings", None) is not None and hasattr(w, "session"):
            return w
        w = w.parentWidget() if isinstance(w, QWidget) else None
    return None


def start_folder(widget: QWidget | None, kind: str) -> Path:
    """The folder a dialog for ``kind`` files opened from ``widget`` starts in."""
    window = _main_window(widget)
    candidates: list[str] = []
    if window is not None:
        candidates.append(str(window.settings.value(f"dialogs/{kind}", "") or ""))
        project = getattr(window.session.project, "path", None)
        if project:
            candidates.append(str(Path(project).parent))
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return Path.home()


def start_path(widget: QWidget | None, kind: str, name: str = "") -> str:
    """:func:`start_folder` with a file ``name`` in it (a save dialog's proposal)."""
    folder = start_folder(widget, kind)
    return str(folder / name) if name else str(folder)


def remember(widget: QWidget | None, kind: str, path: str) -> None:
    """Keep the folder of ``path`` (a chosen file, or a chosen folder itself) for ``kind``."""
    window = _main_window(widget)
    if window is None or not path:
        return
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    window.settings.setValue(f"dialogs/{kind}", str(folder.resolve()))
