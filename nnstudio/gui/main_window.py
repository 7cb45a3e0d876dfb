"""The main window: layer palette, network canvas, properties, menus, status bar.

The window owns one :class:`~nnstudio.core.graph.document.GraphDocument` for its whole life
(opening a file replaces its content, not the object), the undo stack that every edit goes
through, and the :class:`~nnstudio.gui.session.Session` — the one state of the work: the
current :class:`~nnstudio.core.io.project.Project`, its data, runs and current model. Workflow
panels (data, training, results...) are added by :func:`nnstudio.gui.workflow.install` at the
end of ``__init__`` with :meth:`MainWindow.add_dock` and the menus in
:attr:`MainWindow.menus`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from nnstudio import __version__
from nnstudio.core.graph import GraphDocument
from nnstudio.core.io.project import Project
from nnstudio.gui.actions import create_actions, refresh_icons
from nnstudio.gui.canvas import CanvasScene, CanvasView
from nnstudio.gui.editing import EditingMixin
from nnstudio.gui.files import FilesMixin, make_settings
from nnstudio.gui.icons import app_icon
from nnstudio.gui.layout_barrier import LayoutBarrier
from nnstudio.gui.panels.palette import PalettePanel
from nnstudio.gui.panels.properties import PropertiesPanel
from nnstudio.gui.recovery import RecoveryManager
from nnstudio.gui.session import Session
from nnstudio.gui.theme import apply_theme
from nnstudio.gui.undo import QtUndoStack


class MainWindow(FilesMixin, EditingMixin, QMainWindow):
    """The nnstudio editor window.

    Parameters
    ----------
    settings:
        Where window layout, recent files and the theme are remembered (default: the
        application's ``QSettings``; tests pass an INI file).
    recovery_dir:
        Folder of the autosave recovery file (default: under ``AppDataLocation``).
    workflow_panels:
        Install the workflow panels (:func:`nnstudio.gui.workflow.install`); the editor's own
        tests leave them out.

    Attributes
    ----------
    document:
        The network being designed (GUI-free; read it, edit it only through ``push``).
    undo_stack:
        :class:`~nnstudio.gui.undo.QtUndoStack`; ``push_command(core_command)``.
    session:
        The :class:`~nnstudio.gui.session.Session`: project, data, runs, current model.
    project:
        ``session.project``, the current :class:`~nnstudio.core.io.project.Project` (its
        ``network`` is refreshed from the document by :meth:`current_project` and before
        saving).
    scene, canvas, palette, properties:
        The canvas scene and view and the two panels.
    menus:
        ``{"file", "recent", "examples", "edit", "view", "panels", "theme", "templates",
        "help"}`` → ``QMenu``.
    actions:
        Namespace of ``QAction`` (``new``, ``open``, ``save``, ``undo``, ``delete``...).
    toolbar:
        The main ``QToolBar``.
    output_units:
        Number of outputs (classes) of the loaded data, used by templates; ``None`` = unknown.
    """

    #: A project was opened, created or restored: the ``Project``.
    project_loaded = Signal(object)
    #: Saving is about to write the ``Project``: panels put their state into it now.
    project_about_to_save = Signal(object)
    #: The project was written: its ``Path``.
    project_saved = Signal(object)
    #: The design was locked (True, e.g. while training) or unlocked (False).
    design_lock_changed = Signal(bool)

    def __init__(self, settings: QSettings | None = None,
                 recovery_dir: str | Path | None = None, parent: QWidget | None = None,
                 workflow_panels: bool = True):
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowIcon(app_icon())
        self.settings = settings if settings is not None else make_settings()
        self.interactive = True
        self.design_locked = False
        self.output_units: int | None = None
        self._paste_count = 0
        self.menus: dict = {}
        self.docks: dict[str, QDockWidget] = {}
        #: Lays the docks out for a first start (set by the workflow), or None.
        self.default_layout: Callable[[], None] | None = None
        self.setAcceptDrops(True)

        self.session = Session(self._network_source, self)
        self.document = GraphDocument()
        self.document.replace(self.project.network)
        self.undo_stack = QtUndoStack(self)
        self.scene = CanvasScene(self.document, self.push, self)
        self.canvas = CanvasView(self.scene, self)
        self.setCentralWidget(self.canvas)
        self.palette = PalettePanel(self)
        self.palette.setMinimumWidth(180)
        self.properties = PropertiesPanel(self.document, self.push, self)
        self.properties.setMinimumWidth(240)
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self.actions = create_actions(self)
        self.add_dock(self.palette, "Layers", Qt.DockWidgetArea.LeftDockWidgetArea, "palette")
        self.add_dock(self.properties, "Properties", Qt.DockWidgetArea.RightDockWidgetArea,
                      "properties")
        self._build_status_bar()

        self.palette.layer_activated.connect(self.add_layer)
        self.scene.selectionChanged.connect(self._on_selection)
        self.scene.connection_refused.connect(self._on_refused)
        self.canvas.customContextMenuRequested.connect(self.show_canvas_menu)
        self.canvas.zoom_changed.connect(self._on_zoom)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.session.modified_changed.connect(lambda _m: self._update_title())
        self.undo_stack.indexChanged.connect(self._on_index_changed)
        self.document.shapes_changed.connect(self._update_status)
        self._update_status(self.document.report)
        self._update_edit_actions()
        self._update_title()

        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._on_system_scheme)
        self.recovery = RecoveryManager(self, recovery_dir)
        self.recovery.start()
        if workflow_panels:
            from nnstudio.gui import workflow

            workflow.install(self)
        self._restore_layout()

    @property
    def project(self) -> Project:
        """The session's project (one place: :attr:`session`)."""
        return self.session.project

    def _network_source(self):
        doc = self.document
        return doc.spec(), doc.input_shape

    # -- docks and status bar -------------------------------------------------------------------
    def add_dock(self, widget: QWidget, title: str,
                 area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
                 name: str | None = None) -> QDockWidget:
        """Put ``widget`` in a dock (toggle listed in View ▸ Panels); returns the dock.

        ``name`` (default: the title) names the dock for the saved window layout.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name or title}")
        # The barrier keeps a panel's frequent relayouts (a status line during training) from
        # relaying out the whole window; see nnstudio.gui.layout_barrier.
        dock.setWidget(LayoutBarrier(widget))
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        self.menus["panels"].addAction(dock.toggleViewAction())
        self.docks[name or title] = dock
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        self.problem_label = QLabel()
        self.problem_label.setObjectName("statusProblem")
        self.params_label = QLabel()
        self.params_label.setObjectName("statusParams")
        self.zoom_label = QLabel("100 %")
        self.zoom_label.setObjectName("statusOk")
        bar.addPermanentWidget(self.problem_label)
        bar.addPermanentWidget(self.params_label)
        bar.addPermanentWidget(self.zoom_label)

    def show_message(self, text: str, timeout_ms: int = 5000) -> None:
        """A transient message in the status bar."""
        self.statusBar().showMessage(text, timeout_ms)

    def show_error(self, title: str, text: str) -> None:
        """A readable error: a message box (or stderr when not interactive)."""
        if not self.interactive:
            print(f"error: {text}", file=sys.stderr)
            return
        QMessageBox.warning(self, title, text)

    def _update_status(self, report) -> None:
        self.params_label.setText(f"Total: {report.total_params:,} parameters")
        errors = self.document.problems if len(self.document) else []
        if errors:
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            self.problem_label.setText("⚠ " + _clip(errors[0], 90) + more)
            self.problem_label.setToolTip("\n".join(errors))
        else:
            self.problem_label.setText("")
            self.problem_label.setToolTip("")

    def _on_refused(self, reason: str) -> None:
        self.show_message(reason, 8000)

    def _on_clean_changed(self, clean: bool) -> None:
        self._update_title()

    def _on_index_changed(self, index: int) -> None:
        self._update_edit_actions()

    def _on_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f} %")

    def _on_selection(self) -> None:
        # A scene being destroyed clears its selection and emits once more: nothing to show.
        if not shiboken6.isValid(self.scene) or not shiboken6.isValid(self.properties):
            return
        ids = self.scene.selected_node_ids()
        self.properties.set_node(ids[0] if len(ids) == 1 else None)
        self._update_edit_actions()

    def _update_edit_actions(self) -> None:
        a = self.actions
        editable = not self.design_locked
        a.undo.setEnabled(editable and self.undo_stack.canUndo())
        a.redo.setEnabled(editable and self.undo_stack.canRedo())
        a.undo.setText("&Undo " + self.undo_stack.undoText() if self.undo_stack.canUndo()
                       else "&Undo")
        a.redo.setText("&Redo " + self.undo_stack.redoText() if self.undo_stack.canRedo()
                       else "&Redo")
        selected = bool(self.scene.selectedItems())
        nodes = bool(self.scene.selected_node_ids())
        a.delete.setEnabled(editable and selected)
        a.cut.setEnabled(editable and nodes)
        a.copy.setEnabled(nodes)
        a.duplicate.setEnabled(editable and nodes)
        a.paste.setEnabled(editable)
        a.arrange.setEnabled(editable)
        for action in (*a.templates, a.new, a.open):
            action.setEnabled(editable)
        self.menus["recent"].setEnabled(editable)
        self.menus["examples"].setEnabled(editable and not self.menus["examples"].isEmpty())
        a.templates_button.setEnabled(editable)

    # -- locking ---------------------------------------------------------------------------------
    def set_design_locked(self, locked: bool) -> None:
        """Make the design read-only (during training) or editable again.

        Locks the canvas (no moves, connections, drops), the properties, the palette and every
        action that changes the design (undo/redo, delete, paste, templates, New, Open).
        """
        if locked == self.design_locked:
            return
        self.design_locked = locked
        self.scene.set_locked(locked)
        self.properties.set_locked(locked)
        self.palette.setEnabled(not locked)
        self._update_edit_actions()
        self.design_lock_changed.emit(locked)

    # -- theme -------------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        """Apply ``"light"``, ``"dark"`` or ``"system"`` and remember it."""
        app = QApplication.instance()
        apply_theme(app, name)
        self.settings.setValue("theme", name)
        if name in self.actions.themes:
            self.actions.themes[name].setChecked(True)
        refresh_icons(self)
        self.palette.rebuild()
        self.properties.set_node(self.properties.node_id)
        self.properties._build()
        for item in self.scene.node_items.values():
            item.update()
        self.scene.update()
        self.canvas.viewport().update()

    def _on_system_scheme(self, _scheme) -> None:
        """The desktop switched light/dark: follow it when the theme is "system"."""
        if str(self.settings.value("theme", "system")) == "system":
            self.set_theme("system")

    # -- window state ----------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1360, 840)
        # Later: the workflow, deploy and media docks are added after this window is built.
        QTimer.singleShot(0, self, self._restore_docks)
        self.resizeDocks([self.docks["palette"], self.docks["properties"]], [220, 270],
                         Qt.Orientation.Horizontal)
        theme = str(self.settings.value("theme", "system"))
        if theme in self.actions.themes:
            self.actions.themes[theme].setChecked(True)

    def saved_dock_state(self) -> QByteArray | None:
        """The dock layout saved at the last quit, or None when there is none or it was saved
        with another set of docks (an older version: a panel it did not know would float
        over the canvas after ``restoreState``)."""
        state = self.settings.value("window/state")
        if not isinstance(state, QByteArray) or state.isEmpty():
            return None
        saved = self.settings.value("window/docks")
        saved = [saved] if isinstance(saved, str) else list(saved or [])
        return state if sorted(saved) == sorted(self.docks) else None

    def _restore_docks(self) -> None:
        state = self.saved_dock_state()
        if state is not None:
            self.restoreState(state)
        elif self.default_layout is not None:
            self.default_layout()

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/docks", sorted(self.docks))
        self.settings.sync()

    def offer_recovery(self) -> bool:
        """After a crash: offer to restore the autosaved design; returns whether it did."""
        path = self.recovery.pending()
        if path is None:
            return False
        answer = QMessageBox.question(
            self, "Restore your design?",
            "nnstudio did not close properly last time. Your design was autosaved.\n\n"
            "Restore it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            self.recovery.discard()
            return False
        try:
            project = self.recovery.load()
            self.set_project(project, modified=True)
        except Exception as e:  # a damaged recovery file must not stop the start-up
            self.show_error("Cannot restore the design", str(e))
            return False
        self.show_message("Design restored — save it to keep it.", 8000)
        return True

    def show_about(self) -> None:
        QMessageBox.about(
            self, "About nnstudio",
            f"<h3>nnstudio {__version__}</h3><p>Design neural networks visually, train them "
            "while you watch, and ship the result.</p>")

    # -- drag and drop of files -------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_file(event) is not None and not self.design_locked:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_file(event)
        if path is None or self.design_locked:
            event.ignore()
            return
        event.acceptProposedAction()
        # After the drop returns: a dialog inside a drop handler blocks the drag source.
        QTimer.singleShot(0, lambda: self.open_path(path))

    @staticmethod
    def _dropped_file(event) -> str | None:
        """The one project or model file a drag carries, else ``None``."""
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if len(files) != 1 or not files[0].lower().endswith((".nnsproj", ".npz")):
            return None
        return files[0]

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.save_layout()
        self.recovery.stop()
        self.recovery.discard()
        event.accept()
        super().closeEvent(event)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
