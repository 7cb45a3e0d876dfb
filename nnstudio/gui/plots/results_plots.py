"""Charts of a trained model's results: confusion matrix, predicted vs true, residuals.

Each chart is a ``pyqtgraph.PlotWidget`` whose items are created once; ``set_data`` replaces
their data. Images and drawings export like the training plots (see
:func:`export_widget`).
"""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter

from nnstudio.gui.plots import style
from nnstudio.gui.plots.export import export_plot


class HumanAxis(pg.AxisItem):
    """Tick labels people read at a glance: 2.5M, 400k, 0.25 (not 2.5e+06)."""

    def tickStrings(self, values, scale, spacing):
        return [human_number(v * scale, spacing * scale) for v in values]


def human_number(v: float, spacing: float = 0.0) -> str:
    """``2500000`` → ``2.5M``; ``-400000`` → ``-400k``; small numbers as they are."""
    a = abs(v)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div and (spacing == 0 or spacing >= div / 100):
            text = f"{v / div:.3g}"
            return text + suffix
    if spacing and spacing < 1:
        digits = max(0, -int(np.floor(np.log10(spacing))))
        return f"{v:.{digits}f}"
    return f"{v:.6g}"


def _human_axes() -> dict:
    return {"left": HumanAxis("left"), "bottom": HumanAxis("bottom")}


def _styled(plot: pg.PlotItem, title: str, bottom: str, left: str) -> None:
    f = style.frame()
    plot.setTitle(title, color=f["text"], size="10pt")
    plot.setLabel("bottom", bottom, color=f["muted"])
    plot.setLabel("left", left, color=f["muted"])
    for axis in ("left", "bottom"):
        ax = plot.getAxis(axis)
        ax.setPen(pg.mkPen(f["axis"]))
        ax.setTextPen(pg.mkPen(f["muted"]))
    plot.setMenuEnabled(False)
    plot.hideButtons()


class CellTexts(pg.GraphicsObject):
    """The count in every cell of a matrix, as one item painted in one call.

    Cells are unit squares centred on integer coordinates; the text keeps its size whatever
    the zoom (it is drawn in device coordinates). One item instead of K² ``TextItem`` s keeps
    a 10-class matrix cheap to show (≈1 ms instead of ≈200 ms).
    """

    def __init__(self):
        super().__init__()
        self.texts: list[list[str]] = []
        self.light: list[list[bool]] = []
        self.font = QFont()
        self.dark_color = QColor(style.frame()["text"])

    def set_cells(self, texts: list[list[str]], light: list[list[bool]], point_size: float):
        self.prepareGeometryChange()
        self.texts, self.light = texts, light
        self.font.setPointSizeF(point_size)
        self.update()

    def boundingRect(self) -> QRectF:
        k = len(self.texts)
        return QRectF(-0.5, -0.5, max(k, 1), max(k, 1))

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if not self.texts:
            return
        tr = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setFont(self.font)
        white = QColor("#ffffff")
        align = Qt.AlignmentFlag.AlignCenter
        for i, row in enumerate(self.texts):
            for j, text in enumerate(row):
                rect = tr.mapRect(QRectF(j - 0.5, i - 0.5, 1.0, 1.0))
                painter.setPen(white if self.light[i][j] else self.dark_color)
                painter.drawText(rect, align, text)
        painter.restore()


