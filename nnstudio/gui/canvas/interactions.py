"""Mouse gestures on the canvas, one class each; the scene only delegates to them.

* :class:`NewLinkInteraction` — drag from a port to another node's port (or body) to connect;
  the target lights up green or red, a refused connection says why.
* :class:`MoveInteraction` — Qt moves the selected nodes live; on release the new positions
  become one undoable :class:`~nnstudio.core.graph.commands.MoveNodes` command.

Rubber-band selection is Qt's own (``QGraphicsView.RubberBandDrag``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsItem

from nnstudio.core.graph import Connect, MoveNodes
from nnstudio.gui.canvas.edge_item import Bubble, LinkPreview
from nnstudio.gui.canvas.node_item import NodeItem
from nnstudio.gui.canvas.port_item import IN, OUT, PortItem

if TYPE_CHECKING:
    from nnstudio.gui.canvas.scene import CanvasScene


class NewLinkInteraction:
    """Dragging a new connection out of ``port``.

    Parameters
    ----------
    scene:
        The canvas scene (it owns the document and the command sink).
    port:
        Where the drag started: from an output the target is an input, and vice versa.
    """

    def __init__(self, scene: CanvasScene, port: PortItem):
        self.scene = scene
        self.port = port
        self.target: PortItem | None = None
        self._under: tuple[PortItem | None, NodeItem | None] = (None, None)
        self.problem: str | None = None
        self.preview = LinkPreview()
        self.bubble = Bubble()
        self.bubble.setVisible(False)
        scene.addItem(self.preview)
        scene.addItem(self.bubble)
        self.port.set_highlight("valid")
        self.mouse_move(port.center())

    def _ends(self, target: PortItem | None) -> tuple[str | None, str | None]:
        if target is None:
            return (self.port.node_id, None) if self.port.kind == OUT else (None,
                                                                             self.port.node_id)
        if self.port.kind == OUT:
            return self.port.node_id, target.node_id
        return target.node_id, self.port.node_id

    def _find_target(self, pos: QPointF) -> PortItem | None:
        wanted = IN if self.port.kind == OUT else OUT
        for item in self.scene.items(pos):
            if isinstance(item, PortItem) and item.kind == wanted and item is not self.port:
                return item
            node = item if isinstance(item, NodeItem) else None
            if node is None and isinstance(item, PortItem):
                node = item.node
            if node is not None:
                if node is self.port.node:
                    return None
                return node.in_port if wanted == IN else node.out_port
        return None

    def mouse_move(self, pos: QPointF) -> None:
        target = self._find_target(pos)
        closed = None if target is not None else self._target_node_without_input(pos)
        if (target, closed) != self._under:
            self._under = (target, closed)
            if self.target is not None:
                self.target.set_highlight(None)
            self.target = target
            self.problem = None
            if target is not None:
                src, dst = self._ends(target)
                self.problem = self.scene.document.connect_problem(src, dst)
                target.set_highlight("invalid" if self.problem else "valid")
            elif closed is not None:
                self.problem = self.scene.document.connect_problem(self.port.node_id,
                                                                   closed.node_id)
        fixed = self.port.center()
        end = self.target.center() if self.target is not None else pos
        state = None if self.target is None and not self.problem else (
            "invalid" if self.problem else "valid")
        if self.port.kind == OUT:
            self.preview.set_ends(fixed, end, state)
        else:
            self.preview.set_ends(end, fixed, state)
        if self.problem:
            self.bubble.set_text(self.problem)
            self.bubble.setPos(pos + QPointF(14, 14))
            self.bubble.setVisible(True)
        else:
            self.bubble.setVisible(False)

    def _target_node_without_input(self, pos: QPointF) -> NodeItem | None:
        """A node under the mouse that has no input port (an Input layer)."""
        if self.port.kind != OUT:
            return None
        for item in self.scene.items(pos):
            node = item if isinstance(item, NodeItem) else getattr(item, "node", None)
            if isinstance(node, NodeItem) and node is not self.port.node and node.in_port is None:
                return node
        return None

    def mouse_release(self, pos: QPointF) -> None:
        self.mouse_move(pos)
        try:
            if self.problem:
                self.scene.refuse(self.problem, pos)
            elif self.target is not None:
                src, dst = self._ends(self.target)
                self.scene.push(Connect(self.scene.document, src, dst))
        finally:
            self.cancel()

    def cancel(self) -> None:
        """Remove the preview; nothing is changed."""
        self.port.set_highlight(None)
        if self.target is not None:
            self.target.set_highlight(None)
        for item in (self.preview, self.bubble):
            if item.scene() is not None:
                self.scene.removeItem(item)


class MoveInteraction:
    """Remember where the selected nodes were; commit their moves as one step on release."""

    def __init__(self, scene: CanvasScene):
        self.scene = scene
        self.start = {
            item.node_id: (item.pos().x(), item.pos().y())
            for item in scene.selectedItems()
            if isinstance(item, NodeItem)
            and item.flags() & QGraphicsItem.GraphicsItemFlag.ItemIsMovable
        }

    def mouse_release(self) -> None:
        moved = {}
        for node_id, old in self.start.items():
            item = self.scene.node_items.get(node_id)
            if item is not None and (item.pos().x(), item.pos().y()) != old:
                moved[node_id] = (item.pos().x(), item.pos().y())
        if moved:
            text = "Move " + (next(iter(moved)) if len(moved) == 1 else f"{len(moved)} layers")
            self.scene.push(MoveNodes(self.scene.document, moved, text=text,
                                      old_positions={k: self.start[k] for k in moved}))
