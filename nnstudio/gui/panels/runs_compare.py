"""Compare runs: their validation curves overlaid and their settings side by side.

:class:`RunsCompare` shows the runs the Runs panel has selected (it keeps no copy of them:
:meth:`RunsCompare.show_runs` is called with the session's :class:`~nnstudio.core.io.runs.Run`
objects whenever the selection or the run history changes). Left, two plots — validation loss
and the validation metric (accuracy in %, or R²) per epoch — with one colour per run and a
legend of run names; the curves are created once (a pool that only grows) and refreshed with
``setData``. Right, a table with one column per run and one row per setting (flattened keys
such as ``optimizer.learning_rate``), then the network's and the data's fingerprints; rows
whose values differ are highlighted.

Runs of a network with several outputs keep a validation metric per output
(``val_<target>/accuracy`` or ``val_<target>/r2``): a selector above the plots chooses the
output whose metric is overlaid, and the settings table has a target/loss/weight row per
Output layer of the runs' networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.io.runs import Run
from nnstudio.gui.design_data import history_output_keys
from nnstudio.gui.panels.workflow_widgets import hbox
from nnstudio.gui.plots import style
from nnstudio.gui.theme import current_theme

#: One colour per compared run (Okabe–Ito, colour-blind safe); the 9th run starts again
#: with dashed lines.
RUN_COLORS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#8c6d1f",
              "#7b8794")

#: Most runs compared at once (a legend of more names reads as noise).
MAX_COMPARED = 12
#: Up to this many compared runs are drawn with 2 px lines.
THICK_UP_TO = 4

#: The loss row of a run whose Output layers each set their loss.
PER_OUTPUT = "each Output's (below)"

#: Settings shown first, in this order (the rest follow alphabetically).
_FIRST = ("loss", "optimizer.type", "optimizer.learning_rate", "epochs", "batch_size", "seed",
          "shuffle", "early_stopping.patience", "early_stopping.min_delta", "schedule.type",
          "weight_decay", "clip_norm", "clip_value")


def run_color(index: int) -> tuple[str, bool]:
    """The colour of the ``index``-th compared run and whether its lines are dashed."""
    return RUN_COLORS[index % len(RUN_COLORS)], index >= len(RUN_COLORS)


def run_pen(index: int, shown: int):
    """The pen of the ``index``-th of ``shown`` compared runs: 2 px for a few runs, 1 px for
    many (thick lines cost far more to draw, and a dense overlay reads better thin)."""
    color, dashed = run_color(index)
    pen = pg.mkPen(color, width=2.0 if shown <= THICK_UP_TO else 1.0)
    if dashed:
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optimizer": {"type": "adam"}}`` → ``{"optimizer.type": "adam"}``; an empty or
    ``None`` sub-dict stays as one key (``early_stopping: None`` → ``"early_stopping"``)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def format_value(v: Any) -> str:
    """A setting as a person reads it (``None`` → "off", ``0.001`` stays ``0.001``)."""
    if v is None:
        return "off"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, dict):
        return "off" if not v else ", ".join(f"{k}={format_value(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return "×".join(map(str, v))
    return str(v)


def settings_rows(runs: Sequence[Run]) -> list[tuple[str, list[str]]]:
    """``[(row label, [value of each run])]``: every flattened training setting any of the
    runs has ("off" where a run has none), then epochs run, best epoch, the network
    (fingerprint), its layer count and the data fingerprint."""
    flat = [flatten(r.settings) for r in runs]
    keys = set().union(*flat) if flat else set()
    # ``early_stopping: None`` in one run and ``{"patience": 20}`` in another: one row
    # "early_stopping.patience" reading "off" for the first. (A setting a run lacks was None:
    # ``TrainingConfig.to_dict`` leaves Nones out.)
    keys -= {k.split(".", 1)[0] for k in keys if "." in k}
    order = [k for k in _FIRST if k in keys] + sorted(keys - set(_FIRST))
    # A run whose Output layers set their own losses recorded a ``loss`` it did not use.
    per_output = [bool(output_settings(r)) for r in runs]
    rows = [(key, [PER_OUTPUT if key == "loss" and own else format_value(f.get(key))
                   for f, own in zip(flat, per_output, strict=True)]) for key in order]
    rows.extend(output_rows(runs))
    rows.append(("Epochs run", [str(r.epochs) for r in runs]))
    rows.append(("Best epoch", [str(r.best_epoch) if r.best_epoch else "—" for r in runs]))
    rows.append(("Network", [r.network_fp[:8] or "—" for r in runs]))
    rows.append(("Layers", [str(len(r.network.get("nodes", []))) if r.network else "—"
                            for r in runs]))
    rows.append(("Data", [r.data_fp[:8] or "—" for r in runs]))
    return rows


def output_settings(run: Run) -> dict[str, dict[str, Any]]:
    """``{Output layer id: {"target", "loss", "weight"}}`` of the network a run trained
    (``{}`` for a network without Output layers); the layer's defaults where unset."""
    out = {}
    for node in (run.network or {}).get("nodes", []):
        if node.get("type") != "Output":
            continue
        config = node.get("config", node)  # a section's node holds its settings inline
        out[str(node.get("id"))] = {"target": config.get("target") or "?",
                                    "loss": config.get("loss") or "auto",
                                    "weight": float(config.get("weight", 1.0))}
    return out


