"""Dataset wizard, pages 1–2: choose the source, then look at it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from nnstudio.core.data import EXAMPLES, npz_keys
from nnstudio.core.errors import NNStudioError
from nnstudio.gui.panels.workflow_widgets import Banner, FieldError
from nnstudio.gui.theme import current_theme
from nnstudio.gui.wizards.dataset_source import (
    SourceInfo,
    error_place,
    file_format,
    guess_labels_file,
    inspect_source,
)

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
FILE_FILTER = ("Data files (*.csv *.tsv *.txt *.npz *.gz *ubyte);;CSV or TSV (*.csv *.tsv *.txt)"
               ";;IDX images (*ubyte *.gz);;NumPy archive (*.npz);;All files (*)")


class SourcePage(QWizardPage):
    """A file (CSV/TSV, IDX, NPZ) or a built-in example."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Choose the data")
        self.setSubTitle("A table (CSV or TSV), images in IDX format (like MNIST), a NumPy "
                         ".npz archive, or one of the built-in examples.")
        self.info: SourceInfo | None = None

        self.use_file = QRadioButton("A file on this computer")
        self.use_example = QRadioButton("A built-in example")
        self.use_file.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.use_file)
        group.addButton(self.use_example)

        self.path = QLineEdit()
        self.path.setObjectName("sourcePath")
        self.path.setPlaceholderText("Path of a .csv, .tsv, .npz or IDX file")
        self.path.textChanged.connect(self._path_changed)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.format_label = QLabel("")
        self.format_label.setStyleSheet(f"color: {current_theme().muted};")
        self.path_error = FieldError()

        self.labels = QLineEdit()
        self.labels.setPlaceholderText("IDX file with one label per image")
        self.labels.textChanged.connect(self.completeChanged)
        browse_labels = QPushButton("Browse…")
        browse_labels.clicked.connect(self._browse_labels)
        self.labels_row = _row(self.labels, browse_labels)
        self.x_key = QComboBox()
        self.y_key = QComboBox()
        self.keys_row = QWidget()
        keys_form = QFormLayout(self.keys_row)
        keys_form.setContentsMargins(0, 0, 0, 0)
        keys_form.addRow("Inputs (x)", self.x_key)
        keys_form.addRow("Targets (y)", self.y_key)

        file_form = QFormLayout()
        file_form.addRow("File", _row(self.path, browse))
        file_form.addRow("", self.format_label)
        file_form.addRow("", self.path_error)
        self.labels_label = QLabel("Labels file")
        file_form.addRow(self.labels_label, self.labels_row)
        file_form.addRow("", self.keys_row)
        self.file_box = QWidget()
        self.file_box.setLayout(file_form)

        self.examples = QListWidget()
        self.examples.setObjectName("examples")
        for name, ex in EXAMPLES.items():
            item = QListWidgetItem(f"{ex.title}  ·  {ex.task}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(ex.description)
            self.examples.addItem(item)
        self.examples.currentItemChanged.connect(self._example_changed)
        self.example_text = QLabel("")
        self.example_text.setWordWrap(True)
        self.example_error = FieldError()
        self.example_box = QWidget()
        ex_layout = QVBoxLayout(self.example_box)
        ex_layout.setContentsMargins(0, 0, 0, 0)
        ex_layout.addWidget(self.examples, 1)
        ex_layout.addWidget(self.example_text)
        ex_layout.addWidget(self.example_error)

        layout = QVBoxLayout(self)
        layout.addWidget(self.use_file)
        layout.addWidget(self.file_box)
        layout.addWidget(self.use_example)
        layout.addWidget(self.example_box, 1)
        self.use_file.toggled.connect(self._mode_changed)
        self._mode_changed()
        self._path_changed()

    # -- state -------------------------------------------------------------------------------
    def example(self) -> str | None:
        item = self.examples.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def set_file(self, path: str) -> None:
        self.use_file.setChecked(True)
        self.path.setText(str(path))

    def set_example(self, name: str) -> None:
        self.use_example.setChecked(True)
        for i in range(self.examples.count()):
            if self.examples.item(i).data(Qt.ItemDataRole.UserRole) == name:
                self.examples.setCurrentRow(i)

    def show_error(self, text: str) -> None:
        (self.path_error if self.use_file.isChecked() else self.example_error).set_error(text)

    def _mode_changed(self) -> None:
        on_file = self.use_file.isChecked()
        self.file_box.setEnabled(on_file)
        self.example_box.setEnabled(not on_file)
        if not on_file and self.examples.currentRow() < 0:
            self.examples.setCurrentRow(0)
        self.completeChanged.emit()

    def _example_changed(self) -> None:
        name = self.example()
        self.example_text.setText(EXAMPLES[name].description if name else "")
        self.example_error.set_error(None)
        self.completeChanged.emit()

    def _path_changed(self) -> None:
        self.path_error.set_error(None)
        text = self.path.text().strip()
        p = Path(text).expanduser() if text else None
        fmt = file_format(p) if p is not None and p.is_file() else None
        self.labels_label.setVisible(fmt == "idx")
        self.labels_row.setVisible(fmt == "idx")
        self.keys_row.setVisible(fmt == "npz")
        self.format_label.setText({
            "idx": "IDX images: give the labels file too",
            "npz": "NumPy archive: choose the arrays",
            "table": "A table: the first row may name the columns",
        }.get(fmt or "", ""))
        if fmt == "idx" and not self.labels.text():
            guess = guess_labels_file(p)
            if guess:
                self.labels.setText(guess)
        if fmt == "npz":
            self._fill_keys(p)
        self.completeChanged.emit()

    def _fill_keys(self, p: Path) -> None:
        self.x_key.clear()
        self.y_key.clear()
        try:
            keys = npz_keys(p)
        except NNStudioError as e:
            self.path_error.set_error(error_place(e).text)
            return
        self.y_key.addItem("(none)", None)
        for k in keys:
            label = f"{k['name']}  {k['dtype']} {tuple(k['shape'])}"
            self.x_key.addItem(label, k["name"])
            self.y_key.addItem(label, k["name"])
        names = [k["name"] for k in keys]
        for combo, wanted in ((self.x_key, ("x", "X", "images", "data")),
                              (self.y_key, ("y", "Y", "labels", "targets"))):
            hit = next((n for n in wanted if n in names), None)
            if hit is not None:
                combo.setCurrentIndex(combo.findData(hit))
        if self.y_key.currentIndex() <= 0 and len(names) > 1:
            self.y_key.setCurrentIndex(self.y_key.findData(names[1]))

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open data", self.path.text(), FILE_FILTER)
        if path:
            self.path.setText(path)

    def _browse_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Labels file", self.labels.text(),
                                              FILE_FILTER)
        if path:
            self.labels.setText(path)

    # -- QWizardPage -------------------------------------------------------------------------
    def isComplete(self) -> bool:
        if self.use_file.isChecked():
            return bool(self.path.text().strip())
        return self.example() is not None

    def validatePage(self) -> bool:
        try:
            if self.use_file.isChecked():
                fmt = file_format(self.path.text().strip())
                self.info = inspect_source(
                    path=self.path.text().strip(),
                    labels=(self.labels.text().strip() or None) if fmt == "idx" else None,
                    x_key=self.x_key.currentData() if fmt == "npz" else None,
                    y_key=self.y_key.currentData() if fmt == "npz" else None,
                )
            else:
                self.info = inspect_source(example=self.example())
        except NNStudioError as e:
            self.show_error(error_place(e).text)
            return False
        except OSError as e:
            self.show_error(f"cannot be read: {e.strerror or e}")
            return False
        self.show_error(None)
        return True


