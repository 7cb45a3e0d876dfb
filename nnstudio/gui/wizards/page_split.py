"""Dataset wizard, page 5: train / validation / test split, with the resulting counts.

The counts come from a real :func:`~nnstudio.core.data.build_dataset` run, done in a
background thread a moment after the last change (a large file takes a second), so the page
stays responsive while the shares are adjusted.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from nnstudio.core.data import build_dataset
from nnstudio.core.errors import NNStudioError
from nnstudio.gui.panels.workflow_widgets import FieldError, hbox
from nnstudio.gui.theme import current_theme
from nnstudio.gui.wizards.split_controls import SplitBar, SplitControls
from nnstudio.gui.workers.threads import PythonThreadJob

MAX_CLASS_COLUMNS = 12


class _Builder(PythonThreadJob):
    """Runs ``build_dataset`` in a Python thread; reports on the GUI thread."""

    #: A build finished: ``(spec dict, PreparedData or None, error or None)``.
    built = Signal(object, object, object)

    def start(self, spec) -> None:
        key = spec.to_dict()

        def run():
            try:
                prepared, error = build_dataset(spec), None
            except NNStudioError as e:
                prepared, error = None, e
            except Exception as e:  # a bug in the data layer: say so, never crash the GUI
                prepared, error = None, NNStudioError(f"{type(e).__name__}: {e}")
            with contextlib.suppress(RuntimeError):  # the wizard is gone
                self.built.emit(key, prepared, error)

        self._spawn(run, "nnstudio-dataset-build")


class SplitPage(QWizardPage):
    """Three linked shares, seed, shuffle, stratify, and rows per split and class."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Split the rows")
        self.setSubTitle("Train on one part, tune on the validation part, and keep the test "
                         "part aside to measure the finished model honestly.")
        self.shares = SplitControls()
        self.bar = SplitBar()
        self.shares.shares_changed.connect(self.bar.set_shares)
        self.seed = QSpinBox()
        self.seed.setMaximumWidth(140)
        self.seed.setObjectName("splitSeed")
        self.seed.setRange(0, 2**31 - 1)
        self.shuffle = QCheckBox("Shuffle the rows first")
        self.shuffle.setChecked(True)
        self.stratify = QCheckBox("Keep the class proportions in every split (stratify)")
        self.stratify.setChecked(True)
        self.split_error = FieldError()
        self.counts = QTableWidget(0, 0)
        self.counts.setObjectName("splitCounts")
        self.counts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.counts.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.counts.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.counts.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.status = QLabel("")
        self.status.setStyleSheet(f"color: {current_theme().muted};")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Shares", self.shares)
        form.addRow("", self.bar)
        form.addRow("", self.split_error)
        form.addRow("Seed", hbox(self.seed, None))
        form.addRow("", self.shuffle)
        form.addRow("", self.stratify)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(6)
        layout.addWidget(self.counts)
        layout.addWidget(self.status)
        layout.addStretch(1)

        self.builder = _Builder(self)
        self.builder.built.connect(self._built)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._rebuild)
        self.shares.shares_changed.connect(self._changed)
        self.seed.valueChanged.connect(self._changed)
        self.shuffle.toggled.connect(self._changed)
        self.stratify.toggled.connect(self._changed)
        self._preset_done = False

    def initializePage(self) -> None:
        wiz = self.wizard()
        preset = wiz.preset
        if preset is not None and not self._preset_done:
            self._preset_done = True
            s = preset.split
            for w in (self.shares, self.seed, self.shuffle, self.stratify):
                w.blockSignals(True)
            self.shares.set_shares(s.fractions)
            self.seed.setValue(int(s.seed))
            self.shuffle.setChecked(bool(s.shuffle))
            self.stratify.setChecked(bool(s.stratify))
            for w in (self.shares, self.seed, self.shuffle, self.stratify):
                w.blockSignals(False)
        prepared = wiz.prepared
        self.stratify.setEnabled(prepared is None or prepared.task == "classification")
        self._changed()

    def clear_errors(self) -> None:
        self.split_error.set_error(None)

    def show_error(self, text: str, column: str | None = None) -> None:
        self.split_error.set_error(text)

    # -- counts ------------------------------------------------------------------------------
    def _changed(self, *_) -> None:
        self.clear_errors()
        self.status.setText("Counting…")
        self._timer.start()
        self.completeChanged.emit()

    def _rebuild(self) -> None:
        try:
            spec = self.wizard().current_spec()
            spec.validate()
        except NNStudioError as e:
            self.wizard().route_error(e, self)
            self.status.setText("")
            return
        self.builder.start(spec)

    @Slot(object, object, object)
    def _built(self, key, prepared, error) -> None:
        wiz = self.wizard()
        if wiz is None:
            return
        try:
            current = wiz.current_spec().to_dict()
        except NNStudioError:
            return
        if key != current:
            return  # a newer change is pending
        if error is not None:
            wiz.route_error(error, self)
            self.status.setText("")
            return
        wiz.adopt_build(key, prepared)
        self.show_counts(prepared)

    def show_counts(self, prepared) -> None:
        counts = prepared.counts
        splits = [("train", "Training"), ("validation", "Validation"), ("test", "Test")]
        per_class = counts.get("per_class") or {}
        names = list(prepared.class_names)[:MAX_CLASS_COLUMNS] if per_class else []
        self.counts.clear()
        self.counts.setColumnCount(1 + len(names))
        self.counts.setHorizontalHeaderLabels(["Rows"] + [f"class {n}" for n in names])
        self.counts.setRowCount(len(splits))
        self.counts.setVerticalHeaderLabels([t for _, t in splits])
        for i, (key, _) in enumerate(splits):
            values = [counts.get(key, 0)] + [per_class.get(key, {}).get(n, 0) for n in names]
            for j, v in enumerate(values):
                item = QTableWidgetItem(f"{v:,}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.counts.setItem(i, j, item)
        header = self.counts.horizontalHeader().height()
        self.counts.setFixedHeight(header + 4 + sum(self.counts.rowHeight(i) for i in range(3)))
        text = f"{sum(counts.get(k, 0) for k, _ in splits):,} rows used"
        if counts.get("dropped"):
            text += f"; {counts['dropped']:,} rows dropped for missing values"
        if per_class and len(prepared.class_names) > MAX_CLASS_COLUMNS:
            text += f"; first {MAX_CLASS_COLUMNS} of {len(prepared.class_names)} classes shown"
        text += f". Network input: {' × '.join(map(str, prepared.input_shape))}; output: "
        text += (f"{prepared.output_size} classes" if prepared.task == "classification"
                 else f"{prepared.output_size} value(s)")
        self.status.setText(text + ".")
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.split_error.text()

    def validatePage(self) -> bool:
        self._timer.stop()
        self.builder.join()
        return self.wizard().check_build(self)

    def cleanupPage(self) -> None:
        self._timer.stop()
        self.builder.join()
