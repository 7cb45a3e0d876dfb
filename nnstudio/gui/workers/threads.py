"""One worker thread at a time, owned from the GUI thread: what the runners share.

A runner (training, evaluation) starts a ``QObject`` worker in a new ``QThread``. The worker
ends its own thread when its ``run()`` returns — ``quit`` called from the worker's thread,
never through a signal queued to the GUI thread — so :meth:`ThreadOwner._join_all` may
``wait()`` from the GUI thread without dead-locking. A run the GUI is done with (its last
signal was relayed) is *retired*: its thread may still be winding down, and is reaped (waited
for and dropped) when it finishes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot


class ThreadOwner(QObject):
    """Base of the runners: ``thread``/``worker`` of the current job, retired ones kept until
    their threads finish.

    A worker has a ``run()`` slot and an ``_on_done`` attribute it calls when ``run()``
    returns.
    """

    #: The job failed: one readable line (relayed from the current worker's ``failed``).
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.thread: QThread | None = None
        self.worker: Any = None
        self._old: list[tuple[QThread, Any]] = []

    def _launch(self, worker: Any, name: str) -> QThread:
        """Put ``worker`` in a new thread (not started yet) and make it the current job."""
        thread = QThread()
        thread.setObjectName(name)
        worker.moveToThread(thread)
        worker._on_done = thread.quit
        thread.started.connect(worker.run)
        thread.finished.connect(self._reap)
        self.thread, self.worker = thread, worker
        return thread

    @Slot(str)
    def _relay_failed(self, message: str) -> None:
        if self.worker is not None and self.sender() is self.worker:
            self._retire()
            self.failed.emit(message)

    def _retire(self) -> None:
        """The current job is over for the GUI; its thread may still be winding down."""
        if self.thread is not None and self.worker is not None:
            self._old.append((self.thread, self.worker))
        self.thread, self.worker = None, None

    def _join_all(self) -> None:
        """Wait for every thread, the current one included (the window is closing)."""
        for thread in [t for t, _ in self._old] + ([self.thread] if self.thread else []):
            thread.quit()
            thread.wait()

    @Slot()
    def _reap(self) -> None:
        """A thread finished: drop our references so Qt can delete it."""
        thread = self.sender()
        for pair in list(self._old):
            if pair[0] is thread:
                pair[0].wait()  # it is past run(): returns at once
                self._old.remove(pair)


class PythonThreadJob(QObject):
    """One job at a time in a plain Python thread (the wizards' dataset builders): ``_spawn``
    waits for the previous job, then starts ``run``; :attr:`busy` and :meth:`join` for the
    page that owns it. The job reports through the subclass's signals (queued to the GUI
    thread)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: threading.Thread | None = None

    def _spawn(self, run: Callable[[], None], name: str) -> None:
        self.join()
        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
