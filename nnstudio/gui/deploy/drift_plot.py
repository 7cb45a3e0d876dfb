"""The Monitor panel's plot: one column's training and current distributions overlaid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget


class DriftPlot(pg.PlotWidget):
    """Overlaid shares of one column: training (grey, filled) and now (blue outline); for
    categories, grey and blue bars side by side."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground(None)
        self.plot_item = self.getPlotItem()
        self.plot_item.showGrid(x=False, y=True, alpha=0.18)
        self.plot_item.setMenuEnabled(False)
        left = self.plot_item.getAxis("left")
        left.setLabel("share")
        left.enableAutoSIPrefix(False)
        self.plot_item.addLegend(offset=(-10, 10))
        self.items: list[Any] = []
        self.title = ""

    @property
    def cur_bars(self) -> Any:
        """The item drawing the current data (None when nothing is shown)."""
        return self.items[1] if len(self.items) == 2 else None

    def show_entry(self, entry: dict[str, Any] | None) -> None:
        """Plot a column's ``histogram`` or ``bars`` (nothing when it has neither)."""
        for item in self.items:
            self.plot_item.removeItem(item)
        self.items = []
        legend = self.plot_item.legend
        if legend is not None:
            legend.clear()
        bottom = self.plot_item.getAxis("bottom")
        bottom.setTicks(None)
        self.title = entry.get("name", "") if entry else ""
        self.plot_item.setTitle(self.title)
        if not entry:
            return
        grey, blue = QColor(154, 165, 177), QColor(37, 99, 235)
        fill = QColor(grey)
        fill.setAlpha(170)
        if "histogram" in entry:
            h = entry["histogram"]
            edges = np.asarray(h["edges"])
            self.items = [
                pg.PlotDataItem(edges, np.asarray(h["reference"]), stepMode="center",
                                fillLevel=0, brush=fill, pen=pg.mkPen(grey), name="training"),
                pg.PlotDataItem(edges, np.asarray(h["current"]), stepMode="center",
                                pen=pg.mkPen(blue, width=2), name="now"),
            ]
        elif "bars" in entry:
            b = entry["bars"]
            x = np.arange(len(b["labels"]), dtype=float)
            now = QColor(blue)
            now.setAlpha(200)
            self.items = [
                pg.BarGraphItem(x=x - 0.2, height=np.asarray(b["reference"]), width=0.4,
                                brush=fill, pen=pg.mkPen(grey), name="training"),
                pg.BarGraphItem(x=x + 0.2, height=np.asarray(b["current"]), width=0.4,
                                brush=now, pen=pg.mkPen(blue), name="now"),
            ]
            bottom.setTicks([[(float(i), _short(lab)) for i, lab in enumerate(b["labels"])]])
        for item in self.items:
            self.plot_item.addItem(item)
        self.plot_item.enableAutoRange()


def _short(text: str, n: int = 12) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"

