"""Live training plots: loss, accuracy (or R²) and learning rate, updated while a run goes.

Every curve is created once and refreshed with ``setData``; data arrive at any rate
(:meth:`TrainingPlots.add_epoch`, :meth:`TrainingPlots.add_progress`) but the plots are
redrawn by a single-shot ``QTimer`` at most :data:`REDRAW_HZ` times a second — what an eye can
follow — and less often when a frame (the ``setData`` calls and the repaint) costs so much that
drawing would take more than :data:`REDRAW_BUDGET` of the GUI thread's time: PySide6 holds the
GIL while Qt paints, so every millisecond spent drawing is one the trainer thread waits.

A crosshair reads out every series at the epoch under the mouse; the loss axis has a log-scale
toggle; the plots export to PNG or SVG (:mod:`nnstudio.gui.plots.export`) and the history to
CSV, all written atomically.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from nnstudio.gui.plots import style
from nnstudio.gui.plots.export import export_plot
from nnstudio.gui.plots.history import TrainingHistory

#: Most redraws per second.
REDRAW_HZ = 10
#: Largest share of the GUI thread's time the redraws may take (a big window, a slow
#: machine: fewer frames, not a slower run).
REDRAW_BUDGET = 0.02
#: Fewest redraws per second, whatever a frame costs.
REDRAW_MIN_HZ = 2


class _TimedGraphics(pg.GraphicsLayoutWidget):
    """The plots' view; adds up the CPU time its repaints take (for the redraw budget)."""

    painting_cpu = 0.0

    def paintEvent(self, event) -> None:
        start = time.thread_time()
        super().paintEvent(event)
        self.painting_cpu += time.thread_time() - start


