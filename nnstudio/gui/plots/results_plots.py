"""Charts of a trained model's results: confusion matrix, predicted vs true, residuals.

Each chart is a ``pyqtgraph.PlotWidget`` whose items are created once; ``set_data`` replaces
their data. Images and drawings export like the training plots (see
:func:`export_widget`).
"""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont

from nnstudio.gui.plots import style
from nnstudio.gui.plots.export import export_plot


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
        self.labels: list[pg.TextItem] = []
        self.matrix = np.zeros((0, 0), np.int64)

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
        for item in self.labels:
            self.plot_item.removeItem(item)
        self.labels = []
        f = style.frame()
        font = QFont()
        font.setPointSizeF(9 if k <= 12 else 7)
        if k <= 30:
            for i in range(k):
                for j in range(k):
                    color = "#ffffff" if share[i, j] > 0.55 else f["text"]
                    t = pg.TextItem(f"{cm[i, j]:,}", color=color, anchor=(0.5, 0.5))
                    t.setFont(font)
                    t.setPos(j, i)
                    self.plot_item.addItem(t)
                    self.labels.append(t)
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
        super().__init__(parent)
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
        super().__init__(parent)
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
