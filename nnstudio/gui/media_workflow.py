"""Images and sounds in the main window: the wizard's menu entry, the gallery, Predict a file.

:func:`install` is called once by :func:`nnstudio.gui.workflow.install`; it adds
**Data ▸ Load Images or Sounds…** (the :class:`~.wizards.media_wizard.MediaWizard`, whose
result is adopted like the table wizard's), a **Gallery** dock tabbed with Results, and the
image/recording box of the Predict panel (:mod:`.panels.predict_media`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from nnstudio.gui.panels.gallery import GalleryPanel
from nnstudio.gui.panels.predict_media import attach
from nnstudio.gui.wizards.media_wizard import MediaWizard


def build_with_progress(window: Any, spec: Any, base_dir: Any = None):
    """``build_dataset`` of an image/sound spec in a thread, with a progress dialog and
    Cancel; the GUI keeps painting. Raises what the build raised (DecodeCancelled too)."""
    import threading

    from PySide6.QtCore import QEventLoop, QObject, Signal
    from PySide6.QtWidgets import QProgressDialog

    from nnstudio.core.data import build_dataset

    class Relay(QObject):
        progress = Signal(int, int)
        done = Signal()

    relay = Relay()
    cancel = threading.Event()
    box: dict = {}
    dialog = QProgressDialog("Reading the images or sounds…", "Cancel", 0, 0, window)
    dialog.setWindowTitle("Loading data")
    dialog.setMinimumDuration(400)
    dialog.canceled.connect(cancel.set)
    relay.progress.connect(lambda d, t: (dialog.setMaximum(t), dialog.setValue(d)))
    loop = QEventLoop()
    relay.done.connect(loop.quit)

    def run():
        try:
            box["prepared"] = build_dataset(
                spec, base_dir, progress=lambda _s, d, t: relay.progress.emit(d, t),
                cancelled=cancel.is_set)
        except BaseException as e:  # re-raised on the GUI thread
            box["error"] = e
        relay.done.emit()

    thread = threading.Thread(target=run, name="nnstudio-media-load", daemon=True)
    thread.start()
    if thread.is_alive():
        loop.exec()
    thread.join()
    dialog.close()
    if "error" in box:
        raise box["error"]
    return box["prepared"]


def open_media_wizard(wf: Any) -> MediaWizard:
    """Show the image/sound wizard (modal when interactive); adopts its result."""
    wizard = MediaWizard(wf.window, preset=wf.session.dataset_spec)
    wizard.dataset_accepted.connect(wf.adopt_dataset)
    wf.media_wizard = wizard
    if wf.window.interactive:
        wizard.exec()
    return wizard


def install(wf: Any) -> None:
    w = wf.window
    act = QAction("Load &Images or Sounds…", w)
    act.setShortcut(QKeySequence("Ctrl+Shift+I"))
    act.setStatusTip("A folder with one subfolder per class, or a CSV of file paths")
    act.triggered.connect(lambda _checked=False: open_media_wizard(wf))
    load = wf.actions["load_data"]
    load.changed.connect(lambda: act.setEnabled(load.isEnabled()))
    wf.actions["load_media"] = act
    if "data" in w.menus:
        w.menus["data"].addAction(act)
    wf.gallery = GalleryPanel(wf.session)
    wf.docks["gallery"] = w.add_dock(wf.gallery, "Gallery", Qt.DockWidgetArea.BottomDockWidgetArea,
                                     "gallery")
    w.tabifyDockWidget(wf.docks["results"], wf.docks["gallery"])
    wf.docks["training"].raise_()
    attach(wf.predict, wf.session)