class TrainingPlots(QWidget):
    """Three linked plots (loss; accuracy or R²; learning rate) over epochs.

    Attributes
    ----------
    history:
        The :class:`~nnstudio.gui.plots.history.TrainingHistory` drawn.
    curves:
        ``{"loss", "val_loss", "batch_loss", "metric", "val_metric", "learning_rate"}`` →
        ``PlotDataItem``, created once.
    """

    #: The crosshair moved to an epoch (int); its read-out text is in ``readout.text()``.
    epoch_hovered = Signal(int)
    #: A plot or history file was written (its path).
    exported = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = TrainingHistory()
        self._dirty = False
        #: (epochs, batch samples) the curves hold; -1 = unknown, set them at the next redraw.
        self._drawn = (-1, -1)
        self.redraws = 0  # how many redraws happened (tests, benchmark)
        #: CPU seconds of the latest frame (its redraw and the repaints after it).
        self.frame_cpu = 0.0
        self._frame_start_paint = 0.0
        self.planned_epochs: int | None = None
        self._ranges: dict[str, tuple[float, float]] = {}
        #: A network with several outputs: ``{"price/r2": curve, ...}`` (see set_outputs).
        self.output_curves: dict[str, Any] = {}
        self._x_right: float | None = None

        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip("Show the loss on a logarithmic axis")
        self.log_scale.toggled.connect(self.set_log_scale)
        self.readout = QLabel("Hover over a plot to read the values of an epoch")
        self.readout.setObjectName("plotReadout")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.readout.setMinimumWidth(90)
        export = QToolButton()
        export.setText("Export")
        export.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(export)
        menu.addAction("Plots as PNG image…", lambda: self._ask_export("png"))
        menu.addAction("Plots as SVG drawing…", lambda: self._ask_export("svg"))
        menu.addAction("History as CSV…", lambda: self._ask_export("csv"))
        export.setMenu(menu)
        self.export_button = export

        self.readout.setWordWrap(True)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.readout, 1)
        bar.addWidget(self.log_scale, 0, Qt.AlignmentFlag.AlignTop)
        bar.addWidget(export, 0, Qt.AlignmentFlag.AlignTop)

        self.graphics = _TimedGraphics()
        f = style.frame()
        self.graphics.setBackground(f["background"])
        self.graphics.ci.setContentsMargins(4, 4, 4, 4)
        # The loss takes the left, larger part; accuracy (or R²) and the learning rate are
        # stacked on the right: a wide, short dock keeps every plot readable.
        self.loss_plot = self._plot("Loss", row=0, col=0, rowspan=2)
        self.metric_plot = self._plot("Accuracy", row=0, col=1)
        self.lr_plot = self._plot("Learning rate", row=1, col=1)
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 2)
        self.loss_plot.addLegend(offset=(-8, 8), labelTextColor=f["text"])
        self.metric_plot.addLegend(offset=(-8, -8), labelTextColor=f["text"])

        self.curves = {
            "batch_loss": self.loss_plot.plot(
                name="per batch", pen=style.pen("batch", 1.2),
                connect="finite", clipToView=True, autoDownsample=True,
            ),
            "loss": self.loss_plot.plot(
                name="training", pen=style.pen("train", 2.2), connect="finite"
            ),
            "val_loss": self.loss_plot.plot(
                name="validation", pen=style.pen("val", 2.2), connect="finite"
            ),
            "metric": self.metric_plot.plot(
                name="training", pen=style.pen("train", 2.2), connect="finite"
            ),
            "val_metric": self.metric_plot.plot(
                name="validation", pen=style.pen("val", 2.2), connect="finite"
            ),
            "learning_rate": self.lr_plot.plot(pen=style.pen("lr", 2.0), connect="finite"),
        }
        self._legend_names = {"batch_loss": "per batch", "loss": "training",
                              "val_loss": "validation", "metric": "training",
                              "val_metric": "validation"}
        for plot in (self.loss_plot, self.metric_plot):
            plot.legend.clear()  # entries come with their data (see _legend_entry)
            plot.vb.sigResized.connect(self._fit_legends)
        self.crosshairs = []
        for plot in (self.loss_plot, self.metric_plot, self.lr_plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=style.pen("cross", 1, dash=True))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self.crosshairs.append(line)
        self.graphics.scene().sigMouseMoved.connect(self._mouse_moved)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(1000 / REDRAW_HZ))
        self._timer.timeout.connect(self.redraw)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)
        self.graphics.setMinimumHeight(200)

    def _plot(self, title: str, row: int, col: int, rowspan: int = 1) -> pg.PlotItem:
        f = style.frame()
        plot = self.graphics.addPlot(row=row, col=col, rowspan=rowspan)
        plot.setTitle(title, color=f["text"], size="10pt")
        plot.showGrid(x=True, y=True, alpha=0.18)
        if title == "Loss":
            plot.setLabel("bottom", "epoch", color=f["muted"])
        for axis in ("left", "bottom"):
            ax = plot.getAxis(axis)
            ax.setPen(pg.mkPen(f["axis"]))
            ax.setTextPen(pg.mkPen(f["muted"]))
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.vb.setLimits(xMin=0)
        plot.disableAutoRange()
        for axis in ("left", "bottom"):
            # Drawn once into a pixmap and blitted until its ticks change: repainting a
            # curve then costs no axis text (pyqtgraph's slowest drawing).
            plot.getAxis(axis).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # Room for tick labels like "0.0015" from the start, and never narrower: an axis that
        # changes width with its labels (the loss falling from 2.5 to 0.5, the first learning
        # rate) relays out the whole grid of plots — every axis redrawn, 20-60 ms of GUI
        # thread — while the trainer runs.
        left = plot.getAxis("left")
        left.setStyle(autoReduceTextSpace=False)
        left.textWidth = max(left.textWidth, QFontMetrics(left.font()).horizontalAdvance("0.0000"))
        left.setWidth(None)
        return plot

    # -- data --------------------------------------------------------------------------------
    def reset(self, metric_name: str | None = None, epochs: int | None = None,
              outputs: list[str] | None = None) -> None:
        """Clear every curve for a new run.

        ``metric_name`` is ``"accuracy"`` or ``"r2"``; ``epochs`` the planned number of epochs
        (the x axis is laid out for it when the run is not too long). ``outputs``: a network
        with several outputs — the validation metric of each (``"price/r2"``,
        ``"sold/accuracy"``) gets a line of its own in the metric plot.
        """
        self.planned_epochs = epochs
        if metric_name is not None:
            self.history.metric_name = metric_name
            self.set_metric(metric_name)
        self.set_outputs(outputs or [])
        self.history.clear()
        self._drawn = (-1, -1)
        # The ranges stay until the new run's data need others: an unchanged axis is not
        # redrawn (its ticks and text are the costly part of a frame).
        for line in self.crosshairs:
            line.setVisible(False)
        self.readout.setText("Hover over a plot to read the values of an epoch")
        self.redraw()
        # A new run starts at the full rate: what was painted before it is not its cost.
        self._frame_start_paint = self.graphics.painting_cpu
        self._timer.setInterval(round(1000 / REDRAW_HZ))

    def set_outputs(self, keys: list[str]) -> None:
        """One line per output's validation metric (``[]``: the usual two lines)."""
        keys = list(keys)
        if keys:
            self.metric_plot.setTitle("Per output (validation)",
                                      color=style.frame()["text"], size="10pt")
        if keys == self.history.outputs and all(k in self.output_curves for k in keys):
            return
        for curve in self.output_curves.values():
            if any(getattr(sample, "item", None) is curve
                   for sample, _ in self.metric_plot.legend.items):
                self.metric_plot.legend.removeItem(curve)
            self.metric_plot.removeItem(curve)
        self.output_curves = {}
        for i, key in enumerate(keys):
            color = OUTPUT_COLORS[i % len(OUTPUT_COLORS)]
            self.output_curves[key] = self.metric_plot.plot(
                name=output_label(key), pen=pg.mkPen(color, width=2.2), connect="finite")
        self.history.set_outputs(keys)
        self._drawn = (-1, -1)
        self._ranges.pop("metric", None)

    def add_epoch(self, event) -> None:
        """Append an :class:`~nnstudio.core.training.EpochEnd`; drawn at the next redraw."""
        self.history.add_epoch(event)
        self._schedule()

    def add_progress(self, progress) -> None:
        """Append the smoothed batch-loss samples of a
        :class:`~nnstudio.gui.workers.training_worker.BatchProgress`."""
        if progress.points_x:
            self.history.add_batches(progress.points_x, progress.points_y)
            self._schedule()

    def _schedule(self) -> None:
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Redraw now if anything is pending (end of a run)."""
        if self._dirty:
            self._timer.stop()
            self.redraw()

    def redraw(self) -> None:
        """Push what is new in the history into its curves (``setData``, no new items).

        Only curves whose data changed are touched: a curve given data is repainted with its
        whole plot, and between two epochs only the smoothed batch loss grows — so most
        frames repaint the loss plot alone, not the accuracy and learning-rate plots too.
        """
        start = time.thread_time()
        self._dirty = False
        self.redraws += 1
        self._redraw()
        self._pace(time.thread_time() - start)

    def _pace(self, redraw_cpu: float) -> None:
        """Space the next redraws so that drawing stays within :data:`REDRAW_BUDGET`.

        A frame's cost is this redraw plus the repaints since the previous one (the last
        frame's, mostly).
        """
        painted = self.graphics.painting_cpu
        cost = redraw_cpu + painted - self._frame_start_paint
        self._frame_start_paint = painted
        self.frame_cpu = cost
        interval = min(max(cost / REDRAW_BUDGET, 1.0 / REDRAW_HZ), 1.0 / REDRAW_MIN_HZ)
        self._timer.setInterval(round(1000 * interval))

    def _redraw(self) -> None:
        h = self.history
        if len(h) != self._drawn[0]:
            self._drawn = (len(h), self._drawn[1])
            x = h.epochs
            for name in ("loss", "val_loss", "metric", "val_metric", "learning_rate"):
                y = h.series(name)
                shown = name in ("loss", "learning_rate") or h.has_values(name)
                curve = self.curves[name]
                if shown:
                    curve.setData(x, y, skipFiniteCheck=_finite(y))
                else:
                    curve.setData([], [])
                if len(h):  # an empty history (a new run) keeps the legend as it was
                    self._legend_entry(name, shown)
            for key, curve in self.output_curves.items():
                y = h.series("out:" + key)
                curve.setData(x, y, skipFiniteCheck=_finite(y))
                if len(h):
                    self._output_legend(curve, key)
        n_batches = len(h.batch_x)
        if n_batches != self._drawn[1]:
            self._drawn = (self._drawn[0], n_batches)
            y = h.batch_y
            self.curves["batch_loss"].setData(h.batch_x, y, skipFiniteCheck=_finite(y))
            if n_batches:
                self._legend_entry("batch_loss", True)
        self._fit_ranges()

    # -- ranges ------------------------------------------------------------------------------
    def _fit_ranges(self) -> None:
        """Set the view ranges by hand, with slack, so they change rarely.

        Auto-range would move every axis on every redraw, and a moved axis regenerates its
        ticks and text (pyqtgraph's costliest drawing). Here the x range grows by steps to
        the planned number of epochs and a y range changes only when the data leave it or
        fill less than a third of it — a few times per run.
        """
        h = self.history
        if not len(h) and not len(h.batch_x):
            # A new run: lay out what is known already (the planned epochs, accuracy's
            # 0–1), so those axes are drawn now — before the trainer starts — and not at
            # the first data, while it runs.
            self._fit_x(1.0)
            if h.metric_name == "accuracy":
                self._set_y(self.metric_plot, "metric", (0.0, 1.0))
            return
        n = int(h.epochs[-1]) if len(h) else 0
        self._fit_x(max(float(n), float(h.batch_x[-1]) if len(h.batch_x) else 0.0, 1.0), n)
        log = self.log_scale.isChecked()
        values = [h.series("loss"), h.series("val_loss"), h.batch_y]
        self._y_range(self.loss_plot, "loss", values, floor=None if log else 0.0, log=log)
        if self.output_curves:  # accuracies and R²s: up to 1, down to the lowest R²
            series = [h.series("out:" + k) for k in self.output_curves]
            finite = [v[np.isfinite(v)] for v in series]
            low = min([0.0] + [float(v.min()) for v in finite if len(v)])
            self._set_y(self.metric_plot, "metric", (max(-1.0, _nice_floor(low)), 1.02))
        elif self.history.metric_name == "accuracy":
            self._set_y(self.metric_plot, "metric", (0.0, 1.0))
        else:
            self._y_range(self.metric_plot, "metric", [h.series("val_metric")], ceiling=1.0)
        lr = h.series("learning_rate")
        top = float(np.nanmax(lr)) if len(lr) and np.isfinite(lr).any() else 0.0
        self._set_y(self.lr_plot, "lr", (0.0, _nice_ceiling_any(top * 1.1) if top > 0 else 1.0))

    def _fit_x(self, xmax: float, n: int = 0) -> None:
        """The epoch axis: up to the planned epochs when the run is not too long, else grown
        by steps (1, 2, 5 × 10^k) ahead of ``xmax``; ``n`` epochs are done."""
        if self.planned_epochs and self.planned_epochs <= 2 * max(n, 10):
            right = float(self.planned_epochs)
        else:
            right = _nice_ceiling(xmax * 1.25)
        if right != self._x_right:
            self._x_right = right
            for plot in (self.loss_plot, self.metric_plot, self.lr_plot):
                plot.setXRange(0.5 if right > 2 else 0.0, right, padding=0.02)

    def _y_range(self, plot, key: str, series, floor=None, ceiling=None, log=False) -> None:
        finite = [v[np.isfinite(v)] for v in series if len(v)]
        finite = [v[v > 0] if log else v for v in finite]
        finite = [v for v in finite if len(v)]
        if not finite:
            return
        lo = min(float(v.min()) for v in finite)
        hi = max(float(v.max()) for v in finite)
        if log:
            lo, hi = np.log10(lo), np.log10(hi)
        current = self._ranges.get(key)
        if current is not None:
            c_lo, c_hi = current
            span = c_hi - c_lo
            inside = c_lo <= lo and hi <= c_hi
            if inside and (hi - lo) >= span / 3:
                return
        pad = max(hi - lo, abs(hi) * 0.05, 1e-12) * 0.08
        new_lo = lo - pad if floor is None else max(floor, lo - pad)
        new_hi = hi + pad if ceiling is None else min(ceiling + 0.02, hi + pad)
        if floor is not None and lo - pad < floor + (hi - lo) * 0.5:
            new_lo = floor  # a loss near zero: show zero
        self._set_y(plot, key, (new_lo, new_hi))

    def _set_y(self, plot, key: str, rng: tuple[float, float]) -> None:
        if self._ranges.get(key) != rng:
            self._ranges[key] = rng
            plot.setYRange(*rng, padding=0)

    def _legend_entry(self, name: str, shown: bool) -> None:
        """List a curve in its plot's legend only while it has data (no empty entries)."""
        if name not in self._legend_names:
            return
        plot = self.loss_plot if name in ("batch_loss", "loss", "val_loss") else self.metric_plot
        legend = plot.legend
        curve = self.curves[name]
        listed = any(getattr(sample, "item", None) is curve for sample, _ in legend.items)
        if shown and not listed:
            legend.addItem(curve, self._legend_names[name])
            self._fit_legends()
        elif not shown and listed:
            legend.removeItem(curve)
            self._fit_legends()

    def _output_legend(self, curve, key: str) -> None:
        legend = self.metric_plot.legend
        if not any(getattr(sample, "item", None) is curve for sample, _ in legend.items):
            legend.addItem(curve, output_label(key))
            self._fit_legends()

    def _fit_legends(self, *_args) -> None:
        """Show a legend only where its plot is wide and tall enough for it: in a narrow dock
        it would cover the curves and be cut off by the axis (the read-out and the colours
        still say which curve is which)."""
        for plot in (self.loss_plot, self.metric_plot):
            legend, view = plot.legend, plot.vb.boundingRect()
            box = legend.boundingRect()
            fits = box.width() + 16 <= view.width() and box.height() + 16 <= view.height()
            legend.setVisible(bool(legend.items) and fits)

    def set_metric(self, metric_name: str) -> None:
        """Title the metric plot for a task before any run (``"accuracy"`` or ``"r2"``)."""
        title = {"accuracy": "Accuracy",
                 "outputs": "Per output (validation)"}.get(metric_name,
                                                                      "R² (validation)")
        self.metric_plot.setTitle(title, color=style.frame()["text"], size="10pt")

    def points(self, name: str) -> int:
        """How many points the curve ``name`` holds (tests)."""
        x, _ = self.curves[name].getData()
        return 0 if x is None else len(x)

    # -- interaction -------------------------------------------------------------------------
    def set_log_scale(self, on: bool) -> None:
        """Show the loss on a log axis (the other plots keep a linear one)."""
        self.loss_plot.setLogMode(y=bool(on))
        self._ranges.pop("loss", None)
        self._fit_ranges()
        if self.log_scale.isChecked() != bool(on):
            self.log_scale.setChecked(bool(on))

    def _mouse_moved(self, pos) -> None:
        for plot in (self.loss_plot, self.metric_plot, self.lr_plot):
            if plot.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                self.show_epoch(round(x))
                return

    def show_epoch(self, epoch: int) -> str:
        """Put the crosshair on ``epoch`` (clamped to the run) and return the read-out."""
        h = self.history
        if not len(h):
            return self.readout.text()
        epochs = h.epochs
        i = int(np.clip(np.searchsorted(epochs, epoch), 0, len(epochs) - 1))
        e = int(epochs[i])
        for line in self.crosshairs:
            line.setPos(e)
            line.setVisible(True)
        m = h.metric_name
        both = h.has_values("val_loss")
        parts = [f"<b>Epoch {e}</b>"]
        loss = _num(h.series("loss")[i])
        if both:
            loss += f" / {_num(h.series('val_loss')[i])}"
        parts.append(f"loss {loss}")
        label = "accuracy" if m == "accuracy" else "R²"
        values = []
        for key in ("metric", "val_metric"):
            if h.has_values(key):
                v = h.series(key)[i]
                values.append(f"{100 * v:.1f}\u00a0%" if m == "accuracy" and math.isfinite(v)
                              else _num(v))
        if values:
            parts.append(f"{label} {' / '.join(values)}")
        for key in self.output_curves:
            v = h.series("out:" + key)[i]
            text = (f"{100 * v:.1f}\u00a0%" if key.endswith("/accuracy") and math.isfinite(v)
                    else _num(v))
            parts.append(f"{output_label(key)} {text}")
        parts.append(f"learning rate {_num(h.series('learning_rate')[i])}")
        if both or len(values) > 1:
            parts.append("<span style='color:gray'>(training / validation)</span>")
        text = " · ".join(parts)
        self.readout.setText(text)
        self.epoch_hovered.emit(e)
        return text

    # -- export ------------------------------------------------------------------------------
    def _ask_export(self, kind: str) -> None:
        filters = {
            "png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "csv": "CSV file (*.csv)",
        }
        default = "training-history.csv" if kind == "csv" else f"training-plots.{kind}"
        path, _ = QFileDialog.getSaveFileName(self, "Export", default, filters[kind])
        if not path:
            return
        if not path.lower().endswith("." + kind):
            path += "." + kind
        try:
            if kind == "csv":
                self.export_csv(path)
            else:
                self.export_image(path)
        except OSError as e:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}: {e.strerror or e}")

    def export_csv(self, path: str | os.PathLike) -> None:
        """Write the per-epoch history as CSV (atomically)."""
        self.history.save_csv(path)
        self.exported.emit(str(path))

    def export_image(self, path: str | os.PathLike) -> None:
        """Write the plots as PNG or SVG (by the suffix), atomically."""
        self.flush()
        export_plot(self.graphics, path, title="nnstudio training history",
                    width=max(1200, int(self.graphics.width() * 2)))
        self.exported.emit(str(path))


