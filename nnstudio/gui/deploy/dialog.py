"""File ▸ Deploy…: start and stop a local server for the session's current model.

The dialog is modeless: the server keeps running while the user works (and while the dialog
is closed); it shows the URL, a copyable ``curl`` example and a live count of requests. The
server itself is a child process (:class:`~.server_process.ServerProcess`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.errors import NNStudioError
from nnstudio.gui.session import Session

from .server_process import ServerProcess, curl_command

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def default_log_path(window: Any) -> Path:
    """``<project>.predictions.db`` beside the saved project, else in the temp folder."""
    path = getattr(window, "current_path", None) or getattr(
        getattr(window, "project", None), "path", None)
    if path:
        p = Path(path)
        return p.with_name(p.stem + ".predictions.db")
    return Path(tempfile.gettempdir()) / "nnstudio-predictions.db"


class DeployDialog(QDialog):
    """Start/stop the server; URL, curl example, live counts.

    Parameters
    ----------
    session:
        The window's session: the model served is ``session.model`` when Start is pressed.
    server:
        The :class:`ServerProcess` (owned by the window's deploy controller, so it outlives
        the dialog).
    """

    def __init__(self, session: Session, server: ServerProcess, log_path: Path,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Deploy model")
        self.setObjectName("DeployDialog")
        self.session = session
        self.server = server
        self.setMinimumWidth(620)

        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.host = QLineEdit("127.0.0.1")
        self.host.setToolTip("127.0.0.1: only this computer can reach the server. Use 0.0.0.0 "
                             "to let other machines on your network reach it.")
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(8000)
        self.port.setSpecialValueText("any free port")
        self.log = QLineEdit(str(log_path))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_log)
        log_row = QHBoxLayout()
        log_row.addWidget(self.log, 1)
        log_row.addWidget(browse)

        self.start_button = QPushButton("Start server")
        self.start_button.setObjectName("deployStart")
        self.start_button.setDefault(True)
        self.stop_button = QPushButton("Stop server")
        self.stop_button.setObjectName("deployStop")
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.server.stop)

        self.status = QLabel()
        self.status.setObjectName("deployStatus")
        self.status.setWordWrap(True)
        self.url = QLabel()
        self.url.setObjectName("deployUrl")
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url.setOpenExternalLinks(True)
        self.counts = QLabel()
        self.counts.setObjectName("deployCounts")
        self.curl = QPlainTextEdit()
        self.curl.setReadOnly(True)
        self.curl.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.curl.setFixedHeight(64)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the curl command to the clipboard")
        self.copy_button.clicked.connect(self.copy_curl)

        form = QFormLayout()
        form.addRow("Model:", self.model_label)
        form.addRow("Address:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("Prediction log:", log_row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons.addWidget(close)
        curl_row = QHBoxLayout()
        curl_row.addWidget(self.curl, 1)
        curl_row.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        lay.addWidget(self.url)
        lay.addWidget(self.counts)
        lay.addWidget(QLabel("Try it from a terminal:"))
        lay.addLayout(curl_row)

        server.started.connect(self._on_started)
        server.stopped.connect(self._on_stopped)
        server.health_changed.connect(self._on_health)
        session.model_changed.connect(self._refresh)
        self._refresh()

    # -- actions -------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start serving the session's current model; False (with a message) if it cannot."""
        model = self.session.model
        if model is None:
            self._say("Train the network first: there is no model to serve.", error=True)
            return False
        if self.server.running:
            return False
        host = self.host.text().strip() or "127.0.0.1"
        log = Path(self.log.text().strip()).expanduser()
        if not log.parent.is_dir():
            self._say(f"The folder {log.parent} does not exist.", error=True)
            return False
        try:
            self.server.start(model, host, self.port.value(), log)
        except (NNStudioError, OSError) as e:
            self._say(f"Cannot start the server: {e}", error=True)
            return False
        self._say("Starting…")
        self._refresh()
        return True

    def copy_curl(self) -> None:
        QGuiApplication.clipboard().setText(self.curl.toPlainText())
        self._say("curl command copied to the clipboard.")

    def _browse_log(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Prediction log", self.log.text(),
                                              "SQLite database (*.db *.sqlite);;All files (*)")
        if path:
            self.log.setText(path)

    # -- server events -------------------------------------------------------------------------
    def _on_started(self, url: str) -> None:
        self.url.setText(f'Serving at <a href="{url}/openapi.json">{url}</a> '
                         "(POST /predict, GET /model, GET /health, POST /feedback)")
        note = "" if self.host.text().strip() in LOOPBACK else \
            " It listens beyond this computer."
        self._say(f"Running. Every prediction is logged to {self.server.log_path}.{note}")
        self._refresh()

    def _on_stopped(self, why: object) -> None:
        self.url.setText("")
        if why:
            self._say(f"The server stopped: {why}", error=True)
        else:
            self._say("Stopped.")
        self._refresh()

    def _on_health(self, health: dict) -> None:
        self.counts.setText(f"Requests served: {health.get('requests', 0):,} · predictions "
                            f"logged: {health.get('predictions', 0):,} · rejected: "
                            f"{health.get('rejected', 0):,}")

    # -- state ---------------------------------------------------------------------------------
    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setProperty("error", error)
        self.status.setStyleSheet("color: #b91c1c;" if error else "")

    def _refresh(self) -> None:
        model = self.session.model
        running = self.server.running
        if model is None:
            self.model_label.setText("No trained model yet: train the network first.")
        else:
            from nnstudio.core.serve import fingerprint

            fp = fingerprint(model)
            what = (f"{model.task}, classes {', '.join(model.class_names)}"
                    if model.task == "classification" else
                    f"regression → {', '.join(model.target_names)}")
            text = f"{what}; inputs {', '.join(model.feature_names)} (model {fp})"
            if running and self.server.fingerprint and fp != self.server.fingerprint:
                text += ". The session's model changed since the server started: stop and " \
                        "start again to serve it."
            self.model_label.setText(text)
        for w in (self.host, self.port, self.log):
            w.setEnabled(not running)
        self.start_button.setEnabled(model is not None and not running)
        self.stop_button.setEnabled(running)
        self.copy_button.setEnabled(model is not None)
        if model is not None:
            from nnstudio.core.serve.predictor import Predictor

            url = self.server.url or f"http://{self.host.text().strip() or '127.0.0.1'}:" \
                f"{self.port.value() or 8000}"
            try:  # fits the model: a JSON row, a text field, a file upload, a prompt
                command = Predictor(model).curl(url)
            except NNStudioError:
                command = curl_command(url, {})
            self.curl.setPlainText(command)
        if not running:
            self.counts.setText("")
