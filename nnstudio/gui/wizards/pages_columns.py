"""Dataset wizard, pages 3–4: what each column is for, and how to prepare it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from nnstudio.core.data import dates as _dates
from nnstudio.gui.panels.workflow_widgets import FieldError, section_title
from nnstudio.gui.theme import current_theme
from nnstudio.gui.wizards.dataset_source import SourceInfo, default_ignored

ROLES = ("Feature", "Target", "Ignore")
TASKS = {"auto": "Automatic", "classification": "Classification (predict a class)",
         "regression": "Regression (predict a number)"}
SCALINGS = {"standard": "Standardize (mean 0, std 1)", "minmax": "Min–max to 0…1",
            "none": "None (use the numbers as they are)"}
MISSING = {"drop": "Drop the row", "mean": "Fill with the mean", "median": "Fill with the median",
           "most_frequent": "Fill with the most frequent value"}


class ColumnsPage(QWizardPage):
    """Target, features and ignored columns; the task."""

    COL_NAME, COL_KIND, COL_MISSING, COL_ROLE, COL_CATEGORY = range(5)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("What to predict, and from what")
        self.setSubTitle("Pick the target column; every other column is an input feature "
                         "unless you ignore it. Tick “Category” for numbers that are really "
                         "labels, like a zip code.")
        self.info: SourceInfo | None = None
        self.roles: dict[str, QComboBox] = {}
        self.categories: dict[str, QCheckBox] = {}
        self._source_key = None

        self.table = QTableWidget(0, 5)
        self.table.setObjectName("columnsTable")
        self.table.setHorizontalHeaderLabels(["Column", "Type", "Missing", "Use as", "Category"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(self.COL_ROLE, QHeaderView.ResizeMode.ResizeToContents)
        self.table_error = FieldError()
        self.arrays_text = QLabel("")
        self.arrays_text.setWordWrap(True)

        self.task = QComboBox()
        self.task.setObjectName("task")
        for key, text in TASKS.items():
            self.task.addItem(text, key)
        self.task_error = FieldError()
        #: Why Next is disabled (no target, no feature), shown under the table.
        self.missing_hint = QLabel("")
        self.missing_hint.setObjectName("columnsMissing")
        self.missing_hint.setWordWrap(True)
        self.missing_hint.setStyleSheet(f"color: {current_theme().muted};")
        form = QFormLayout()
        form.addRow("Task", self.task)
        form.addRow("", self.task_error)

        #: The design's Output layers name their targets: said here (see set_output_targets).
        self.design_note = QLabel("")
        self.design_note.setObjectName("columnsDesignNote")
        self.design_note.setWordWrap(True)
        self.design_note.setVisible(False)

        layout = QVBoxLayout(self)
        layout.addWidget(self.design_note)
        layout.addWidget(self.arrays_text)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.table_error)
        layout.addWidget(self.missing_hint)
        layout.addLayout(form)

    def set_output_targets(self, targets: list[str]) -> None:
        """The network on the canvas ends in Output layers naming these targets: they are
        what it learns (the target chosen here serves a network with one output)."""
        self.design_note.setVisible(bool(targets))
        self.design_note.setText(
            f"The network's Output layers name their targets ({', '.join(targets)}): it "
            "learns those columns, each with its Output's loss; the target chosen here is for "
            "a network with one output. The Output layers' targets leave the features."
            if targets else "")

    # -- filling -----------------------------------------------------------------------------
    def initializePage(self) -> None:
        info: SourceInfo = self.wizard().source_info
        key = (info.path, info.example, info.labels, info.x_key, info.y_key)
        if key == self._source_key:
            return  # keep the user's choices when coming back
        self._source_key = key
        self.info = info
        self.clear_errors()
        preset = self.wizard().preset
        if info.kind == "arrays":
            self.table.setVisible(False)
            self.arrays_text.setVisible(True)
            self.arrays_text.setText(f"Inputs: every sample as it is ({info.n_rows_text}). "
                                     "Target: the labels (or y array).")
        else:
            self.table.setVisible(True)
            self.arrays_text.setVisible(False)
            self._fill(info, preset if _same_source(info, preset) else None)
        if preset is not None and _same_source(info, preset):
            self.task.setCurrentIndex(max(0, self.task.findData(preset.task)))
        else:
            self.task.setCurrentIndex(0)
        self._update_hint()

    def _fill(self, info: SourceInfo, preset) -> None:
        self.roles.clear()
        self.categories.clear()
        cols = info.columns
        self.table.setRowCount(len(cols))
        target = info.default_target
        ignored = set(default_ignored(info))
        categorical: set[str] = set()
        if preset is not None and preset.targets:
            target = preset.targets[0]
            ignored = set(preset.ignore)
            categorical = set(preset.categorical)
            if preset.features is not None:
                ignored |= {c.name for c in cols if c.name not in preset.features
                            and c.name not in preset.targets}
        for i, c in enumerate(cols):
            self.table.setItem(i, self.COL_NAME, QTableWidgetItem(c.name))
            kind = c.kind
            if c.name in info.number_formats:
                kind = ("numeric (decimal comma)" if info.number_formats[c.name] == ","
                        else "numeric (1,234.5)")
            self.table.setItem(i, self.COL_KIND, QTableWidgetItem(kind))
            miss = QTableWidgetItem(f"{c.n_missing:,}" if c.n_missing else "–")
            miss.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.table.setItem(i, self.COL_MISSING, miss)
            role = QComboBox()
            role.addItems(ROLES)
            role.setObjectName(f"role_{c.name}")
            role.setCurrentText("Target" if c.name == target
                                else "Ignore" if c.name in ignored else "Feature")
            role.currentTextChanged.connect(lambda text, n=c.name: self._role_changed(n, text))
            self.table.setCellWidget(i, self.COL_ROLE, role)
            self.roles[c.name] = role
            box = QCheckBox()
            box.setObjectName(f"category_{c.name}")
            box.setToolTip("One-hot encode this column: one input per distinct value")
            if c.kind in ("categorical", "text"):
                box.setChecked(True)
                box.setEnabled(False)
            elif c.kind in ("numeric",):
                box.setChecked(c.name in categorical)
            else:
                box.setEnabled(False)
            holder = QWidget()
            lay = QVBoxLayout(holder)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.addWidget(box, 0, Qt.AlignmentFlag.AlignCenter)
            self.table.setCellWidget(i, self.COL_CATEGORY, holder)
            self.categories[c.name] = box
        self.table.resizeRowsToContents()

    def _role_changed(self, name: str, text: str) -> None:
        self.clear_errors()
        if text == "Target":  # one target in the wizard: the previous one becomes a feature
            for other, combo in self.roles.items():
                if other != name and combo.currentText() == "Target":
                    combo.blockSignals(True)
                    combo.setCurrentText("Feature")
                    combo.blockSignals(False)
        self._update_hint()
        self.completeChanged.emit()

    def _update_hint(self) -> None:
        self.missing_hint.setText(self.missing_text())

    def missing_text(self) -> str:
        """What keeps Next disabled, in words ('' when nothing does)."""
        if self.info is None or self.info.kind == "arrays":
            return ""
        if self.target() is None and not self.features():
            return "To go on: choose a target column (Use as → Target) and keep a feature."
        if self.target() is None:
            return ("To go on: choose the column to predict — set “Use as” to Target on "
                    "one row.")
        if not self.features():
            return "To go on: keep at least one column as a Feature to learn from."
        return ""

    # -- reading -----------------------------------------------------------------------------
    def set_role(self, column: str, role: str) -> None:
        """Set a column's role (``Feature``, ``Target`` or ``Ignore``)."""
        self.roles[column].setCurrentText(role)

    def set_category(self, column: str, on: bool = True) -> None:
        self.categories[column].setChecked(on)

    def target(self) -> str | None:
        return next((n for n, c in self.roles.items() if c.currentText() == "Target"), None)

    def ignored(self) -> list[str]:
        return [n for n, c in self.roles.items() if c.currentText() == "Ignore"]

    def features(self) -> list[str]:
        return [n for n, c in self.roles.items() if c.currentText() == "Feature"]

    def categorical(self) -> list[str]:
        return [n for n, b in self.categories.items()
                if b.isChecked() and b.isEnabled() and self.roles[n].currentText() == "Feature"]

    # -- errors ------------------------------------------------------------------------------
    def clear_errors(self) -> None:
        self.table_error.set_error(None)
        self.task_error.set_error(None)
        for i in range(self.table.rowCount()):
            item = self.table.item(i, self.COL_NAME)
            if item is not None:
                item.setBackground(QColor(0, 0, 0, 0))

    def show_error(self, text: str, column: str | None = None) -> None:
        lower = text.lower()
        if column is None and ("classification" in lower or "regression" in lower):
            self.task_error.set_error(text)
            return
        self.table_error.set_error(text)
        if column in self.roles:
            row = list(self.roles).index(column)
            self.table.item(row, self.COL_NAME).setBackground(QColor(current_theme().error_fill))
            self.table.scrollToItem(self.table.item(row, self.COL_NAME))

    def isComplete(self) -> bool:
        if self.info is None or self.info.kind == "arrays":
            return True
        return self.target() is not None and bool(self.features())

    def validatePage(self) -> bool:
        return self.wizard().check_build(self)


