"""The properties panel: edit the selected layer's settings, see its shape and problems.

Each finished edit becomes one undoable :class:`~nnstudio.core.graph.commands.SetConfig`
pushed through the window's undo stack; the panel follows the document's signals to show
undo/redo and the live shape report. With nothing selected it summarizes the network.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.errors import NNStudioError
from nnstudio.core.graph import Command, GraphDocument, SetConfig, format_shape
from nnstudio.core.training.memory import check_training_fits, estimate_training_memory
from nnstudio.gui.icons import layer_icon
from nnstudio.gui.panels.column_editors import Columns, ColumnSource, column_editor
from nnstudio.gui.panels.editors import SettingEditor, make_editor
from nnstudio.gui.theme import current_theme


def pretty(name: str) -> str:
    """``kernel_size`` → ``Kernel size``."""
    return name.replace("_", " ").capitalize()


class PropertiesPanel(QScrollArea):
    """Settings of the selected node, or an overview of the network.

    Parameters
    ----------
    document:
        The document to read and follow.
    push:
        Runs and records a command (the window's ``undo_stack.push_command``).
    """

    def __init__(self, document: GraphDocument, push: Callable[[Command], None],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document
        self.push = push
        self.node_id: str | None = None
        self.editors: dict[str, SettingEditor] = {}
        self.field_errors: dict[str, QLabel] = {}
        self.locked = False
        #: ``() -> (batch_size, optimizer type)`` for the memory estimate; the workflow sets
        #: it to the Training panel's fields (default: batch 32, Adam).
        self.training_settings: Callable[[], tuple[int, str]] | None = None
        self.memory = None
        #: ``() -> Columns | None``: the loaded table's columns for the editors of an
        #: Input's columns and an Output's target; the workflow sets it to the session's data.
        self.column_source: ColumnSource | None = None
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._body: QWidget | None = None
        self._slots = {
            document.node_config_changed: self._on_config_changed,
            document.node_removed: self._on_node_removed,
            document.reset: self._on_reset,
            document.shapes_changed: self._on_shapes,
        }
        for signal, slot in self._slots.items():
            signal.connect(slot)
        self._build()

    def sizeHint(self) -> QSize:
        return QSize(290, 400)

    def detach(self) -> None:
        for signal, slot in self._slots.items():
            signal.disconnect(slot)

    # -- public ----------------------------------------------------------------------------------
    def set_node(self, node_id: str | None) -> None:
        """Show ``node_id``'s settings (``None``: the network overview)."""
        if node_id is not None and node_id not in self.document:
            node_id = None
        if node_id != self.node_id or self._body is None:
            self.node_id = node_id
            self._build()

    def set_locked(self, locked: bool) -> None:
        """Read-only while training."""
        self.locked = locked
        for editor in self.editors.values():
            editor.setEnabled(not locked)

    # -- building ---------------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        body.setObjectName("propertiesBody")
        layout = QVBoxLayout(body)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        self.editors.clear()
        self.field_errors.clear()
        if self.node_id is None:
            self._build_overview(layout)
        else:
            self._build_node(layout)
        layout.addStretch(1)
        self.setWidget(body)
        self._body = body

    def _build_overview(self, layout: QVBoxLayout) -> None:
        title = QLabel("Network")
        title.setObjectName("propTitle")
        layout.addWidget(title)
        self.overview = QLabel()
        self.overview.setObjectName("propSubtitle")
        self.overview.setWordWrap(True)
        layout.addWidget(self.overview)
        self.memory_label = QLabel()
        self.memory_label.setObjectName("propMemory")
        self.memory_label.setWordWrap(True)
        layout.addWidget(self.memory_label)
        self.problems = QLabel()
        self.problems.setObjectName("propError")
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.problems)
        hint = QLabel("Select a layer on the canvas to edit its settings.")
        hint.setObjectName("propHint")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self._update_overview()

    def _update_overview(self) -> None:
        doc = self.document
        report = doc.report
        n = len(doc)
        data = ("data shape " + format_shape(doc.input_shape)) if doc.input_shape else (
            "no data loaded yet")
        self.overview.setText(
            f"{n} layer{'s' if n != 1 else ''} · {len(doc.edges)} connection"
            f"{'s' if len(doc.edges) != 1 else ''}<br>{report.total_params:,} trainable "
            f"parameters<br>{data}")
        self._update_memory()
        problems = doc.problems if n else []
        self.problems.setVisible(bool(problems))
        self.problems.setText("<br>".join("⚠ " + html.escape(p) for p in problems[:8]))

    def _update_memory(self) -> None:
        """The estimated memory of training, with a warning or refusal (see
        :mod:`nnstudio.core.training.memory`)."""
        label = getattr(self, "memory_label", None)
        if label is None:
            return
        report = self.document.report
        if not len(self.document) or self.document.input_shape is None:
            label.setVisible(False)
            return
        batch, optimizer = (self.training_settings() if self.training_settings is not None
                            else (32, "adam"))
        self.memory = estimate_training_memory(report, batch, optimizer,
                                               spec=self.document.spec())
        try:
            warning = check_training_fits(self.memory)
        except NNStudioError as e:
            label.setText(f"<span style='color:{current_theme().error}'>⚠ {html.escape(str(e))}"
                          "</span>")
        else:
            text = "Training memory " + html.escape(self.memory.describe())
            if warning:
                text = f"<span style='color:{current_theme().warning}'>⚠ {html.escape(warning)}" \
                       "</span>"
            label.setText(text)
        label.setVisible(True)

    def _build_node(self, layout: QVBoxLayout) -> None:
        node = self.document.node(self.node_id)
        cls = node.layer_class
        head = QHBoxLayout()
        head.setSpacing(10)
        icon = QLabel()
        icon.setPixmap(layer_icon(node.type).pixmap(QSize(30, 30), self.devicePixelRatioF()))
        icon.setFixedSize(32, 32)
        head.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        names = QVBoxLayout()
        names.setSpacing(0)
        self.title = QLabel(node.describe())
        self.title.setObjectName("propTitle")
        self.title.setWordWrap(True)
        names.addWidget(self.title)
        sub = QLabel(f"{node.id} · {cls.category if cls else 'unknown type'}")
        sub.setObjectName("propSubtitle")
        sub.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        sub.setWordWrap(True)
        names.addWidget(sub)
        head.addLayout(names, 1)
        layout.addLayout(head)
        summary = QLabel(cls.summary if cls else f"'{node.type}' is not a layer type this "
                         "version of nnstudio knows.")
        summary.setObjectName("propSummary")
        summary.setWordWrap(True)
        layout.addWidget(summary)
        self.error = QLabel()
        self.error.setObjectName("propError")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)

        if node.settings:
            section = QLabel("SETTINGS")
            section.setObjectName("propSection")
            layout.addWidget(section)
            form = QFormLayout()
            form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setHorizontalSpacing(10)
            form.setVerticalSpacing(6)
            for s in node.settings:
                def check(v, k=s.name):
                    return self.document.validate_setting(self.node_id, k, v)

                editor = (column_editor(s, check, None, self._columns())
                          if s.kind in ("names", "text") else None) or make_editor(s, check)
                editor.set_value(node.config.get(s.name, s.default))
                editor.committed.connect(lambda v, k=s.name: self._commit(k, v))
                editor.setEnabled(not self.locked)
                problem = QLabel()
                problem.setObjectName("fieldError")
                problem.setWordWrap(True)
                problem.hide()
                editor.validity_changed.connect(
                    lambda text, lab=problem: (lab.setText(text), lab.setVisible(bool(text))))
                box = QWidget()
                v = QVBoxLayout(box)
                v.setContentsMargins(0, 0, 0, 0)
                v.setSpacing(2)
                v.addWidget(editor)
                v.addWidget(problem)
                label = QLabel(pretty(s.name) if s.kind != "bool" else "")
                label.setToolTip(s.help)
                form.addRow(label, box)
                self.editors[s.name] = editor
                self.field_errors[s.name] = problem
            layout.addLayout(form)

        section = QLabel("OUTPUT")
        section.setObjectName("propSection")
        layout.addWidget(section)
        out = QFormLayout()
        out.setHorizontalSpacing(10)
        self.shape_label = QLabel()
        self.shape_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.shape_label.setWordWrap(True)
        self.params_label = QLabel()
        out.addRow("Shape", self.shape_label)
        out.addRow("Parameters", self.params_label)
        layout.addLayout(out)
        self._update_node_report()

    def _update_node_report(self) -> None:
        info = self.document.node_shape(self.node_id)
        self.shape_label.setText(format_shape(info.shape) if info.shape is not None
                                 else "unknown")
        self.params_label.setText(f"{info.params:,}" if info.shape is not None else "—")
        error = None if self.document.waiting_for_data(self.node_id) else info.error
        self.error.setVisible(bool(error))
        self.error.setText("⚠ " + error if error else "")
        if self.document.waiting_for_data(self.node_id):
            self.shape_label.setText("from the data")

    def _columns(self) -> Columns | None:
        """The loaded table's columns, with the ones other Inputs of the design take."""
        source = self.column_source
        columns = source() if source is not None else None
        if columns is None:
            return None
        taken = {}
        for node in self.document.nodes:
            if node.type == "Input" and node.id != self.node_id:
                for name in node.config.get("columns") or []:
                    taken.setdefault(name, node.id)
        return Columns(list(columns.features), list(columns.table), taken)

    def refresh_columns(self) -> None:
        """The loaded data changed: rebuild the editors that list its columns."""
        if self.node_id is not None and self.node_id in self.document and any(
                s.kind in ("names", "text") for s in self.document.node(self.node_id).settings):
            self._build()

    # -- edits ------------------------------------------------------------------------------------
    def _commit(self, key: str, value: Any) -> None:
        if self.node_id is None or self.locked:
            return
        try:
            self.push(SetConfig(self.document, self.node_id, {key: value}))
        except NNStudioError as e:
            label = self.field_errors.get(key)
            if label is not None:
                label.setText(e.message)
                label.show()

    # -- document signals -------------------------------------------------------------------------
    def _on_config_changed(self, node) -> None:
        if node.id != self.node_id:
            return
        self.title.setText(node.describe())
        for s in node.settings:
            editor = self.editors.get(s.name)
            if editor is not None and editor.value() != node.config.get(s.name, s.default):
                editor.set_value(node.config.get(s.name, s.default))

    def _on_node_removed(self, node) -> None:
        if node.id == self.node_id:
            self.set_node(None)

    def _on_reset(self) -> None:
        self.node_id = None
        self._build()

    def _on_shapes(self, report) -> None:
        if self.node_id is None:
            self._update_overview()
        elif self.node_id in self.document:
            self._update_node_report()