class ConfusionMatrixPlot(pg.PlotWidget):
    """A heat map of a confusion matrix with the count in each cell.

    Rows are true classes (top to bottom), columns predicted classes; the colour of a cell is
    its share of its row (the recall of that class), so small classes stay readable.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(style.frame()["background"])
        self.plot_item = self.getPlotItem()
        _styled(self.plot_item, "Confusion matrix", "predicted class", "true class")
        self.plot_item.setAspectLocked(False)
        self.plot_item.invertY(True)
        self.plot_item.vb.setMouseEnabled(x=False, y=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        start = QColor(style.frame()["background"])
        cmap = pg.ColorMap([0.0, 1.0], [start, QColor(style.COLORS["train"])])
        self.image.setLookupTable(cmap.getLookupTable(nPts=256))
        self.image.setLevels((0.0, 1.0))
        self.plot_item.addItem(self.image)
        self.cells = CellTexts()
        self.plot_item.addItem(self.cells)
        self.matrix = np.zeros((0, 0), np.int64)

    @property
    def labels(self) -> list[str]:
        """The cell texts, row by row (tests)."""
        return [t for row in self.cells.texts for t in row]

    def set_data(self, matrix, class_names: list[str] | None = None) -> None:
        """Show a ``(K, K)`` count matrix (row = true, column = predicted)."""
        cm = np.asarray(matrix, np.int64)
        self.matrix = cm
        k = cm.shape[0]
        names = list(class_names or [str(i) for i in range(k)])[:k]
        rows = cm.sum(axis=1, keepdims=True)
        share = np.divide(cm, rows, out=np.zeros(cm.shape, float), where=rows > 0)
        self.image.setImage(share, levels=(0.0, 1.0), autoLevels=False)
        self.image.setRect(QRectF(-0.5, -0.5, k, k))
        texts = [[f"{v:,}" for v in row] for row in cm.tolist()] if k <= 30 else []
        light = (share > 0.55).tolist() if k <= 30 else []
        self.cells.set_cells(texts, light, 9 if k <= 12 else 7)
        ticks = [[(i, _short(n)) for i, n in enumerate(names)]]
        step = max(1, k // 20)
        ticks = [[t for idx, t in enumerate(ticks[0]) if idx % step == 0]]
        self.plot_item.getAxis("bottom").setTicks(ticks)
        self.plot_item.getAxis("left").setTicks(ticks)
        self.plot_item.setRange(xRange=(-0.5, k - 0.5), yRange=(-0.5, k - 0.5), padding=0.02)


class PredictedVsTruePlot(pg.PlotWidget):
    """Predicted against true values with the identity line ``y = x``."""

    #: Most points drawn; more are subsampled evenly (the chart stays quick).
    MAX_POINTS = 20_000

    def __init__(self, parent=None):
        super().__init__(parent, axisItems=_human_axes())
        self.setBackground(style.frame()["background"])
        self.plot_item = self.getPlotItem()
        _styled(self.plot_item, "Predicted vs true", "true value", "predicted value")
        self.plot_item.showGrid(x=True, y=True, alpha=0.18)
        self.identity = self.plot_item.plot(pen=style.pen("identity", 1.5, dash=True))
        self.scatter = pg.ScatterPlotItem(
            size=5, pen=None, brush=style.brush("points", 110), antialias=True
        )
        self.plot_item.addItem(self.scatter)
        self.n_points = 0

    def set_data(self, y_true, y_pred, unit: str = "") -> None:
        """``y_true``/``y_pred`` ``(N,)``: one point per sample (first output column)."""
        t = np.asarray(y_true, float).reshape(len(y_true), -1)[:, 0]
        p = np.asarray(y_pred, float).reshape(len(y_pred), -1)[:, 0]
        if len(t) > self.MAX_POINTS:
            idx = np.linspace(0, len(t) - 1, self.MAX_POINTS).astype(int)
            t, p = t[idx], p[idx]
        self.n_points = len(t)
        self.scatter.setData(t, p)
        finite = np.isfinite(t) & np.isfinite(p)
        if finite.any():
            lo = float(min(t[finite].min(), p[finite].min()))
            hi = float(max(t[finite].max(), p[finite].max()))
            self.identity.setData([lo, hi], [lo, hi])
        suffix = f" ({unit})" if unit else ""
        self.plot_item.setLabel("bottom", "true value" + suffix)
        self.plot_item.setLabel("left", "predicted value" + suffix)


class ResidualHistogram(pg.PlotWidget):
    """A histogram of the residuals ``predicted − true``, with a line at zero."""

    def __init__(self, parent=None):
        super().__init__(parent, axisItems=_human_axes())
        self.setBackground(style.frame()["background"])
        self.plot_item = self.getPlotItem()
        _styled(self.plot_item, "Residuals (predicted − true)", "residual", "samples")
        self.plot_item.showGrid(x=False, y=True, alpha=0.18)
        self.bars = self.plot_item.plot(
            stepMode="center", fillLevel=0, brush=style.brush("bars", 160),
            pen=style.pen("train", 1.0),
        )
        self.zero = pg.InfiniteLine(0, angle=90, pen=style.pen("identity", 1.2, dash=True))
        self.plot_item.addItem(self.zero)
        self.counts = np.zeros(0, np.int64)

    def set_data(self, y_true, y_pred, bins: int = 40) -> None:
        r = (np.asarray(y_pred, float).reshape(len(y_pred), -1)[:, 0]
             - np.asarray(y_true, float).reshape(len(y_true), -1)[:, 0])
        r = r[np.isfinite(r)]
        if not len(r):
            self.counts = np.zeros(0, np.int64)
            self.bars.setData([0.0, 1.0], [0])
            return
        lo, hi = np.percentile(r, [0.5, 99.5]) if len(r) > 200 else (r.min(), r.max())
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        counts, edges = np.histogram(np.clip(r, lo, hi), bins=bins, range=(lo, hi))
        self.counts = counts
        self.bars.setData(edges, counts)


def export_widget(widget, path: str | os.PathLike) -> None:
    """Write a chart as PNG or SVG (by suffix) atomically."""
    export_plot(widget, path, title="nnstudio results")


def _short(name: str, n: int = 14) -> str:
    name = str(name)
    return name if len(name) <= n else name[: n - 1] + "…"
