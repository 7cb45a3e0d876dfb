"""The export dialog: the trained model as a model file, as ONNX, or as a NumPy folder.

Every format is written by the core (:func:`~nnstudio.core.io.model_file.save_model`,
``onnx_export.export_onnx``, ``numpy_export.export_numpy``), atomically: a failure (an
unwritable folder, a full disk) is shown in the dialog and leaves no partial file. The
writing runs in a worker thread (a PyTorch project of a large image set writes its prepared
arrays: gigabytes), the window stays usable, and Cancel stops a PyTorch export between its
steps with nothing written.
"""

from __future__ import annotations

import errno
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QEventLoop, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.errors import NNStudioError
from nnstudio.core.fileaccess import expand_user
from nnstudio.core.io.export_pytorch import Cancelled
from nnstudio.gui.dialog_folders import remember, start_folder
from nnstudio.gui.panels.workflow_widgets import Banner, FieldError
from nnstudio.gui.session import Session
from nnstudio.gui.theme import current_theme

#: format key → (title, explanation, default name, is a folder)
FORMATS = {
    "npz": ("Model file (.npz)",
            "Weights, architecture and data preparation in one file. Open it again in "
            "nnstudio or use it with `nnstudio predict`.", "model.npz", False),
    "onnx": ("ONNX (.onnx)",
             "The standard exchange format for onnxruntime, C#, Java, JavaScript…; it takes "
             "raw values (the data preparation is built into the graph).", "model.onnx",
             False),
    "numpy": ("Standalone NumPy folder",
              "predict.py and weights.npz: runs anywhere with only NumPy installed, "
              "preparation included.", "model-numpy", True),
    "pytorch": ("PyTorch project",
                "model.py, data.py, train.py and the weights: the same training on a GPU or "
                "many machines with torchrun; bring the result back with File ▸ Import Run…",
                "pytorch-project", True),
}




def base_name(filename: str) -> str:
    """``house.onnx``, ``house.npz``, ``house-numpy`` → ``house`` (the name without what the
    format adds)."""
    for ending in (".npz", ".onnx", "-numpy", "-pytorch"):
        if filename.lower().endswith(ending) and len(filename) > len(ending):
            return filename[: -len(ending)]
    return filename


def export_name(base: str, kind: str) -> str:
    """The file or folder name of an export of ``base`` as ``kind``."""
    return f"{base}-{kind}" if FORMATS[kind][3] else f"{base}.{kind}"  # a folder: house-numpy


