"""The image/sound wizard's second page: decode off the GUI thread, then show what was read.

:class:`MediaBuilder` runs :func:`~nnstudio.core.data.build_dataset` in a Python thread
(progress and the result come back as queued signals; Cancel sets a flag the decoder checks
every few files). It also prepares the previews there — QImages of a few samples per class, or
waveform and spectrogram pictures of a few recordings — so the GUI thread only shows them.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from nnstudio.core.data import build_dataset
from nnstudio.core.data.image_cache import DecodeCancelled
from nnstudio.core.errors import NNStudioError
from nnstudio.gui.media_images import image_qimage, spectrogram_qimage, waveform_qimage
from nnstudio.gui.workers.threads import PythonThreadJob

#: Previews per class: thumbnails of images, recordings of sounds.
THUMBS_PER_CLASS = 8
RECORDINGS_PER_CLASS = 3
THUMB = 72


def multimedia_available() -> bool:
    """Whether Qt Multimedia can play a sound here (PySide6-Essentials lacks it)."""
    try:
        from PySide6 import QtMultimedia  # noqa: F401
    except ImportError:
        return False
    return True


def previews(prepared) -> dict[str, list[dict]]:
    """``{class: [{"file", "image": QImage} | {"file", "wave", "spec"}]}`` (worker thread)."""
    media = prepared.media
    files, raw = media["files"], media["raw"]
    idx = np.concatenate([prepared.indices[s] for s in ("train", "validation", "test")])
    ys = np.concatenate([prepared.y_train, prepared.y_val, prepared.y_test])
    names = prepared.class_names or ["all"]
    out: dict[str, list[dict]] = {n: [] for n in names}
    limit = THUMBS_PER_CLASS if media["kind"] == "image" else RECORDINGS_PER_CLASS
    order = np.argsort(idx, kind="stable")
    for j in order:
        name = names[int(ys[j])] if prepared.class_names else "all"
        if len(out[name]) >= limit:
            continue
        row = int(idx[j])
        item = {"file": files[row]}
        if media["kind"] == "image":
            item["image"] = image_qimage(np.asarray(raw[row]), THUMB)
        else:
            from nnstudio.core.data.audio import AudioOptions, read_signal
            from nnstudio.core.data.images import SkipFile

            opts = AudioOptions.from_dict({k: v for k, v in media.items()
                                           if k in AudioOptions.__dataclass_fields__})
            try:
                item["wave"] = waveform_qimage(read_signal(files[row], opts), 220, 48)
            except SkipFile:
                continue
            spec = np.asarray(raw[row])
            item["spec"] = spectrogram_qimage(spec if spec.ndim == 2 else spec[0], 220, 64)
        out[name].append(item)
    return out


class MediaBuilder(PythonThreadJob):
    """Builds an image/sound dataset in a thread; reports progress and the result."""

    #: ``(stage, done, total)`` while listing and decoding.
    progress = Signal(str, int, int)
    #: ``(spec, PreparedData or None, previews or None, error or None)``.
    built = Signal(object, object, object, object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._cancel = threading.Event()

    def start(self, spec) -> None:
        self.join()
        self._cancel.clear()

        def run():
            prepared = shown = error = None
            try:
                prepared = build_dataset(spec, progress=self._report,
                                         cancelled=self._cancel.is_set)
                shown = previews(prepared)
            except NNStudioError as e:
                error = e
            except Exception as e:  # a bug: say so, never crash the GUI
                error = NNStudioError(f"{type(e).__name__}: {e}")
            with contextlib.suppress(RuntimeError):  # the wizard is gone
                self.built.emit(spec, prepared, shown, error)

        self._spawn(run, "nnstudio-media-build")

    def _report(self, stage: str, done: int, total: int) -> None:
        with contextlib.suppress(RuntimeError):
            self.progress.emit(stage, done, total)

    def cancel(self) -> None:
        self._cancel.set()


class MediaOverviewPage(QWizardPage):
    """Decoding progress, then samples per class, counts per class and split, skipped files."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("What was read")
        self.spec = None
        self.prepared = None
        self.builder = MediaBuilder(self)
        self.builder.progress.connect(self._on_progress)
        self.builder.built.connect(self._on_built)
        self.bar = QProgressBar()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.builder.cancel)
        self.samples = QWidget()
        self.samples_grid = QGridLayout(self.samples)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.samples)
        self.counts = QTableWidget()
        self.counts.verticalHeader().setVisible(False)
        self.skipped = QListWidget()
        self.tabs = QTabWidget()
        self.tabs.addTab(scroll, "Samples per class")
        self.tabs.addTab(self.counts, "Counts")
        self.tabs.addTab(self.skipped, "Skipped files")
        self.play_buttons: list[QPushButton] = []
        top = QHBoxLayout()
        top.addWidget(self.bar, 1)
        top.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(self.tabs, 1)

    # -- building -----------------------------------------------------------------------------
    def initializePage(self) -> None:
        self.prepared = None
        self.spec = self.wizard().source_page.spec()
        self._clear()
        self.bar.setRange(0, 0)
        self.status.setText("Listing the files…")
        self.cancel_button.setEnabled(True)
        self.tabs.setEnabled(False)
        self.builder.start(self.spec)
        self.completeChanged.emit()

    def cleanupPage(self) -> None:
        self.stop()

    def stop(self) -> None:
        self.builder.cancel()
        self.builder.join()

    @Slot(str, int, int)
    def _on_progress(self, stage: str, done: int, total: int) -> None:
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
            self.status.setText(f"{stage.capitalize()}: {done:,} of {total:,} files "
                                "(decoded once, then read from the cache)")
        else:
            self.status.setText(f"{stage.capitalize()}…")

    @Slot(object, object, object, object)
    def _on_built(self, spec, prepared, shown, error) -> None:
        self.cancel_button.setEnabled(False)
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        if error is not None:
            self.status.setStyleSheet("color: #d9534f;")
            if isinstance(error, DecodeCancelled):
                self.status.setText("Decoding was cancelled: go Back to start again.")
            else:
                self.status.setText(str(error))
            self.completeChanged.emit()
            return
        self.status.setStyleSheet("")
        self.prepared = prepared
        self.tabs.setEnabled(True)
        media = prepared.media
        what = "image" if media["kind"] == "image" else "recording"
        if media["kind"] == "image":
            detail = (f"{media['size'][0]}×{media['size'][1]} pixels, "
                      f"{'grayscale' if media['color'] == 'gray' else 'RGB'}, "
                      f"{media['filter']} resize")
        else:
            detail = (f"{media['duration']:g} s at {media['rate']:,} Hz → "
                      f"{prepared.input_shape} log-mel spectrogram")
        skipped = media["skipped"]
        n = sum(prepared.counts[s] for s in ("train", "validation", "test"))
        self.status.setText(f"{n:,} {what}s in {len(prepared.class_names) or 1} classes · "
                            f"{detail} · {prepared.summary()}")
        self._show_previews(shown)
        self._show_counts(prepared)
        self.skipped.clear()
        for s in skipped:
            self.skipped.addItem(f"{s.path} — {s.reason}")
        self.tabs.setTabText(2, f"Skipped files ({len(skipped)})")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.prepared is not None

    # -- showing ------------------------------------------------------------------------------
    def _clear(self) -> None:
        while self.samples_grid.count():
            item = self.samples_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.play_buttons = []
        self.skipped.clear()
        self.counts.clear()
        self.status.setStyleSheet("")

    def _show_previews(self, shown: dict) -> None:
        playable = multimedia_available()
        for r, (name, items) in enumerate(shown.items()):
            label = QLabel(f"<b>{name}</b>")
            self.samples_grid.addWidget(label, r, 0, Qt.AlignmentFlag.AlignTop)
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            for item in items:
                if "image" in item:
                    thumb = QLabel()
                    thumb.setPixmap(QPixmap.fromImage(item["image"]))
                    thumb.setToolTip(item["file"])
                    h.addWidget(thumb)
                    continue
                box = QWidget()
                v = QVBoxLayout(box)
                v.setContentsMargins(0, 0, 0, 0)
                wave, spec = QLabel(), QLabel()
                wave.setPixmap(QPixmap.fromImage(item["wave"]))
                spec.setPixmap(QPixmap.fromImage(item["spec"]))
                play = QPushButton(f"▶ {Path(item['file']).name}")
                play.setEnabled(playable)
                play.setToolTip(item["file"] if playable else
                                "Playing needs Qt Multimedia (PySide6-Addons), not installed")
                play.clicked.connect(lambda _=False, f=item["file"]: self._play(f))
                self.play_buttons.append(play)
                for w in (wave, spec, play):
                    v.addWidget(w)
                h.addWidget(box)
            h.addStretch(1)
            self.samples_grid.addWidget(row, r, 1)

    def _play(self, path: str) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        self._player = QMediaPlayer(self)
        self._audio = QAudioOutput(self)
        self._player.setAudioOutput(self._audio)
        self._player.setSource(QUrl.fromLocalFile(path))
        self._player.play()

    def _show_counts(self, prepared) -> None:
        splits = ("train", "validation", "test")
        per = prepared.counts.get("per_class") or {}
        names = prepared.class_names or []
        self.counts.setColumnCount(1 + len(splits) + 1)
        self.counts.setHorizontalHeaderLabels(["class", *splits, "total"])
        rows = [(n, [per.get(s, {}).get(n, 0) for s in splits]) for n in names]
        rows.append(("all", [prepared.counts[s] for s in splits]))
        self.counts.setRowCount(len(rows))
        for i, (name, values) in enumerate(rows):
            self.counts.setItem(i, 0, QTableWidgetItem(name))
            for j, v in enumerate([*values, sum(values)]):
                item = QTableWidgetItem(f"{v:,}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.counts.setItem(i, 1 + j, item)
        self.counts.resizeColumnsToContents()
