"""What every insight view shares: following the source, asking the compute thread, and a
message page for when the view does not apply.

A view computes only while visible. When new weights arrive it submits one job under its
own key (a newer snapshot replaces a waiting one) and draws the result when it comes back;
a hidden view just remembers it is out of date and catches up when shown.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Slot
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from nnstudio.core.errors import NNStudioError
from nnstudio.gui.insight import colors
from nnstudio.gui.insight.compute import Snapshot
from nnstudio.gui.insight.source import InsightSource


class RGBAImageItem(pg.GraphicsObject):
    """A picture over a rectangle of data coordinates, scaled smoothly when drawn.

    The views build the ``QImage`` in the compute thread (:func:`.colors.to_qimage`), so the
    GUI thread only blits it — no per-paint conversion as ``pg.ImageItem`` does — and the
    smooth scaling interpolates between grid points like a finer grid would.
    """

    def __init__(self) -> None:
        super().__init__()
        self.image = None
        self._rect = QRectF()

    def set_image(self, image, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self.image, self._rect = image, QRectF(rect)
        self.update()

    def clear(self) -> None:
        self.set_image(None, QRectF())

    def boundingRect(self) -> QRectF:
        return QRectF(self._rect)

    def paint(self, painter, *_args) -> None:
        if self.image is None:
            return
        # Pre-scaled to the screen in the compute thread: a copy, no smooth rescale here.
        target = painter.transform().mapRect(self._rect)
        near = (abs(target.width() - self.image.width()) <= 2
                and abs(target.height() - self.image.height()) <= 2)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not near)
        painter.drawImage(self._rect, self.image)


def device_size(plot: pg.PlotWidget, rect: QRectF | None = None) -> tuple[int, int]:
    """The size in screen pixels that ``rect`` (data coordinates; default: the whole view)
    covers in ``plot`` now, ``(0, 0)`` before the plot has a size."""
    vb = plot.getViewBox()
    if rect is None:
        return (round(vb.width()), round(vb.height()))
    poly = vb.mapViewToDevice(rect)
    if poly is None:
        return (0, 0)
    r = poly.boundingRect()
    return (round(r.width()), round(r.height()))


def grid_rect(xs, ys) -> QRectF:
    """The rectangle an ``(R, C)`` grid's pixels cover: grid points at pixel centres."""
    dx = (xs[-1] - xs[0]) / (len(xs) - 1)
    dy = (ys[-1] - ys[0]) / (len(ys) - 1)
    return QRectF(xs[0] - dx / 2, ys[0] - dy / 2, dx * len(xs), dy * len(ys))


def plot_widget(x_label: str = "", y_label: str = "", axes: bool = True) -> pg.PlotWidget:
    """A plot in the theme's colours with the menu and the auto-range button off."""
    t = colors.theme()
    w = pg.PlotWidget(background=t.base)
    item = w.getPlotItem()
    item.setMenuEnabled(False)
    item.hideButtons()
    for name in ("left", "bottom"):
        ax = item.getAxis(name)
        ax.setPen(pg.mkPen(t.border))
        ax.setTextPen(pg.mkPen(t.muted))
        ax.enableAutoSIPrefix(False)
        if not axes:
            item.hideAxis(name)
    if x_label:
        item.setLabel("bottom", x_label, color=t.text)
    if y_label:
        item.setLabel("left", y_label, color=t.text)
    return w


def set_text(label: QLabel, text: str) -> None:
    """``label.setText(text)`` only when it changes (each change may relayout the panel)."""
    if label.text() != text:
        label.setText(text)


def set_axes(plot: pg.PlotWidget, bottom: str | None = None, left: str | None = None,
             title: str | None = None) -> None:
    """Axis labels and title, touched only when they change (pyqtgraph relayouts on each)."""
    t = colors.theme()
    item = plot.getPlotItem()
    cache = plot.__dict__.setdefault("_insight_labels", {})
    for key, value in (("bottom", bottom), ("left", left)):
        if value is not None and cache.get(key) != value:
            cache[key] = value
            item.setLabel(key, value, color=t.text)
    if title is not None and cache.get("title") != title:
        cache["title"] = title
        item.setTitle(title, color=t.text, size="9pt")


def set_ranges(plot: pg.PlotWidget, x: tuple[float, float], y: tuple[float, float]) -> None:
    """View ranges without padding, set only when they change."""
    key = (float(x[0]), float(x[1]), float(y[0]), float(y[1]))
    if plot.__dict__.get("_insight_ranges") != key:
        plot.__dict__["_insight_ranges"] = key
        # One call for both axes: setting x alone leaves y on auto-range, which makes
        # pyqtgraph measure every item's bounds before y is set too.
        plot.setRange(xRange=key[:2], yRange=key[2:], padding=0)


def nice_range(lo: float, hi: float, log: bool = False) -> tuple[float, float]:
    """``(lo, hi)`` widened to round numbers, so a slowly drifting range rarely changes
    (each change makes pyqtgraph regenerate the axes, the costliest part of a repaint)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return 0.0, 1.0
    if log:  # whole decades, in log10 units
        return math.floor(lo), max(math.ceil(hi), math.floor(lo) + 1)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / 4
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * step >= raw:
            step *= m
            break
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def caption(text: str = "") -> QLabel:
    """A muted, wrapping explanation line under a plot."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setStyleSheet(f"color: {colors.theme().muted};")
    return label


