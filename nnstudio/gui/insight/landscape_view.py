"""The loss landscape slice: the loss over two weights (or two directions) and the path that
training took across it.

For the one-input linear model the slice over ``w`` and ``b`` is the course's bowl, and
the path is gradient descent walking down it. For bigger (but still small) networks the
learner picks any two weights, two random directions, or the two directions in which
training moved the most.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from nnstudio.core.insight.common import num
from nnstudio.core.insight.landscape import (
    loss_slice,
    param_label,
    pca_directions,
    random_directions,
    weight_directions,
)
from nnstudio.core.insight.worked import single_neuron
from nnstudio.gui.insight import colors
from nnstudio.gui.insight.base import (
    InsightView,
    RGBAImageItem,
    caption,
    device_size,
    grid_rect,
    plot_widget,
    set_axes,
    set_ranges,
    set_text,
)
from nnstudio.gui.insight.colorbar import (
    ColorBar,
    ContourLabels,
    contour_label_points,
    viridis,
)
from nnstudio.gui.insight.compute import Snapshot
from nnstudio.gui.insight.contours import contour_segments

#: The slice is offered for networks up to this many parameters.
MAX_PARAMS = 5000
#: Weights listed in the pickers (the first ones, in buffer order).
MAX_LISTED = 400
#: Samples the loss is measured on.
PROBE = 200
MODES = (("weights", "Two weights"), ("random", "Two random directions"),
         ("pca", "Main directions of the path"))


def _yield_gil() -> None:
    time.sleep(0.0005)


def landscape_job(net, x, y, loss, mode, a, b, resolution, path, size=None):
    """The slice, its colour image and contour lines (compute thread)."""
    if mode == "weights":
        d = weight_directions(net, a, b)
    elif mode == "pca":
        d = pca_directions(net, path)
    else:
        d = random_directions(net, seed=0)
    s = loss_slice(net, x, y, loss, d, resolution=resolution,
                   path=path if len(path) else None, between_rows=_yield_gil)
    finite = np.isfinite(s.loss)
    logl = np.log10(np.where(finite, np.maximum(s.loss, 1e-12), np.nan))
    lo, hi = np.nanmin(logl), np.nanmax(logl)
    norm = np.nan_to_num((logl - lo) / (hi - lo if hi > lo else 1.0), nan=1.0)
    image = pg.colormap.get("viridis").map(norm, mode="byte")
    image = colors.to_qimage(image.reshape((*norm.shape, 4)), size)
    xs_, ys_, per_level = [], [], []
    logloss = np.log10(np.maximum(s.loss, 1e-12))
    for level in colors.loss_levels(s.loss, 7):
        x, y = contour_segments(logloss, np.log10(level), s.xs, s.ys)
        xs_.append(x)
        ys_.append(y)
        per_level.append((float(level), x, y))
    lx = np.concatenate(xs_) if xs_ else np.zeros(0)
    ly = np.concatenate(ys_) if ys_ else np.zeros(0)
    # The colour bar's values: the contour levels, placed on the log scale of the image.
    ticks = [(float((np.log10(v) - lo) / (hi - lo)) if hi > lo else 0.5, num(v))
             for v, _, _ in per_level[::2]]
    return {"slice": s, "image": image, "lines": (lx, ly),
            "labels": contour_label_points(per_level), "scale": (10**lo, 10**hi, ticks)}


SHRINK = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon


class LandscapeView(InsightView):
    """Loss over a plane of weights with the training path."""

    key = "landscape"
    several_reason = (
        "it draws one loss over two directions of the weights, with one output's loss.")
    min_interval = 3.0

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        t = colors.theme()
        self.mode_combo = QComboBox()
        for key, label in MODES:
            self.mode_combo.addItem(label, key)
        self.w1 = QComboBox()
        self.w2 = QComboBox()
        self.res_spin = QSpinBox()
        self.res_spin.setRange(11, 61)
        self.res_spin.setSingleStep(2)
        self.res_spin.setValue(21)
        self.follow = QCheckBox("Follow training")
        self.follow.setChecked(True)
        self.follow.setToolTip("Recompute every few seconds while training (and after each step)")
        self.compute_button = QPushButton("Compute")
        self.plot = plot_widget()
        self.image = RGBAImageItem()
        self.image.setZValue(-10)
        self.contours = pg.PlotDataItem(pen=pg.mkPen(255, 255, 255, 90, width=1), connect="pairs")
        self.path_line = pg.PlotDataItem(pen=pg.mkPen(colors.PATH, width=2.5))
        self.path_dots = pg.ScatterPlotItem(size=4, brush=pg.mkBrush(colors.PATH),
                                            pen=pg.mkPen(None))
        self.start = pg.ScatterPlotItem(size=12, brush=pg.mkBrush(colors.PATH_START),
                                        pen=pg.mkPen("w", width=1.5))
        self.end = pg.ScatterPlotItem(size=16, symbol="star", brush=pg.mkBrush(colors.PATH_END),
                                      pen=pg.mkPen("w", width=1.5))
        for it in (self.image, self.contours, self.path_line, self.path_dots, self.start,
                   self.end):
            self.plot.addItem(it)
        self.info = QLabel()
        self.info.setWordWrap(True)  # a narrow dock wraps it instead of scrolling sideways
        self.info.setStyleSheet(f"color: {t.text};")
        self.caption = caption()
        # Short rows, so the view fits the ~300 px dock of a 1024 × 640 window: the plane,
        # then its two weights (shown for the weights plane only), then the grid.
        for combo in (self.mode_combo, self.w1, self.w2):
            combo.setSizeAdjustPolicy(SHRINK)
            combo.setMinimumContentsLength(6)
        row = QHBoxLayout()
        row.addWidget(QLabel("Plane:"))
        row.addWidget(self.mode_combo, 1)
        weights_row = QHBoxLayout()
        weights_row.addWidget(self.w1, 1)
        weights_row.addWidget(self.w2, 1)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Grid:"))
        row2.addWidget(self.res_spin)
        row2.addWidget(self.follow)
        row2.addStretch(1)
        row.addWidget(self.compute_button)
        self.colorbar = ColorBar()
        self.labels = ContourLabels(self.plot)
        plot_row = QHBoxLayout()
        plot_row.addWidget(self.plot, 1)
        plot_row.addWidget(self.colorbar)
        layout = QVBoxLayout(self.page)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(row)
        layout.addLayout(weights_row)
        layout.addLayout(row2)
        layout.addLayout(plot_row, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.caption)
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        for w in (self.w1, self.w2):
            w.currentIndexChanged.connect(self._controls_changed)
        self.res_spin.valueChanged.connect(self._controls_changed)
        self.compute_button.clicked.connect(lambda: self.update_now(force=True))
        self._building = False
        self.rebuild()

    def rebuild(self) -> None:
        net, data = self.source.network, self.source.data
        if net is None or data is None:
            self.show_message("Load data and build a network to see its loss landscape.")
            return
        if net.n_params > MAX_PARAMS:
            self.show_message(
                f"The loss landscape is drawn for small models (up to {MAX_PARAMS:,} weights "
                f"and biases); this one has {net.n_params:,}.")
            return
        self._probe = data.probe(PROBE)
        self._building = True
        for w in (self.w1, self.w2):
            w.clear()
            for i in range(min(net.n_params, MAX_LISTED)):
                w.addItem(param_label(net, i), i)
        found = single_neuron(net)
        if found is not None and net.n_params == 2:
            a, b = net.param_slices[f"{found[0]}/W"].start, net.param_slices[f"{found[0]}/b"].start
        else:
            a, b = 0, 1
        self.w1.setCurrentIndex(self.w1.findData(a))
        self.w2.setCurrentIndex(self.w2.findData(b))
        self._building = False
        self.show_page()
        self._mode_changed()

    @property
    def mode(self) -> str:
        return self.mode_combo.currentData()

    def _mode_changed(self) -> None:
        weights = self.mode == "weights"
        self.w1.setVisible(weights)
        self.w2.setVisible(weights)
        self.caption.setText({
            "weights": "Colour: the loss (dark low, yellow high, log scale) when only these two "
                       "weights change and every other weight keeps its current value. White "
                       "line: the path these two weights took during training, from the green "
                       "dot to the red star (now).",
            "random": "Colour: the loss along two random directions through the current "
                      "weights (the star), each scaled to the size of the weights of every "
                      "unit. The path is the training path projected onto this plane.",
            "pca": "Colour: the loss over the plane in which training moved the most (the two "
                   "principal directions of the weight path). White line: the path, from the "
                   "green dot to the red star (now).",
        }[self.mode])
        self._controls_changed()

    def _controls_changed(self) -> None:
        if not self._building:
            self.settings_changed()

    def update_now(self, snapshot=None, force=False) -> None:
        if not force and self.source.training and not self.follow.isChecked():
            self.stale = True
            return
        super().update_now(snapshot, force)

    def job(self, snapshot: Snapshot):
        if self.message or self.source.data is None:
            return None
        path = self.source.path.array()
        a, b = self.w1.currentData(), self.w2.currentData()
        problem = ("Train a few steps first: the main directions come from the path."
                   if self.mode == "pca" and len(path) < 3 else
                   "Pick two different weights." if self.mode == "weights"
                   and (a is None or b is None or a == b) else "")
        if problem:
            self._clear(problem)
            return None
        x, y = self._probe
        return landscape_job, (x, y, self.source.loss, self.mode, a, b, self.res_spin.value(),
                               path, device_size(self.plot))

    def _clear(self, text: str) -> None:
        """Nothing to draw for these settings: say why, and show no stale picture."""
        self.image.clear()
        for it in (self.contours, self.path_line, self.path_dots, self.start, self.end):
            it.setData([], [])
        self.labels.set([])
        self.colorbar.setVisible(False)
        set_text(self.info, text)
        self.last_result = None

    def show_result(self, result, snapshot: Snapshot) -> None:
        s = result["slice"]
        dx, dy = s.xs[1] - s.xs[0], s.ys[1] - s.ys[0]
        self.image.set_image(result["image"], grid_rect(s.xs, s.ys))
        self.contours.setData(*result["lines"])
        self.labels.set(result.get("labels", []))
        if "scale" in result:
            low, high, ticks = result["scale"]
            self.colorbar.set_scale(low, high, "loss", viridis, ticks)
        if s.path is not None and len(s.path):
            self.path_line.setData(s.path[:, 0], s.path[:, 1])
            self.path_dots.setData(s.path[:, 0], s.path[:, 1])
            self.start.setData([s.path[0, 0]], [s.path[0, 1]])
        else:
            for it in (self.path_line, self.path_dots, self.start):
                it.setData([], [])
        self.end.setData([s.origin[0]], [s.origin[1]])
        set_axes(self.plot, s.directions.labels[0], s.directions.labels[1])
        set_ranges(self.plot, (s.xs[0] - dx / 2, s.xs[-1] + dx / 2),
                   (s.ys[0] - dy / 2, s.ys[-1] + dy / 2))
        set_text(self.info,
            f"Loss now: {s.center_loss:.4g} · lowest on this slice: {np.nanmin(s.loss):.4g} · "
            f"highest: {np.nanmax(s.loss):.4g} — {self.source.position_text()}")
