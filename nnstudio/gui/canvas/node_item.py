"""A layer on the canvas: its type and key settings, output shape, parameters, ports.

The item only *shows* the document: it is updated by the scene from the document's signals
(:meth:`NodeItem.set_node`, :meth:`NodeItem.set_shape`) and never writes to it. Qt moves it
live while dragged; the move becomes a document edit when the mouse is released.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from nnstudio.core.engine.network import NodeShape
from nnstudio.core.graph import NODE_HEIGHT, NODE_WIDTH, Node, format_params, format_shape
from nnstudio.gui.canvas.port_item import IN, OUT, PortItem
from nnstudio.gui.icons import layer_icon
from nnstudio.gui.theme import current_theme

if TYPE_CHECKING:
    from nnstudio.gui.canvas.edge_item import EdgeItem

HEADER = 27.0
RADIUS = 8.0


class NodeItem(QGraphicsItem):
    """The view of one :class:`~nnstudio.core.graph.document.Node`.

    Attributes
    ----------
    title:
        ``describe()`` of the layer: ``Dense 128``.
    shape_text:
        The output shape as shown (``(128,)``, ``1×28×28``, ``?``).
    params_text:
        ``1,234 params``.
    error:
        The shape report's error for this node, or ``None``; shown as a red border, a red
        line and the tooltip.
    """

    def __init__(self, node: Node):
        super().__init__()
        self.node_id = node.id
        self.type_name = node.type
        self.category = ""
        self.title = node.type
        self.shape_text = "?"
        self.params_text = ""
        self.error: str | None = None
        self.waiting = False
        self.summary = ""
        self.edges: set[EdgeItem] = set()
        self._locked = False
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.in_port = PortItem(self, IN) if node.n_inputs != 0 else None
        if self.in_port is not None:
            self.in_port.setPos(0, NODE_HEIGHT / 2)
        self.out_port = PortItem(self, OUT)
        self.out_port.setPos(NODE_WIDTH, NODE_HEIGHT / 2)
        self.set_node(node)
        self.setPos(QPointF(*node.pos))

    # -- updates from the scene ----------------------------------------------------------------
    def set_node(self, node: Node) -> None:
        """Take the node's current type and settings (label, icon, tooltip)."""
        cls = node.layer_class
        self.title = node.describe()
        self.category = cls.category if cls else ""
        self.summary = cls.summary if cls else f"Unknown layer type '{node.type}'"
        self._refresh()

    def set_shape(self, info: NodeShape, waiting: bool = False) -> None:
        """Show the shape report's result for this node.

        ``waiting`` marks an Input whose shape comes from data not loaded yet: shown as
        pending, not as an error.
        """
        self.shape_text = format_shape(info.shape)
        self.params_text = format_params(info.params) if info.shape is not None else ""
        self.error = None if waiting else info.error
        self.waiting = waiting
        self._refresh()

    def set_locked(self, locked: bool) -> None:
        self._locked = locked
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, not locked)

    def connected(self, kind: str) -> bool:
        """Whether an edge touches the port of this ``kind``."""
        return any((e.dst is self) if kind == IN else (e.src is self) for e in self.edges)

    def _refresh(self) -> None:
        tip = [f"<b>{self.title}</b> &nbsp;<span style='color:gray'>{self.node_id}</span>"]
        if self.error:
            tip.append(f"<span style='color:{current_theme().error}'>⚠ {self.error}</span>")
        tip.append(self.summary)
        if self.shape_text != "?":
            tip.append(f"output {self.shape_text} · {self.params_text}")
        elif self.waiting:
            tip.append("Its shape comes from the data: load a dataset (or set a shape).")
        self.setToolTip("<br>".join(tip))
        self.update()

    # -- Qt ------------------------------------------------------------------------------------
    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for e in self.edges:
                e.update_path()
        return super().itemChange(change, value)

    def boundingRect(self) -> QRectF:
        return QRectF(-4, -4, NODE_WIDTH + 8, NODE_HEIGHT + 8)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT), RADIUS, RADIUS)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        theme = current_theme()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        rect = QRectF(0, 0, NODE_WIDTH, NODE_HEIGHT)
        accent = theme.category_color(self.category)
        # soft shadow
        shadow = QColor(0, 0, 0, 70 if theme.dark else 22)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(shadow)
        painter.drawRoundedRect(rect.translated(0, 2), RADIUS, RADIUS)
        # body and header
        body = QPainterPath()
        body.addRoundedRect(rect, RADIUS, RADIUS)
        painter.setBrush(QColor(theme.error_fill if self.error else theme.node))
        painter.drawPath(body)
        painter.save()
        painter.setClipPath(body)
        tint = QColor(accent)
        tint.setAlpha(48 if theme.dark else 30)
        painter.fillRect(QRectF(0, 0, NODE_WIDTH, HEADER), tint)
        painter.fillRect(QRectF(0, 0, 4, NODE_HEIGHT), accent)
        painter.restore()
        # border
        if self.isSelected():
            glow = QColor(theme.accent)
            glow.setAlpha(70)
            painter.setPen(QPen(glow, 6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, RADIUS, RADIUS)
        if self.error:
            pen = QPen(QColor(theme.error), 2.0)
        elif self.isSelected():
            pen = QPen(QColor(theme.accent), 2.0)
        else:
            pen = QPen(QColor(theme.node_border), 1.0)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), RADIUS, RADIUS)
        # icon and title
        layer_icon(self.type_name).paint(painter, QRectF(11, 5, 17, 17).toRect())
        font = QFont(painter.font())
        title_font = QFont(font)
        title_font.setBold(True)
        title_font.setPointSizeF(max(font.pointSizeF(), 9.0))
        painter.setFont(title_font)
        painter.setPen(QColor(theme.text))
        fm = QFontMetricsF(title_font)
        title_rect = QRectF(33, 0, NODE_WIDTH - 40, HEADER)
        painter.drawText(title_rect, int(Qt.AlignmentFlag.AlignVCenter),
                         fm.elidedText(self.title, Qt.TextElideMode.ElideRight, title_rect.width()))
        # body lines
        small = QFont(font)
        small.setPointSizeF(max(font.pointSizeF(), 9.0) - 0.5)
        painter.setFont(small)
        fm = QFontMetricsF(small)
        id_width = min(fm.horizontalAdvance(self.node_id) + 2, NODE_WIDTH * 0.45)
        line1 = QRectF(12, HEADER + 2, NODE_WIDTH - 22, 18)
        line2 = QRectF(12, HEADER + 19, NODE_WIDTH - 22, 18)
        painter.setPen(QColor(theme.muted))
        painter.drawText(line2, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight),
                         fm.elidedText(self.node_id, Qt.TextElideMode.ElideMiddle, id_width))
        if self.error:
            painter.setPen(QColor(theme.error))
            text = "⚠ " + _short_error(self.error)
            painter.drawText(line1, int(Qt.AlignmentFlag.AlignVCenter),
                             fm.elidedText(text, Qt.TextElideMode.ElideRight, line1.width()))
        else:
            mono = QFont(small)
            mono.setBold(True)
            painter.setFont(mono)
            painter.setPen(QColor(theme.text))
            shape = self.shape_text if self.shape_text != "?" else "shape ?"
            if self.waiting or self.shape_text == "?":
                mono.setBold(False)
                painter.setFont(mono)
                painter.setPen(QColor(theme.muted))
                shape = "shape from the data" if self.waiting else shape
            painter.drawText(line1, int(Qt.AlignmentFlag.AlignVCenter), "→ " + shape)
            painter.setFont(small)
        painter.setPen(QColor(theme.muted))
        painter.drawText(QRectF(line2.x(), line2.y(), line2.width() - id_width - 8, 18),
                         int(Qt.AlignmentFlag.AlignVCenter), self.params_text)


def _short_error(error: str) -> str:
    """The error without its ``Dense 'h1': `` prefix (the node already says who it is)."""
    head, sep, rest = error.partition("': ")
    return rest if sep and "'" in head else error
