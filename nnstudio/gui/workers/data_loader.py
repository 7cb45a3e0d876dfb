"""Load a project's data off the GUI thread.

Reading and preparing a data set (a 20 MB CSV, 60,000 images) takes seconds of parsing and
NumPy; on the GUI thread that would freeze the window right after File ▸ Open.
:class:`DataLoader` runs :func:`nnstudio.core.data.build_dataset` in a daemon thread and hands
the ``PreparedData`` (or one readable line) back through queued signals. Every load gets a
token; :meth:`DataLoader.cancel` (the banner's Cancel, another Open) forgets the token, so a
late result is dropped instead of landing in another project.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.errors import NNStudioError

_tokens = itertools.count(1)


class DataLoader(QObject):
    """One project's data at a time, built in a background thread."""

    #: The data is ready: ``(token, PreparedData)``.
    loaded = Signal(int, object)
    #: It could not be loaded: ``(token, message)``.
    failed = Signal(int, str)
    #: A load started (True) or ended, whichever way (False).
    busy_changed = Signal(bool)
    # Emitted from the worker thread; delivered on the GUI thread (queued).
    _done = Signal(int, object, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.token = 0
        self._done.connect(self._on_done)

    @property
    def busy(self) -> bool:
        return self.token != 0

    def start(self, spec: Any, base_dir: str | Path | None, **options: Any) -> int:
        """Build ``spec``'s data in a thread; returns the load's token. ``options`` go to
        ``build_dataset`` (``outputs``, ``several_inputs``: data prepared for the design's
        Output layers and Inputs)."""
        token = next(_tokens)
        self.token = token
        threading.Thread(target=self._run, args=(token, spec, base_dir, options),
                         name="nnstudio-data", daemon=True).start()
        self.busy_changed.emit(True)
        return token

    def cancel(self) -> None:
        """Forget the load going on: its result will be dropped."""
        if self.token:
            self.token = 0
            self.busy_changed.emit(False)

    def _run(self, token: int, spec: Any, base_dir: Any, options: dict) -> None:
        from nnstudio.core.data import build_dataset

        prepared, error = None, ""
        try:
            # Images and sounds stop decoding once this load is cancelled (tables ignore it).
            prepared = build_dataset(spec, base_dir, cancelled=lambda: self.token != token,
                                     **options)
        except NNStudioError as e:
            error = str(e)
        except MemoryError:
            error = "not enough memory to load this data"
        except Exception as e:  # a bug: one line for the user, never a traceback
            error = f"the data could not be loaded ({type(e).__name__}: {e})"
        self._done.emit(token, prepared, error)

    @Slot(int, object, str)
    def _on_done(self, token: int, prepared: Any, error: str) -> None:
        if token != self.token:
            return  # cancelled, or another project's
        self.token = 0
        self.busy_changed.emit(False)
        if error:
            self.failed.emit(token, error)
        else:
            self.loaded.emit(token, prepared)
