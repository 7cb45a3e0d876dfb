"""Data ▸ Load Text Corpus…: a plain UTF-8 ``.txt`` file as next-token data for a language
model (see ``nnstudio/core/data/corpus.py``).

The file, character or word tokens, the window T, the stride between windows and lowercase;
the corpus is read and cut into windows in a background thread (the window stays live, the
dialog shows "Reading…" and can be cancelled), and any problem — invalid UTF-8, a text
shorter than the window, a vocabulary of one token — is one line under the file name.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.errors import NNStudioError


class CorpusDialog(QDialog):
    """Choose and read a text corpus; :attr:`dataset_accepted` carries ``(spec, prepared)``."""

    #: The corpus was read: ``(DatasetSpec, PreparedData)``.
    dataset_accepted = Signal(object, object)

    def __init__(self, parent: QWidget | None = None, preset: DatasetSpec | None = None):
        super().__init__(parent)
        self.setWindowTitle("Load a text corpus")
        self.path = QLineEdit()
        self.path.setObjectName("corpus_path")
        self.path.setPlaceholderText("a plain UTF-8 text file (.txt)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.tokens = QComboBox()
        self.tokens.addItem("Characters (a tiny GPT learns to spell)", "char")
        self.tokens.addItem("Words", "word")
        self.window_len = QSpinBox()
        self.window_len.setRange(2, 4096)
        self.window_len.setValue(64)
        self.stride = QSpinBox()
        self.stride.setRange(0, 4096)
        self.stride.setSpecialValueText("half the window")
        self.lowercase = QCheckBox("Lowercase the text")
        self.error = QLabel("")
        self.error.setObjectName("corpus_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.status = QLabel("The first 90 % of the text trains, the next 5 % validates, the "
                             "last 5 % tests (contiguous blocks: no window leaks across). The "
                             "vocabulary comes from the training part.")
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Text file", row)
        form.addRow("", self.error)
        form.addRow("Tokens", self.tokens)
        form.addRow("Window (tokens the model sees)", self.window_len)
        form.addRow("A window starts every", self.stride)
        form.addRow("", self.lowercase)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use this text")
        self.buttons.accepted.connect(self.load)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        if preset is not None and preset.corpus is not None and preset.source:
            self.path.setText(str(preset.source))
            c = preset.corpus
            self.tokens.setCurrentIndex(max(0, self.tokens.findData(c.get("tokens", "char"))))
            self.window_len.setValue(int(c.get("window", 64)))
            self.stride.setValue(int(c.get("stride", 0)))
            self.lowercase.setChecked(bool(c.get("lowercase", False)))
        self._job: threading.Thread | None = None
        self._result: tuple | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._poll)
        #: Set by the last load: the spec and PreparedData (tests read them).
        self.spec: DatasetSpec | None = None
        self.prepared = None

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Text corpus", "", "Text (*.txt);;All (*)")
        if path:
            self.path.setText(path)

    def current_spec(self) -> DatasetSpec:
        return DatasetSpec(source=self.path.text().strip() or None, corpus={
            "tokens": self.tokens.currentData(), "window": int(self.window_len.value()),
            "stride": int(self.stride.value()), "lowercase": self.lowercase.isChecked()})

    @property
    def busy(self) -> bool:
        return self._job is not None and self._job.is_alive()

    def load(self) -> None:
        """Read the corpus in a background thread; accept when it is ready."""
        if self.busy:
            return
        self.error.setText("")
        try:
            spec = self.current_spec()
            spec.validate()
        except NNStudioError as e:
            self.error.setText(str(e))
            return
        self._result = None

        def work():
            try:
                self._result = ("ok", spec, build_dataset(spec))
            except NNStudioError as e:
                self._result = ("error", spec, str(e))
            except Exception as e:
                self._result = ("error", spec, f"the text could not be read ({e})")

        self.status.setText("Reading the text and cutting it into windows…")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self._job = threading.Thread(target=work, daemon=True)
        self._job.start()
        self._timer.start()

    def _poll(self) -> None:
        if self.busy or self._result is None:
            return
        self._timer.stop()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        kind, spec, value = self._result
        if kind == "error":
            self.error.setText(value)
            self.status.setText("")
            return
        self.spec, self.prepared = spec, value
        v = len(value.preparation.text.vocab)
        self.status.setText(f"{value.summary()} windows; vocabulary {v:,} tokens.")
        self.dataset_accepted.emit(spec, value)
        self.accept()
