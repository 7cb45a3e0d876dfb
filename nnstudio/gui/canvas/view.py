"""The canvas view: zoom, pan, zoom to fit, and drops from the layer palette."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QMouseEvent,
    QPainter,
    QWheelEvent,
)
from PySide6.QtWidgets import QFrame, QGraphicsView, QWidget

from nnstudio.core.engine.layer import LAYERS
from nnstudio.gui.canvas.scene import CanvasScene
from nnstudio.gui.panels.palette import LAYER_MIME, layer_from_mime
from nnstudio.gui.theme import current_theme

MIN_ZOOM, MAX_ZOOM = 0.15, 3.0


class CanvasView(QGraphicsView):
    """Shows a :class:`CanvasScene`.

    Ctrl + wheel zooms around the mouse; the wheel, the middle button or Space + left button
    pan; dragging on empty canvas selects with a rubber band. A layer dragged from the
    palette is added where it is dropped.
    """

    #: The zoom factor changed: the new scale (1.0 = 100 %).
    zoom_changed = Signal(float)

    def __init__(self, scene: CanvasScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        #: A zoom-to-fit asked for before the view had its real size (see zoom_to_fit).
        self._fit_pending = False
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self._pan_from: QPoint | None = None
        self._space = False
        self._was_empty = len(scene.node_items) <= 1
        self._hint_mode()
        scene.document.changed.connect(self._repaint_hint)
        # A whole new design (a template, its undo, an opened file): if none of it is in
        # view, show it, instead of leaving the user on an empty patch of canvas.
        scene.document.reset.connect(self._after_reset)

    def _after_reset(self) -> None:
        QTimer.singleShot(0, self, self.keep_network_in_view)

    def keep_network_in_view(self) -> None:
        """Zoom to fit when no node of the network is in the visible part of the canvas."""
        items = list(self.canvas.node_items.values())
        if not items or not self.isVisible():
            return
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        if not any(visible.intersects(item.sceneBoundingRect()) for item in items):
            self.zoom_to_fit()

    def _repaint_hint(self) -> None:
        """Repaint everything when the empty-canvas hint appears or goes."""
        empty = len(self.canvas.node_items) <= 1
        if empty != self._was_empty:
            self._was_empty = empty
            self._hint_mode()
            self.viewport().update()

    def _hint_mode(self) -> None:
        """Repaint the whole viewport while the hint shows (it is fixed to the viewport)."""
        self.setViewportUpdateMode(
            QGraphicsView.ViewportUpdateMode.FullViewportUpdate if self._was_empty
            else QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)

    @property
    def canvas(self) -> CanvasScene:
        return self.scene()  # type: ignore[return-value]

    # -- zoom ----------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        """Scale to ``factor`` (clamped to 15 %…300 %)."""
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        current = self.zoom
        if abs(factor - current) > 1e-9:
            self.scale(factor / current, factor / current)
            self.zoom_changed.emit(self.zoom)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit_pending and self.isVisible():
            self.zoom_to_fit()

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / 1.25)

    def zoom_to_fit(self) -> None:
        """Show every node, at most at 100 %.

        Before the window is laid out the viewport has no real size yet (a project opened at
        start-up would be fitted into a stamp); the fit then waits for the first resize.
        """
        if not self.isVisible():
            self._fit_pending = True
            return
        self._fit_pending = False
        items = self.canvas.node_items.values()
        if not items:
            self.set_zoom(1.0)
            self.centerOn(0, 0)
            return
        rect = QRectF()
        for item in items:
            rect = rect.united(item.sceneBoundingRect())
        rect.adjust(-40, -40, 40, 40)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.0:
            self.set_zoom(1.0)
        elif self.zoom < MIN_ZOOM:
            self.set_zoom(MIN_ZOOM)
        self.centerOn(rect.center())
        self.zoom_changed.emit(self.zoom)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Ctrl + wheel (or a pinch) zooms around the mouse; the wheel alone pans."""
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            if delta.y():
                self.set_zoom(self.zoom * (1.0015 ** delta.y()))
            event.accept()
            return
        dx, dy = delta.x(), delta.y()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and not dx:
            dx, dy = dy, 0
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - dx // 2)
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() - dy // 2)
        event.accept()

    # -- pan -------------------------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            pos = event.position().toPoint()
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    # -- drops from the palette ----------------------------------------------------------------
    def _layer_of(self, event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> str | None:
        if self.canvas.locked or not event.mimeData().hasFormat(LAYER_MIME):
            return None
        name = layer_from_mime(event.mimeData())
        return name if name in LAYERS else None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._layer_of(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self._layer_of(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        name = self._layer_of(event)
        if not name:
            event.ignore()
            return
        self.canvas.add_layer(name, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()
        self.setFocus()

    # -- empty canvas hint ---------------------------------------------------------------------
    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """A hint on how to start, while the canvas holds at most one layer."""
        items = self.canvas.node_items
        if len(items) > 1:
            return
        theme = current_theme()
        painter.save()
        painter.resetTransform()
        area = QRectF(self.viewport().rect()).adjusted(40, 0, -40, 0)
        top = area.center().y() - 40
        if items:  # below the lone layer (an Input, usually)
            node = self.mapFromScene(next(iter(items.values())).sceneBoundingRect())
            top = node.boundingRect().bottom() + 36
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() + 3)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor(theme.muted))
        center = int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        painter.drawText(QRectF(area.left(), top, area.width(), 30), center,
                         "Design your network here")
        font.setBold(False)
        font.setPointSizeF(font.pointSizeF() - 3)
        painter.setFont(font)
        width = min(area.width(), 520)
        body = QRectF(area.center().x() - width / 2, top + 34, width, 90)
        painter.drawText(body, center | int(Qt.TextFlag.TextWordWrap),
                         "Drag layers from the palette and drop them here, then drag from a "
                         "layer's right-hand port to the next layer to connect them.\n"
                         "Or start from Templates ▸ Linear regression.")
        painter.restore()

    def scene_center(self) -> QPointF:
        """The scene point at the middle of the viewport."""
        return self.mapToScene(self.viewport().rect().center())
