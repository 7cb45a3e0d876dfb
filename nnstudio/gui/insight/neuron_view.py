"""The neuron inspector: click a unit, see ``z = w·x + b`` with the numbers.

Left, the network as the course draws it: one column per layer, a circle per unit coloured
by its activation for the chosen sample (blue positive, orange negative), lines coloured and
thickened by the weights. Right, the chosen unit: its formula with this sample's numbers,
its own output over the input plane (for two input features), and for the one-input linear
model the course's worked example — ŷ, the loss, ∂C/∂w, ∂C/∂b and the updated w, b.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.insight.boundary import padded_range
from nnstudio.core.insight.common import activation_of, num, unit_layers
from nnstudio.core.insight.dataview import InsightData
from nnstudio.core.insight.neurons import neuron_map, neuron_report, unit_activations
from nnstudio.core.insight.worked import single_neuron, worked_example
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
from nnstudio.gui.insight.compute import Snapshot

#: Below this width the diagram goes above the numbers instead of beside them.
NARROW = 640
#: Units drawn per layer in the diagram (the rest are reachable with the unit box).
MAX_DRAWN = 16
MAP_RESOLUTION = 60
#: Shades per sign of the unit colours, and thickness classes of the weight lines.
LEVELS = 5
BUCKETS = 4


def neuron_job(net, data: InsightData, node_id: str, unit: int, sample: int,
               features: tuple[int, int], ranges, loss: str, lr: float,
               background: str = "#ffffff", size=None, diagram=None) -> dict[str, Any]:
    """Everything the inspector shows, computed in the compute thread.

    ``diagram`` is a :class:`DiagramLayout`: the weight lines are then drawn here into an
    image of the diagram's size (hundreds of translucent antialiased lines cost the GUI
    thread ≈ 15 ms a repaint; a finished image costs a copy).
    """
    x = data.x_train[sample]
    names = data.input_names or None
    report = neuron_report(net, node_id, unit, x, feature_names=names)
    acts = unit_activations(net, x)
    weights = {n: net.layers[n].params["W"].astype(np.float64) for n in unit_layers(net)}
    out: dict[str, Any] = {"report": report, "acts": acts, "weights": weights,
                           "inputs": np.asarray(x, np.float64).reshape(-1)}
    if diagram is not None:
        out["edges_image"] = diagram.render(edge_segments(weights, diagram.ids,
                                                          diagram.positions))
        out["layout"] = diagram
    if data.tabular and data.n_features >= 2:
        m = neuron_map(net, node_id, unit, data.to_input, ranges[0], ranges[1],
                       MAP_RESOLUTION, features, data.means(), data.n_features)
        scale = float(np.abs(m).max()) or 1.0
        out["map"] = m
        out["map_image"] = colors.to_qimage(colors.value_image(m, -scale, scale, background),
                                            size)
    if single_neuron(net) is not None and loss in ("mse", "mae", "binary_cross_entropy"):
        y = np.asarray(data.y_train[sample], np.float64).reshape(-1)[0]
        ex = worked_example(net, float(np.asarray(x).reshape(-1)[0]), y, loss, lr)
        out["worked"] = ex
        if data.task == "regression" and data.tabular and data.n_features == 1:
            decoded = data.targets_for_plot(np.array([[ex.y_hat], [ex.y]]))[:, 0]
            out["worked_units"] = (float(data.plot_train[sample, 0]), *map(float, decoded))
    return out


def edge_pens() -> list[tuple[tuple[int, int, int, int], float]]:
    """``(rgba, width)`` of the weight lines, per :data:`EDGE_KEYS` entry: negative and
    positive weights, thicker and more opaque the larger they are."""
    out = []
    for positive, bucket in EDGE_KEYS:
        c = pg.mkColor(colors.POSITIVE if positive else colors.NEGATIVE)
        out.append(((c.red(), c.green(), c.blue(), 60 + 45 * bucket), 0.6 + 1.2 * bucket))
    return out


#: ``(positive, bucket)`` of each pen of the weight lines.
EDGE_KEYS = [(p, b) for p in (False, True) for b in range(BUCKETS)]


def edge_segments(weights: dict[str, np.ndarray], ids: list[str],
                  positions: dict[tuple[str, int], tuple[float, float]]) -> list[np.ndarray]:
    """The weight lines between consecutive columns ``ids``, grouped by pen.

    Returns one ``(2S, 2)`` array of end points (diagram coordinates) per :data:`EDGE_KEYS`
    entry; ``weights[node]`` is ``(in, out)``, drawn for the first :data:`MAX_DRAWN` units.
    """
    segs: dict[tuple[bool, int], list] = {key: [] for key in EDGE_KEYS}
    for col in range(1, len(ids)):
        W = weights.get(ids[col])
        if W is None:
            continue
        src = ids[col - 1]
        W = W[:MAX_DRAWN, :MAX_DRAWN]
        m = float(np.abs(W).max()) or 1.0
        buckets = np.minimum(BUCKETS - 1, (BUCKETS * np.abs(W) / m).astype(int))
        for i in range(W.shape[0]):
            p = positions[(src, i)]
            for j in range(W.shape[1]):
                q = positions[(ids[col], j)]
                segs[(bool(W[i, j] >= 0), int(buckets[i, j]))].extend((p, q))
    return [np.asarray(segs[key], np.float64).reshape(-1, 2) for key in EDGE_KEYS]


@dataclass(frozen=True)
class DiagramLayout:
    """Where the diagram's units sit and what its view shows, copied for the compute thread.

    ``view`` is ``((x0, x1), (y0, y1))`` in diagram coordinates, ``size`` the view's
    ``(width, height)`` in screen pixels.
    """

    ids: list[str]
    positions: dict[tuple[str, int], tuple[float, float]]
    view: tuple[tuple[float, float], tuple[float, float]]
    size: tuple[int, int]
    pens: list[tuple[tuple[int, int, int, int], float]]

    def render(self, segments: list[np.ndarray]):
        """The lines drawn into a transparent ``QImage`` of :attr:`size` (any thread: a
        ``QImage`` is not a ``QPixmap``); row 0 is the low end of the y axis, as
        :class:`~.base.RGBAImageItem` expects."""
        from PySide6.QtGui import QColor, QImage, QPainter, QPen, QTransform

        w, h = self.size
        image = QImage(max(1, w), max(1, h), QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        (x0, x1), (y0, y1) = self.view
        if w <= 0 or h <= 0 or x1 <= x0 or y1 <= y0:
            return image
        painter = QPainter(image)
        # No antialiasing, as the plots draw (pyqtgraph's default): the same look.
        painter.setTransform(QTransform(w / (x1 - x0), 0, 0, h / (y1 - y0),
                                        -x0 * w / (x1 - x0), -y0 * h / (y1 - y0)))
        for (rgba, width), pts in zip(self.pens, segments, strict=True):
            if len(pts):
                pen = QPen(QColor(*rgba), width)
                pen.setCosmetic(True)  # widths in pixels, as pyqtgraph's pens
                painter.setPen(pen)
                painter.drawPath(pg.arrayToQPath(pts[:, 0], pts[:, 1], connect="pairs"))
        painter.end()
        return image


class EdgesItem(pg.GraphicsObject):
    """Line segments in a few pens, drawn from prebuilt paths: one cheap item for every
    weight of the diagram (instead of one ``PlotDataItem`` per pen)."""

    def __init__(self, pens: list):
        super().__init__()
        self.pens = pens
        self.paths: list = [None] * len(pens)
        self._rect = QRectF()

    def set_segments(self, segments: list[np.ndarray]) -> None:
        """``segments[k]``: ``(2S, 2)`` end points drawn with ``pens[k]``."""
        self.prepareGeometryChange()
        rect = QRectF()
        for k, pts in enumerate(segments):
            if len(pts):
                path = pg.arrayToQPath(pts[:, 0], pts[:, 1], connect="pairs")
                self.paths[k] = path
                rect = rect.united(path.boundingRect())
            else:
                self.paths[k] = None
        self._rect = rect
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter, *_args) -> None:
        for pen, path in zip(self.pens, self.paths, strict=True):
            if path is not None:
                painter.setPen(pen)
                painter.drawPath(path)


class NetworkDiagram(pg.PlotWidget):
    """Units as circles in columns, weights as lines; clicking a unit selects it."""

    def __init__(self, on_pick):
        t = colors.theme()
        super().__init__(background=t.base)
        self._on_pick = on_pick
        item = self.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setMenuEnabled(False)
        item.hideButtons()
        self.setMouseEnabled(False, False)
        self.edge_keys = EDGE_KEYS
        self.pen_specs = edge_pens()
        pens = [pg.mkPen(pg.mkColor(*rgba), width=width) for rgba, width in self.pen_specs]
        # The lines as an image made in the compute thread; the item is the fallback for a
        # result without one (the view had no size yet).
        self.edges = EdgesItem(pens)
        self.edges.setZValue(0)
        self.addItem(self.edges)
        self.edges_image = RGBAImageItem()
        self.edges_image.setZValue(0)
        self.addItem(self.edges_image)
        self._brushes: dict[int, Any] = {}
        self._pen = pg.mkPen(t.border, width=1.2)
        self.units = pg.ScatterPlotItem(size=22, pxMode=True, hoverable=True,
                                        hoverPen=pg.mkPen(t.accent, width=2))
        self.ring = pg.ScatterPlotItem(size=32, pxMode=True, brush=pg.mkBrush(None),
                                       pen=pg.mkPen(t.accent, width=3))
        self.units.setZValue(5)
        self.ring.setZValue(6)
        self.addItem(self.units)
        self.addItem(self.ring)
        self.labels: list[pg.TextItem] = []
        self.units.sigClicked.connect(self._clicked)
        self.positions: dict[tuple[str, int], tuple[float, float]] = {}
        self.columns: list[tuple[str, int]] = []
        #: Called after a resize (the view then asks for lines drawn at the new size).
        self.on_resized = None

    def build(self, columns: list[tuple[str, int, str]], input_names: list[str] = ()) -> None:
        """``columns``: ``(node_id, units, label)``; ``node_id`` ``""`` for the inputs, whose
        names are written beside them."""
        t = colors.theme()
        for lab in self.labels:
            self.removeItem(lab)
        self.labels = []
        self.positions = {}
        self.columns = [(c[0], c[1]) for c in columns]
        tallest = min(MAX_DRAWN, max(c[1] for c in columns))
        for col, (node_id, units, label) in enumerate(columns):
            shown = min(units, MAX_DRAWN)
            for u in range(shown):
                self.positions[(node_id, u)] = (col, (shown - 1) / 2 - u)
            text = pg.TextItem(label + (f"\n(+{units - shown} more)" if units > shown else ""),
                               color=t.muted, anchor=(0.5, 0))
            text.setPos(col, -(tallest / 2) - 0.3)
            self.addItem(text)
            self.labels.append(text)
            if not node_id:
                for u, name in enumerate(list(input_names)[:shown]):
                    short = name if len(name) <= 14 else name[:13] + "…"
                    tag = pg.TextItem(short, color=t.text, anchor=(1, 0.5))
                    tag.setPos(col - 0.15, (shown - 1) / 2 - u)
                    self.addItem(tag)
                    self.labels.append(tag)
        self.setXRange(-0.9 if input_names else -0.6, len(columns) - 0.4, padding=0)
        self.setYRange(-(tallest / 2) - 1.6, tallest / 2 + 0.2, padding=0)

    def _brush(self, value: float, scale: float):
        """One of 2·LEVELS + 1 cached brushes: few distinct symbols keep pyqtgraph fast."""
        level = round(max(-1.0, min(1.0, value / scale)) * LEVELS)
        brush = self._brushes.get(level)
        if brush is None:
            c = colors.signed_colors(np.array([level / LEVELS]), 1.0)[0]
            alpha = (60 + 0.75 * c[3]) / 255  # blended over the background: opaque
            rgb = colors.rgb(colors.theme().base) * (1 - alpha) + c[:3] * alpha
            brush = pg.mkBrush(*(int(v) for v in rgb))
            self._brushes[level] = brush
        return brush

    def layout(self) -> DiagramLayout:
        """The geometry the compute thread draws the lines for (the view as it is now)."""
        (x0, x1), (y0, y1) = self.getViewBox().viewRange()
        return DiagramLayout([c[0] for c in self.columns], dict(self.positions),
                             ((float(x0), float(x1)), (float(y0), float(y1))),
                             device_size(self), list(self.pen_specs))

    def draw(self, acts: dict[str, np.ndarray], weights: dict[str, np.ndarray],
             selected: tuple[str, int], edges_image=None,
             layout: DiagramLayout | None = None) -> None:
        """Colour the units by activation and the lines by weight (``edges_image``: the
        lines already drawn for ``layout``)."""
        xs, ys, brushes, data = [], [], [], []
        for node_id, _ in self.columns:
            a = acts.get(node_id)
            if a is None:
                continue
            scale = float(np.abs(a).max()) or 1.0
            for u in range(min(len(a), MAX_DRAWN)):
                x, y = self.positions[(node_id, u)]
                xs.append(x)
                ys.append(y)
                brushes.append(self._brush(float(a[u]), scale))
                data.append((node_id, u))
        self.units.setData(x=xs, y=ys, brush=brushes, data=data, pen=self._pen)
        pos = self.positions.get(selected)
        self.ring.setData([pos[0]], [pos[1]]) if pos else self.ring.setData([], [])
        if edges_image is not None and layout is not None and layout.ids == [
                c[0] for c in self.columns]:
            (x0, x1), (y0, y1) = layout.view
            self.edges.set_segments([np.zeros((0, 2))] * len(self.edge_keys))
            self.edges_image.set_image(edges_image, QRectF(x0, y0, x1 - x0, y1 - y0))
        else:
            self.edges_image.clear()
            self.edges.set_segments(edge_segments(weights, [c[0] for c in self.columns],
                                                  self.positions))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        callback = self.__dict__.get("on_resized")  # also called from the base __init__
        if callback is not None:
            callback()

    def _clicked(self, _item, points, _ev=None) -> None:
        if len(points):
            node_id, unit = points[0].data()
            if node_id:
                self._on_pick(node_id, unit)


class NeuronView(InsightView):
    """Pick a unit (click it or choose layer and unit) and a sample; see its numbers."""

    key = "neuron"
    several_reason = (
        "it follows one sample from one Input through a chain of layers to one output "
        "and its loss.")
    min_interval = 0.3

    def __init__(self, source, parent=None):
        super().__init__(source, parent)
        self.diagram = NetworkDiagram(self.select)
        self.layer_combo = QComboBox()
        self.layer_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layer_combo.setMinimumContentsLength(8)
        self.unit_spin = QSpinBox()
        self.sample_spin = QSpinBox()
        self.sample_label = QLabel()
        self.sample_label.setWordWrap(True)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        # Names where training stands, so it changes with every result: a fixed width.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.formula = QLabel()
        mono = QFont("DejaVu Sans Mono")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        mono.setPointSizeF(9.5)
        self.formula.setFont(mono)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.formula.setWordWrap(True)
        self.formula_note = caption("The numbers in brackets are the sample's features as the "
                                    "network receives them: after the data's scaling.")
        self.map_plot = plot_widget()
        self.map_plot.setMinimumHeight(150)
        self.map_image = RGBAImageItem()
        self.map_points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("w", width=0.8))
        self.map_sample = pg.ScatterPlotItem(size=13, symbol="star",
                                             brush=pg.mkBrush(colors.theme().text))
        for it in (self.map_image, self.map_points, self.map_sample):
            self.map_plot.addItem(it)
        self.map_caption = caption("The unit's activation over the input plane (blue high, "
                                   "orange low); the star is the chosen sample.")
        self.worked_box = QGroupBox("Worked example: one gradient step")
        self.worked = QLabel()
        self.worked.setWordWrap(True)  # long chain-rule lines wrap in a narrow dock
        self.worked.setFont(mono)
        self.worked.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.worked_note = caption()
        wl = QVBoxLayout(self.worked_box)
        wl.addWidget(self.worked)
        wl.addWidget(self.worked_note)
        # Two short rows: the view fits the ~300 px dock of a 1024 × 640 window.
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer:"))
        controls.addWidget(self.layer_combo, 1)
        which = QHBoxLayout()
        which.addWidget(QLabel("Unit:"))
        which.addWidget(self.unit_spin)
        which.addWidget(QLabel("Sample #:"))
        which.addWidget(self.sample_spin)
        which.addStretch(1)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        rl.addLayout(controls)
        rl.addLayout(which)
        rl.addWidget(self.sample_label)
        rl.addWidget(self.title)
        rl.addWidget(self.formula)
        rl.addWidget(self.formula_note)
        rl.addWidget(self.worked_box)
        rl.addWidget(self.map_plot, 1)
        rl.addWidget(self.map_caption)
        rl.addStretch(0)
        self._right = rl
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.diagram, 1)
        ll.addWidget(caption("Click a unit. Colour: its activation for the sample (blue "
                             "positive, orange negative); lines: weights, thicker = larger."))
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        self.split = split
        split.setChildrenCollapsible(False)
        # Stacked is the narrowest it needs: the dock may shrink to that, and resizeEvent
        # puts the diagram beside the numbers again when there is room (NARROW).
        split.setMinimumWidth(max(left.minimumSizeHint().width(),
                                  right.minimumSizeHint().width()))
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 5)
        layout = QVBoxLayout(self.page)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)
        self.selected: tuple[str, int] = ("", 0)
        self._points_key: tuple = ()
        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(150)
        self._resize_timer.timeout.connect(lambda: self.update_now(force=True))
        self.diagram.on_resized = self._resize_timer.start
        self._building = False
        self.layer_combo.currentIndexChanged.connect(self._layer_changed)
        self.unit_spin.valueChanged.connect(self._unit_changed)
        self.sample_spin.valueChanged.connect(self._sample_changed)
        self.rebuild()

    # -- structure -------------------------------------------------------------------------------
    def rebuild(self) -> None:
        net, data = self.source.network, self.source.data
        if net is None or data is None:
            self.show_message("Load data and build a network to inspect its neurons.")
            return
        layers = unit_layers(net)
        if not layers or len(net.input_shape) != 1:
            self.show_message("The neuron inspector shows Dense layers fed by a table of "
                              "features; this network has none.")
            return
        self._building = True
        self.layer_combo.clear()
        for node_id in layers:
            _, act = activation_of(net, node_id)
            units = net.layers[node_id].params["W"].shape[1]
            self.layer_combo.addItem(f"{node_id} — Dense {units}, {act}", node_id)
        self.sample_spin.setRange(0, max(0, len(data.x_train) - 1))
        in_names = data.input_names or [f"x{i}" for i in range(net.input_shape[0])]
        cols = [("", net.input_shape[0], "inputs")]
        for node_id in layers:
            _, act = activation_of(net, node_id)
            cols.append((node_id, net.layers[node_id].params["W"].shape[1],
                         f"{node_id}\n{act}"))
        self.diagram.build(cols, in_names)
        self._input_names = in_names
        self._building = False
        first = layers[0] if self.selected[0] not in layers else self.selected[0]
        self.select(first, self.selected[1] if first == self.selected[0] else 0, refresh=False)
        self.show_page()
        self._describe_sample()

    def resizeEvent(self, event) -> None:
        """Diagram beside the numbers when there is room, above them in a narrow dock."""
        super().resizeEvent(event)
        want = (Qt.Orientation.Horizontal if event.size().width() >= NARROW
                else Qt.Orientation.Vertical)
        if self.split.orientation() != want:
            self.split.setOrientation(want)

    def select(self, node_id: str, unit: int, refresh: bool = True) -> None:
        """Inspect ``unit`` of Dense node ``node_id`` (what clicking it in the diagram does)."""
        net = self.source.network
        if net is None or node_id not in net.layers:
            return
        self._building = True
        self.layer_combo.setCurrentIndex(self.layer_combo.findData(node_id))
        units = net.layers[node_id].params["W"].shape[1]
        self.unit_spin.setRange(0, units - 1)
        self.unit_spin.setValue(min(unit, units - 1))
        self._building = False
        self.selected = (node_id, self.unit_spin.value())
        if refresh:
            self.settings_changed()

    def _layer_changed(self) -> None:
        if not self._building and self.layer_combo.currentData():
            self.select(self.layer_combo.currentData(), 0)

    def _unit_changed(self, value: int) -> None:
        if not self._building:
            self.select(self.selected[0], value)

    def _sample_changed(self) -> None:
        if not self._building:
            self._describe_sample()
            self.settings_changed()

    def _describe_sample(self) -> None:
        data = self.source.data
        if data is None or not len(data.x_train):
            return
        i = self.sample_spin.value()
        parts = []
        if data.tabular:
            row = data.plot_train[i]
            parts = [f"{n} = {num(v)}" for n, v in zip(data.plot_names[:6], row[:6], strict=False)]
            if len(row) > 6:
                parts.append("…")
        y = data.y_train[i]
        if data.task == "classification":
            k = int(data.classes_of(np.asarray([y]) if np.ndim(y) == 0 else y[None])[0])
            name = data.class_names[k] if k < len(data.class_names) else str(k)
            target = f"class {name}"
        else:
            v = data.targets_for_plot(np.asarray(y, np.float64).reshape(1, -1))[0, 0]
            target = f"{(data.target_names or ['target'])[0]} = {num(v)}"
        self.sample_label.setText(f"Training sample #{i}: {', '.join(parts)} → {target}")

    # -- computing and drawing ------------------------------------------------------------------
    def job(self, snapshot: Snapshot):
        data = self.source.data
        if data is None or self.message or not self.selected[0]:
            return None
        fx, fy = self.source.plot_features
        if data.tabular and data.n_features >= 2:
            both = np.concatenate([data.plot_train, data.plot_test])
            ranges = (padded_range(both[:, fx], 0.08), padded_range(both[:, fy], 0.08))
        else:
            ranges = ((0.0, 1.0), (0.0, 1.0))
        self._map_ranges = ranges
        layout = self.diagram.layout()
        return neuron_job, (data, self.selected[0], self.selected[1], self.sample_spin.value(),
                            (fx, fy), ranges, self.source.loss, self.source.learning_rate,
                            colors.theme().base, device_size(self.map_plot),
                            layout if min(layout.size) > 0 else None)

    def show_result(self, result: dict, snapshot: Snapshot) -> None:
        r = result["report"]
        data = self.source.data
        acts = {"": result["inputs"], **result["acts"]}
        self.diagram.draw(acts, result["weights"], self.selected, result.get("edges_image"),
                          result.get("layout"))
        set_text(self.title, f"{r.node_id}, unit {r.unit} ({r.activation_name}) — "
                             f"{self.source.position_text()}")
        set_text(self.formula, "\n".join(r.formula(max_terms=3)))
        scaled = data.to_input is not None and r.node_id == unit_layers(
            self.source.network)[0] if self.source.network is not None else False
        self.formula_note.setVisible(bool(scaled))
        has_map = "map" in result
        for w in (self.map_plot, self.map_caption):
            w.setVisible(has_map)
        self._right.setStretch(self._right.count() - 1, 0 if has_map else 1)
        if has_map:
            (x0, x1), (y0, y1) = self._map_ranges
            self.map_image.set_image(result["map_image"], grid_rect(
                np.linspace(x0, x1, MAP_RESOLUTION), np.linspace(y0, y1, MAP_RESOLUTION)))
            fx, fy = self.source.plot_features
            key = (id(data), fx, fy)
            if key != self._points_key:
                self._points_key = key
                idx = np.arange(0, len(data.plot_train), max(1, len(data.plot_train) // 400))
                cls = (data.classes_of(data.y_train[idx]) if data.task == "classification"
                       else np.zeros(len(idx), int))
                cache = {int(k): pg.mkBrush(colors.class_color(int(k))) for k in np.unique(cls)}
                self.map_points.setData(data.plot_train[idx, fx], data.plot_train[idx, fy],
                                        brush=[cache[int(k)] for k in cls])
            s = self.sample_spin.value()
            self.map_sample.setData([data.plot_train[s, fx]], [data.plot_train[s, fy]])
            set_axes(self.map_plot, data.plot_names[fx], data.plot_names[fy])
            set_ranges(self.map_plot, (x0, x1), (y0, y1))
        worked = result.get("worked")
        self.worked_box.setVisible(worked is not None)
        if worked is not None:
            set_text(self.worked, "\n".join(worked.lines()))
            notes = []
            if data.to_input is not None or data.decode_target is not None:
                notes.append("x and y are in the network's units (after the data's scaling).")
                units = result.get("worked_units")
                if units is not None:
                    target = (data.target_names or ["y"])[0]
                    notes.append(f"In the data's units: {data.plot_names[0]} = {num(units[0])} → "
                                 f"predicted {target} {num(units[1])} (actual {num(units[2])}).")
            cfg = self.source.config
            kind = str(cfg.optimizer.get("type", "adam")).lower() if cfg else "sgd"
            if kind != "sgd":
                notes.append(f"Your run trains with {kind}; this is the course's plain "
                             "gradient-descent step with the same learning rate α.")
            set_text(self.worked_note, " ".join(notes))
            self.worked_note.setVisible(bool(notes))
