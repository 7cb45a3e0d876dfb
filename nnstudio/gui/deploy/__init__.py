"""Deploy and monitor in the GUI: File ▸ Deploy… and the Monitor dock.

:func:`install` (called by :func:`nnstudio.gui.workflow.install`) adds both to a main window:
a :class:`~.server_process.ServerProcess` that serves the session's model as a child process,
the modeless :class:`~.dialog.DeployDialog`, and the :class:`~.monitor_panel.MonitorPanel`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from .dialog import DeployDialog, default_log_path
from .monitor_panel import MonitorPanel
from .server_process import ServerProcess

if TYPE_CHECKING:
    from nnstudio.gui.main_window import MainWindow
    from nnstudio.gui.session import Session

__all__ = ["Deploy", "DeployDialog", "MonitorPanel", "ServerProcess", "install"]


class Deploy(QObject):
    """The window's deploy part: ``server``, ``monitor`` panel and dock, ``action``."""

    def __init__(self, window: MainWindow, session: Session):
        super().__init__(window)
        self.window = window
        self.session = session
        self.server = ServerProcess(self)
        self.dialog: DeployDialog | None = None
        from nnstudio.core.serve import missing_modules

        #: Packages serving/monitoring need that this build lacks (a trimmed frozen app).
        self.missing = missing_modules()
        self.monitor = MonitorPanel(session, self.server)
        self.dock = window.add_dock(self.monitor, "Monitor", Qt.DockWidgetArea.BottomDockWidgetArea,
                                    "monitor")
        docks = getattr(getattr(window, "workflow", None), "docks", {})
        if "results" in docks:
            window.tabifyDockWidget(docks["results"], self.dock)
            docks.get("training", docks["results"]).raise_()
        self.action = QAction("&Deploy…", window)
        self.action.setToolTip("Serve the trained model over HTTP on this computer and log "
                               "every prediction")
        self.action.setStatusTip(self.action.toolTip())
        self.action.triggered.connect(lambda _c=False: self.open_dialog())
        file_menu = window.menus.get("file")
        if file_menu is not None:
            # Right after Export Model… (deploying is the next step), else before Quit.
            acts = file_menu.actions()
            export = getattr(getattr(window, "workflow", None), "actions", {}).get("export")
            quit_action = getattr(window.actions, "quit", None)
            if export in acts and acts.index(export) + 1 < len(acts):
                file_menu.insertAction(acts[acts.index(export) + 1], self.action)
            elif quit_action in acts:
                file_menu.insertAction(quit_action, self.action)
            else:
                file_menu.addAction(self.action)
        monitor_action = QAction("Show &Monitor", window)
        monitor_action.triggered.connect(lambda _c=False: self.show_monitor())
        if "training" in window.menus:
            window.menus["training"].addAction(monitor_action)
        session.model_changed.connect(self._update)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._update()

    def open_dialog(self) -> DeployDialog:
        """Show the (modeless) Deploy dialog; returns it."""
        if self.dialog is None:
            self.dialog = DeployDialog(self.session, self.server,
                                       default_log_path(self.window), self.window)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog

    def show_monitor(self) -> None:
        self.dock.show()
        self.dock.raise_()

    def _update(self) -> None:
        if self.missing:
            self.action.setEnabled(False)
            self.action.setToolTip("Not available in this build: it lacks "
                                   + ", ".join(self.missing))
            return
        self.action.setEnabled(self.session.model is not None or self.server.running)

    def shutdown(self) -> None:
        """Stop the server and the monitor's thread (the window is closing)."""
        self.server.stop_and_wait()
        self.monitor.shutdown()


def install(window: MainWindow, session: Session) -> Deploy:
    """Add File ▸ Deploy… and the Monitor dock to ``window``; also ``window.deploy``."""
    deploy = Deploy(window, session)
    window.deploy = deploy
    return deploy
