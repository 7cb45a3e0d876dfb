"""Predict for a language model: a prompt, the length, temperature and top-k → the
continuation, written token by token as it is generated in a background thread.

The Predict panel shows this box instead of its input form when the session's model is a
language model (trained on a text corpus). Generating never blocks the window; Stop ends it
after the current token. A bad prompt (characters the model never saw) is one line under it.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.io.generate import generate


class _Relay(QObject):
    """Carries the generator thread's news to the GUI thread (queued signals)."""

    piece = Signal(str)
    done = Signal(str)  # "" or an error message


class GenerateBox(QWidget):
    """Prompt → continuation for the session's language model."""

    #: A generation ended: the whole continuation (also after Stop).
    generated = Signal(str)

    def __init__(self, session: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("lmPrompt")
        self.prompt.setPlaceholderText("Type the beginning of a text…")
        self.prompt.setMaximumHeight(80)
        self.length = QSpinBox()
        self.length.setRange(1, 10_000)
        self.length.setValue(200)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.05, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.8)
        self.temperature.setToolTip("Below 1: safer, more repetitive; above 1: wilder")
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 100_000)
        self.top_k.setValue(10)
        self.top_k.setSpecialValueText("all tokens")
        self.top_k.setToolTip("Draw each token from the k most likely only")
        self.generate_button = QPushButton("Generate")
        self.generate_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.error = QLabel("")
        self.error.setObjectName("lmError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.output = QPlainTextEdit()
        self.output.setObjectName("lmOutput")
        self.output.setReadOnly(True)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setMinimumHeight(220)
        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Length (tokens)", self.length)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-k", self.top_k)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.error)
        layout.addWidget(self.output, 1)
        self._relay = _Relay(self)
        self._relay.piece.connect(self._append)
        self._relay.done.connect(self._finished)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._text: list[str] = []

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Generate from the prompt in a background thread."""
        model = self.session.model
        if model is None or self.busy:
            return
        prompt = self.prompt.toPlainText()
        self.error.setText("")
        self.output.setPlainText(prompt)
        self._text = []
        self._stop.clear()
        args = (prompt, int(self.length.value()), float(self.temperature.value()),
                int(self.top_k.value()))

        def on_token(piece: str) -> bool:
            self._relay.piece.emit(piece)
            return not self._stop.is_set()

        def work() -> None:
            try:
                generate(model, *args, on_token=on_token)
                self._relay.done.emit("")
            except Exception as e:
                self._relay.done.emit(str(e))

        self.generate_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _append(self, piece: str) -> None:
        self._text.append(piece)
        cursor = self.output.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(piece)

    def _finished(self, error: str) -> None:
        self.generate_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        if error:
            self.error.setText(error)
        self.generated.emit("".join(self._text))
