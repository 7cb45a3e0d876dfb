"""The canvas scene: one item per node and edge of a GraphDocument, kept in step with it.

:class:`CanvasScene` connects to the document's signals (``node_added``, ``edge_removed``,
``shapes_changed``...) and mirrors them as items; it changes the document only by handing
commands to ``push`` (the window's undo stack). Mouse gestures are delegated to the classes of
:mod:`nnstudio.gui.canvas.interactions`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from nnstudio.core.graph import NODE_HEIGHT, NODE_WIDTH, AddNode, Command, GraphDocument, Node
from nnstudio.gui.canvas.edge_item import Bubble, EdgeItem
from nnstudio.gui.canvas.grid import draw_grid
from nnstudio.gui.canvas.interactions import MoveInteraction, NewLinkInteraction
from nnstudio.gui.canvas.node_item import NodeItem
from nnstudio.gui.canvas.port_item import PortItem
from nnstudio.gui.theme import current_theme


class CanvasScene(QGraphicsScene):
    """Items for a :class:`GraphDocument`.

    Parameters
    ----------
    document:
        The document to show.
    push:
        Runs and records a command (``QtUndoStack.push_command``); the only way the scene
        changes the document.
    """

    #: A connection the user dragged was refused: the reason (a readable sentence).
    connection_refused = Signal(str)
    #: The document's graph was redrawn from scratch (open, template): no argument.
    rebuilt = Signal()

    def __init__(self, document: GraphDocument, push: Callable[[Command], None], parent=None):
        super().__init__(parent)
        self.document = document
        self.push = push
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[tuple[str, str], EdgeItem] = {}
        self.locked = False
        self._link: NewLinkInteraction | None = None
        self._move: MoveInteraction | None = None
        self._bubble = Bubble()
        self._bubble_timer = QTimer(self)
        self._bubble_timer.setSingleShot(True)
        self._bubble_timer.timeout.connect(self._hide_bubble)
        self._slots = {
            document.node_added: self._on_node_added,
            document.node_removed: self._on_node_removed,
            document.node_moved: self._on_node_moved,
            document.node_config_changed: self._on_node_changed,
            document.edge_added: self._on_edge_added,
            document.edge_removed: self._on_edge_removed,
            document.reset: self.rebuild,
            document.shapes_changed: self._on_shapes_changed,
        }
        for signal, slot in self._slots.items():
            signal.connect(slot)
        self.rebuild()

    def detach(self) -> None:
        """Stop following the document (before the scene is dropped)."""
        for signal, slot in self._slots.items():
            signal.disconnect(slot)

    # -- document → items ---------------------------------------------------------------------
    def rebuild(self) -> None:
        """Drop every item and create them again from the document."""
        self.cancel_interaction()
        for item in list(self.node_items.values()) + list(self.edge_items.values()):
            self.removeItem(item)
        self.node_items.clear()
        self.edge_items.clear()
        for node in self.document.nodes:
            self._on_node_added(node, update=False)
        for a, b in self.document.edges:
            self._on_edge_added(a, b)
        self._on_shapes_changed(self.document.report)
        self.rebuilt.emit()

    def _on_node_added(self, node: Node, update: bool = True) -> None:
        item = NodeItem(node)
        item.set_locked(self.locked)
        self.node_items[node.id] = item
        self.addItem(item)
        if update:
            item.set_shape(self.document.node_shape(node.id),
                           self.document.waiting_for_data(node.id))
        self._grow()

    def _on_node_removed(self, node: Node) -> None:
        self.cancel_interaction()
        item = self.node_items.pop(node.id, None)
        if item is not None:
            self.removeItem(item)

    def _on_node_moved(self, node: Node) -> None:
        item = self.node_items[node.id]
        if (item.pos().x(), item.pos().y()) != node.pos:
            item.setPos(QPointF(*node.pos))
        self._grow()

    def _on_node_changed(self, node: Node) -> None:
        self.node_items[node.id].set_node(node)

    def _on_edge_added(self, src: str, dst: str) -> None:
        edge = EdgeItem(self.node_items[src], self.node_items[dst])
        self.edge_items[(src, dst)] = edge
        self.node_items[src].edges.add(edge)
        self.node_items[dst].edges.add(edge)
        self.addItem(edge)
        self._update_ports(src, dst)

    def _on_edge_removed(self, src: str, dst: str) -> None:
        edge = self.edge_items.pop((src, dst), None)
        if edge is None:
            return
        edge.src.edges.discard(edge)
        edge.dst.edges.discard(edge)
        self.removeItem(edge)
        self._update_ports(src, dst)

    def _update_ports(self, *node_ids: str) -> None:
        for n in node_ids:
            item = self.node_items.get(n)
            if item is not None:
                item.out_port.update()
                if item.in_port is not None:
                    item.in_port.update()

    def _on_shapes_changed(self, report) -> None:
        for node_id, item in self.node_items.items():
            item.set_shape(self.document.node_shape(node_id),
                           self.document.waiting_for_data(node_id))

    def _grow(self) -> None:
        """Keep room around the nodes to pan into."""
        rect = self.itemsBoundingRect().adjusted(-1500, -1200, 1500, 1200)
        self.setSceneRect(self.sceneRect().united(rect) if self.node_items else rect)

    # -- queries for the window ---------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        """Selected nodes in document order."""
        ids = {i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)}
        return [n for n in self.document.node_ids if n in ids]

    def selected_edges(self) -> list[tuple[str, str]]:
        keys = {i.key for i in self.selectedItems() if isinstance(i, EdgeItem)}
        return [e for e in self.document.edges if e in keys]

    def select_nodes(self, node_ids) -> None:
        """Select exactly these nodes."""
        wanted = set(node_ids)
        self.clearSelection()
        for n in wanted:
            if n in self.node_items:
                self.node_items[n].setSelected(True)

    def add_layer(self, type_name: str, center: QPointF) -> str | None:
        """Add a layer centred on ``center`` (a drop); returns its id, None when locked."""
        if self.locked:
            return None
        pos = (round(center.x() - NODE_WIDTH / 2), round(center.y() - NODE_HEIGHT / 2))
        command = AddNode(self.document, type_name, pos)
        self.push(command)
        self.select_nodes([command.node_id])
        return command.node_id

    def set_locked(self, locked: bool) -> None:
        """Read-only canvas (during training): no moves, no new connections, no drops."""
        self.locked = locked
        self.cancel_interaction()
        for item in self.node_items.values():
            item.set_locked(locked)

    def refuse(self, reason: str, pos: QPointF) -> None:
        """Show why an edit was refused, on the canvas and to listeners."""
        if self._bubble.scene() is None:
            self.addItem(self._bubble)
        self._bubble.set_text(reason)
        self._bubble.setPos(pos + QPointF(14, 14))
        self._bubble.setVisible(True)
        self._bubble_timer.start(4000)
        self.connection_refused.emit(reason)

    def _hide_bubble(self) -> None:
        self._bubble.setVisible(False)

    def cancel_interaction(self) -> None:
        if self._link is not None:
            self._link.cancel()
            self._link = None
        self._move = None

    # -- mouse: delegate to the gesture classes ----------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self._hide_bubble()
        if event.button() == Qt.MouseButton.LeftButton and not self.locked:
            port = next((i for i in self.items(event.scenePos()) if isinstance(i, PortItem)),
                        None)
            if port is not None:
                self._link = NewLinkInteraction(self, port)
                event.accept()
                return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and not self.locked:
            self._move = MoveInteraction(self)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._link is not None:
            self._link.mouse_move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._link is not None:
            link, self._link = self._link, None
            link.mouse_release(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if self._move is not None:
            move, self._move = self._move, None
            move.mouse_release()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            if self._link is not None:
                self.cancel_interaction()
            else:
                self.clearSelection()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- background -----------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        theme = current_theme()
        draw_grid(painter, rect, theme.grid, theme.canvas)