def output_rows(runs: Sequence[Run]) -> list[tuple[str, list[str]]]:
    """A target, a loss and a weight row per Output layer any of the runs has (by layer id,
    in first-seen order; "—" for a run without that layer)."""
    per_run = [output_settings(r) for r in runs]
    ids: list[str] = []
    for outs in per_run:
        ids += [i for i in outs if i not in ids]
    rows = []
    for node in ids:
        for key in ("target", "loss", "weight"):
            rows.append((f"Output {node}: {key}",
                         [format_value(outs[node][key]) if node in outs else "—"
                          for outs in per_run]))
    return rows


def output_metrics_of(runs: Sequence[Run]) -> list[str]:
    """The per-output validation metrics the runs kept (``["value/r2", "label/accuracy"]``,
    first-seen order; ``[]`` for runs of one output)."""
    keys: list[str] = []
    for run in runs:
        keys += [k for k in history_output_keys(run.history) if k not in keys]
    return keys


def metric_title(metric: str) -> str:
    """The metric plot's title: ``Validation R²``, ``Validation accuracy (%) · label``."""
    target, _, name = metric.rpartition("/")
    title = {"accuracy": "Validation accuracy (%)", "r2": "Validation R²"}.get(
        name, "Validation metric")
    return f"{title} · {target}" if target else title


def metric_of(runs: Sequence[Run]) -> str:
    """The validation curve the runs are compared by: ``"accuracy"``, ``"r2"`` or ``""``
    (the first that any run has, accuracy first)."""
    for name in ("accuracy", "r2"):
        if any(r.history.get("val_" + name) for r in runs):
            return name
    return ""


def curve_points(run: Run, key: str) -> tuple[np.ndarray, np.ndarray]:
    """``(epochs, values)`` of one history curve (epochs count from 1; accuracy in %)."""
    y = np.asarray(run.history.get(key, []), dtype=float)
    if key.endswith("accuracy"):
        y = y * 100.0
    return np.arange(1, len(y) + 1, dtype=float), y


