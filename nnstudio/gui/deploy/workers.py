"""The Monitor panel's worker-thread jobs: a comparison, an import of outcomes."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.errors import NNStudioError
from nnstudio.gui.workers.threads import ThreadOwner


class _Job(QObject):
    """A job of the Monitor panel in a worker thread: :meth:`work` returns what ``done``
    carries; a problem becomes one readable ``failed`` line."""

    #: What :meth:`work` returned.
    done = Signal(object)
    #: One readable line.
    failed = Signal(str)
    #: What the job does, for a message about a bug ("reading the source").
    doing = ""

    def __init__(self) -> None:
        super().__init__()
        self._on_done = None

    def work(self) -> Any:
        raise NotImplementedError

    @Slot()
    def run(self) -> None:
        try:
            self.done.emit(self.work())
        except NNStudioError as e:
            self.failed.emit(str(e))
        except MemoryError:
            self.failed.emit(f"not enough memory for {self.doing}")
        except Exception as e:  # a bug: one line in the window, the trace for the log
            traceback.print_exc()
            self.failed.emit(f"{self.doing} failed unexpectedly ({type(e).__name__}: {e})")
        finally:
            if self._on_done is not None:
                self._on_done()


class MonitorWorker(_Job):
    """Reads the source and compares it with the reference: ``done`` carries the report."""

    doing = "reading the source"

    def __init__(self, model: Any, kind: str, path: str, labels: str | None,
                 thresholds: Any):
        super().__init__()
        self.args = (model, kind, path, labels, thresholds)

    def work(self) -> dict:
        from nnstudio.core.monitor import from_log, from_table, monitor
        from nnstudio.core.serve import fingerprint

        model, kind, path, labels, thresholds = self.args
        fp = fingerprint(model)
        current = from_log(model, path, fp) if kind == "log" else \
            from_table(model, path, labels)
        return monitor(model, current, None, thresholds, fp)


class OutcomesWorker(_Job):
    """Imports a CSV of request ids and true outcomes into a prediction log: ``done``
    carries ``{"recorded": n, "unknown": n}``."""

    doing = "importing the outcomes"

    def __init__(self, log_path: str, csv_path: str):
        super().__init__()
        self.paths = (log_path, csv_path)

    def work(self) -> dict:
        from nnstudio.core.serve.log import PredictionLog, connect, read_outcomes_csv

        log_path, csv_path = self.paths
        connect(log_path).close()  # a clear error for a file that is not a log
        items = read_outcomes_csv(csv_path)
        log = PredictionLog(log_path)
        try:
            recorded, unknown = log.add_outcomes(items, source=f"csv:{Path(csv_path).name}")
        finally:
            log.close()
        return {"recorded": recorded, "unknown": len(unknown)}


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
