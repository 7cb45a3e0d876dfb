"""File ▸ Import ONNX… and File ▸ Import Run…: models from elsewhere come in.

* **Import ONNX…** reads an ``.onnx`` file (:func:`nnstudio.core.io.onnx_import.import_onnx`),
  asks where to save the project, writes it with the weights as its first run and opens it:
  the network on the canvas, laid out left to right, and the model current.
* **Import Run…** reads the output folder of an exported PyTorch project's ``train.py``
  (:func:`nnstudio.core.io.run_import.read_run`): its weights and curves become a new run of
  the open project (kind ``import``) and the current model, which the Runs, Results, Predict
  and Export panels then show like any other.

Both read files in a worker thread (an ONNX graph or a data set may take a while) behind a
progress dialog whose Cancel discards the result; a failure is one readable message.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QProgressDialog

from nnstudio.core.errors import NNStudioError
from nnstudio.gui.workers.threads import ThreadOwner


class _Job(QObject):
    """Runs ``fn()`` in the worker thread; ``done(result)`` or ``failed(message)``."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any]):
        super().__init__()
        self.fn = fn
        self._on_done: Callable[[], None] = lambda: None

    @Slot()
    def run(self) -> None:
        try:
            self.done.emit(self.fn())
        except NNStudioError as e:
            self.failed.emit(str(e))
        except Exception as e:  # a bug: still one line, never a frozen window
            self.failed.emit(f"{type(e).__name__}: {e}")
        finally:
            self._on_done()


class ImportRunner(ThreadOwner):
    """One import at a time, off the GUI thread."""

    #: The import finished: its result.
    finished = Signal(object)

    def start(self, fn: Callable[[], Any]) -> None:
        job = _Job(fn)
        job.done.connect(self._relay_done)
        job.failed.connect(self._relay_failed)
        self._launch(job, "nnstudio-import").start()

    @Slot(object)
    def _relay_done(self, result: Any) -> None:
        if self.sender() is self.worker:
            self._retire()
            self.finished.emit(result)

    def cancel(self) -> None:
        """Forget the running job: its result, when it comes, is dropped."""
        self._retire()

    def shutdown(self) -> None:
        self._join_all()


