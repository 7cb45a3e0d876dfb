"""The image/sound dataset wizard: source and options → decoding and overview → use the data.

Page 1 (:class:`MediaSourcePage`) chooses a folder of class folders or a CSV of paths, images
or sounds, and their options (size, colour, filter, augmentation; rate, duration, window, hop,
mel bands, layout), the pixel scaling and the split. Page 2
(:class:`~nnstudio.gui.wizards.pages_media.MediaOverviewPage`) decodes off the GUI thread with
a progress bar and Cancel, then shows thumbnails (or waveforms and spectrograms) per class,
the counts per class and split, and the skipped files with their reasons. The result is the
same as the table wizard's: ``dataset_accepted(DatasetSpec, PreparedData)``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from nnstudio.core.data import DatasetSpec, SplitSpec
from nnstudio.core.data.audio import AUDIO_EXTENSIONS
from nnstudio.core.data.images import COLORS, FILTERS, IMAGE_EXTENSIONS
from nnstudio.core.errors import NNStudioError
from nnstudio.gui.dialog_folders import remember, start_path
from nnstudio.gui.wizards.pages_media import MediaOverviewPage


def _spin(lo, hi, value, step=1, decimals=None, suffix=""):
    box = QDoubleSpinBox() if decimals is not None else QSpinBox()
    if decimals is not None:
        box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setValue(value)
    if suffix:
        box.setSuffix(suffix)
    return box


def guess_kind(path: str) -> str | None:
    """``"image"``/``"sound"`` by the extensions of the first files under a folder (or in a
    CSV's text), None when nothing tells."""
    p = Path(path)
    exts: list[str] = []
    try:
        if p.is_dir():
            for i, f in enumerate(p.rglob("*")):
                exts.append(f.suffix.lower())
                if i > 300:
                    break
        elif p.is_file():
            text = p.read_text("utf-8", errors="replace")[:20000].lower()
            exts = [e for e in IMAGE_EXTENSIONS | AUDIO_EXTENSIONS if e in text]
    except OSError:
        return None
    images = sum(e in IMAGE_EXTENSIONS for e in exts)
    sounds = sum(e in AUDIO_EXTENSIONS for e in exts)
    if not images and not sounds:
        return None
    return "image" if images >= sounds else "sound"


class MediaSourcePage(QWizardPage):
    """Where the files are, what they are, and how to read them."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Images or sounds")
        self.setSubTitle("A folder with one subfolder per class (cat/, dog/ …), or a CSV file "
                         "with a column of file paths and a column of labels or numbers.")
        self.path = QLineEdit()
        self.path.setPlaceholderText("folder of class folders, or a CSV of paths")
        self.path.textChanged.connect(self._path_changed)
        folder_btn = QPushButton("Folder…")
        folder_btn.clicked.connect(self._choose_folder)
        csv_btn = QPushButton("CSV of paths…")
        csv_btn.clicked.connect(self._choose_csv)
        self.kind = QComboBox()
        self.kind.addItem("Images (PNG, JPEG, BMP, GIF, TIFF, WebP)", "image")
        self.kind.addItem("Sounds (WAV, FLAC, OGG)", "sound")
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.target = QLineEdit()
        self.target.setPlaceholderText("CSV only: the label or number column (default: the "
                                       "first column that is not the paths)")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d9534f;")

        # Images
        self.auto_size = QCheckBox("the most common size (capped at 128)")
        self.auto_size.setChecked(True)
        self.height, self.width = _spin(4, 1024, 32), _spin(4, 1024, 32)
        self.auto_size.toggled.connect(lambda on: (self.height.setEnabled(not on),
                                                   self.width.setEnabled(not on)))
        self.height.setEnabled(False)
        self.width.setEnabled(False)
        self.color = QComboBox()
        for c in COLORS:
            self.color.addItem({"auto": "automatic (gray if every image is)",
                                "gray": "grayscale", "rgb": "RGB colour"}[c], c)
        self.filter = QComboBox()
        for f in FILTERS:
            self.filter.addItem(f, f)
        self.filter.setCurrentText("bilinear")
        self.flip = QCheckBox("flip left-right")
        self.shift = _spin(0, 0.5, 0.0, 0.05, 2)
        self.rotate = _spin(0, 180, 0.0, 5, 0, " °")
        self.brightness = _spin(0, 1, 0.0, 0.05, 2)
        self.contrast = _spin(0, 0.9, 0.0, 0.05, 2)
        img = QGroupBox("Images")
        f = QFormLayout(img)
        size_row = QHBoxLayout()
        size_row.addWidget(self.auto_size)
        size_row.addWidget(QLabel("or"))
        size_row.addWidget(self.height)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.width)
        f.addRow("Size (height × width)", size_row)
        f.addRow("Colour", self.color)
        f.addRow("Resize filter", self.filter)
        aug = QHBoxLayout()
        for label, w in (("", self.flip), ("shift", self.shift), ("rotate", self.rotate),
                         ("brightness", self.brightness), ("contrast", self.contrast)):
            if label:
                aug.addWidget(QLabel(label))
            aug.addWidget(w)
        f.addRow("Augment (training only)", aug)
        self.image_box = img

        # Sounds
        self.rate = _spin(1000, 96000, 16000, 1000, suffix=" Hz")
        self.duration = _spin(0.1, 30, 1.0, 0.1, 2, " s")
        self.window_ms = _spin(5, 200, 25.0, 5, 1, " ms")
        self.hop_ms = _spin(1, 100, 10.0, 1, 1, " ms")
        self.mels = _spin(8, 128, 40)
        self.layout_box = QComboBox()
        self.layout_box.addItem("image (1 × frames × bands) for Conv2D", "image")
        self.layout_box.addItem("sequence (frames × bands) for LSTM/GRU", "sequence")
        snd = QGroupBox("Sounds: mono, resampled, padded or trimmed, log-mel spectrogram")
        g = QFormLayout(snd)
        g.addRow("Sample rate", self.rate)
        g.addRow("Duration", self.duration)
        g.addRow("Window / hop", _row(self.window_ms, self.hop_ms))
        g.addRow("Mel bands", self.mels)
        g.addRow("Layout", self.layout_box)
        self.sound_box = snd

        # Scaling and split
        self.scaling = QComboBox()
        self.scaling.addItem("standardize (train mean and std)", "standard")
        self.scaling.addItem("min–max to 0…1", "minmax")
        self.scaling.addItem("none (raw values)", "none")
        self.train, self.val, self.test = (_spin(0.05, 0.95, 0.7, 0.05, 2),
                                           _spin(0, 0.9, 0.15, 0.05, 2),
                                           _spin(0, 0.9, 0.15, 0.05, 2))
        self.seed = _spin(0, 2**31 - 1, 0)
        common = QFormLayout()
        common.addRow("Scaling", self.scaling)
        common.addRow("Split train / validation / test",
                      _row(self.train, self.val, self.test, QLabel("seed"), self.seed))

        top = QFormLayout()
        top.addRow("Files", _row(self.path, folder_btn, csv_btn))
        top.addRow("Kind", self.kind)
        top.addRow("Target column", self.target)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.image_box)
        lay.addWidget(self.sound_box)
        lay.addLayout(common)
        lay.addWidget(self.error)
        lay.addStretch(1)
        self._kind_changed()

    # -- choosing ---------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Folder with one subfolder per class",
                                             start_path(self, "media-data"))
        if d:
            remember(self, "media-data", d)
            self.path.setText(d)

    def _choose_csv(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "CSV with a column of file paths",
                                           start_path(self, "media-data"),
                                           "CSV/TSV (*.csv *.tsv *.txt);;All files (*)")
        if f:
            remember(self, "media-data", f)
            self.path.setText(f)

    def _path_changed(self, text: str) -> None:
        kind = guess_kind(text.strip()) if text.strip() else None
        if kind is not None:
            self.kind.setCurrentIndex(self.kind.findData(kind))
        self.target.setEnabled(Path(text.strip()).suffix.lower() in (".csv", ".tsv", ".txt"))
        self.completeChanged.emit()

    def _kind_changed(self, *_args) -> None:
        image = self.kind.currentData() == "image"
        self.image_box.setVisible(image)
        self.sound_box.setVisible(not image)

    def set_source(self, path: str, kind: str | None = None) -> None:
        self.path.setText(path)
        if kind:
            self.kind.setCurrentIndex(self.kind.findData(kind))

    def isComplete(self) -> bool:
        return bool(self.path.text().strip())

    # -- the spec ---------------------------------------------------------------------------
    def spec(self) -> DatasetSpec:
        """The dataset spec the page describes (validated: DataError for a bad field)."""
        total = self.train.value() + self.val.value() + self.test.value()
        split = SplitSpec(train=self.train.value() / total, validation=self.val.value() / total,
                          test=self.test.value() / total, seed=int(self.seed.value()))
        kw: dict = {}
        if self.kind.currentData() == "image":
            kw["images"] = {"size": None if self.auto_size.isChecked()
                            else [int(self.height.value()), int(self.width.value())],
                            "color": self.color.currentData(),
                            "filter": self.filter.currentData()}
            aug = {"flip": self.flip.isChecked(), "shift": self.shift.value(),
                   "rotate": self.rotate.value(), "brightness": self.brightness.value(),
                   "contrast": self.contrast.value(), "seed": int(self.seed.value())}
            if any(v for k, v in aug.items() if k != "seed"):
                kw["augment"] = aug
        else:
            kw["sound"] = {"rate": int(self.rate.value()), "duration": self.duration.value(),
                           "window_ms": self.window_ms.value(), "hop_ms": self.hop_ms.value(),
                           "mels": int(self.mels.value()),
                           "layout": self.layout_box.currentData()}
        target = self.target.text().strip() or None
        spec = DatasetSpec(source=str(Path(self.path.text().strip()).expanduser()),
                           target=target if self.target.isEnabled() else None,
                           scaling=self.scaling.currentData(), split=split, **kw)
        spec.validate()
        return spec

    def validatePage(self) -> bool:
        self.error.clear()
        try:
            spec = self.spec()
            if not Path(spec.source).exists():
                raise NNStudioError("not found", where=spec.source)
        except NNStudioError as e:
            self.error.setText(str(e))
            return False
        return True


def _row(*widgets) -> QHBoxLayout:
    row = QHBoxLayout()
    for w in widgets:
        row.addWidget(w)
    return row


class MediaWizard(QWizard):
    """Load an image or sound dataset (see the module docstring).

    Attributes
    ----------
    result_spec, prepared:
        The accepted spec and its ``PreparedData`` (after ``accept``).
    """

    #: The wizard finished with data: ``(DatasetSpec, PreparedData)``.
    dataset_accepted = Signal(object, object)

    def __init__(self, parent: QWidget | None = None, preset: DatasetSpec | None = None):
        super().__init__(parent)
        self.setWindowTitle("Load images or sounds")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setMinimumSize(820, 640)
        self.source_page = MediaSourcePage()
        self.overview_page = MediaOverviewPage()
        self.addPage(self.source_page)
        self.addPage(self.overview_page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Use this data")
        self.result_spec: DatasetSpec | None = None
        self.prepared = None
        if preset is not None and preset.source and (preset.images is not None
                                                     or preset.sound is not None):
            self.source_page.set_source(preset.source,
                                        "image" if preset.images is not None else "sound")

    def accept(self) -> None:
        page = self.overview_page
        if page.prepared is None:
            return
        self.result_spec, self.prepared = page.spec, page.prepared
        super().accept()
        self.dataset_accepted.emit(self.result_spec, self.prepared)

    def done(self, result: int) -> None:
        self.overview_page.stop()
        super().done(result)