class PreviewPage(QWizardPage):
    """The first rows with each column's inferred type and missing count."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Look at the data")
        self.setSubTitle("The first rows, with the type read from each column and how many "
                         "values are missing.")
        self.summary = QLabel("")
        self.summary.setStyleSheet("font-weight: 600;")
        self.note = QLabel("")
        self.note.setStyleSheet(f"color: {current_theme().muted};")
        self.problems = Banner()
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("previewTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.thumbs = QLabel()
        self.thumbs.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        #: Offered when columns hold numbers written "39,1" or "1,234.5" (ticked: read them
        #: as numbers; unticked: they stay text and the builder says so).
        self.number_formats = QCheckBox("")
        self.number_formats.setObjectName("numberFormats")
        self.number_formats.setChecked(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.note)
        layout.addWidget(self.problems)
        layout.addWidget(self.number_formats)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.thumbs)

    def initializePage(self) -> None:
        info: SourceInfo = self.wizard().source_info
        self.summary.setText(info.n_rows_text)
        self.note.setText(("Types and missing values: " + info.note) if info.note
                          else info.description)
        if info.problems:
            self.problems.show_message("warning", "Things to check",
                                       "\n".join("• " + p for p in info.problems[:6]))
        else:
            self.problems.clear()
        formats = info.number_formats if info.kind == "table" else {}
        self.number_formats.setVisible(bool(formats))
        if formats:
            from nnstudio.core.data.decimals import describe

            self.number_formats.setText(describe(formats))
        if info.kind == "table":
            self.table.setVisible(True)
            self.thumbs.setVisible(False)
            self._fill_table(info)
        else:
            self.table.setVisible(info.columns != [])
            self._fill_arrays(info)

    def decimal(self) -> str | None:
        """The spec's ``decimal``: None (detect, the default) or "." when unticked."""
        info = self.wizard().source_info if self.wizard() else None
        if info is None or not info.number_formats or self.number_formats.isChecked():
            return None
        return "."

    def _fill_table(self, info: SourceInfo) -> None:
        cols = info.columns
        self.table.clear()
        self.table.setColumnCount(len(cols))
        self.table.setRowCount(len(info.rows))
        headers = []
        for c in cols:
            missing = f"{c.n_missing:,} missing" if c.n_missing else "none missing"
            kind = c.kind
            if c.name in info.number_formats:
                kind = ("numeric (39,1)" if info.number_formats[c.name] == ","
                        else "numeric (1,234.5)")
            headers.append(f"{c.name}\n{kind} · {missing}")
        self.table.setHorizontalHeaderLabels(headers)
        error = current_theme().error
        for j, c in enumerate(cols):
            item = self.table.horizontalHeaderItem(j)
            item.setToolTip(f"{c.name}: {c.kind}, {c.n_distinct:,} distinct values, "
                            f"{c.n_missing:,} missing (in the rows read)")
            if c.n_missing:
                item.setForeground(_color(error))
        for i, row in enumerate(info.rows):
            for j in range(len(cols)):
                text = row[j] if j < len(row) else ""
                cell = QTableWidgetItem(text)
                if cols[j].kind == "numeric":
                    cell.setTextAlignment(_RIGHT)
                self.table.setItem(i, j, cell)
        self.table.resizeColumnsToContents()
        for j in range(len(cols)):
            self.table.setColumnWidth(j, min(max(self.table.columnWidth(j), 80), 220))

    def _fill_arrays(self, info: SourceInfo) -> None:
        self.table.clear()
        if info.columns:
            self.table.setColumnCount(2)
            self.table.setRowCount(len(info.columns))
            self.table.setHorizontalHeaderLabels(["Array", "Type and shape"])
            for i, c in enumerate(info.columns):
                self.table.setItem(i, 0, QTableWidgetItem(c.name))
                self.table.setItem(i, 1, QTableWidgetItem(c.kind))
            self.table.resizeColumnsToContents()
        pix = thumbnails(info.samples)
        self.thumbs.setVisible(pix is not None)
        if pix is not None:
            self.thumbs.setPixmap(pix)


