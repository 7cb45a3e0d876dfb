"""Start the GUI: ``nnstudio`` with no subcommand, ``--example``, ``--screenshot``,
``--quit-after-shown``."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from nnstudio.gui.errors import install_excepthook
from nnstudio.gui.files import example_path, examples
from nnstudio.gui.icons import app_icon
from nnstudio.gui.theme import apply_theme

#: The window the last :func:`run` showed (kept for tests and smoke checks).
last_window = None


def application() -> QApplication:
    """The QApplication (created once, with high-DPI and identity settings)."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        QCoreApplication.setOrganizationName("nnstudio")
        QCoreApplication.setApplicationName("nnstudio")
        # Wayland docks match the window to nnstudio.desktop (and its icon) by this name.
        QGuiApplication.setDesktopFileName("nnstudio")
        app = QApplication(sys.argv[:1])
        app.setWindowIcon(app_icon())
        collect_on_gui_thread(app)
    return app  # type: ignore[return-value]


def collect_on_gui_thread(app: QApplication) -> None:
    """Run Python's cyclic garbage collector only on the GUI thread, from a timer.

    Left automatic, a collection may start in whichever thread allocates — a worker decoding
    images or training — and destroy Qt objects there (a menu, a widget left in a cycle),
    which Qt forbids; in the test suite such a collection deadlocked against the GUI thread.
    pyqtgraph's collector disables automatic collection and collects, generation by
    generation as the thresholds say, every half second.
    """
    from pyqtgraph.util.garbage_collector import GarbageCollector

    if getattr(app, "_nnstudio_gc", None) is None:
        app._nnstudio_gc = GarbageCollector(interval=0.5)


def run(project: str | None = None, example: str | None = None,
        screenshot: str | None = None, quit_after_shown: bool = False) -> int:
    """Open the main window and run the event loop; returns the exit code.

    Parameters
    ----------
    project:
        A project file to open.
    example:
        An example name from ``resources/examples`` (``"default"``: house prices).
    screenshot:
        Save a PNG of the window once it is shown.
    quit_after_shown:
        Quit as soon as the window is shown (start-up time, smoke tests).
    """
    global last_window
    from nnstudio.gui.files import make_settings
    from nnstudio.gui.main_window import MainWindow

    app = application()
    settings = make_settings()
    apply_theme(app, str(settings.value("theme", "system")))
    window = last_window = MainWindow(settings)
    window.interactive = not quit_after_shown
    install_excepthook(window)
    path: Path | None = None
    if project:
        path = Path(project)
    elif example:
        path = example_path(example)
        if not path.is_file():
            names = ", ".join(p.stem for p in examples()) or "none installed"
            window.show_error("No such example", f"no example named {example!r} "
                              f"(examples: {names})")
            path = None
    if path is not None:
        window.open_path(path, ask=False)
    window.show()
    if screenshot:
        def grab() -> None:
            app.processEvents()
            window.grab().save(str(screenshot))
        QTimer.singleShot(300, grab)
    if quit_after_shown:
        QTimer.singleShot(400 if screenshot else 0, app.quit)
    else:
        QTimer.singleShot(0, window.offer_recovery)
    return app.exec()
