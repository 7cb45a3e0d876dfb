"""A node's connection point: one input port on the left, one output port on the right."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from nnstudio.gui.theme import current_theme

if TYPE_CHECKING:
    from nnstudio.gui.canvas.node_item import NodeItem

IN, OUT = "in", "out"
RADIUS = 5.5
#: Radius of the area that catches the mouse (larger than the dot: easy to hit).
HIT_RADIUS = 11.0


class PortItem(QGraphicsItem):
    """A round port; dragging from it starts a new connection.

    Parameters
    ----------
    node:
        The node item it belongs to (its parent item).
    kind:
        ``"in"`` or ``"out"``.
    """

    def __init__(self, node: NodeItem, kind: str):
        super().__init__(node)
        self.node = node
        self.kind = kind
        #: ``None``, ``"valid"`` or ``"invalid"`` while a connection is dragged over it.
        self.highlight: str | None = None
        self._hover = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        self.setToolTip(
            "Drag to another layer's output to connect" if kind == IN
            else "Drag to another layer to connect this output to it"
        )

    @property
    def node_id(self) -> str:
        return self.node.node_id

    def center(self) -> QPointF:
        """The port's centre in scene coordinates (where edges end)."""
        return self.scenePos()

    def boundingRect(self) -> QRectF:
        r = HIT_RADIUS
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), HIT_RADIUS, HIT_RADIUS)
        return path

    def set_highlight(self, state: str | None) -> None:
        if state != self.highlight:
            self.highlight = state
            self.update()

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
        color = QColor(theme.port)
        fill = QColor(theme.node)
        radius = RADIUS
        if self.highlight == "valid" or self._hover:
            color = QColor(theme.accent)
            fill = QColor(theme.accent)
            radius = RADIUS + 1.5
        elif self.highlight == "invalid":
            color = QColor(theme.error)
            fill = QColor(theme.error)
            radius = RADIUS + 1.5
        elif self.node.connected(self.kind):
            fill = QColor(theme.port)
        if self.highlight is not None:
            halo = QColor(color)
            halo.setAlpha(60)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(halo)
            painter.drawEllipse(QPointF(0, 0), radius + 4, radius + 4)
        painter.setPen(QPen(color, 1.6))
        painter.setBrush(QBrush(fill))
        painter.drawEllipse(QPointF(0, 0), radius, radius)
