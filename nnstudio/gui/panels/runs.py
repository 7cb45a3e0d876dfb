"""The Runs panel: every training run of the project, to sort, compare, annotate and reuse.

A sortable table of the session's run history (:class:`RunsTableModel` over
``session.runs``; name and note are edited in place and go to the session), the curves and
settings of the selected runs (:class:`~nnstudio.gui.panels.runs_compare.RunsCompare`),
actions — Make current (undoable, through the workflow), Rename, Delete, Export model — as
buttons and a context menu, and how much disk the runs take with "keep the weights of the
last N runs".

The panel observes the session only: it keeps no copy of project state, and rebuilds its
rows from ``session.runs`` whenever the session says the runs, the current model or the
project changed.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.errors import NNStudioError
from nnstudio.core.io.runs import Run
from nnstudio.gui.dialog_folders import remember, start_path
from nnstudio.gui.panels.runs_compare import RunsCompare, run_color
from nnstudio.gui.panels.runs_table import (
    ID_ROLE,
    KEYS,
    SORT_ROLE,
    RunsTableModel,
    format_bytes,
    has_model,
)
from nnstudio.gui.panels.workflow_widgets import hbox
from nnstudio.gui.session import Session
from nnstudio.gui.theme import current_theme


class RunsPanel(QWidget):
    """The Runs dock: table, comparison, actions and disk use.

    Parameters
    ----------
    session:
        The window's session (the panel reads and edits its run history).
    make_current:
        ``run id -> bool``: makes a run current (the workflow's undoable command); default
        :meth:`Session.make_current`.
    """

    #: A short message for the status bar (export done...).
    message = Signal(str)

    def __init__(self, session: Session, make_current: Callable[[str], bool] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._make_current = make_current
        self._restore_ids: list[str] = []
        self._fitted = False  # columns sized to real rows once

        self.model = RunsTableModel(session, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(KEYS.index("started"), Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.model.modelAboutToBeReset.connect(self._remember_selection)
        self.model.modelReset.connect(self._restore_selection)
        self.model.rowsInserted.connect(lambda *_: self._fitted or self._fit_columns())

        self.run_actions = {
            "make_current": self._button_action(
                "Make Current", self.make_current,
                "Bring back this run's network, settings and weights (Edit ▸ Undo goes back)"),
            "rename": self._button_action("Rename", self.rename, "Rename the run (F2)"),
            "note": self._button_action("Edit Note", self.edit_note,
                                        "Write a note about the run"),
            "delete": self._button_action("Delete…", self.delete,
                                          "Delete the selected runs from the history"),
            "export": self._button_action("Export Model…", self.export_model,
                                          "Save this run's trained model as a .npz file"),
        }
        # Keys on the table (see eventFilter): shown in the context menu after a tab.
        self.run_actions["rename"].setText("Rename\tF2")
        self.run_actions["delete"].setText("Delete…\tDel")
        self.table.installEventFilter(self)
        self.buttons = {}
        for key in ("make_current", "rename", "delete", "export"):
            button = QPushButton(self.run_actions[key].text().split("\t")[0])
            button.setToolTip(self.run_actions[key].toolTip())
            button.clicked.connect(self.run_actions[key].trigger)
            self.buttons[key] = button

        self.disk = QLabel()
        self.disk.setToolTip("The weights of kept runs are saved in a folder beside the "
                             "project file (name.runs)")
        self.keep = QSpinBox()
        self.keep.setRange(0, 10_000)
        self.keep.setSpecialValueText("all runs")
        self.keep.setPrefix("the last ")
        self.keep.setSuffix(" runs")
        self.keep.valueChanged.connect(
            lambda n: self.keep.setSuffix(" run" if n == 1 else " runs"))
        self.keep.setKeyboardTracking(False)  # typing "12" never passes through "1"
        self.keep.setToolTip("Keep the trained weights of only the last N runs (and the "
                             "current run's). Curves and metrics of every run are always "
                             "kept. 0 (all runs): keep every run's weights.")
        self.keep.valueChanged.connect(self._on_keep_changed)
        keep_label = QLabel("Keep the weights of")
        keep_label.setBuddy(self.keep)
        keep_after = QLabel("· the curves and metrics of every run are always kept")
        keep_after.setStyleSheet(f"color: {current_theme().muted};")
        # Both lines wrap rather than widen the dock (the window must fit 1024 px).
        keep_after.setWordWrap(True)
        self.disk.setWordWrap(True)
        self.disk.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.empty = QLabel("No runs yet. Every training run — Start, Continue, Replay, a "
                            "step — is listed here to compare, annotate and bring back.")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet(f"color: {current_theme().muted};")

        self.compare = RunsCompare()
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(4)
        tl.addLayout(hbox(*self.buttons.values(), None))
        tl.itemAt(0).layout().addWidget(self.disk, 1)
        tl.addWidget(self.empty)
        tl.addWidget(self.table, 1)
        keep_row = hbox(keep_label, self.keep)
        keep_row.addWidget(keep_after, 1)
        tl.addLayout(keep_row)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.compare)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([250, 350])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.splitter)

        session.runs_changed.connect(self.refresh)
        session.model_changed.connect(self.refresh)
        session.project_replaced.connect(self._on_project_replaced)
        session.training_started.connect(self._update_actions)
        session.training_finished.connect(self._update_actions)
        # A save writes the runs' files (and clears the flag): the disk use changes.
        session.modified_changed.connect(lambda _m: self._update_disk())
        self.refresh()
        self._fit_columns()

    def _button_action(self, text: str, slot, tip: str) -> QAction:
        act = QAction(text, self)
        act.setToolTip(tip)
        act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        return act

    # -- following the session --------------------------------------------------------------
    def refresh(self) -> None:
        """Show the session's runs as they are now."""
        self.model.refresh()  # changed rows re-sort (the proxy sorts dynamically)
        runs = self.session.runs
        self.empty.setVisible(len(runs) == 0)
        self.keep.blockSignals(True)
        self.keep.setValue(runs.keep_weights or 0)
        self.keep.blockSignals(False)
        self._update_disk()
        self._on_selection()

    def _on_project_replaced(self) -> None:
        self.table.clearSelection()
        self.refresh()
        self._fit_columns()

    def _remember_selection(self) -> None:
        self._restore_ids = self.selected_ids()

    def _restore_selection(self) -> None:
        ids, self._restore_ids = self._restore_ids, []
        self.select_runs([i for i in ids if self.session.runs.get(i) is not None])
        if self.model.rowCount() and not self._fitted:
            self._fit_columns()

    def _fit_columns(self) -> None:
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        header.resizeSection(KEYS.index("current"), max(22, self.fontMetrics().height() + 8))
        header.resizeSection(KEYS.index("name"), max(header.sectionSize(KEYS.index("name")), 110))
        self._fitted = self.model.rowCount() > 0

    def _update_disk(self) -> None:
        runs = self.session.runs
        unsaved = sum(1 for r in runs if has_model(r) and (
            r.weights_path is None or not r.weights_path.exists()))
        text = f"Runs use {format_bytes(runs.bytes_on_disk())} on disk"
        if unsaved:
            text += f" (+ {unsaved} unsaved run{'s' if unsaved != 1 else ''})"
        self.disk.setText(text)

    # -- selection --------------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        """Ids of the selected runs, in the order the table shows them."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(ID_ROLE) for r in rows]

    def selected_runs(self) -> list[Run]:
        runs = self.session.runs
        return [r for r in (runs.get(i) for i in self.selected_ids()) if r is not None]

    def select_runs(self, ids: list[str]) -> None:
        """Select the rows of these runs (others are deselected)."""
        selection = QItemSelection()
        last = self.proxy.columnCount() - 1
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(ID_ROLE) in ids:
                selection.select(self.proxy.index(row, 0), self.proxy.index(row, last))
        # One change (one comparison drawn), not one per row.
        self.table.selectionModel().select(
            selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def row_of(self, run_id: str) -> int:
        """The table row (as sorted now) showing ``run_id``, or -1."""
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(ID_ROLE) == run_id:
                return row
        return -1

    def _on_selection(self, *_args) -> None:
        # In the order they were made: a run keeps its colour whatever the table's sorting.
        runs = sorted(self.selected_runs(), key=lambda r: self.session.runs.runs.index(r))
        self.compare.show_runs(runs)
        self.model.set_colors({r.id: run_color(i)[0] for i, r in enumerate(self.compare.runs)}
                              if len(runs) > 1 else {})
        self._update_actions()

    def _update_actions(self, *_args) -> None:
        runs = self.selected_runs()
        one = runs[0] if len(runs) == 1 else None
        training = self.session.training
        make = self.run_actions["make_current"]
        make.setEnabled(one is not None and not training and has_model(one)
                        and one.id != self.session.runs.current_id)
        if one is not None and not has_model(one):
            make.setToolTip("The weights of this run were not kept: only its curves and "
                            "metrics are")
        elif one is not None and one.id == self.session.runs.current_id:
            make.setToolTip("This run is the current model")
        elif training:
            make.setToolTip("Wait for the run to end (or stop it) first")
        else:
            make.setToolTip("Bring back this run's network, settings and weights "
                            "(Edit ▸ Undo goes back)")
        self.run_actions["rename"].setEnabled(one is not None)
        self.run_actions["note"].setEnabled(one is not None)
        self.run_actions["delete"].setEnabled(bool(runs))
        self.run_actions["export"].setEnabled(one is not None and has_model(one))
        for key, button in self.buttons.items():
            act = self.run_actions[key]
            button.setEnabled(act.isEnabled())
            button.setToolTip(act.toolTip())

    # -- actions ----------------------------------------------------------------------------
    def make_current(self) -> bool:
        runs = self.selected_runs()
        if len(runs) != 1 or not self.run_actions["make_current"].isEnabled():
            return False
        if self._make_current is not None:
            return bool(self._make_current(runs[0].id))
        self.session.make_current(runs[0].id)
        return True

    def _edit(self, key: str) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            return
        index = self.proxy.index(self.row_of(ids[0]), KEYS.index(key))
        self.table.setCurrentIndex(index)
        self.table.edit(index)

    def rename(self) -> None:
        """Edit the selected run's name in place."""
        self._edit("name")

    def edit_note(self) -> None:
        """Edit the selected run's note in place."""
        self._edit("note")

    def delete(self) -> bool:
        """Delete the selected runs after asking."""
        runs = self.selected_runs()
        if not runs:
            return False
        names = ", ".join(r.name for r in runs[:5]) + (" …" if len(runs) > 5 else "")
        title = "Delete run?" if len(runs) == 1 else f"Delete {len(runs)} runs?"
        its = "Its" if len(runs) == 1 else "Their"
        text = (f"Delete {names} from the run history? {its} curves, metrics and weights "
                "leave the project (the files when you next save). This cannot be undone.")
        if any(r.id == self.session.runs.current_id for r in runs):
            current = self.session.current_run
            text += (f"\n\n{current.name} is the current model: deleting it leaves no current "
                     "model (Predict, Results and Export will need another run made current "
                     "or a new training run).")
        answer = QMessageBox.question(
            self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        for run in runs:
            self.session.delete_run(run.id)
        self.message.emit(f"Deleted {names}.")
        return True

    def export_model(self, path: str | None = None) -> bool:
        """Save the selected run's model to a ``.npz`` file (asks where unless ``path``)."""
        runs = self.selected_runs()
        if len(runs) != 1 or not has_model(runs[0]):
            return False
        run = runs[0]
        if path is None:
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run.name).strip("_")
            path, _ = QFileDialog.getSaveFileName(
                self, f"Export the model of {run.name}",
                start_path(self, "model", f"{safe or 'model'}.npz"), "nnstudio model (*.npz)")
            if not path:
                return False
            remember(self, "model", path)
            if not path.lower().endswith(".npz"):
                path += ".npz"
        from nnstudio.core.io.model_file import save_model

        try:
            save_model(self.session.runs.load_model(run), path)
        except NNStudioError as e:
            QMessageBox.warning(self, "Cannot export the model", str(e))
            self.refresh()  # the run may now show its problem
            return False
        except OSError as e:
            QMessageBox.warning(self, "Cannot export the model",
                                f"{path}: cannot be written ({e.strerror or e})")
            return False
        self.message.emit(f"Saved the model of {run.name} to {path}.")
        return True

    def _on_keep_changed(self, value: int) -> None:
        n = value or None
        runs = self.session.runs
        if n == runs.keep_weights:
            return
        # Which runs would lose their weights (the current run's are always kept).
        keep = {r.id for r in runs.runs[-n:]} if n else set()
        losing = [r for r in runs if n is not None and r.id not in keep
                  and r.id != runs.current_id and (r.has_weights or r.model is not None)]
        if losing:
            names = ", ".join(r.name for r in losing[:5]) + (" …" if len(losing) > 5 else "")
            answer = QMessageBox.question(
                self, "Drop older weights?",
                f"Keep the weights of only the last {n} run{'s' if n != 1 else ''}? The "
                f"weights of {names} are dropped (their curves and metrics stay); those runs "
                "can no longer be made current or exported.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                self.keep.blockSignals(True)
                self.keep.setValue(runs.keep_weights or 0)
                self.keep.blockSignals(False)
                return
        self.session.set_keep_weights(n)

    # -- keyboard and mouse -------------------------------------------------------------------
    _KEYS = {Qt.Key.Key_Delete: "delete", Qt.Key.Key_Backspace: "delete",
             Qt.Key.Key_F2: "rename"}

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        # Del, Backspace, F2 and Ctrl+A on the table act on runs. The window's Del/Backspace
        # (delete layers) and Ctrl+A (select every layer) are window shortcuts: claiming the
        # key on ShortcutOverride keeps them from firing here.
        if obj is self.table and event.type() in (QEvent.Type.ShortcutOverride,
                                                  QEvent.Type.KeyPress):
            if event.matches(QKeySequence.StandardKey.SelectAll) and \
                    self.table.state() != QAbstractItemView.State.EditingState:
                event.accept()
                if event.type() == QEvent.Type.KeyPress:
                    self.table.selectAll()
                return True
            key = self._KEYS.get(event.key())
            if key is not None and event.modifiers() == Qt.KeyboardModifier.NoModifier \
                    and self.table.state() != QAbstractItemView.State.EditingState:
                event.accept()
                if event.type() == QEvent.Type.KeyPress and self.run_actions[key].isEnabled():
                    self.run_actions[key].trigger()
                return True
        return super().eventFilter(obj, event)

    def _context_menu(self, pos) -> None:
        index = self.table.indexAt(pos)
        if index.isValid() and not self.table.selectionModel().isRowSelected(
                index.row(), QModelIndex()):
            self.select_runs([index.data(ID_ROLE)])
        menu = QMenu(self)
        for key in ("make_current", "rename", "note", None, "export", None, "delete"):
            if key is None:
                menu.addSeparator()
            else:
                menu.addAction(self.run_actions[key])
        menu.popup(self.table.viewport().mapToGlobal(pos))
        self._menu = menu  # tests read it

