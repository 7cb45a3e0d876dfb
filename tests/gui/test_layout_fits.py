"""The window works at 1280 × 800 and at 1024 × 640: at both sizes "Inside the network" fits
its dock (no sideways scrolling, no control cut off), the dock tabs show their whole names
and the window is no larger than the screen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QScrollArea, QTabBar, QWidget

from nnstudio.gui.files import example_path

pytestmark = pytest.mark.gui


@pytest.fixture
def window(workflow_window):
    return workflow_window


def _visible_in(widget: QWidget, viewport: QWidget) -> bool:
    """The whole of ``widget`` lies inside ``viewport``'s rectangle."""
    top_left = widget.mapTo(viewport.window(), widget.rect().topLeft())
    area = QRect(viewport.mapTo(viewport.window(), viewport.rect().topLeft()), viewport.size())
    return area.contains(QRect(top_left, widget.size()))


@pytest.mark.parametrize("size", [(1280, 800), (1024, 640)])
def test_inside_the_network_fits_without_sideways_scrolling(qtbot, window, size):
    window.open_path(str(example_path("house_price")), ask=False)
    window.resize(*size)
    dock = window.docks["insight"]
    dock.show()
    dock.raise_()
    qtbot.wait(100)
    panel = window.insight_panel
    holder = dock.findChild(QScrollArea)
    for name in ("boundary", "neurons", "stats", "landscape"):
        panel.show_view(name)
        qtbot.wait(50)
        bar = holder.horizontalScrollBar()
        assert bar.maximum() == 0, f"{name}: scrolls sideways at {size} ({bar.maximum()} px)"
    panel.show_view("landscape")
    qtbot.wait(50)
    view = panel.landscape
    for w in (view.compute_button, view.follow, view.w2, view.res_spin):
        assert _visible_in(w, holder.viewport()), f"{w} is cut off at {size}"
    panel.show_view("boundary")
    qtbot.wait(50)
    assert _visible_in(panel.boundary.y_combo, holder.viewport())


@pytest.mark.parametrize("size", [(1280, 800), (1024, 640)])
def test_dock_tabs_show_their_names(qtbot, window, size):
    window.open_path(str(example_path("house_price")), ask=False)
    window.resize(*size)
    qtbot.wait(100)
    assert window.width() <= size[0] and window.height() <= size[1]
    bars = [b for b in window.findChildren(QTabBar) if b.isVisible() and b.count() > 1
            and b.parent() is window]
    assert bars, "no dock tab bar to check"
    for bar in bars:
        assert bar.elideMode() == Qt.TextElideMode.ElideNone
        for i in range(bar.count()):
            text = bar.tabText(i)
            needed = bar.fontMetrics().horizontalAdvance(text)
            assert bar.tabRect(i).width() >= needed, f"tab {text!r} cut at {size}"
    # The right-hand tabs (Properties, Predict, Inside the network) all fit side by side.
    right = [b for b in bars if "Predict" in [b.tabText(i) for i in range(b.count())]]
    assert right and right[0].tabRect(right[0].count() - 1).right() <= right[0].width()
