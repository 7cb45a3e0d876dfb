"""Dock tabs keep their whole names in a narrow window.

When docks are tabbed, QMainWindow makes a tab bar that elides long names ("Pr…") once the
dock column is narrow (a 1024 × 640 window). A name cut to two letters says nothing: the
bars here never elide, and scroll (arrows at the end) when all names do not fit.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar


def keep_tab_names(window: QMainWindow) -> None:
    """Make every dock tab bar of ``window`` show whole names, now and after docks move."""

    side = (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)

    def apply() -> None:
        docks = {d.windowTitle().replace("&", ""): d for d in window.findChildren(QDockWidget)}
        for bar in window.findChildren(QTabBar):
            if bar.parent() is not window:
                continue
            if bar.elideMode() != Qt.TextElideMode.ElideNone:
                bar.setElideMode(Qt.TextElideMode.ElideNone)
                bar.setUsesScrollButtons(True)
            # A side column is narrow: it keeps the width its tab names need side by side
            # (the bottom docks are wider than their tabs anyway).
            names = [bar.tabText(i).replace("&", "") for i in range(bar.count())]
            group = [docks[n] for n in names if n in docks]
            if len(group) > 1 and all(window.dockWidgetArea(d) in side for d in group):
                need = sum(bar.tabSizeHint(i).width() for i in range(bar.count())) + 4
                for dock in group:
                    dock.setMinimumWidth(need)

    def later(*_args: object) -> None:
        QTimer.singleShot(0, window, apply)

    apply()
    later()
    window.tabifiedDockWidgetActivated.connect(later)
    for dock in window.findChildren(QDockWidget):
        dock.dockLocationChanged.connect(later)
        dock.topLevelChanged.connect(later)
