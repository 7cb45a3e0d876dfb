"""The Monitor panel's worker-thread jobs: a comparison, an import of outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.errors import NNStudioError
from nnstudio.gui.workers.threads import ThreadOwner


class MonitorWorker(QObject):
    """Reads the source and compares it with the reference, in a worker thread."""

    #: The report dict.
    done = Signal(object)
    #: One readable line.
    failed = Signal(str)

    def __init__(self, model: Any, kind: str, path: str, labels: str | None,
                 thresholds: Any):
        super().__init__()
        self.args = (model, kind, path, labels, thresholds)
        self._on_done = None

    @Slot()
    def run(self) -> None:
        from nnstudio.core.monitor import from_log, from_table, monitor
        from nnstudio.core.serve import fingerprint

        model, kind, path, labels, thresholds = self.args
        try:
            fp = fingerprint(model)
            current = from_log(model, path, fp) if kind == "log" else \
                from_table(model, path, labels)
            self.done.emit(monitor(model, current, None, thresholds, fp))
        except NNStudioError as e:
            self.failed.emit(str(e))
        except MemoryError:
            self.failed.emit("not enough memory to read this source")
        except Exception as e:  # a bug: one line, the window stays
            self.failed.emit(f"internal error ({type(e).__name__}: {e})")
        finally:
            if self._on_done is not None:
                self._on_done()


class OutcomesWorker(QObject):
    """Imports a CSV of request ids and true outcomes into a prediction log (worker thread)."""

    #: ``{"recorded": n, "unknown": n}``.
    done = Signal(object)
    #: One readable line.
    failed = Signal(str)

    def __init__(self, log_path: str, csv_path: str):
        super().__init__()
        self.paths = (log_path, csv_path)
        self._on_done = None

    @Slot()
    def run(self) -> None:
        from nnstudio.core.serve.log import PredictionLog, connect, read_outcomes_csv

        log_path, csv_path = self.paths
        try:
            connect(log_path).close()  # a clear error for a file that is not a log
            items = read_outcomes_csv(csv_path)
            log = PredictionLog(log_path)
            try:
                recorded, unknown = log.add_outcomes(items, source=f"csv:{Path(csv_path).name}")
            finally:
                log.close()
            self.done.emit({"recorded": recorded, "unknown": len(unknown)})
        except NNStudioError as e:
            self.failed.emit(str(e))
        except Exception as e:  # a bug: one line, the window stays
            self.failed.emit(f"internal error ({type(e).__name__}: {e})")
        finally:
            if self._on_done is not None:
                self._on_done()


class MonitorRunner(ThreadOwner):
    """One monitoring job at a time; a refresh asked for meanwhile runs after it."""

    #: A report arrived (dict).
    finished = Signal(object)

    def start(self, worker: Any) -> None:
        worker.done.connect(self._relay_done)
        worker.failed.connect(self._relay_failed)
        self._launch(worker, "monitor").start()

    @property
    def busy(self) -> bool:
        return self.thread is not None

    @Slot(object)
    def _relay_done(self, report: object) -> None:
        if self.sender() is self.worker:
            self._retire()
            self.finished.emit(report)

    def shutdown(self) -> None:
        self._join_all()
