"""The main window's actions, menus and toolbar.

:func:`create_actions` builds every ``QAction`` (with standard shortcuts) into a namespace
(``window.actions.save``...), the menu bar (``window.menus["file"]``...) and the main toolbar.
Later panels add their own menus, toolbars and actions next to these.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton

from nnstudio.core.graph import templates
from nnstudio.gui.files import examples
from nnstudio.gui.icons import action_icon

if TYPE_CHECKING:
    from nnstudio.gui.main_window import MainWindow

Std = QKeySequence.StandardKey


def _action(window: MainWindow, text: str, slot=None, icon: str | None = None,
            shortcuts=(), tip: str = "") -> QAction:
    action = QAction(text, window)
    if icon:
        action.setIcon(action_icon(icon))
    keys: list[QKeySequence] = []
    for s in shortcuts:
        keys += QKeySequence.keyBindings(s) if isinstance(s, Std) else [QKeySequence(s)]
    if keys:
        action.setShortcuts(keys)
    label = text.replace("&", "").replace("…", "")
    if keys:
        label += f" ({keys[0].toString(QKeySequence.SequenceFormat.NativeText)})"
    action.setToolTip(tip or label)
    action.setStatusTip(tip or label)
    if slot is not None:
        action.triggered.connect(lambda _checked=False: slot())
    return action


def create_actions(window: MainWindow) -> SimpleNamespace:
    """Build the actions, the menus (``window.menus``) and the toolbar (``window.toolbar``)."""
    w = window
    a = SimpleNamespace()
    a.new = _action(w, "&New", w.new_project, "new", [Std.New], "Start a new, empty project")
    a.open = _action(w, "&Open…", w.open_dialog, "open", [Std.Open], "Open a project file")
    a.save = _action(w, "&Save", w.save, "save", [Std.Save], "Save the project")
    a.save_as = _action(w, "Save &As…", w.save_as, "save-as", ["Ctrl+Shift+S"],
                        "Save the project under a new name")
    a.quit = _action(w, "&Quit", w.close, None, [Std.Quit])
    a.undo = _action(w, "&Undo", w.undo_stack.undo, "undo", [Std.Undo])
    a.redo = _action(w, "&Redo", w.undo_stack.redo, "redo", ["Ctrl+Shift+Z", "Ctrl+Y"])
    a.cut = _action(w, "Cu&t", w.cut_selection, "cut", [Std.Cut])
    a.copy = _action(w, "&Copy", w.copy_selection, "copy", [Std.Copy])
    a.paste = _action(w, "&Paste", w.paste, "paste", [Std.Paste])
    a.duplicate = _action(w, "D&uplicate", w.duplicate, None, ["Ctrl+D"])
    a.delete = _action(w, "&Delete", w.delete_selection, "delete", ["Del", "Backspace"],
                       "Delete the selected layers and connections (Del)")
    a.select_all = _action(w, "Select &All", w.select_all, "select-all", [Std.SelectAll])
    a.zoom_fit = _action(w, "Zoom to &Fit", w.canvas.zoom_to_fit, "zoom-fit", ["Ctrl+0"],
                         "Show the whole network (Ctrl+0)")
    a.zoom_in = _action(w, "Zoom &In", w.canvas.zoom_in, "zoom-in", [Std.ZoomIn, "Ctrl+="])
    a.zoom_out = _action(w, "Zoom &Out", w.canvas.zoom_out, "zoom-out", [Std.ZoomOut])
    a.arrange = _action(w, "Auto-&arrange", w.auto_arrange, "arrange", ["Ctrl+L"],
                        "Lay the network out from left to right (Ctrl+L)")

    a.templates = []
    for t in templates():
        act = _action(w, t.title, lambda k=t.key: w.apply_template(k), None, (),
                      t.description)
        act.setData(t.key)
        a.templates.append(act)

    a.theme_group = QActionGroup(w)
    a.themes = {}
    for key, text in (("system", "Follow the &system"), ("light", "&Light"), ("dark", "&Dark")):
        act = QAction(text, w, checkable=True)
        act.setData(key)
        act.triggered.connect(lambda _c=False, k=key: w.set_theme(k))
        a.theme_group.addAction(act)
        a.themes[key] = act

    # menus
    bar = w.menuBar()
    m = w.menus
    m["file"] = bar.addMenu("&File")
    m["file"].addActions([a.new, a.open])
    m["recent"] = m["file"].addMenu(action_icon("recent"), "Open &Recent")
    m["recent"].aboutToShow.connect(lambda: _fill_recent(w))
    m["examples"] = m["file"].addMenu("Open E&xample")
    for path in examples():
        act = m["examples"].addAction(path.stem.replace("_", " ").capitalize())
        act.setToolTip(str(path))
        act.triggered.connect(lambda _c=False, p=path: w.open_path(p))
    m["examples"].setEnabled(bool(examples()))
    m["file"].addSeparator()
    m["file"].addActions([a.save, a.save_as])
    m["file"].addSeparator()
    m["file"].addAction(a.quit)

    m["edit"] = bar.addMenu("&Edit")
    m["edit"].addActions([a.undo, a.redo])
    m["edit"].addSeparator()
    m["edit"].addActions([a.cut, a.copy, a.paste, a.duplicate, a.delete])
    m["edit"].addSeparator()
    m["edit"].addAction(a.select_all)

    m["view"] = bar.addMenu("&View")
    m["view"].addActions([a.zoom_fit, a.zoom_in, a.zoom_out])
    m["view"].addSeparator()
    m["view"].addAction(a.arrange)
    m["view"].addSeparator()
    m["panels"] = m["view"].addMenu("&Panels")
    m["theme"] = m["view"].addMenu(action_icon("theme"), "&Theme")
    m["theme"].addActions(list(a.themes.values()))

    m["templates"] = bar.addMenu("&Templates")
    m["templates"].setToolTipsVisible(True)
    m["templates"].addActions(a.templates)

    m["help"] = bar.addMenu("&Help")
    a.about = m["help"].addAction("&About nnstudio")
    a.about.triggered.connect(w.show_about)

    # toolbar
    tb = QToolBar("Main toolbar", w)
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setIconSize(QSize(20, 20))
    tb.addActions([a.new, a.open, a.save])
    open_button = tb.widgetForAction(a.open)
    open_button.setMenu(m["recent"])  # the arrow beside Open lists the recent projects
    open_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
    tb.addSeparator()
    tb.addActions([a.undo, a.redo, a.delete])
    tb.addSeparator()
    for action in (a.zoom_fit, a.arrange):
        tb.addAction(action)
        tb.widgetForAction(action).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.addSeparator()
    button = QToolButton(tb)
    button.setText("Templates")
    button.setIcon(action_icon("templates"))
    button.setToolTip("Build a ready-made network on the canvas")
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    button.setMenu(m["templates"])
    tb.addWidget(button)
    a.templates_button = button
    w.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
    w.toolbar = tb
    return a


def _fill_recent(window: MainWindow) -> None:
    menu: QMenu = window.menus["recent"]
    menu.clear()
    files = window.recent_files()
    for path in files:
        act = menu.addAction(path)
        act.triggered.connect(lambda _c=False, p=path: window.open_recent(p))
    if not files:
        menu.addAction("No recent projects").setEnabled(False)
    else:
        menu.addSeparator()
        menu.addAction("Clear the list").triggered.connect(
            lambda: window.settings.setValue("recent_files", []))


def refresh_icons(window: MainWindow) -> None:
    """Recolour the action icons after a theme change."""
    a = window.actions
    names = {"new": "new", "open": "open", "save": "save", "save_as": "save-as",
             "undo": "undo", "redo": "redo", "cut": "cut", "copy": "copy", "paste": "paste",
             "delete": "delete", "select_all": "select-all", "zoom_fit": "zoom-fit",
             "zoom_in": "zoom-in", "zoom_out": "zoom-out", "arrange": "arrange"}
    for attr, icon in names.items():
        getattr(a, attr).setIcon(action_icon(icon))
    a.templates_button.setIcon(action_icon("templates"))
    window.menus["recent"].setIcon(action_icon("recent"))
    window.menus["theme"].setIcon(action_icon("theme"))
