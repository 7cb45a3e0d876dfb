"""The decision boundary (classification) or the fitted function (regression), live.

Two features: the predicted class probabilities as a colour map behind the training points
(filled dots) and test points (ringed dots), with the decision boundary drawn where the
predicted class changes. One feature: the fitted curve over the points (the salary line),
or the class probabilities along the feature. With more features the learner picks the two
to plot; the other numeric features stay at their training means and categorical inputs at
their most frequent category (the caption says which).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout

from nnstudio.core.insight.boundary import decision_grid, fitted_curve, grid_axes, padded_range
from nnstudio.core.insight.dataview import InsightData, fixed_inputs_text
from nnstudio.gui.insight import colors
from nnstudio.gui.insight.base import (
    InsightView,
    RGBAImageItem,
    caption,
    device_size,
    grid_rect,
    plot_widget,
)
from nnstudio.gui.insight.colorbar import (
    ColorBar,
    ContourLabels,
    contour_label_points,
    value_scale,
)
from nnstudio.gui.insight.compute import Snapshot
from nnstudio.gui.insight.contours import class_boundaries, contour_segments

#: Most points drawn per split (a fixed random subset beyond).
MAX_POINTS = 1500
NONE_FEATURE = "— (one feature: curve)"


def subset(n: int, limit: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``limit`` of ``n`` rows, the same on every call."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:limit])


def boundary_job(net, data: InsightData, fx: int, fy: int | None, xr, yr, resolution: int,
                 background: str, value_range=(0.0, 1.0), size=None) -> dict[str, Any]:
    """Compute the map (or curve) in the compute thread; returns what to draw."""
    means = data.means()
    if fy is None:
        xs, ys = fitted_curve(net, data.to_input, xr, resolution=max(resolution, 200),
                              feature=fx, fixed=means, n_features=data.n_features)
        if data.task == "classification":
            ys = ys if ys.shape[1] > 1 else np.concatenate([1 - ys, ys], axis=1)
        elif data.decode_target is not None:
            ys = np.asarray(data.decode_target(ys), np.float64).reshape(len(xs), -1)
        return {"kind": "curve", "xs": xs, "ys": ys}
    probs = decision_grid(net, data.to_input, xr, yr, resolution, features=(fx, fy),
                          fixed=means, n_features=data.n_features)
    gx, gy = grid_axes(xr, yr, resolution)
    if data.task == "classification":
        image = colors.to_qimage(colors.probability_image(probs, background), size)
        lx, ly = class_boundaries(probs, gx, gy)
        return {"kind": "map", "image": image, "lines": (lx, ly), "xs": gx, "ys": gy,
                "probs": probs}
    values = probs[..., 0].astype(np.float64)
    if data.decode_target is not None:
        values = np.asarray(data.decode_target(values.reshape(-1, 1))).reshape(values.shape)
    image = colors.to_qimage(colors.value_image(values, *value_range, background), size)
    # Contour lines of the fitted value at five levels of the colour scale, each labelled.
    lo, hi = value_range
    per_level = [(float(v), *contour_segments(values, v, gx, gy))
                 for v in np.linspace(lo, hi, 7)[1:-1]] if hi > lo else []
    lx = np.concatenate([x for _, x, _ in per_level]) if per_level else np.zeros(0)
    ly = np.concatenate([y for _, _, y in per_level]) if per_level else np.zeros(0)
    return {"kind": "map", "values": values, "image": image, "xs": gx, "ys": gy,
            "lines": (lx, ly), "labels": contour_label_points(per_level)}


class BoundaryView(InsightView):
    """Decision map / fitted curve of the current weights, refreshed a few times a second."""

    key = "boundary"
    several_reason = (
        "it colours a map of one output over two features of one Input (several outputs "
        "give no one value to colour).")
    min_interval = 0.25

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.resolution = 100
        self.x_combo = QComboBox()
        self.y_combo = QComboBox()
        self.res_combo = QComboBox()
        for r in (50, 100, 150, 250):
            self.res_combo.addItem(f"{r} × {r}", r)
        self.res_combo.setCurrentIndex(1)
        self.fixed_label = QLabel()
        self.plot = plot_widget()
        self.image = RGBAImageItem()
        self.image.setZValue(-10)
        self.lines = pg.PlotDataItem(pen=pg.mkPen(colors.theme().text, width=2), connect="pairs")
        self.curves: list[pg.PlotDataItem] = []
        self.train_points = pg.ScatterPlotItem(size=7, pxMode=True)
        self.test_points = pg.ScatterPlotItem(size=8, pxMode=True)
        for item in (self.image, self.lines, self.train_points, self.test_points):
            self.plot.addItem(item)
        self.caption = caption()
        self.fixed_label.setWordWrap(True)
        # Combos as narrow as a short name: the row fits a dock of ~420 px.
        for combo in (self.x_combo, self.y_combo):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(5)
        # The two axes' features one above the other: the view fits the ~300 px dock of a
        # 1024 × 640 window.
        row = QGridLayout()
        row.addWidget(QLabel("Horizontal:"), 0, 0)
        row.addWidget(self.x_combo, 0, 1)
        row.addWidget(QLabel("Vertical:"), 1, 0)
        row.addWidget(self.y_combo, 1, 1)
        row.setColumnStretch(1, 1)
        under = QHBoxLayout()  # what the others are held at, and the grid's fineness
        under.addWidget(QLabel("Grid:"), 0, Qt.AlignmentFlag.AlignTop)
        under.addWidget(self.res_combo, 0, Qt.AlignmentFlag.AlignTop)
        under.addWidget(self.fixed_label, 1)
        self.colorbar = ColorBar()
        self.labels = ContourLabels(self.plot)
        plot_row = QHBoxLayout()
        plot_row.addWidget(self.plot, 1)
        plot_row.addWidget(self.colorbar)
        layout = QVBoxLayout(self.page)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(row)
        layout.addLayout(under)
        layout.addLayout(plot_row, 1)
        layout.addWidget(self.caption)
        self.x_combo.currentIndexChanged.connect(self._features_changed)
        self.y_combo.currentIndexChanged.connect(self._features_changed)
        self.res_combo.currentIndexChanged.connect(self._features_changed)
        self._building = False
        self.rebuild()

    # -- structure ----------------------------------------------------------------------------
    @property
    def data(self) -> InsightData | None:
        return self.source.data

    def features(self) -> tuple[int, int | None]:
        fx = max(0, self.x_combo.currentIndex())
        fy = self.y_combo.currentData()
        return fx, (None if fy is None or fy < 0 else int(fy))

    def set_features(self, fx: int, fy: int | None) -> None:
        """Choose the plotted features (``fy=None``: a curve over one feature)."""
        self.x_combo.setCurrentIndex(fx)
        self.y_combo.setCurrentIndex(self.y_combo.findData(-1 if fy is None else fy))

    def rebuild(self) -> None:
        data, net = self.data, self.source.network
        if data is None or net is None:
            self.show_message("Load data and train a network to see what it predicts "
                              "over the input space.")
            return
        if not data.tabular:
            self.show_message("The decision map is for tables of features; this data is "
                              "images or sequences.")
            return
        self._building = True
        names = data.plot_names
        self.x_combo.clear()
        self.y_combo.clear()
        self.x_combo.addItems(names)
        self.y_combo.addItem(NONE_FEATURE, -1)
        for i, n in enumerate(names):
            self.y_combo.addItem(n, i)
        self.x_combo.setCurrentIndex(0)
        self.y_combo.setCurrentIndex(2 if data.n_features >= 2 else 0)
        self._building = False
        idx = subset(len(data.plot_train), MAX_POINTS)
        self._train_idx = idx
        self._test_idx = subset(len(data.plot_test), MAX_POINTS // 3, seed=1)
        self.show_page()
        self._apply_features()

    def _features_changed(self) -> None:
        if self._building:
            return
        self._apply_features()
        self.settings_changed()

    def _apply_features(self) -> None:
        data = self.data
        if data is None or not data.tabular:
            return
        self.resolution = int(self.res_combo.currentData() or 100)
        fx, fy = self.features()
        self.source.plot_features = (fx, fy if fy is not None else (1 if fx == 0 else 0))
        pts_tr = data.plot_train[self._train_idx]
        pts_te = data.plot_test[self._test_idx]
        both = np.concatenate([pts_tr, pts_te]) if len(pts_te) else pts_tr
        self.x_range = padded_range(both[:, fx], 0.08)
        others = data.n_features - (1 if fy is None else 2)
        text = fixed_inputs_text(others, data.held_categories)
        self.fixed_label.setText(text)
        self.fixed_label.setVisible(bool(text))
        t = colors.theme()
        item = self.plot.getPlotItem()
        item.setLabel("bottom", data.plot_names[fx], color=t.text)
        for c in self.curves:
            self.plot.removeItem(c)
        self.curves = []
        self.image.clear()
        self.lines.setData([], [])
        self.labels.set([])
        self.colorbar.setVisible(False)
        if fy is None:
            self._setup_curve(data, fx, pts_tr, pts_te)
        else:
            self.y_range = padded_range(both[:, fy], 0.08)
            item.setLabel("left", data.plot_names[fy], color=t.text)
            self._setup_points(data, pts_tr[:, fx], pts_tr[:, fy], pts_te[:, fx], pts_te[:, fy])
            self.plot.setXRange(*self.x_range, padding=0)
            self.plot.setYRange(*self.y_range, padding=0)
            what = ("the colour is the predicted class, strong where the network is sure and "
                    "faint where it hesitates; the line is the decision boundary"
                    if data.task == "classification" else
                    "the colour is the predicted value (orange low, blue high)")
            self.caption.setText(f"Over the plane of two features {what}. Dots: training "
                                 "samples; dots with a ring: test samples."
                                 f"{self._legend(data)}")

    @staticmethod
    def _legend(data) -> str:
        """`` ● cat ● dog`` in the class colours (rich text), for classification."""
        if data.task != "classification":
            return ""
        names = data.class_names or [str(k) for k in range(data.n_classes)]
        items = [f"<span style='color:{colors.class_color(k)}'>●</span>&nbsp;{html.escape(n)}"
                 for k, n in enumerate(names[:10])]
        return "<br>Classes: " + " &nbsp; ".join(items)

    def _class_brushes(self, y: np.ndarray) -> list:
        cls = self.data.classes_of(y)
        cache = {k: pg.mkBrush(colors.class_color(int(k))) for k in np.unique(cls)}
        return [cache[k] for k in cls]

    def _setup_points(self, data, x_tr, y_tr, x_te, y_te) -> None:
        t = colors.theme()
        if data.task == "classification":
            b_tr = self._class_brushes(data.y_train[self._train_idx])
            b_te = self._class_brushes(data.y_test[self._test_idx]) if len(x_te) else []
        else:
            v_tr = data.targets_for_plot(data.y_train[self._train_idx])[:, 0]
            v_te = data.targets_for_plot(data.y_test[self._test_idx])[:, 0]
            self.value_range = padded_range(np.concatenate([v_tr, v_te]), 0.0)
            b_tr = [pg.mkBrush(*c) for c in colors.value_colors(v_tr, *self.value_range)]
            b_te = [pg.mkBrush(*c) for c in colors.value_colors(v_te, *self.value_range)]
        self.train_points.setData(x_tr, y_tr, brush=b_tr, pen=pg.mkPen(t.base, width=1.2),
                                  symbol="o", size=7)
        self.test_points.setData(x_te, y_te, brush=b_te, pen=pg.mkPen(t.text, width=1.6),
                                 symbol="o", size=8)

    def _setup_curve(self, data, fx, pts_tr, pts_te) -> None:
        t = colors.theme()
        item = self.plot.getPlotItem()
        if data.task == "classification":
            k = max(2, data.n_classes)
            for c in range(k):
                curve = pg.PlotDataItem(pen=pg.mkPen(colors.class_color(c), width=2.5))
                self.plot.addItem(curve)
                self.curves.append(curve)
            y_tr = data.classes_of(data.y_train[self._train_idx]).astype(float)
            y_te = data.classes_of(data.y_test[self._test_idx]).astype(float)
            if k > 2:  # a strip below the curves, coloured by class
                y_tr, y_te = np.full(len(y_tr), -0.06), np.full(len(y_te), -0.1)
            item.setLabel("left", "predicted probability", color=t.text)
            self._setup_points(data, pts_tr[:, fx], y_tr, pts_te[:, fx], y_te)
            self.plot.setYRange(-0.15, 1.1, padding=0)
            self.caption.setText("Each curve is the predicted probability of a class along this "
                                 "feature; dots are the samples at their class.")
        else:
            curve = pg.PlotDataItem(pen=pg.mkPen(t.accent, width=3))
            self.plot.addItem(curve)
            self.curves.append(curve)
            v_tr = data.targets_for_plot(data.y_train[self._train_idx])[:, 0]
            v_te = data.targets_for_plot(data.y_test[self._test_idx])[:, 0]
            name = data.target_names[0] if data.target_names else "target"
            item.setLabel("left", name, color=t.text)
            self.train_points.setData(pts_tr[:, fx], v_tr, brush=pg.mkBrush("#0072b2"),
                                      pen=pg.mkPen(t.base, width=1.2), symbol="o", size=8)
            self.test_points.setData(pts_te[:, fx], v_te, brush=pg.mkBrush("#e69f00"),
                                     pen=pg.mkPen(t.text, width=1.4), symbol="o", size=8)
            both = np.concatenate([v_tr, v_te])
            self.plot.setYRange(*padded_range(both, 0.12), padding=0)
            self.caption.setText("The line is the function the network has fitted; blue dots "
                                 "are training samples, orange dots test samples.")
        self.plot.setXRange(*self.x_range, padding=0)

    # -- computing and drawing ------------------------------------------------------------------
    def job(self, snapshot: Snapshot):
        data = self.data
        if data is None or not data.tabular or self.message:
            return None
        fx, fy = self.features()
        yr = getattr(self, "y_range", (0.0, 1.0))
        bg = colors.theme().base
        vr = getattr(self, "value_range", (0.0, 1.0))
        size = device_size(self.plot, grid_rect(*grid_axes(self.x_range, yr, self.resolution)))
        return boundary_job, (data, fx, fy, self.x_range, yr, self.resolution, bg, vr, size)

    def show_result(self, result: dict, snapshot: Snapshot) -> None:
        if result["kind"] == "curve":
            ys = result["ys"]
            for c, curve in enumerate(self.curves):
                if c < ys.shape[1]:
                    curve.setData(result["xs"], ys[:, c])
            return
        xs, ys = result["xs"], result["ys"]
        self.image.set_image(result["image"], grid_rect(xs, ys))
        self.lines.setData(*result["lines"])
        self.labels.set(result.get("labels", []))
        if "values" in result:  # a fitted function: its colour scale, in the target's units
            lo, hi = getattr(self, "value_range", (0.0, 1.0))
            name = self.data.target_names[0] if self.data.target_names else "prediction"
            self.colorbar.set_scale(lo, hi, name, value_scale(colors.theme().base))
        else:
            self.colorbar.setVisible(False)
