"""Predict ▸ an image or a recording: open one (or drop it on the panel), see its classes.

:class:`MediaPredictBox` sits at the top of the Predict panel and shows itself only when the
current model was trained on images or sounds (its preparation has a ``media`` recipe). The
file is decoded exactly as in training (:func:`~nnstudio.core.data.media_dataset.decode_files`)
in a Python thread; the panel shows the picture (or the spectrogram), the predicted class and
a bar per class.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.data.audio import AUDIO_EXTENSIONS
from nnstudio.core.data.images import IMAGE_EXTENSIONS
from nnstudio.gui.dialog_folders import remember, start_path
from nnstudio.gui.media_images import image_qimage, spectrogram_qimage


def _media(model) -> dict | None:
    prep = getattr(model, "preparation", None)
    return getattr(prep, "media", None)


class MediaPredictBox(QFrame):
    """Open or drop a file; the model's class probabilities for it."""

    #: A prediction is shown: ``(path, Predictions)``.
    predicted = Signal(str, object)
    #: ``(path, predictions or None, picture QImage or None, error text)`` from the worker.
    _done = Signal(str, object, object, str)

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setAcceptDrops(True)
        self._thread: threading.Thread | None = None
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.open_button = QPushButton("Open a file…")
        self.open_button.clicked.connect(self._ask_file)
        self.picture = QLabel()
        self.picture.setMinimumSize(96, 96)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.result = QLabel("–")
        self.result.setStyleSheet("font-size: 18pt; font-weight: 600;")
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.bars_box = QWidget()
        self.bars_layout = QFormLayout(self.bars_box)
        self.bars: dict[str, QProgressBar] = {}
        right = QVBoxLayout()
        right.addWidget(self.result)
        right.addWidget(self.detail)
        right.addStretch(1)
        body = QHBoxLayout()
        body.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignTop)
        body.addLayout(right, 1)
        lay = QVBoxLayout(self)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.open_button)
        lay.addLayout(head)
        lay.addLayout(body)
        lay.addWidget(self.bars_box)
        lay.addStretch(1)
        self._done.connect(self._on_done)
        session.model_changed.connect(self.refresh)
        self.refresh()

    # -- model ------------------------------------------------------------------------------
    @property
    def media(self) -> dict | None:
        return _media(self.session.model)

    def refresh(self) -> None:
        media = self.media
        self.setVisible(media is not None)
        if media is None:
            return
        kind = "an image" if media["kind"] == "image" else "a recording"
        self.title.setText(f"Open {kind} (or drop it here) to see what the model says.")
        self.result.setText("–")
        self.detail.clear()
        self.picture.clear()
        for bar in self.bars.values():
            bar.deleteLater()
        self.bars = {}
        while self.bars_layout.rowCount():
            self.bars_layout.removeRow(0)
        for name in self.session.model.class_names:
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            bar.setFormat("–")
            self.bars_layout.addRow(name, bar)
            self.bars[name] = bar

    def extensions(self) -> frozenset[str]:
        media = self.media
        return IMAGE_EXTENSIONS if media and media["kind"] == "image" else AUDIO_EXTENSIONS

    # -- input ------------------------------------------------------------------------------
    def _ask_file(self) -> None:
        exts = " ".join(f"*{e}" for e in sorted(self.extensions()))
        path, _ = QFileDialog.getOpenFileName(self, "Open a file to predict",
                                              start_path(self, "predict-media"),
                                              f"Files ({exts});;All files (*)")
        if path:
            remember(self, "predict-media", path)
            self.predict_file(path)

    def accepts(self, event) -> str | None:
        """The dropped local file's path when it has one of the model's extensions."""
        md = event.mimeData()
        if self.media is None or not md.hasUrls():
            return None
        for url in md.urls():
            p = url.toLocalFile()
            if p and Path(p).suffix.lower() in self.extensions():
                return p
        return None

    def dragEnterEvent(self, event) -> None:
        if self.accepts(event):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if self.accepts(event):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = self.accepts(event)
        if path:
            event.acceptProposedAction()
            self.predict_file(path)

    def predict_file(self, path: str) -> None:
        """Decode ``path`` and predict it, in a thread; the result shows when ready."""
        model = self.session.model
        if model is None or self.media is None:
            return
        self.join()
        self.result.setText("…")
        self.detail.setText(Path(path).name)
        media = dict(self.media)

        def run():
            from nnstudio.core.data.media_dataset import decode_files

            try:
                raw, ok, skipped = decode_files(media, [path])
                if not ok:
                    raise ValueError(skipped[0].reason if skipped else "cannot be read")
                pred = model.predict_raw(raw)
                sample = raw[0]
                img = (image_qimage(sample, 128) if media["kind"] == "image"
                       else spectrogram_qimage(sample, 200, 96))
                result = (path, pred, img, "")
            except Exception as e:  # one readable line, never a crash
                result = (path, None, None, f"{Path(path).name}: {e}")
            with contextlib.suppress(RuntimeError):
                self._done.emit(*result)

        self._thread = threading.Thread(target=run, name="nnstudio-predict-file", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @Slot(str, object, object, str)
    def _on_done(self, path: str, pred, img, error: str) -> None:
        if error:
            self.result.setText("–")
            self.detail.setText(f"<span style='color:#d9534f'>{error}</span>")
            return
        self.picture.setPixmap(QPixmap.fromImage(img))
        self.result.setText(str(pred.values[0]))
        probs = np.asarray(pred.probabilities[0], np.float64)
        self.detail.setText(f"{Path(path).name} · {probs.max():.1%} sure")
        for name, p in zip(pred.class_names, probs, strict=True):
            bar = self.bars.get(name)
            if bar is not None:
                bar.setValue(round(p * 1000))
                bar.setFormat(f"{p:.1%}")
        self.predicted.emit(path, pred)


class _PanelDrops(QObject):
    """Lets a file be dropped anywhere on the Predict panel (forwarded to the box)."""

    def __init__(self, box: MediaPredictBox, panel: QWidget):
        super().__init__(panel)
        self.box = box
        panel.setAcceptDrops(True)
        panel.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        t = event.type()
        if t in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if self.box.accepts(event):
                event.acceptProposedAction()
                return True
        elif t == QEvent.Type.Drop:
            path = self.box.accepts(event)
            if path:
                event.acceptProposedAction()
                self.box.predict_file(path)
                return True
        return False


def attach(panel: QWidget, session) -> MediaPredictBox:
    """Put a :class:`MediaPredictBox` at the top of the Predict panel; the table form is
    hidden while the model reads images or sounds."""
    box = MediaPredictBox(session, panel)
    outer = panel.layout()
    outer.insertWidget(0, box)
    rest = [outer.itemAt(i).widget() for i in range(1, outer.count())]

    def toggle() -> None:
        media = box.media is not None
        for w in rest:
            if w is not None:
                w.setVisible(not media)

    session.model_changed.connect(toggle)
    toggle()
    panel.media_box = box
    panel._media_drops = _PanelDrops(box, panel)
    return box