_DATE_TIPS = {
    "year": "The calendar year as a number (a trend over the years)",
    "month": "The month as a point on a circle (sin, cos): December is next to January",
    "day_of_year": "The day of the year as a point on a circle (sin, cos): the season",
    "weekday": "The weekday as a point on a circle (sin, cos): Monday … Sunday",
    "days": "Days since 1970-01-01 as one number (a trend over time)",
}


def _same_source(info: SourceInfo, preset) -> bool:
    """Whether ``preset`` (the project's dataset) describes the file the wizard shows now.

    Column roles and preparation are carried over only for the same file or example: a new
    file starts fresh.
    """
    if preset is None:
        return False
    if info.example is not None or preset.example is not None:
        return info.example == preset.example
    if info.path is None or preset.source is None:
        return False
    from pathlib import Path

    try:
        return Path(info.path).resolve() == Path(preset.source).resolve()
    except OSError:
        return False


class PreparePage(QWizardPage):
    """Scaling, missing values, one-hot encoding."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle("Prepare the inputs")
        self.setSubTitle("Every step is fitted on the training split only, and saved with "
                         "the model so predictions get exactly the same treatment.")
        self.scaling = QComboBox()
        self.scaling.setObjectName("scaling")
        for key, text in SCALINGS.items():
            self.scaling.addItem(text, key)
        self.missing = QComboBox()
        self.missing.setObjectName("missing")
        for key, text in MISSING.items():
            self.missing.addItem(text, key)
        self.missing.currentIndexChanged.connect(self._update_fill_notes)
        self.target_scaling = QCheckBox("Standardize the target while training (predictions "
                                        "are given back in its own units)")
        self.target_scaling.setChecked(True)
        self.scaling_error = FieldError()
        self.missing_error = FieldError()
        self.per_column = QTableWidget(0, 3)
        self.per_column.setHorizontalHeaderLabels(["Column with missing values", "Missing",
                                                   "Treatment"])
        self.per_column.verticalHeader().setVisible(False)
        self.per_column.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.per_column.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.per_column_combos: dict[str, QComboBox] = {}
        self.onehot = QLabel("")
        self.onehot.setWordWrap(True)
        self.skipped = QLabel("")
        self.skipped.setWordWrap(True)
        self.skipped.setStyleSheet(f"color: {current_theme().muted};")
        self.fill_notes = QLabel("")
        self.fill_notes.setObjectName("fillNotes")
        self.fill_notes.setWordWrap(True)
        # Date parts: what every date column becomes (see nnstudio.core.data.dates).
        self.date_parts: dict[str, QCheckBox] = {}
        self.dates_row = QWidget()
        dates_lay = QHBoxLayout(self.dates_row)
        dates_lay.setContentsMargins(0, 0, 0, 0)
        for part in _dates.PARTS:
            box = QCheckBox(_dates.LABELS[part])
            box.setObjectName(f"date_{part}")
            box.setChecked(part in _dates.DEFAULT_PARTS)
            box.setToolTip(_DATE_TIPS[part])
            box.toggled.connect(self._dates_changed)
            dates_lay.addWidget(box)
            self.date_parts[part] = box
        dates_lay.addStretch(1)
        self.dates_text = QLabel("")
        self.dates_text.setObjectName("datesText")
        self.dates_text.setWordWrap(True)
        self.dates_title = section_title("Dates")

        form = QFormLayout()
        form.addRow("Numbers", self.scaling)
        form.addRow("", self.scaling_error)
        form.addRow("Missing values", self.missing)
        form.addRow("", self.missing_error)
        form.addRow("", self.target_scaling)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.per_column, 1)
        layout.addWidget(self.fill_notes)
        layout.addWidget(self.dates_title)
        layout.addWidget(self.dates_row)
        layout.addWidget(self.dates_text)
        layout.addWidget(section_title("Categories"))
        layout.addWidget(self.onehot)
        layout.addWidget(self.skipped)
        from nnstudio.gui.wizards.text_options import TextOptionsBox

        self.text_box = TextOptionsBox()  # free text as input (shown for text columns)
        layout.addWidget(self.text_box)
        layout.addStretch(0)
        self._columns_key = None

    def initializePage(self) -> None:
        wiz = self.wizard()
        info: SourceInfo = wiz.source_info
        preset = wiz.preset
        if preset is not None and self._columns_key is None and _same_source(info, preset):
            if preset.date_features:
                for part, box in self.date_parts.items():
                    box.setChecked(part in preset.date_features)
            self.scaling.setCurrentIndex(max(0, self.scaling.findData(preset.scaling)))
            self.missing.setCurrentIndex(max(0, self.missing.findData(preset.missing)))
            self.target_scaling.setChecked(preset.target_scaling == "standard")
        tabular = info.kind == "table"
        self.missing.setEnabled(tabular)
        if not tabular:
            self.text_box.set_columns([])
        prepared = wiz.prepared
        self.target_scaling.setVisible(prepared is not None and prepared.task == "regression")
        cols = wiz.columns_page.features() if tabular else []
        self.date_columns = [c.name for c in info.columns
                             if c.name in cols and c.kind == "date"
                             and c.name not in wiz.columns_page.categorical()]
        for w in (self.dates_title, self.dates_row, self.dates_text):
            w.setVisible(bool(self.date_columns))
        self._dates_changed()
        with_missing = [c for c in info.columns if c.name in cols and c.n_missing]
        key = tuple(c.name for c in with_missing)
        if key != self._columns_key:
            self._columns_key = key
            old = {n: c.currentData() for n, c in self.per_column_combos.items()}
            self.per_column_combos.clear()
            self.per_column.setRowCount(len(with_missing))
            for i, c in enumerate(with_missing):
                self.per_column.setItem(i, 0, QTableWidgetItem(c.name))
                self.per_column.setItem(i, 1, QTableWidgetItem(f"{c.n_missing:,}"))
                combo = QComboBox()
                combo.addItem("As above", None)
                categorical = (c.kind in ("categorical", "text")
                               or c.name in wiz.columns_page.categorical())
                for k, text in MISSING.items():
                    if categorical and k in ("mean", "median"):
                        continue  # no mean of categories: offer what is really done
                    combo.addItem(text.replace("value", "category") if categorical else text, k)
                want = old.get(c.name) or (preset.missing_per_column.get(c.name)
                                           if preset is not None else None)
                combo.setCurrentIndex(max(0, combo.findData(want)))
                combo.currentIndexChanged.connect(self._update_fill_notes)
                self.per_column.setCellWidget(i, 2, combo)
                self.per_column_combos[c.name] = combo
        self.per_column.setVisible(bool(with_missing))
        self._describe(prepared)

    def _describe(self, prepared) -> None:
        if prepared is None:
            self.onehot.setText("")
            self.skipped.setText("")
            return
        prep = prepared.preparation
        cats = [f for f in getattr(prep, "features", []) if f.get("kind") == "categorical"]
        if cats:
            parts = [f"{f['name']} → {len(f['categories'])} inputs" for f in cats]
            self.onehot.setText("One-hot encoded (one input per category seen in training): "
                                + ", ".join(parts) + ". A category never seen in training "
                                "gives all zeros.")
        elif prepared.preparation.array is not None:
            self.onehot.setText("Array data: every value is scaled with the same offset and "
                                "divisor, fitted on the training split.")
        else:
            self.onehot.setText("No categorical inputs.")
        self._update_fill_notes()
        skipped = getattr(prepared, "skipped_columns", {}) or {}
        lines = ["Left out: " + "; ".join(f"{k} ({v})" for k, v in skipped.items())] \
            if skipped else []
        lines += list(getattr(prepared, "notes", []) or [])
        self.skipped.setText("\n".join(lines))

    def _update_fill_notes(self) -> None:
        """Say what filling really does where it differs from the strategy's name."""
        wiz = self.wizard()
        info = wiz.source_info if wiz is not None else None
        notes = []
        if info is not None and info.kind == "table":
            chosen = wiz.columns_page.features()
            forced = set(wiz.columns_page.categorical())
            per_column = self.missing_per_column()
            for c in info.columns:
                if c.name not in chosen or not c.n_missing:
                    continue
                if c.kind not in ("categorical", "text") and c.name not in forced:
                    continue
                how = per_column.get(c.name, self.missing.currentData())
                if how in ("mean", "median"):
                    notes.append(f"{c.name}: {how} of a category does not exist: filled "
                                 "with its most frequent category in the training rows")
        self.fill_notes.setText("Missing values — " + "; ".join(notes) + "." if notes else "")
        self.fill_notes.setVisible(bool(notes))

    def chosen_date_parts(self) -> list[str]:
        """The date parts ticked, in :data:`nnstudio.core.data.dates.PARTS` order."""
        return [p for p, box in self.date_parts.items() if box.isChecked()]

    def _dates_changed(self) -> None:
        parts = self.chosen_date_parts()
        cols = getattr(self, "date_columns", [])
        if not parts:
            self.dates_text.setText("Tick at least one part, or ignore the date column.")
        else:
            self.dates_text.setText("; ".join(_dates.describe(c, parts) for c in cols) + "."
                                    + (" Year and days since 1970 let the network learn "
                                       "a trend over time: predictions for dates outside "
                                       "the training range are flagged."
                                       if {"year", "days"} & set(parts) else ""))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not getattr(self, "date_columns", []) or bool(self.chosen_date_parts())

    def missing_per_column(self) -> dict[str, str]:
        return {n: c.currentData() for n, c in self.per_column_combos.items()
                if c.currentData() is not None}

    def clear_errors(self) -> None:
        self.scaling_error.set_error(None)
        self.missing_error.set_error(None)

    def show_error(self, text: str, column: str | None = None) -> None:
        if "scal" in text.lower():
            self.scaling_error.set_error(text)
        else:
            self.missing_error.set_error(text)

    def validatePage(self) -> bool:
        return self.wizard().check_build(self)
