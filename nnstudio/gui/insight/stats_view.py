"""Weights and gradients: per-layer histograms, gradient norms over training, and warnings.

The numbers come from a fixed probe batch of training samples run through a twin of the
network (forward and backward, no update): histograms of the chosen layer's weights and
activations, a table of every layer, the gradient norm of each layer over training, and
one-line warnings — dead ReLUs, saturated sigmoid/tanh, vanishing or exploding gradients.
Stats are computed at every epoch end even while the tab is hidden, so the curves cover the
whole run.
"""

from __future__ import annotations

import html
import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from nnstudio.core.insight.stats import NetworkStats, layer_stats
from nnstudio.gui.insight import colors
from nnstudio.gui.insight.base import (
    InsightView,
    caption,
    nice_range,
    plot_widget,
    set_axes,
    set_ranges,
    set_text,
)
from nnstudio.gui.insight.compute import Snapshot

PROBE = 256
#: Least seconds between two computations while the tab is hidden (history only).
HIDDEN_INTERVAL = 1.0
#: Delay between redrawing the table, the histograms and the norms plot.
STAGGER_MS = 40
COLUMNS = ("layer", "activation", "units", "weights mean ± sd", "gradient norm", "dead",
           "saturated")


def stats_job(net, x, y, loss, heads=None):
    """Layer stats on the probe batch (compute thread); ``heads``: the data's targets of a
    network with several outputs (the gradients of their weighted losses)."""
    return layer_stats(net, x, y, loss, heads=heads)


