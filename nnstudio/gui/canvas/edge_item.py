"""Connections drawn as curves from an output port to an input port, with an arrow head."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from nnstudio.core.graph import NODE_HEIGHT
from nnstudio.gui.theme import current_theme

if TYPE_CHECKING:
    from nnstudio.gui.canvas.node_item import NodeItem

ARROW = 7.0


def curve(p1: QPointF, p2: QPointF) -> QPainterPath:
    """The path of a connection from ``p1`` (an output) to ``p2`` (an input).

    Forward (the input right of the output): a horizontal S-curve. Backward (a wrapped row,
    a node moved left): out to the right, around between the rows (or below both nodes),
    and into the input from the left, with rounded corners.
    """
    if p2.x() >= p1.x() + 24:
        dx = max(40.0, abs(p2.x() - p1.x()) * 0.5)
        path = QPainterPath(p1)
        path.cubicTo(QPointF(p1.x() + dx, p1.y()), QPointF(p2.x() - dx, p2.y()), p2)
        return path
    r = 18.0
    x1, y1, x2, y2 = p1.x(), p1.y(), p2.x(), p2.y()
    if abs(y2 - y1) > NODE_HEIGHT + 2 * r:
        ymid = (y1 + y2) / 2
    else:
        ymid = max(y1, y2) + NODE_HEIGHT / 2 + 22
    a, b = x1 + r, x2 - r
    s1 = 1.0 if ymid > y1 else -1.0
    s2 = 1.0 if y2 > ymid else -1.0
    path = QPainterPath(p1)
    path.quadTo(QPointF(a, y1), QPointF(a, y1 + s1 * r))
    path.lineTo(QPointF(a, ymid - s1 * r))
    path.quadTo(QPointF(a, ymid), QPointF(a - r, ymid))
    path.lineTo(QPointF(b + r, ymid))
    path.quadTo(QPointF(b, ymid), QPointF(b, ymid + s2 * r))
    path.lineTo(QPointF(b, y2 - s2 * r))
    path.quadTo(QPointF(b, y2), p2)
    return path


def _arrow(tip: QPointF) -> QPainterPath:
    path = QPainterPath(tip)
    path.lineTo(tip.x() - ARROW * 1.3, tip.y() - ARROW * 0.65)
    path.lineTo(tip.x() - ARROW * 1.3, tip.y() + ARROW * 0.65)
    path.closeSubpath()
    return path


class EdgeItem(QGraphicsPathItem):
    """The edge ``src → dst``; selectable (Delete removes it), highlighted on hover."""

    def __init__(self, src: NodeItem, dst: NodeItem):
        super().__init__()
        self.src = src
        self.dst = dst
        self._hover = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)
        self.setToolTip(f"{src.node_id} → {dst.node_id}\nSelect and press Delete to disconnect")
        self.update_path()

    @property
    def key(self) -> tuple[str, str]:
        return (self.src.node_id, self.dst.node_id)

    def update_path(self) -> None:
        """Follow the ports after a node moved."""
        p1 = self.src.out_port.center()
        p2 = self.dst.in_port.center() if self.dst.in_port is not None else self.dst.scenePos()
        self.prepareGeometryChange()
        self.setPath(curve(p1, QPointF(p2.x() - 6.5, p2.y())))

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-ARROW * 2, -ARROW * 2, ARROW * 2, ARROW * 2)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        return stroker.createStroke(self.path())

    def hoverEnterEvent(self, event) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self._hover = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        theme = current_theme()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = QColor(theme.accent if self.isSelected() else theme.edge)
        width = 2.6 if self.isSelected() or self._hover else 1.8
        if self._hover and not self.isSelected():
            color = QColor(theme.text)
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(color))
        painter.drawPath(_arrow(self.path().currentPosition()))


class LinkPreview(QGraphicsPathItem):
    """The curve that follows the mouse while a connection is being dragged."""

    def __init__(self) -> None:
        super().__init__()
        self.state: str | None = None
        self.setZValue(10)

    def set_ends(self, out_point: QPointF, in_point: QPointF, state: str | None) -> None:
        """Draw from an output point to an input point; ``state`` is valid/invalid/None."""
        self.state = state
        self.prepareGeometryChange()
        self.setPath(curve(out_point, in_point))
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        theme = current_theme()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = QColor({"valid": theme.accent, "invalid": theme.error}.get(self.state or "",
                                                                           theme.edge))
        style = Qt.PenStyle.SolidLine if self.state else Qt.PenStyle.DashLine
        painter.setPen(QPen(color, 2.2, style, Qt.PenCapStyle.RoundCap))
        painter.drawPath(self.path())


class Bubble(QGraphicsItem):
    """A small message box on the canvas (why a connection is refused)."""

    MAX_WIDTH = 300.0

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.setZValue(20)
        self._font = QFont()
        self._rect = QRectF()

    def set_text(self, text: str) -> None:
        self.prepareGeometryChange()
        self.text = text
        fm = QFontMetricsF(self._font)
        flags = int(Qt.TextFlag.TextWordWrap)
        r = fm.boundingRect(QRectF(0, 0, self.MAX_WIDTH, 1000), flags, text)
        self._rect = QRectF(0, 0, r.width() + 16, r.height() + 10)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        theme = current_theme()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(theme.error), 1.2))
        painter.setBrush(QColor(theme.error_fill))
        painter.drawRoundedRect(self._rect, 6, 6)
        painter.setFont(self._font)
        painter.setPen(QColor(theme.error))
        painter.drawText(self._rect.adjusted(8, 5, -8, -5),
                         int(Qt.TextFlag.TextWordWrap), self.text)
