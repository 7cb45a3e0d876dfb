"""Help ▸ Keyboard Shortcuts: every shortcut of the window, read from its actions."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

#: What the canvas does with the mouse and keys (gestures, not actions).
CANVAS = [
    ("Ctrl + mouse wheel", "Zoom the canvas around the mouse"),
    ("Mouse wheel", "Pan the canvas"),
    ("Space + drag, middle-button drag", "Pan the canvas"),
    ("Drag from an output port to an input port", "Connect two layers"),
    ("Drag on empty canvas", "Select with a rubber band"),
]


def shortcut_rows(window: Any) -> list[tuple[str, str]]:
    """``(keys, what)`` of every action of ``window`` that has a shortcut, sorted by what."""
    rows = {}
    for action in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()
                if not k.isEmpty()]
        if not keys:
            continue
        text = action.text().replace("&", "").rstrip("…").strip()
        if text:
            rows[text] = ", ".join(keys)
    return sorted(((k, t) for t, k in rows.items()), key=lambda r: r[1].lower())


class ShortcutsDialog(QDialog):
    def __init__(self, window: Any):
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(window) + CANVAS
        self.table = QTableWidget(len(rows), 2)
        self.table.setObjectName("shortcutsTable")
        self.table.setHorizontalHeaderLabels(["Keys", "Does"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        for i, (keys, what) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(keys))
            self.table.setItem(i, 1, QTableWidgetItem(what))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 560)


def show_shortcuts(window: Any) -> ShortcutsDialog:
    dialog = ShortcutsDialog(window)
    if getattr(window, "interactive", True):
        dialog.exec()
    return dialog