#: Line colours of the outputs of a network with several outputs (Okabe–Ito, after the
#: training blue and validation orange).
OUTPUT_COLORS = ("#009e73", "#cc79a7", "#d55e00", "#56b4e9", "#f0e442", "#0072b2", "#e69f00")


def output_label(key: str) -> str:
    """``"price/r2"`` → ``"price R²"``; ``"sold/accuracy"`` → ``"sold accuracy"``."""
    target, _, metric = key.rpartition("/")
    return f"{target} {'R²' if metric == 'r2' else metric}"


def _nice_floor(x: float) -> float:
    """0 for values ≥ 0, else the next tenth below."""
    return 0.0 if x >= 0 else math.floor(x * 10) / 10


def _nice_ceiling_any(x: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at or above ``x > 0`` (any magnitude)."""
    k = 10 ** math.floor(math.log10(x))
    return float(next(m * k for m in (1, 2, 5, 10) if m * k >= x * (1 - 1e-12)))


def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at or above ``x``."""
    if x <= 1:
        return 1.0
    k = 10 ** math.floor(math.log10(x))
    return float(next(m * k for m in (1, 2, 5, 10) if m * k >= x))


def _finite(y: np.ndarray) -> bool:
    """True when ``y`` holds no NaN/inf: pyqtgraph may then skip its own (slower) check."""
    return bool(np.isfinite(y).all())


def _num(v: float) -> str:
    """A compact number for a read-out: 4 significant digits, ``–`` for NaN."""
    if not math.isfinite(v):
        return "–"
    return f"{v:.4g}"
