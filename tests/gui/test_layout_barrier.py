"""The layout barrier: a panel's relayouts stay inside it unless its size hints change."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QVBoxLayout, QWidget

from nnstudio.gui.layout_barrier import LayoutBarrier

pytestmark = pytest.mark.gui


class LayoutRequests(QObject):
    """Counts the layout requests a widget receives."""

    def __init__(self, widget: QWidget):
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def window_with_panel(qtbot, barrier: bool):
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("canvas"))
    panel = QWidget()
    layout = QVBoxLayout(panel)
    status = QLabel("Ready")
    layout.addWidget(status)
    # as in the training panel, something wider than the status line sets the panel's width
    layout.addWidget(QLabel("plots " * 40))
    layout.addStretch(1)
    dock = QDockWidget("Training", window)
    dock.setWidget(LayoutBarrier(panel) if barrier else panel)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    window.resize(800, 600)
    window.show()
    qtbot.waitExposed(window)
    return window, dock, panel, status


@pytest.mark.parametrize("barrier", [False, True])
def test_new_label_text_relayouts_the_window_only_without_a_barrier(qtbot, barrier):
    # Qt's QLayout::activate() ends with updateGeometry(): without a barrier every new text
    # relays out the main window (all its docks), even though no size hint changed.
    window, _dock, panel, status = window_with_panel(qtbot, barrier)
    QApplication.processEvents()  # the layout requests of showing the window
    requests = LayoutRequests(window)
    inner = LayoutRequests(panel)
    for i in range(5):
        status.setText(f"Epoch {i} · batch {10 ** i} · loss {1 / (i + 1):.4g}")
        # the panel relaid itself out
        qtbot.waitUntil(lambda n=i: inner.count > n, timeout=2000)
    assert status.text().startswith("Epoch 4")
    assert (requests.count == 0) is barrier


def test_a_barrier_passes_on_changed_size_hints(qtbot):
    _window, dock, panel, _status = window_with_panel(qtbot, barrier=True)
    barrier = dock.widget()
    assert isinstance(barrier, LayoutBarrier) and barrier.child is panel
    assert barrier.sizeHint() == panel.sizeHint()
    assert panel.geometry() == barrier.rect()
    passed = barrier.passed_on
    panel.setMinimumHeight(300)  # the dock must grow: the window has to know
    qtbot.waitUntil(lambda: dock.height() >= 300, timeout=2000)
    assert barrier.passed_on > passed
    assert barrier.minimumSizeHint().height() >= 300
    assert panel.geometry() == barrier.rect()
