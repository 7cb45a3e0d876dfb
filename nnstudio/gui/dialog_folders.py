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


#: Settings keys that predate these helpers (kept, so a remembered folder is not lost).
_LEGACY_KEYS = {"export": "export/folder"}


def _keys(window: Any, kind: str, per_project: bool) -> tuple[str, str | None]:
    """``(key of the kind, key of the kind for the open project or None)``."""
    key = _LEGACY_KEYS.get(kind, f"dialogs/{kind}")
    project = getattr(window.session.project, "path", None)
    return key, (f"{key}:{Path(project).resolve()}" if per_project and project else None)


def start_folder(widget: QWidget | None, kind: str, per_project: bool = False) -> Path:
    """The folder a dialog for ``kind`` files opened from ``widget`` starts in.

    ``per_project``: the folder last chosen for ``kind`` *in this project* comes first, then
    the project's folder, then the one last chosen in any project (the export dialog: each
    project's exports go where that project's went)."""
    window = _main_window(widget)
    candidates: list[str] = []
    if window is not None:
        def remembered(key: str | None) -> str:
            return str(window.settings.value(key, "") or "") if key else ""

        key, project_key = _keys(window, kind, per_project)
        project = getattr(window.session.project, "path", None)
        here = str(Path(project).parent) if project else ""
        candidates = ([remembered(project_key), here, remembered(key)] if per_project
                      else [remembered(key), here])
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return Path.home()


def start_path(widget: QWidget | None, kind: str, name: str = "") -> str:
    """:func:`start_folder` with a file ``name`` in it (a save dialog's proposal)."""
    folder = start_folder(widget, kind)
    return str(folder / name) if name else str(folder)


def remember(widget: QWidget | None, kind: str, path: str | Path,
             per_project: bool = False) -> None:
    """Keep the folder of ``path`` (a chosen file, or a chosen folder itself) for ``kind``
    (and, ``per_project``, for ``kind`` in the open project)."""
    window = _main_window(widget)
    if window is None or not path:
        return
    p = Path(path)
    folder = str((p if p.is_dir() else p.parent).resolve())
    for key in _keys(window, kind, per_project):
        if key is not None:
            window.settings.setValue(key, folder)