def export_model(model, kind: str, path: str | Path, session: Session | None = None,
                 cancelled: Callable[[], bool] | None = None) -> str:
    """Write ``model`` as ``kind`` (``npz``, ``onnx``, ``numpy``, ``pytorch``) to ``path``;
    returns a one-line description of what was written. Raises NNStudioError or OSError.
    The PyTorch project takes the data and split from ``session`` when it has them;
    ``cancelled`` is asked between its steps (``export_pytorch.Cancelled`` then)."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        if parent.exists():
            raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(parent))
        raise FileNotFoundError(errno.ENOENT, "the folder does not exist", str(parent))
    if kind == "npz":
        from nnstudio.core.io.model_file import save_model

        save_model(model, path)
        return f"Saved the model to {path}."
    if kind == "onnx":
        from nnstudio.core.io.onnx_export import export_onnx

        info = export_onnx(model, path)
        opset = getattr(info, "opset", None)
        return f"Wrote {path}" + (f" (ONNX opset {opset})." if opset else ".")
    if kind == "numpy":
        if path.exists() and not path.is_dir():
            raise FileExistsError(errno.EEXIST, "is a file; NumPy export writes a folder",
                                  str(path))
        from nnstudio.core.io.numpy_export import export_numpy

        export_numpy(model, path)
        return f"Wrote the folder {path} (run: python {path / 'predict.py'} input.csv)."
    if kind == "pytorch":
        if path.exists() and not path.is_dir():
            raise FileExistsError(errno.EEXIST, "is a file; a PyTorch project is a folder",
                                  str(path))
        from nnstudio.core.io.export_pytorch import export_from_session

        export_from_session(path, model, getattr(session, "dataset_spec", None),
                            getattr(session, "prepared", None),
                            getattr(session, "run_record", None),
                            getattr(session, "project", None), cancelled)
        return f"Wrote the folder {path} (run: python {path / 'train.py'}; see its README)."
    raise ValueError(f"unknown export format {kind!r}")


def describe_error(e: BaseException, path: str | Path) -> str:
    """A readable sentence for an export failure."""
    if isinstance(e, NNStudioError):
        return str(e)
    if isinstance(e, OSError):
        if e.errno == errno.ENOSPC:
            return f"The disk is full: {path} was not written (nothing was left behind)."
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"You may not write to {Path(path).parent}: choose another folder."
        if e.errno == errno.ENOENT:
            return f"The folder {Path(path).parent} does not exist."
        if e.errno == errno.ENOTDIR:
            return f"{e.filename or Path(path).parent} is a file, not a folder."
        if e.errno == errno.EEXIST:
            return f"{path} is a file; a NumPy export needs a folder name."
        return f"Could not write {path}: {e.strerror or e}."
    return f"Could not export: {type(e).__name__}: {e}"


class ExportDialog(QDialog):
    """Choose a format and a place; Export writes it (and says what happened)."""

    #: A file or folder was written: ``(format key, path)``.
    exported = Signal(str, str)
    #: The worker thread's result (queued to the GUI thread): kind, path, message or
    #: ``None``, the exception or ``None``.
    _finished = Signal(str, str, object, object)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export the trained model")
        self.setMinimumWidth(560)
        self.session = session
        muted = current_theme().muted
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        layout = QVBoxLayout(self)
        layout.setSpacing(4)
        for key, (title, text, _, _) in FORMATS.items():
            radio = QRadioButton(title)
            radio.setObjectName(f"format_{key}")
            self.group.addButton(radio)
            self.radios[key] = radio
            note = QLabel(text)
            note.setWordWrap(True)
            note.setStyleSheet(f"color: {muted}; margin-left: 24px; margin-bottom: 8px;")
            layout.addWidget(radio)
            layout.addWidget(note)
            radio.toggled.connect(self._format_changed)
        self.path = QLineEdit()
        self.path.setObjectName("exportPath")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(QLabel("Save to"))
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        layout.addSpacing(6)
        layout.addLayout(row)
        self.error = FieldError()
        layout.addWidget(self.error)
        self.banner = Banner()
        layout.addWidget(self.banner)
        self.progress = QProgressBar()  # busy while the worker writes
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        buttons = QDialogButtonBox()
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton("Cancel", QDialogButtonBox.ButtonRole.RejectRole)
        self.cancel_button.setVisible(False)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._finished.connect(self._on_finished)
        layout.addWidget(buttons)
        # Where to write: the folder of this project's last export (remembered across
        # dialogs and sessions), else the project's own folder, else the last export's of
        # any project, else home; named after the project: an export of
        # house_price.nnsproj is house_price.onnx, not model.onnx.
        self._folder = start_folder(self, "export", per_project=True)
        project = getattr(session.project, "path", None)
        self._name = Path(project).stem if project else "model"
        self.radios["npz"].setChecked(True)

    def kind(self) -> str:
        return next(k for k, r in self.radios.items() if r.isChecked())

    def set_format(self, kind: str) -> None:
        self.radios[kind].setChecked(True)

    def _format_changed(self) -> None:
        kind = self.kind()
        current = self.path.text().strip()
        folder = Path(current).parent if current else self._folder
        name = base_name(Path(current).name) if current else self._name
        self.path.setText(str(folder / export_name(name, kind)))
        self.error.set_error(None)
        self.banner.clear()

    def _browse(self) -> None:
        kind = self.kind()
        if FORMATS[kind][3]:
            path = QFileDialog.getExistingDirectory(self, "Folder to create the export in",
                                                    str(Path(self.path.text()).parent))
            if path:
                self.path.setText(str(Path(path) / export_name(
                    base_name(Path(self.path.text()).name) or self._name, kind)))
            return
        filt = {"npz": "Model file (*.npz)", "onnx": "ONNX model (*.onnx)"}[kind]
        path, _ = QFileDialog.getSaveFileName(self, "Export", self.path.text(), filt)
        if path:
            self.path.setText(path)

    @property
    def busy(self) -> bool:
        """An export is being written."""
        return self._thread is not None

    def export(self) -> bool:
        """Write the model in the chosen format and wait for it (the event loop keeps
        running: scripts and tests); True on success (the message says where)."""
        loop = QEventLoop()
        self._finished.connect(loop.quit)  # before the worker can finish
        try:
            if not self.start_export():
                return False
            if self.busy:
                loop.exec()
        finally:
            self._finished.disconnect(loop.quit)
        return self._succeeded

    def start_export(self) -> bool:
        """Check the choices and start writing in a worker thread; False (with the reason
        shown) when it cannot start."""
        if self.busy:
            return False
        model = self.session.model
        self.error.set_error(None)
        self.banner.clear()
        self._succeeded = False
        if model is None:
            self.error.set_error("There is no trained model yet: train the network first.")
            return False
        text = self.path.text().strip()
        if not text:
            self.error.set_error("Choose where to save it.")
            return False
        kind = self.kind()
        path = expand_user(text)  # "~nosuchuser/x" stays as typed and fails readably
        if not FORMATS[kind][3] and path.suffix.lower() != "." + kind:
            path = path.with_name(path.name + "." + kind)
            self.path.setText(str(path))
        self._cancel.clear()
        self._set_running(True, kind)
        # What the worker reads of the session, taken now: the window stays usable meanwhile.
        s = self.session
        session = SimpleNamespace(dataset_spec=getattr(s, "dataset_spec", None),
                                  prepared=getattr(s, "prepared", None),
                                  run_record=getattr(s, "run_record", None),
                                  project=getattr(s, "project", None))

        def work() -> None:
            try:
                message = export_model(model, kind, path, session, self._cancel.is_set)
            except Exception as e:  # shown in the dialog (GUI thread), never raised here
                if not isinstance(e, (NNStudioError, OSError, Cancelled)):
                    traceback.print_exc()  # a bug: the dialog says what, the log where
                self._finished.emit(kind, str(path), None, e)
            else:
                self._finished.emit(kind, str(path), message, None)

        self._thread = threading.Thread(target=work, name="nnstudio-export", daemon=True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Stop the export being written (at its next step; nothing is written)."""
        if self.busy:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.banner.show_message("info", "Cancelling", "The export stops at its next "
                                     "step; nothing will be written.")

    def _set_running(self, running: bool, kind: str = "") -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running and kind == "pytorch")
        self.cancel_button.setEnabled(True)
        self.export_button.setEnabled(not running)
        self.close_button.setEnabled(not running)
        for radio in self.radios.values():
            radio.setEnabled(not running)
        self.path.setEnabled(not running)
        if running:
            self.banner.show_message("info", "Exporting", f"Writing {FORMATS[kind][0]}…")

    @Slot(str, str, object, object)
    def _on_finished(self, kind: str, path_text: str, message, error) -> None:
        if self._thread is not None:
            self._thread.join()  # past its last line: returns at once
            self._thread = None
        self._set_running(False)
        self.banner.clear()
        path = Path(path_text)
        if isinstance(error, Cancelled):
            self.banner.show_message("info", "Cancelled", "Nothing was written.")
            return
        if error is not None:
            self.error.set_error(describe_error(error, path))
            return
        self._folder = path.parent
        remember(self, "export", path.parent, per_project=True)  # a NumPy export is a folder
        self._succeeded = True
        self.banner.show_message("success", "Exported", message)
        self.exported.emit(kind, str(path))

    def reject(self) -> None:
        """Close — not while an export is being written (Cancel stops it)."""
        if self.busy:
            self.cancel()
            return
        super().reject()

    def closeEvent(self, event) -> None:
        if self.busy:
            self.cancel()
            event.ignore()
            return
        super().closeEvent(event)
