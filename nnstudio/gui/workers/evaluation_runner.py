"""Score a trained network on demand, in a worker thread (the results panel's Evaluate).

:func:`~nnstudio.gui.workers.evaluation.evaluate_all` is a forward pass over every split; on a
big test split that is seconds of NumPy, which on the GUI thread would freeze the window.
:class:`EvaluationRunner` runs it in a ``QThread`` and hands back the
:class:`~nnstudio.gui.workers.evaluation.Results`, or one readable line when it failed.
Threads are handled as for training (:mod:`nnstudio.gui.workers.threads`): the worker ends its
own thread, and :meth:`EvaluationRunner.shutdown` joins it when the window closes.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.errors import NNStudioError
from nnstudio.gui.workers import evaluation
from nnstudio.gui.workers.threads import ThreadOwner


class _EvaluationWorker(QObject):
    """Runs one evaluation in its thread; emits exactly one of its two signals."""

    #: The :class:`~nnstudio.gui.workers.evaluation.Results`.
    finished = Signal(object)
    #: A readable one-line message.
    failed = Signal(str)

    def __init__(self, network: Any, prepared: Any, loss: str):
        super().__init__()
        self.network, self.prepared, self.loss = network, prepared, loss
        self._on_done: Callable[[], None] | None = None

    @Slot()
    def run(self) -> None:
        try:
            results = evaluation.evaluate_all(self.network, self.prepared, self.loss)
        except NNStudioError as e:
            self.failed.emit(one_line(str(e)))
        except MemoryError:
            self.failed.emit("not enough memory to score every split at once")
        except Exception as e:  # a bug: say what, keep the trace for the log
            traceback.print_exc()
            self.failed.emit(one_line(f"evaluation failed unexpectedly: {type(e).__name__}: {e}"))
        else:
            self.finished.emit(results)
        finally:
            if self._on_done is not None:
                self._on_done()


class EvaluationRunner(ThreadOwner):
    """One evaluation at a time, off the GUI thread; its signals arrive on the GUI thread."""

    #: An evaluation started (True) or ended, either way (False).
    busy_changed = Signal(bool)
    #: The scores: ``(results, network)`` — the network they belong to.
    finished = Signal(object, object)
    # ``failed`` (one readable line) comes from ThreadOwner.

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def start(self, network: Any, prepared: Any, loss: str) -> bool:
        """Score ``network`` on every split of ``prepared``; False while one still runs."""
        if self.busy:
            return False
        worker = _EvaluationWorker(network, prepared, loss)
        thread = self._launch(worker, "nnstudio-evaluation")
        worker.finished.connect(self._relay_finished)
        worker.failed.connect(self._relay_failed)
        self.busy_changed.emit(True)
        thread.start()
        return True

    def shutdown(self) -> None:
        """Wait for a running evaluation and drop its result (the window is closing)."""
        self.worker = None
        self._join_all()
        self.thread = None

    # -- relays (GUI thread) ------------------------------------------------------------------
    @Slot(object)
    def _relay_finished(self, results: Any) -> None:
        worker = self.sender()
        # After shutdown() a late signal finds no current worker: dropped, as intended.
        if worker is not None and worker is self.worker:
            self._retire()
            self.finished.emit(results, worker.network)

    def _retire(self) -> None:
        super()._retire()
        self.busy_changed.emit(False)


def one_line(message: str) -> str:
    """``message`` on one line (a dialog or banner shows a sentence, not a block)."""
    return " ".join(message.split())