def failure_text(error: Exception) -> str:
    """The one line a view shows for a job that failed (never a traceback)."""
    if isinstance(error, NNStudioError):
        return f"This view cannot be computed: {error}."
    return (f"This view cannot be computed for this network and data ({error}). Check that "
            "the network fits the data: Start in the Training panel says what to change.")


class InsightView(QWidget):
    """Base of the insight views.

    Subclasses set :attr:`key`, build their widgets into :attr:`page`, implement
    :meth:`rebuild` (network or data changed), :meth:`job` (what to compute for a snapshot,
    or ``None``) and :meth:`show_result`.
    """

    key = "view"
    #: Least seconds between two computations while training (the view's own throttle).
    min_interval = 0.0
    #: Why the view is not drawn for a network with several Inputs or outputs (one
    #: sentence ending the message), or ``""`` when it is.
    several_reason = "it follows one Input to one output."

    def __init__(self, source: InsightSource, parent: QWidget | None = None):
        super().__init__(parent)
        self.source = source
        self.generation = 0
        self.stale = True
        self.last_result: Any = None
        #: The last job failed and :attr:`message` says why (until network, data or a
        #: setting changes).
        self.job_failed = False
        #: GUI-thread seconds spent drawing results, wall clock and CPU (the latest 50).
        self.draw_times: list[float] = []
        self.draw_cpu: list[float] = []
        self._last_submit = 0.0
        self._stack = QStackedWidget()
        self.page = QWidget()
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setStyleSheet(f"color: {colors.theme().muted}; padding: 24px;")
        self._stack.addWidget(self.page)
        self._stack.addWidget(self._message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._stack)
        source.snapshot_ready.connect(self._on_snapshot)
        source.network_changed.connect(self._on_structure)
        source.data_changed.connect(self._on_structure)
        source.compute.finished_job.connect(self._on_finished_job)

    # -- availability -------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        """Show ``text`` instead of the view (it does not apply to this network or data)."""
        self._message.setText(text)
        self._stack.setCurrentWidget(self._message)

    def show_page(self) -> None:
        self._stack.setCurrentWidget(self.page)

    @property
    def message(self) -> str:
        """The message shown instead of the view, or ``""`` when the view is shown."""
        return self._message.text() if self._stack.currentWidget() is self._message else ""

    def off_for_several(self) -> bool:
        """The network has several Inputs or outputs and this view draws one of each."""
        return bool(self.several_reason) and bool(self.source.several)

    def several_text(self) -> str:
        """The message of a view that does not draw a network with several Inputs or
        outputs, naming why."""
        what = " and ".join(self.source.several)
        return (f"This network has several {what}; this view is not drawn for it: "
                f"{self.several_reason} Weights & gradients shows every layer; Results and "
                "Predict show each output.")

    # -- flow -------------------------------------------------------------------------------
    @Slot()
    def _on_structure(self) -> None:
        self.job_failed = False
        self.generation += 1
        self.last_result = None
        self.rebuild()
        src = self.source
        if src.network is not None and src.data is not None and not src.compatible:
            self.show_message(src.mismatch_text())
        elif self.off_for_several():
            self.show_message(self.several_text())
        self.stale = True
        self.update_now()

    @Slot(object)
    def _on_snapshot(self, snapshot: Snapshot) -> None:
        self.stale = True
        if self.isVisible():
            self.update_now(snapshot)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.stale:
            self.update_now()

    def settings_changed(self) -> None:
        """A control of the view changed: recompute with the latest weights."""
        if self.job_failed:  # try again with the new settings
            self.job_failed = False
            self.show_page()
        self.generation += 1
        self.update_now(force=True)

    def update_now(self, snapshot: Snapshot | None = None, force: bool = False) -> None:
        """Submit this view's job for ``snapshot`` (default: the latest)."""
        snapshot = snapshot or self.source.latest
        if (snapshot is None or (not self.isVisible() and not force)
                or not self.source.compatible or self.off_for_several()):
            return
        now = time.perf_counter()
        if (
            not force and self.source.training and not self.source.paused
            and now - self._last_submit < self.min_interval
        ):
            return  # stays stale; a later snapshot brings it up to date
        spec = self.job(snapshot)
        if spec is None:
            return
        fn, args = spec
        self.stale = False
        self._last_submit = now
        self.source.compute.submit(self.key, fn, snapshot, *args, token=(self.generation, snapshot))

    @Slot(str, object, object)
    def _on_finished_job(self, key: str, token: Any, result: Any) -> None:
        if key != self.key or token is None or token[0] != self.generation:
            return
        t0, c0 = time.perf_counter(), time.thread_time()
        if isinstance(result, Exception):
            self.show_message(failure_text(result))
            self.job_failed = True
        else:
            self.last_result = result
            self.show_result(result, token[1])
        self.draw_times.append(time.perf_counter() - t0)
        self.draw_cpu.append(time.thread_time() - c0)
        del self.draw_times[:-50], self.draw_cpu[:-50]

    # -- for subclasses ---------------------------------------------------------------------
    def rebuild(self) -> None:
        """The network or the data changed: rebuild selectors, show the page or a message."""

    def job(self, snapshot: Snapshot) -> tuple[Callable[..., Any], tuple] | None:
        """``(fn, args)``: ``fn(twin_net, *args)`` runs in the compute thread."""
        return None

    def show_result(self, result: Any, snapshot: Snapshot) -> None:
        """Draw a result (GUI thread: keep it to a few ``setData`` calls)."""