def decade_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Ticks of a log axis spanning the decades ``lo``…``hi`` (log10 units): a label on each
    power of ten, unlabelled ticks at 2…9 between (pyqtgraph labels those too when the axis
    spans few decades, and in a short plot they pile up)."""
    decades = range(math.floor(lo), math.ceil(hi) + 1)
    major = [(float(d), f"{10.0 ** d:g}") for d in decades]
    minor = [(d + math.log10(k), "") for d in decades for k in range(2, 10)
             if d + math.log10(k) < hi]
    return [major, minor]


class StatsView(InsightView):
    """Histograms, a per-layer table, gradient norms over training and warnings."""

    key = "stats"
    min_interval = 1.0
    several_reason = ""  # every layer's weights and gradients, whatever the Inputs and outputs

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        t = colors.theme()
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        # Long warnings wrap; they never widen the panel.
        self.warnings.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.layer_combo = QComboBox()
        self.w_plot = plot_widget("weight value", "count")
        self.a_plot = plot_widget("activation", "count")
        self.w_bars = pg.BarGraphItem(x=[], height=[], width=0.1, brush=colors.POSITIVE,
                                      pen=pg.mkPen(None))
        self.a_bars = pg.BarGraphItem(x=[], height=[], width=0.1, brush=colors.NEGATIVE,
                                      pen=pg.mkPen(None))
        self.w_plot.addItem(self.w_bars)
        self.a_plot.addItem(self.a_bars)
        self.g_plot = plot_widget("step (batches)", "gradient norm")
        self._log = False
        legend = self.g_plot.addLegend(offset=(-10, 10), labelTextColor=t.text)
        legend.setBrush(pg.mkBrush(pg.mkColor(t.base).red(), pg.mkColor(t.base).green(),
                                   pg.mkColor(t.base).blue(), 210))
        self.g_curves: dict[str, pg.PlotDataItem] = {}
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setMaximumHeight(150)
        hist_row = QHBoxLayout()
        hist_row.addWidget(self.w_plot)
        hist_row.addWidget(self.a_plot)
        top = QHBoxLayout()
        top.addWidget(QLabel("Histograms of layer:"))
        top.addWidget(self.layer_combo, 1)
        layout = QVBoxLayout(self.page)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.warnings)
        layout.addLayout(top)
        layout.addLayout(hist_row, 3)
        layout.addWidget(self.table)
        layout.addWidget(self.g_plot, 3)
        layout.addWidget(caption(
            "Measured on a fixed batch of training samples. A layer whose gradient norm sinks "
            "far below the others learns slowly (vanishing); one that shoots up makes steps "
            "overshoot (exploding). Dead: ReLU units that output 0 for every sample."))
        self.layer_combo.currentIndexChanged.connect(self._draw_histograms)
        self._last_step = -1.0
        self._undrawn = False
        self.rebuild()

    def rebuild(self) -> None:
        net, data = self.source.network, self.source.data
        # Another network or data: nothing of the previous one stays on show.
        self.stats = None
        self.table.setRowCount(0)
        self.warnings.clear()
        if net is None or data is None:
            self.show_message("Load data and build a network to see its weights and gradients.")
            return
        self._probe = data.probe(PROBE)
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for node_id in net.order:
            if net.layers[node_id].params:
                self.layer_combo.addItem(node_id, node_id)
        self.layer_combo.blockSignals(False)
        for c in self.g_curves.values():
            self.g_plot.removeItem(c)
        self.g_curves = {}
        self.g_plot.getPlotItem().legend.clear()
        self._last_step = -1.0
        self.show_page()

    def _on_snapshot(self, snapshot) -> None:
        """New weights feed the history even while the tab is hidden (once a second), as
        long as the panel is on screen."""
        super()._on_snapshot(snapshot)
        if self.isVisible() or not self.source.shown or self.message:
            return
        if (time.perf_counter() - self._last_submit >= HIDDEN_INTERVAL
                or not self.source.training):
            self.update_now(snapshot, force=True)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._undrawn and getattr(self, "stats", None) is not None:
            self._redraw()

    def job(self, snapshot: Snapshot):
        if self.message or self.source.data is None:
            return None
        x, y = self._probe
        heads = self.source.data.heads  # several outputs: their targets, for the gradients
        return stats_job, (x, y, self.source.loss) + ((heads,) if heads is not None else ())

    def show_result(self, stats: NetworkStats, snapshot: Snapshot) -> None:
        self.stats = stats
        src = self.source
        step = float((snapshot.epoch - 1) * max(snapshot.n_batches, 1) + snapshot.batch
                     if snapshot.epoch else 0)
        if step > self._last_step:
            src.history.append(step, stats)
            self._last_step = step
        if not self.isVisible():  # history only; the widgets catch up when shown
            self._undrawn = True
            return
        self._redraw()

    def _redraw(self) -> None:
        """Warnings and table now; the plots in later turns of the event loop, so their
        repaints do not add up to one long stall."""
        self._undrawn = False
        self._draw_warnings(self.stats)
        self._draw_table(self.stats)
        QTimer.singleShot(STAGGER_MS, self._draw_histograms)
        QTimer.singleShot(2 * STAGGER_MS, self._draw_norms)

    def _draw_warnings(self, stats: NetworkStats) -> None:
        t = colors.theme()
        advice = stats.warnings()
        if not advice:
            set_text(
                self.warnings,
                "<span style='color:#0b7a55'>✓ No problems spotted: no dead or saturated units, "
                "gradients of healthy size.</span>")
            return
        items = "".join(f"<li>{html.escape(a.text)}</li>" for a in advice)
        set_text(self.warnings, f"<b style='color:{t.warning}'>⚠ Worth a look</b>"
                              f"<ul style='margin:2px 0 0 -20px'>{items}</ul>")

    def _draw_table(self, stats: NetworkStats) -> None:
        if self.table.rowCount() != len(stats.layers):
            self.table.setRowCount(len(stats.layers))
            rows = min(len(stats.layers), 5)
            self.table.setFixedHeight(self.table.horizontalHeader().height() + 22 * rows + 4)
        for r, s in enumerate(stats.layers):
            cells = (
                s.node_id, s.activation, str(s.n_units),
                f"{s.weight_mean:+.3f} ± {s.weight_std:.3f}",
                "–" if math.isnan(s.grad_norm) else f"{s.grad_norm:.3g}",
                "–" if s.dead_share is None else f"{len(s.dead_units)} ({s.dead_share:.0%})",
                "–" if s.saturated_share is None else f"{s.saturated_share:.0%}",
            )
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    self.table.setItem(r, c, QTableWidgetItem(text))
                elif item.text() != text:
                    item.setText(text)

    def _draw_histograms(self) -> None:
        stats = getattr(self, "stats", None)
        node = self.layer_combo.currentData()
        if stats is None or node is None:
            return
        try:
            s = stats.layer(node)
        except StopIteration:
            return
        for bars, plot, h, what in ((self.w_bars, self.w_plot, s.weights, f"weights of {node}"),
                                    (self.a_bars, self.a_plot, s.activations,
                                     f"outputs of {node} ({s.activation})")):
            centers = (h.edges[:-1] + h.edges[1:]) / 2
            bars.setOpts(x=centers, height=h.counts, width=float(h.edges[1] - h.edges[0]) * 0.9)
            set_axes(plot, title=what)
            set_ranges(plot, nice_range(float(h.edges[0]), float(h.edges[-1])),
                       nice_range(0.0, float(max(h.counts.max(), 1)) * 1.05))

    def _draw_norms(self) -> None:
        steps, norms = self.source.history.arrays("grad_norm")
        if not len(steps):
            return
        positive = np.concatenate([v[np.isfinite(v) & (v > 0)] for v in norms.values()])
        log = bool(positive.size > 0 and positive.max() > 10 * positive.min())
        if log != self._log:  # a log axis only when the norms span a decade or more
            self._log = log
            self.g_plot.setLogMode(False, log)
            if not log:
                self.g_plot.getAxis("left").setTicks(None)  # pyqtgraph's own again
        for i, (node, values) in enumerate(norms.items()):
            curve = self.g_curves.get(node)
            if curve is None:
                curve = self.g_plot.plot(pen=pg.mkPen(colors.class_color(i), width=2), name=node)
                self.g_curves[node] = curve
            ok = np.isfinite(values) & (values > 0)
            curve.setData(steps[ok], values[ok])
        if positive.size:
            lo, hi = float(positive.min()), float(positive.max())
            yr = (nice_range(math.log10(lo), math.log10(hi), log=True) if log
                  else nice_range(0.0, hi * 1.05))
            if log:
                self.g_plot.getAxis("left").setTicks(decade_ticks(*yr))
            set_ranges(self.g_plot, nice_range(0.0, max(float(steps[-1]), 1.0)), yr)