def thumbnails(samples: np.ndarray | None, size: int = 56) -> QPixmap | None:
    """A strip of the first samples drawn as grey images (2-D samples or 1×H×W)."""
    if samples is None or len(samples) == 0:
        return None
    x = np.asarray(samples, np.float64)
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3:
        return None
    lo, hi = float(x.min()), float(x.max())
    img8 = ((x - lo) / (hi - lo if hi > lo else 1.0) * 255).astype(np.uint8)
    n, h, w = img8.shape
    gap = 6
    strip = np.full((h, n * (w + gap)), 255, np.uint8)
    for i in range(n):
        strip[:, i * (w + gap): i * (w + gap) + w] = 255 - img8[i]
    strip = np.ascontiguousarray(strip)
    qimg = QImage(strip.data, strip.shape[1], h, strip.shape[1], QImage.Format.Format_Grayscale8)
    scale = size / h
    return QPixmap.fromImage(qimg.copy()).scaled(
        int(strip.shape[1] * scale), size, Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )


def _row(*widgets) -> QWidget:
    w = QWidget()
    layout = QHBoxLayout(w)
    layout.setContentsMargins(0, 0, 0, 0)
    for x in widgets:
        layout.addWidget(x, 1 if isinstance(x, QLineEdit) else 0)
    return w


def _color(name: str):
    from PySide6.QtGui import QColor

    return QColor(name)
