"""Editors for the settings that name data columns: an Input's ``columns``, an Output's
``target`` (setting kinds ``"names"`` and ``"text"``).

Both read the loaded table's columns through a :data:`ColumnSource` the properties panel
passes them (the session's prepared data). Without a table the columns are typed: a
comma-separated line for ``names``, free text for ``text``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
)

from nnstudio.core.engine.layer import Setting
from nnstudio.gui.panels.editors import SettingEditor, Validator


@dataclass
class Columns:
    """What the loaded data offers a column setting.

    ``features``: the table's feature columns in matrix order (what an Input may take);
    ``table``: every column an Output may predict (features and targets); ``taken``:
    ``{column: Input id}`` of the columns other Inputs take already.
    """

    features: list[str] = field(default_factory=list)
    table: list[str] = field(default_factory=list)
    taken: dict[str, str] = field(default_factory=dict)


#: ``() -> Columns`` (``None``: no table loaded).
ColumnSource = Callable[[], "Columns | None"]

#: List rows shown before the column list scrolls.
VISIBLE_ROWS = 7


class NamesEditor(SettingEditor):
    """A checkable list of the table's feature columns (none checked: the columns no other
    Input takes); a comma-separated line without a table."""

    def __init__(self, setting: Setting, validate: Validator, parent=None,
                 columns: Columns | None = None):
        super().__init__(setting, validate, parent)
        self.columns = columns if columns is not None and columns.features else None
        self.list: QListWidget | None = None
        self.edit: QLineEdit | None = None
        box = QVBoxLayout()
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        if self.columns is None:
            self.edit = QLineEdit(self)
            self.edit.setPlaceholderText("every column no other Input takes")
            self.edit.setToolTip("Column names separated by commas (load a table to pick "
                                 "them from a list)")
            self.edit.textEdited.connect(lambda text: self._mark(self._check(text)[1]))
            self.edit.editingFinished.connect(lambda: self._commit(self.edit.text()))
            box.addWidget(self.edit)
        else:
            self.list = QListWidget(self)
            self.list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
            self.list.setUniformItemSizes(True)
            self.list.itemChanged.connect(lambda _item: self._commit(self.checked()))
            box.addWidget(self.list)
        self.hint = QLabel(self)
        self.hint.setObjectName("propHint")
        self.hint.setWordWrap(True)
        box.addWidget(self.hint)
        self.layout().addLayout(box)

    def checked(self) -> list[str]:
        """The checked columns, in the list's (the matrix's) order."""
        if self.list is None:
            return []
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def item(self, name: str) -> QListWidgetItem | None:
        for i in range(self.list.count() if self.list is not None else 0):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == name:
                return self.list.item(i)
        return None

    def _check(self, value: Any) -> tuple[Any, str]:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return super()._check(value)

    def _show(self, value: Any) -> None:
        names = [str(v) for v in (value or [])]
        if self.edit is not None:
            self.edit.setText(", ".join(names))
            self.hint.setText("" if names else "Empty: every column no other Input takes.")
            self.hint.setVisible(not names)
            return
        cols = self.columns
        self.list.blockSignals(True)
        self.list.clear()
        for name in cols.features + [n for n in names if n not in cols.features]:
            owner = cols.taken.get(name)
            text = name
            if name not in cols.features:
                text += "  (not a feature of the data)"
            elif owner:
                text += f"  (Input '{owner}')"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in names
                               else Qt.CheckState.Unchecked)
            if owner and name not in names:
                item.setToolTip(f"Input '{owner}' takes this column; a column goes to one Input")
                item.setForeground(self.palette().placeholderText())
            self.list.addItem(item)
        self.list.blockSignals(False)
        rows = min(max(self.list.count(), 1), VISIBLE_ROWS)
        self.list.setFixedHeight(rows * max(self.list.sizeHintForRow(0), 18)
                                 + 2 * self.list.frameWidth() + 2)
        free = [n for n in cols.features if n not in cols.taken]
        if names:
            self.hint.setText(f"{len(names)} of {len(cols.features)} columns")
        else:
            self.hint.setText("None checked: this Input takes every column no other Input "
                              "takes" + (f" ({', '.join(free)})." if free else "."))


class TextEditor(SettingEditor):
    """A column name: an editable list of the table's columns (free text without a table)."""

    def __init__(self, setting: Setting, validate: Validator, parent=None,
                 columns: Columns | None = None):
        super().__init__(setting, validate, parent)
        self.combo = QComboBox(self)
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(8)
        for name in (columns.table if columns is not None else []):
            self.combo.addItem(name)
        self.combo.lineEdit().setPlaceholderText(
            "a column of the data" if columns is None or not columns.table
            else "choose the column it predicts")
        self.combo.activated.connect(lambda i: self._commit(self.combo.itemText(i)))
        self.combo.lineEdit().editingFinished.connect(
            lambda: self._commit(self.combo.currentText()))
        self.combo.lineEdit().textEdited.connect(lambda t: self._mark(self._check(t)[1]))
        self.layout().addWidget(self.combo)

    def _show(self, value: Any) -> None:
        text = str(value or "")
        i = self.combo.findText(text)
        if i >= 0:
            self.combo.setCurrentIndex(i)
        self.combo.setEditText(text)


def column_editor(setting: Setting, validate: Validator, parent=None,
                  columns: Columns | None = None) -> SettingEditor | None:
    """The editor of a column setting (``names``/``text``), or None for another kind."""
    if setting.kind == "names":
        return NamesEditor(setting, validate, parent, columns)
    if setting.kind == "text":
        return TextEditor(setting, validate, parent, columns)
    return None
