"""Crash recovery: autosave the design every minute, offer it back after a crash.

While there are unsaved changes, :class:`RecoveryManager` writes the project every
``interval_ms`` (60 s) to ``<AppDataLocation>/recovery/recovery.nnsproj`` (the folder can be
set, for tests, with the ``directory`` argument or ``NNSTUDIO_RECOVERY_DIR``). A clean save or
a clean close removes the file, so a file that is still there at start-up means the last
session ended without closing: the window offers to restore it when it is newer than the
project file it came from.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from nnstudio.core.errors import NNStudioError
from nnstudio.core.io.project import Project, run_arrays_path, save_project
from nnstudio.core.io.runs import runs_dir

if TYPE_CHECKING:
    from nnstudio.gui.main_window import MainWindow

INTERVAL_MS = 60_000
FILE_NAME = "recovery.nnsproj"
#: The project-file field that remembers where a recovered design came from.
META_KEY = "x_nnstudio_recovery"


def default_directory() -> Path:
    """``$NNSTUDIO_RECOVERY_DIR`` or ``<AppDataLocation>/recovery``."""
    env = os.environ.get("NNSTUDIO_RECOVERY_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".nnstudio") / "recovery"


class RecoveryManager(QObject):
    """Autosaves ``window``'s project while it has unsaved changes.

    Parameters
    ----------
    window:
        The main window (``is_modified``, ``current_project()``).
    directory:
        Where the recovery file lives; default :func:`default_directory`.
    interval_ms:
        Time between autosaves.
    """

    def __init__(self, window: MainWindow, directory: str | Path | None = None,
                 interval_ms: int = INTERVAL_MS):
        super().__init__(window)
        self.window = window
        self.directory = Path(directory) if directory is not None else default_directory()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.autosave)

    @property
    def path(self) -> Path:
        return self.directory / FILE_NAME

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def autosave(self) -> Path | None:
        """Write the recovery file now if there are unsaved changes (else remove it)."""
        if not self.window.is_modified:
            self.discard()
            return None
        current = self.window.current_project()
        self.window.project_about_to_save.emit(current)  # panels add their state
        source = str(Path(current.path).resolve()) if current.path else None
        snapshot = dataclasses.replace(
            current, meta={**current.meta, META_KEY: {"source": source, "time": time.time()}})
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # A copy: the project's runs keep pointing at its own files.
            save_project(snapshot, self.path, copy_only=True)
        except (NNStudioError, OSError):
            return None  # autosave must never disturb the user; the next tick tries again
        return self.path

    def discard(self) -> None:
        """Remove the recovery file and the runs' files beside it (after a clean save or
        close)."""
        for path in (self.path, run_arrays_path(self.path)):
            # Already gone, or not ours to remove: there is nothing left to recover either way.
            with contextlib.suppress(OSError):
                path.unlink()
        folder = runs_dir(self.path)
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)

    def pending(self) -> Path | None:
        """The recovery file when it should be offered: it exists and is newer than its source."""
        if not self.path.is_file():
            return None
        source = self._source()
        if (source is not None and source.is_file()
                and source.stat().st_mtime >= self.path.stat().st_mtime):
            return None
        return self.path

    def _source(self) -> Path | None:
        from nnstudio.core.io.project import read_json

        try:
            meta = read_json(self.path).get(META_KEY) or {}
        except (NNStudioError, AttributeError):
            return None
        src = meta.get("source") if isinstance(meta, dict) else None
        return Path(src) if src else None

    def load(self) -> Project:
        """The recovered project, pointing at its original file (or at none)."""
        from nnstudio.gui.files import read_project

        project = read_project(self.path)
        info = project.meta.pop(META_KEY, None) or {}
        source = info.get("source") if isinstance(info, dict) else None
        project.path = Path(source) if source else None
        return project
