"""Help: an in-app Getting Started tour, the keyboard shortcuts and the offline guide.

:func:`install` adds them to the window's Help menu (above "About"):

* **Getting Started** (F1): the course's nine steps on an example, done by the user in the
  real window; each step says what to do, "Show me" points at the control, and the step is
  ticked when the window's real state says it is done (:mod:`.tour`);
* **Keyboard Shortcuts**: every action with a shortcut, read from the actions themselves,
  and the canvas's mouse-and-key gestures (:mod:`.shortcuts`);
* **User Guide**: the guide shipped with the app (``resources/docs``), offline (:mod:`.guide`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence


def install(window: Any) -> None:
    """Add the Help entries to ``window`` (a main window with the workflow installed)."""
    from nnstudio.gui.help.guide import show_guide
    from nnstudio.gui.help.shortcuts import show_shortcuts
    from nnstudio.gui.help.tour import show_tour

    menu = window.menus["help"]
    about = window.actions.about
    tour = QAction("&Getting Started…", window)
    tour.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
    tour.setStatusTip("The nine steps of a network's life, on an example, in this window")
    tour.triggered.connect(lambda: show_tour(window))
    keys = QAction("&Keyboard Shortcuts…", window)
    keys.setShortcut(QKeySequence("Ctrl+/"))
    keys.triggered.connect(lambda: show_shortcuts(window))
    guide = QAction("&User Guide (offline)…", window)
    guide.triggered.connect(lambda: show_guide(window))
    menu.insertActions(about, [tour, keys, guide])
    menu.insertSeparator(about)
    window.actions.getting_started = tour
    window.actions.shortcuts = keys
    window.actions.user_guide = guide
