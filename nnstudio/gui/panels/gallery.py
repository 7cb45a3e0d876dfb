"""Results ▸ Gallery: test images (or spectrograms) with their true and predicted class.

Filled when new results arrive for an image/sound dataset: the network runs over the test
split in a Python thread (:func:`~nnstudio.core.insight.gallery.gallery`) and the thumbnails
are drawn there too; the panel then shows the most confident mistakes first, a per-class
precision/recall table, and a filter (all, mistakes only, one true class).
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.insight.gallery import gallery
from nnstudio.gui.media_images import image_qimage, spectrogram_qimage

#: Thumbnails drawn (a learner looks at the first ones; the rest are counted).
MAX_ITEMS = 300
ICON = 64


class _GalleryBuilder(QObject):
    """Computes the gallery and its thumbnails in a Python thread."""

    #: ``(Gallery, [QImage per shown sample], split positions shown, files)`` or an error str.
    built = Signal(object, object, object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._thread: threading.Thread | None = None

    def start(self, network, prepared) -> None:
        self.join()
        # A private copy: the session's network may serve the Predict panel meanwhile.
        from nnstudio.core.engine.network import Network

        twin = Network(network.spec, network.input_shape, dtype=network.dtype)
        twin.load_state_dict(network.state_dict())
        network = twin

        def run():
            try:
                x = prepared.x_test if len(prepared.x_test) else prepared.x_val
                y = prepared.y_test if len(prepared.x_test) else prepared.y_val
                split = "test" if len(prepared.x_test) else "validation"
                g = gallery(network, x, y, prepared.class_names)
                shown = g.order[:MAX_ITEMS]
                media = prepared.media
                rows = prepared.indices[split][shown]
                images = []
                for r in rows:
                    raw = np.asarray(media["raw"][int(r)])
                    if media["kind"] == "image":
                        images.append(image_qimage(raw, ICON))
                    else:
                        images.append(spectrogram_qimage(raw, ICON, ICON))
                files = [media["files"][int(r)] for r in rows]
                with contextlib.suppress(RuntimeError):
                    self.built.emit(g, images, shown, files)
            except Exception as e:  # shown as one line, never a crash
                with contextlib.suppress(RuntimeError):
                    self.built.emit(f"The gallery cannot be drawn: {e}", None, None, None)

        self._thread = threading.Thread(target=run, name="nnstudio-gallery", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class GalleryPanel(QWidget):
    """Thumbnails of test samples, mistakes first, and per-class precision/recall."""

    #: A gallery was shown (tests wait for it): the core ``Gallery``.
    gallery_shown = Signal(object)

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.gallery = None
        self._images: list = []
        self._shown = np.zeros(0, np.int64)
        self._files: list[str] = []
        self.builder = _GalleryBuilder(self)
        self.builder.built.connect(self._on_built)
        self.status = QLabel("Train a model on images or sounds to see its test samples here.")
        self.status.setWordWrap(True)
        self.filter = QComboBox()
        self.filter.currentIndexChanged.connect(self._fill)
        self.items = QListWidget()
        self.items.setViewMode(QListView.ViewMode.IconMode)
        self.items.setIconSize(QSize(ICON, ICON))
        self.items.setGridSize(QSize(ICON + 56, ICON + 44))
        self.items.setResizeMode(QListView.ResizeMode.Adjust)
        self.items.setMovement(QListView.Movement.Static)
        self.items.setWordWrap(True)
        self.per_class = QTableWidget(0, 4)
        self.per_class.setHorizontalHeaderLabels(["class", "precision", "recall", "support"])
        self.per_class.verticalHeader().setVisible(False)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(QLabel("Show"))
        top.addWidget(self.filter)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.items)
        split.addWidget(self.per_class)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        session.results_changed.connect(self._on_results)
        session.dataset_changed.connect(self.clear)

    def clear(self) -> None:
        self.gallery = None
        self.items.clear()
        self.per_class.setRowCount(0)
        self.filter.clear()

    @Slot(object)
    def _on_results(self, _results) -> None:
        s = self.session
        prepared = s.prepared
        if (prepared is None or getattr(prepared, "media", None) is None or s.network is None
                or prepared.task != "classification"):
            self.clear()
            return
        self.status.setText("Drawing the gallery…")
        self.builder.start(s.network, prepared)

    @Slot(object, object, object, object)
    def _on_built(self, g, images, shown, files) -> None:
        if isinstance(g, str):
            self.status.setText(g)
            return
        self.gallery, self._images, self._shown, self._files = g, images, shown, files
        n = len(g.true)
        self.status.setText(
            f"{n:,} test samples, {g.n_mistakes:,} mistakes ({1 - g.n_mistakes / max(n, 1):.1%}"
            f" right). Most confident mistakes first; red = wrong. "
            + (f"First {len(shown)} shown." if len(shown) < n else ""))
        self.filter.blockSignals(True)
        self.filter.clear()
        self.filter.addItem("all samples", None)
        self.filter.addItem("mistakes only", "wrong")
        for i, name in enumerate(g.class_names):
            self.filter.addItem(f"true class {name}", i)
        self.filter.blockSignals(False)
        self._fill()
        self._fill_table()
        self.gallery_shown.emit(g)

    def _fill(self, *_args) -> None:
        g = self.gallery
        self.items.clear()
        if g is None:
            return
        which = self.filter.currentData()
        names = g.class_names
        for img, pos, path in zip(self._images, self._shown, self._files, strict=True):
            t, p = int(g.true[pos]), int(g.pred[pos])
            if which == "wrong" and t == p:
                continue
            if isinstance(which, int) and t != which:
                continue
            text = f"{names[t]} → {names[p]}\n{g.confidence[pos]:.0%}"
            item = QListWidgetItem(QIcon(QPixmap.fromImage(img)), text)
            item.setToolTip(f"{path}\ntrue: {names[t]} · predicted: {names[p]} "
                            f"({g.confidence[pos]:.1%})")
            if t != p:
                item.setBackground(QBrush(QColor(217, 83, 79, 70)))
            self.items.addItem(item)

    def _fill_table(self) -> None:
        g = self.gallery
        pc = g.per_class
        self.per_class.setRowCount(len(g.class_names))
        for i, name in enumerate(g.class_names):
            values = [name, f"{pc['precision'][i]:.3f}", f"{pc['recall'][i]:.3f}",
                      f"{int(pc['support'][i]):,}"]
            for j, v in enumerate(values):
                item = QTableWidgetItem(v)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.per_class.setItem(i, j, item)
        self.per_class.resizeColumnsToContents()

    def shutdown(self) -> None:
        self.builder.join()
