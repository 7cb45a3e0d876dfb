"""A colour bar beside a map, and labels on contour lines: what a colour and a line mean.

:class:`ColorBar` paints the colour scale of a map (the fitted function's orange–blue value
scale, the loss landscape's viridis over log loss) with a few values written beside it.
:func:`contour_label_points` picks one spot per contour level to write the level on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from nnstudio.core.insight.common import num
from nnstudio.gui.insight import colors

#: ``f(t)`` → RGBA ``(N, 4)`` uint8 for ``t`` in [0, 1] (0 at the bottom of the bar).
ColorFn = Callable[[np.ndarray], np.ndarray]


def value_scale(background: str) -> ColorFn:
    """The fitted function's scale (:func:`colors.value_image` from 0 to 1)."""
    return lambda t: colors.value_image(np.asarray(t)[None, :], 0.0, 1.0, background)[0]


def viridis(t: np.ndarray) -> np.ndarray:
    return pg.colormap.get("viridis").map(np.asarray(t, np.float64), mode="byte")


class ColorBar(QWidget):
    """A vertical colour scale with values: ``set_scale(low, high, title, fn, ticks)``.

    ``ticks`` are ``(t, text)`` pairs with ``t`` in [0, 1] (bottom to top); by default the
    low, middle and high values. Hidden until a scale is set.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("colorBar")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.title = ""
        self.ticks: list[tuple[float, str]] = []
        self._image: QImage | None = None
        self.setVisible(False)

    def set_scale(self, low: float, high: float, title: str, fn: ColorFn,
                  ticks: Sequence[tuple[float, str]] | None = None) -> None:
        t = np.linspace(1.0, 0.0, 128)  # top row first
        rgba = np.ascontiguousarray(np.repeat(fn(t)[:, None, :], 4, axis=1), np.uint8)
        self._image = QImage(rgba.data, 4, 128, 16, QImage.Format.Format_RGBA8888).copy()
        self.title = title
        self.ticks = list(ticks) if ticks is not None else [
            (0.0, num(low)), (0.5, num((low + high) / 2)), (1.0, num(high))]
        self.setToolTip(f"{title}: {num(low)} (bottom) to {num(high)} (top)")
        self.setVisible(True)
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        fm = QFontMetrics(self.font())
        widest = max([fm.horizontalAdvance(text) for _, text in self.ticks] + [20])
        return QSize(18 + 6 + widest + 4, 120)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.sizeHint().width(), 60)

    def paintEvent(self, event) -> None:
        if self._image is None:
            return
        p = QPainter(self)
        fm = QFontMetrics(self.font())
        top, bottom = fm.height() + 2, self.height() - fm.height() // 2 - 2
        bar = QRectF(2, top, 16, max(1, bottom - top))
        p.drawImage(bar, self._image)
        text = QColor(colors.theme().text)
        p.setPen(text)
        p.drawRect(bar)
        p.drawText(QRectF(0, 0, self.width(), fm.height()), Qt.AlignmentFlag.AlignLeft,
                   self.title)
        for t, label in self.ticks:
            y = bar.bottom() - t * bar.height()
            p.drawLine(int(bar.right()), int(y), int(bar.right()) + 4, int(y))
            p.drawText(QRectF(bar.right() + 6, y - fm.height() / 2, self.width(), fm.height()),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
        p.end()


def contour_label_points(segments: Sequence[tuple[float, np.ndarray, np.ndarray]]
                         ) -> list[tuple[float, float, float]]:
    """``(level, x, y)``: one spot per contour level to write its value on (the middle
    segment of the level's line), levels without a line left out."""
    out = []
    for level, x, y in segments:
        if len(x) < 2:
            continue
        k = (len(x) // 4) * 2  # a segment start near the middle of the list
        out.append((float(level), float((x[k] + x[k + 1]) / 2), float((y[k] + y[k + 1]) / 2)))
    return out


class ContourLabels:
    """Text items on a plot, one per contour level (reused between redraws)."""

    def __init__(self, plot: pg.PlotWidget):
        self.plot = plot
        self.items: list[pg.TextItem] = []

    def set(self, points: Sequence[tuple[float, float, float]],
            fmt: Callable[[float], str] = num) -> None:
        while len(self.items) < len(points):
            item = pg.TextItem(color=colors.theme().text, anchor=(0.5, 0.5),
                               fill=pg.mkBrush(colors.theme().base + "b0"))
            item.setZValue(20)
            self.plot.addItem(item)
            self.items.append(item)
        for item, (level, x, y) in zip(self.items, points, strict=False):
            item.setText(fmt(level))
            item.setPos(x, y)
            item.setVisible(True)
        for item in self.items[len(points):]:
            item.setVisible(False)

    @property
    def texts(self) -> list[str]:
        return [i.textItem.toPlainText() for i in self.items if i.isVisible()]