class RunsCompare(QWidget):
    """Curves and settings of the selected runs.

    Attributes
    ----------
    runs:
        The runs shown (the session's objects, in selection order).
    loss_curves, metric_curves:
        The pools of ``PlotDataItem``: item *i* draws the *i*-th run; unused items are empty
        and hidden.
    settings:
        The side-by-side ``QTableWidget`` (a column per run).
    differing:
        The labels of the settings rows whose values differ between the runs.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs: list[Run] = []
        self.selected = 0  # how many runs the panel asked to compare (≥ len(runs))
        self.differing: list[str] = []
        self.metric_name = ""
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {current_theme().muted};")

        f = style.frame()
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(f["background"])
        self.graphics.ci.setContentsMargins(4, 4, 4, 4)
        self.loss_plot = self._plot("Validation loss", 0)
        self.metric_plot = self._plot("Validation accuracy (%)", 1)
        legend_fill = pg.mkColor(f["background"])
        legend_fill.setAlpha(210)  # curves under it stay visible, its text readable
        self.legend = self.loss_plot.addLegend(offset=(8, -8), labelTextColor=f["text"],
                                               brush=pg.mkBrush(legend_fill))
        self.loss_curves: list[pg.PlotDataItem] = []
        self.metric_curves: list[pg.PlotDataItem] = []
        self.graphics.setMinimumHeight(160)
        # Several outputs: whose validation metric the right plot overlays.
        self.output_choice = QComboBox()
        self.output_choice.setToolTip("The output whose validation metric is overlaid (a "
                                      "network with several outputs scores each)")
        self.output_choice.currentIndexChanged.connect(self._on_output_chosen)
        self.output_label = QLabel("Metric of output")
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.setSpacing(4)
        ll.addLayout(hbox(None, self.output_label, self.output_choice))
        ll.addWidget(self.graphics, 1)
        self._filling = False  # refilling the selector: not a choice

        self.settings = QTableWidget(0, 0)
        self.settings.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.settings.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.settings.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.settings.verticalHeader().setDefaultSectionSize(
            self.settings.fontMetrics().height() + 6)
        self.settings.setToolTip("Settings of the selected runs; rows that differ are "
                                 "highlighted")
        self.only_differences = QCheckBox("Only differences")
        self.only_differences.setToolTip("Hide the settings every selected run shares")
        self.only_differences.toggled.connect(self._show_rows)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(4)
        rl.addLayout(hbox(QLabel("<b>Settings side by side</b>"), None, self.only_differences))
        rl.addWidget(self.settings, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([600, 400])  # proportions: the settings need room per run

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.hint)
        layout.addWidget(self.splitter, 1)
        self.show_runs([])

    def _plot(self, title: str, col: int) -> pg.PlotItem:
        f = style.frame()
        plot = self.graphics.addPlot(row=0, col=col)
        plot.setTitle(title, color=f["text"], size="10pt")
        plot.setLabel("bottom", "epoch", color=f["muted"])
        plot.showGrid(x=True, y=True, alpha=0.18)
        for axis in ("left", "bottom"):
            ax = plot.getAxis(axis)
            ax.setPen(pg.mkPen(f["axis"]))
            ax.setTextPen(pg.mkPen(f["muted"]))
        plot.setMenuEnabled(False)
        plot.hideButtons()
        return plot

    def _curve(self, pool: list[pg.PlotDataItem], plot: pg.PlotItem, i: int) -> pg.PlotDataItem:
        """The pool's ``i``-th curve, created the first time it is needed."""
        while len(pool) <= i:
            pool.append(plot.plot(pen=run_pen(len(pool), 1), connect="finite"))
        return pool[i]

    # -- showing -----------------------------------------------------------------------------
    def show_runs(self, runs: Sequence[Run]) -> None:
        """Show ``runs`` (the selection, in order): curves, legend and settings table."""
        self.selected = len(runs)
        self.runs = list(runs)[:MAX_COMPARED]
        n = len(self.runs)
        if self.selected > n:
            self.hint.setText(f"Comparing the first {n} of the {self.selected} selected runs "
                              "(select fewer to choose which).")
        elif n == 0:
            self.hint.setText("Select two or more runs (Ctrl+click, Shift+click) to overlay "
                              "their curves and compare their settings.")
        elif n == 1:
            self.hint.setText(f"{self.runs[0].name}. Select more runs (Ctrl+click) to "
                              "compare them.")
        else:
            self.hint.setText(f"Comparing {n} runs.")
        # Nothing selected: only the hint (empty plots and an empty table say nothing).
        self.splitter.setVisible(n > 0)
        self.layout().setStretchFactor(self.hint, 0 if n else 1)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignLeft if n else Qt.AlignmentFlag.AlignCenter)
        self._show_curves()
        self._show_settings()

    def _fill_output_choice(self) -> list[str]:
        """The selector lists the runs' outputs (hidden for runs of one output); the chosen
        output stays chosen while it is among them."""
        keys = output_metrics_of(self.runs)
        current = self.output_choice.currentData()
        self._filling = True
        try:
            self.output_choice.clear()
            for key in keys:
                target, _, name = key.rpartition("/")
                self.output_choice.addItem(
                    f"{target} ({'accuracy' if name == 'accuracy' else 'R²'})", key)
            if current in keys:
                self.output_choice.setCurrentIndex(keys.index(current))
        finally:
            self._filling = False
        for w in (self.output_choice, self.output_label):
            w.setVisible(bool(keys))
        return keys

    def _on_output_chosen(self, _index: int) -> None:
        if not self._filling:
            self._show_curves(refill=False)

    def choose_output(self, target: str) -> None:
        """Overlay the validation metric of the output predicting ``target``."""
        for i in range(self.output_choice.count()):
            if self.output_choice.itemData(i).rpartition("/")[0] == target:
                self.output_choice.setCurrentIndex(i)
                return
        raise KeyError(target)

    def _show_curves(self, refill: bool = True) -> None:
        keys = self._fill_output_choice() if refill else output_metrics_of(self.runs)
        if keys:  # several outputs: the chosen output's metric
            self.metric_name = self.output_choice.currentData() or keys[0]
        else:
            self.metric_name = metric_of(self.runs)
        self.metric_plot.setTitle(metric_title(self.metric_name),
                                  color=style.frame()["text"], size="10pt")
        self.legend.clear()
        for i, run in enumerate(self.runs):
            loss = self._curve(self.loss_curves, self.loss_plot, i)
            loss.setPen(run_pen(i, len(self.runs)))
            loss.setData(*curve_points(run, "val_loss"))
            loss.setVisible(True)
            self.legend.addItem(loss, run.name)
            metric = self._curve(self.metric_curves, self.metric_plot, i)
            metric.setPen(run_pen(i, len(self.runs)))
            if self.metric_name:
                metric.setData(*curve_points(run, "val_" + self.metric_name))
            else:
                metric.setData([], [])
            metric.setVisible(True)
        for pool in (self.loss_curves, self.metric_curves):
            for curve in pool[len(self.runs):]:
                curve.setData([], [])
                curve.setVisible(False)
        self._set_ranges()
        self._place_legend()

    #: Where the legend may go: (x, y) fractions of the plot (0, 0 = top left), best first
    #: among equals.
    _LEGEND_SPOTS = ((1, 0), (0, 0), (1, 0.5), (1, 1), (0, 1), (0, 0.5), (0.5, 0))

    def _place_legend(self) -> None:
        """Put the legend where the loss curves cross it least (top right among equals)."""
        (x0, x1), (y0, y1) = self.loss_plot.viewRange()
        # The legend's share of the plot (a guess until both have been laid out).
        view, box = self.loss_plot.vb.size(), self.legend.boundingRect()
        w = min(0.6, (box.width() + 16) / view.width()) if view.width() > 50 else 0.4
        h = min(0.6, (box.height() + 16) / view.height()) if view.height() > 50 else 0.35
        points = []
        for curve in self.loss_curves[:len(self.runs)]:
            x, y = curve.getOriginalDataset()
            if x is not None and len(x):
                points.append(((np.asarray(x) - x0) / ((x1 - x0) or 1),
                               (y1 - np.asarray(y)) / ((y1 - y0) or 1)))  # 0 at the top
        counts = {}
        for sx, sy in self._LEGEND_SPOTS:
            left, top = sx * (1 - w), sy * (1 - h)
            counts[(sx, sy)] = sum(
                int(np.count_nonzero((fx >= left) & (fx <= left + w) & (fy >= top)
                                     & (fy <= top + h))) for fx, fy in points)
        sx, sy = min(counts, key=counts.get)
        self.legend.anchor(itemPos=(sx, sy), parentPos=(sx, sy),
                           offset=(8 - 16 * sx, 8 - 16 * sy))

    def _set_ranges(self) -> None:
        """Axes that show the runs that trained well: a diverged run's values (a loss of
        1e30, an R² of −2e9) would flatten every other curve, so its curve leaves the plot
        instead — unless every shown run diverged."""
        epochs = max((len(r.history.get("val_loss", [])) for r in self.runs), default=0)
        healthy = [i for i, r in enumerate(self.runs) if not r.diverged]
        chosen = healthy or range(len(self.runs))
        for plot, pool in ((self.loss_plot, self.loss_curves),
                           (self.metric_plot, self.metric_curves)):
            plot.disableAutoRange()
            plot.setXRange(1, max(epochs, 2), padding=0.02)
            ys = [pool[i].getOriginalDataset()[1] for i in chosen]
            ys = np.concatenate([y for y in ys if y is not None and len(y)] or [np.zeros(0)])
            ys = ys[np.isfinite(ys)]
            if len(ys):
                low, high = float(ys.min()), float(ys.max())
                if high - low < 1e-12:
                    low, high = low - 0.5, high + 0.5
                plot.setYRange(low, high, padding=0.05)

    def _show_settings(self) -> None:
        rows = settings_rows(self.runs) if self.runs else []
        self.differing = [label for label, values in rows if len(set(values)) > 1]
        table = self.settings
        table.setUpdatesEnabled(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # sized once below
        table.clear()
        table.setColumnCount(len(self.runs))
        table.setRowCount(len(rows))
        table.setHorizontalHeaderLabels([r.name for r in self.runs])
        table.setVerticalHeaderLabels([label for label, _ in rows])
        for c, run in enumerate(self.runs):
            header = table.horizontalHeaderItem(c)
            color, _ = run_color(c)
            header.setForeground(QBrush(QColor(color)))
            header.setToolTip(f"{run.name} ({run.id})")
        highlight = QColor(current_theme().warning)
        highlight.setAlpha(60)
        bold = QFont(table.font())
        bold.setBold(True)
        for r, (label, values) in enumerate(rows):
            differs = label in self.differing
            vh = table.verticalHeaderItem(r)
            if differs:
                vh.setFont(bold)
                vh.setToolTip("The selected runs differ here")
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if differs:
                    item.setBackground(highlight)
                    item.setFont(bold)
                if label in ("Network", "Data"):
                    item.setToolTip(self._fingerprint_tip(label, self.runs[c]))
                table.setItem(r, c, item)
        self._show_rows()
        table.resizeColumnsToContents()
        table.setUpdatesEnabled(True)

    @staticmethod
    def _fingerprint_tip(label: str, run: Run) -> str:
        fp = run.network_fp if label == "Network" else run.data_fp
        what = "layers, their settings and connections" if label == "Network" else \
            "training and validation data"
        return f"Fingerprint of the {what}: {fp or 'not recorded'}"

    def _show_rows(self) -> None:
        only = self.only_differences.isChecked() and len(self.runs) > 1
        for r in range(self.settings.rowCount()):
            label = self.settings.verticalHeaderItem(r).text()
            self.settings.setRowHidden(r, only and label not in self.differing)

    def row_values(self, label: str) -> list[str]:
        """The settings table's cells of one row (tests, scripts)."""
        for r in range(self.settings.rowCount()):
            if self.settings.verticalHeaderItem(r).text() == label:
                return [self.settings.item(r, c).text() for c in range(self.settings.columnCount())]
        raise KeyError(label)