class Interop(QObject):
    """The import actions of one main window."""

    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.runner = ImportRunner(self)
        self.runner.failed.connect(self._failed)
        self.runner.finished.connect(self._finished)
        self._then: Callable[[Any], None] | None = None
        self._progress: QProgressDialog | None = None
        self.import_onnx = QAction("Import &ONNX…", window)
        self.import_onnx.setToolTip("Build a network with weights from an ONNX file")
        self.import_onnx.triggered.connect(self.ask_onnx)
        self.import_run = QAction("Import &Run…", window)
        self.import_run.setToolTip("Bring back what an exported PyTorch project trained")
        self.import_run.triggered.connect(self.ask_run)
        menu = getattr(window, "menus", {}).get("file")
        if menu is not None:
            quit_action = getattr(getattr(window, "actions", None), "quit", None)
            anchor = quit_action if quit_action in menu.actions() else None
            for action in (self.import_onnx, self.import_run):
                if anchor is not None:
                    menu.insertAction(anchor, action)
                else:
                    menu.addAction(action)
            if anchor is not None:
                menu.insertSeparator(anchor)

    # -- ONNX ----------------------------------------------------------------------------------
    def ask_onnx(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import ONNX model", str(Path.home()),
                                              "ONNX model (*.onnx)")
        if path:
            self.start_onnx(path)

    def start_onnx(self, path: str | Path, project_path: str | Path | None = None) -> None:
        """Import ``path``; save the project to ``project_path`` (asked when None), open it."""
        from nnstudio.core.io.onnx_import import import_onnx

        def then(model: Any) -> None:
            target = project_path
            if target is None and getattr(self.window, "interactive", True):
                target, _ = QFileDialog.getSaveFileName(
                    self.window, "Save the imported network as",
                    str(Path(path).with_suffix(".nnsproj")), "nnstudio project (*.nnsproj)")
            if not target:
                return
            self.save_and_open(model, Path(target), path)

        self._run(lambda: import_onnx(path), then, f"Reading {Path(path).name}…")

    def save_and_open(self, model: Any, target: Path, source: str | Path = "") -> None:
        from nnstudio.core.io.onnx_import import save_imported

        try:
            proj = save_imported(model, target, Path(str(source)).name)
        except NNStudioError as e:
            self._failed(str(e))
            return
        opened = self.window.open_path(proj, ask=True) if hasattr(self.window, "open_path") \
            else False
        document = getattr(self.window, "document", None)
        if opened and document is not None:
            # No data comes with it: the shapes are the model's (opening a project without a
            # dataset would otherwise keep the previous data's input shape).
            document.set_input_shape(tuple(model.input_shape))
        self._message(f"Imported {len(model.spec.nodes)} layers into {proj.name} (the weights "
                      "are its current run)" + ("" if opened else "; it could not be opened"))

    # -- a run of an exported PyTorch project ---------------------------------------------------
    def ask_run(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "The output folder of train.py (or the exported project)",
            str(Path.home()))
        if folder:
            self.start_run(folder)

    def start_run(self, folder: str | Path) -> None:
        """Read the run in ``folder``; it becomes a new, current run of the open project."""
        from nnstudio.core.io.run_import import read_run

        session = getattr(self.window, "session", None)
        prepared = getattr(session, "prepared", None)

        def read() -> Any:
            model = read_run(folder, prepared)
            # the data fingerprint is hashed in the background when data loads: wait here
            data_fp = session.data_fingerprint() if prepared is not None else ""
            return model, data_fp

        self._run(read, lambda result: self.use_model(*result), f"Reading {Path(folder).name}…")

    def use_model(self, model: Any, data_fp: str = "") -> None:
        """Add ``model`` as an imported run of the session's project (the current model)."""
        from nnstudio.core.io.run_import import import_as_run, project_of

        session = self.window.session
        document = getattr(self.window, "document", None)
        design = document.to_network_dict() if document is not None else None
        try:
            run = import_as_run(session.project, model, data_fp, network=design)
        except NNStudioError:
            source = None
            imported = model.summary.get("imported_from")
            if imported:
                try:
                    source = project_of(imported)
                except NNStudioError:
                    source = None
            hint = f" Open {source} first." if source is not None else ""
            self._failed("This run was trained with another network than the open project's."
                         + hint)
            return
        session.add_run(run, make_current=True)
        test = model.summary.get("metrics", {}).get("test", {})
        shown = ", ".join(f"{k} {v:.4g}" for k, v in test.items())
        self._message(f"Imported a run of {len(model.history.get('loss', []))} epochs trained "
                      f"with PyTorch as {run.name!r}" + (f" (test: {shown})" if shown else ""))

    # -- plumbing -------------------------------------------------------------------------------
    def _run(self, fn: Callable[[], Any], then: Callable[[Any], None], text: str) -> None:
        self._then = then
        if getattr(self.window, "interactive", True):
            self._progress = QProgressDialog(text, "Cancel", 0, 0, self.window)
            self._progress.setWindowModality(Qt.WindowModality.WindowModal)
            self._progress.setMinimumDuration(300)
            self._progress.canceled.connect(self._cancel)
        self.runner.start(fn)

    @Slot()
    def _cancel(self) -> None:
        self._then = None
        self.runner.cancel()
        self._close_progress()

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.reset()
            self._progress.deleteLater()
            self._progress = None

    @Slot(object)
    def _finished(self, result: Any) -> None:
        self._close_progress()
        then, self._then = self._then, None
        if then is not None:
            then(result)

    @Slot(str)
    def _failed(self, message: str) -> None:
        self._close_progress()
        self._then = None
        show = getattr(self.window, "show_error", None)
        if show is not None:
            show("Import failed", message)
        self.last_error = message

    def _message(self, text: str) -> None:
        self.last_message = text
        show = getattr(self.window, "show_message", None)
        if show is not None:
            show(text, 10000)


def install(window: Any) -> Interop:
    """Add File ▸ Import ONNX… and Import Run… to ``window`` (also ``window.interop``)."""
    interop = Interop(window)
    window.interop = interop
    return interop
