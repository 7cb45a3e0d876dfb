"""Edit operations of the main window: delete, copy/paste, auto-arrange, templates, add.

Each operation builds core commands and hands them to the undo stack; nothing here touches
the document directly.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF
from PySide6.QtWidgets import QApplication, QMenu

from nnstudio.core.engine.layer import CATEGORIES, LAYERS
from nnstudio.core.errors import NNStudioError
from nnstudio.core.graph import (
    NODE_HEIGHT,
    NODE_WIDTH,
    AddNode,
    AddSubgraph,
    Command,
    Connect,
    Disconnect,
    Macro,
    MoveNodes,
    RemoveNodes,
    ReplaceAll,
    auto_arrange,
    build_template,
    template,
)
from nnstudio.core.graph.layout import COLUMN_GAP
from nnstudio.core.graph.text_templates import text_vocab_size
from nnstudio.gui.canvas.node_item import NodeItem
from nnstudio.gui.icons import action_icon, layer_icon

if TYPE_CHECKING:
    from nnstudio.gui.main_window import MainWindow

#: The ``format`` of copied layers on the clipboard: JSON text of a network dict.
#: Plain text on purpose: a Python-made QMimeData left on the clipboard crashes Qt at exit.
CLIPBOARD_FORMAT = "nnstudio.layers"
PASTE_OFFSET = 40.0


class EditingMixin:
    """Edit operations of :class:`~nnstudio.gui.main_window.MainWindow`."""

    def push(self: MainWindow, command: Command) -> bool:
        """Run a command through the undo stack; a refused edit shows its reason."""
        if self.design_locked:
            self.show_message("The design is locked while training.")
            return False
        try:
            self.undo_stack.push_command(command)
        except NNStudioError as e:
            self.show_message(str(e), 8000)
            return False
        return True

    # -- delete / select -------------------------------------------------------------------------
    def delete_selection(self: MainWindow) -> None:
        """Delete the selected layers (with their connections) and connections, one step."""
        nodes = self.scene.selected_node_ids()
        edges = [e for e in self.scene.selected_edges()
                 if e[0] not in nodes and e[1] not in nodes]
        commands: list[Command] = []
        if edges:
            commands.append(Disconnect(self.document, edges))
        if nodes:
            commands.append(RemoveNodes(self.document, nodes))
        if not commands:
            return
        text = commands[0].text if len(commands) == 1 else "Delete selection"
        self.push(commands[0] if len(commands) == 1 else Macro(self.document, text, commands))

    def select_all(self: MainWindow) -> None:
        for item in self.scene.items():
            if item.flags() & item.GraphicsItemFlag.ItemIsSelectable:
                item.setSelected(True)

    # -- clipboard ------------------------------------------------------------------------------
    def selection_dict(self: MainWindow) -> dict | None:
        """The selected layers and the connections among them, as a network dict."""
        ids = self.scene.selected_node_ids()
        if not ids:
            return None
        full = self.document.to_network_dict()
        keep = set(ids)
        return {"nodes": [n for n in full["nodes"] if n["id"] in keep],
                "edges": [e for e in full["edges"] if e[0] in keep and e[1] in keep]}

    def copy_selection(self: MainWindow) -> bool:
        data = self.selection_dict()
        if data is None:
            return False
        QApplication.clipboard().setText(json.dumps({"format": CLIPBOARD_FORMAT, **data}))
        self._paste_count = 0
        return True

    def cut_selection(self: MainWindow) -> None:
        if self.copy_selection():
            self.delete_selection()

    def paste(self: MainWindow) -> None:
        try:
            data = json.loads(QApplication.clipboard().text())
        except ValueError:
            return
        if not isinstance(data, dict) or data.pop("format", None) != CLIPBOARD_FORMAT:
            return
        self._paste_count += 1
        self._add_subgraph(data, PASTE_OFFSET * self._paste_count, "Paste")

    def duplicate(self: MainWindow) -> None:
        data = self.selection_dict()
        if data is not None:
            self._add_subgraph(data, PASTE_OFFSET, "Duplicate")

    def _add_subgraph(self: MainWindow, data: dict, offset: float, text: str) -> None:
        try:
            command = AddSubgraph(self.document, data, (offset, offset), text)
        except NNStudioError as e:
            self.show_message(f"Cannot paste: {e}")
            return
        if self.push(command):
            self.scene.select_nodes(command.id_map.values())

    # -- layout and templates ------------------------------------------------------------------
    def auto_arrange(self: MainWindow) -> None:
        """Lay the network out left to right (one undoable step) and show all of it."""
        positions = auto_arrange(self.document)
        moved = {k: v for k, v in positions.items() if self.document.node(k).pos != v}
        if moved:
            self.push(MoveNodes(self.document, moved, text="Auto-arrange"))
        self.canvas.zoom_to_fit()

    def apply_template(self: MainWindow, key: str) -> None:
        """Replace the design by a template, built for the loaded data when known."""
        t = template(key)
        session = getattr(getattr(self, "workflow", None), "session", None)
        network = build_template(key, self.document.input_shape, self.output_units,
                                 vocab_size=text_vocab_size(getattr(session, "prepared", None)))
        if self.push(ReplaceAll(self.document, network, f"Template: {t.title}")):
            self.canvas.zoom_to_fit()
            self.show_message(f"Built “{t.title}”. Edit ▸ Undo brings back the previous design.")

    def add_layer(self: MainWindow, type_name: str) -> None:
        """Add a layer after the selected one (connected when possible), else in view.

        A one-input layer added after a layer with one outgoing connection goes into that
        connection (a → new → b, what adding a step to a chain means), the layers from b
        on moved one column right when there is no room; an Output layer, a merge or a
        layer added after a fork starts a branch instead.
        """
        selected = self.scene.selected_node_ids()
        doc = self.document
        moves: dict[str, tuple[float, float]] = {}
        into: tuple[str, str] | None = None
        if len(selected) == 1:
            src = doc.node(selected[0])
            pos = (src.pos[0] + NODE_WIDTH + COLUMN_GAP, src.pos[1])
            outgoing = [e for e in doc.edges if e[0] == src.id]
            if (len(outgoing) == 1 and LAYERS[type_name].n_inputs == 1
                    and type_name != "Output"):
                into = outgoing[0]
                step = NODE_WIDTH + COLUMN_GAP
                if doc.node(into[1]).pos[0] - src.pos[0] < 2 * step:
                    moves = {n.id: (n.pos[0] + step, n.pos[1]) for n in doc.nodes
                             if n.pos[0] > src.pos[0] + NODE_WIDTH / 2}
        else:
            c = self.canvas.scene_center()
            pos = (c.x() - NODE_WIDTH / 2, c.y() - NODE_HEIGHT / 2)
        if into is None:
            pos = self._free_spot(pos)
        add = AddNode(doc, type_name, pos)
        commands: list[Command] = [add]
        if moves:
            commands.append(MoveNodes(doc, moves, text="Make room"))
        if into is not None:
            commands += [Disconnect(doc, [into]), Connect(doc, into[0], add.node_id),
                         Connect(doc, add.node_id, into[1])]
        elif len(selected) == 1 and LAYERS[type_name].n_inputs != 0:
            # a fresh node has no input and no path back: the connection cannot be refused
            commands.append(Connect(doc, selected[0], add.node_id))
        if not self.push(Macro(doc, add.text, commands) if len(commands) > 1 else add):
            return
        self.scene.select_nodes([add.node_id])
        self.canvas.ensureVisible(self.scene.node_items[add.node_id], 60, 60)

    def _free_spot(self: MainWindow, pos: tuple[float, float]) -> tuple[float, float]:
        """``pos`` moved down until no node sits there."""
        x, y = pos
        taken = [n.pos for n in self.document.nodes]
        while any(abs(px - x) < NODE_WIDTH and abs(py - y) < NODE_HEIGHT for px, py in taken):
            y += NODE_HEIGHT + 24
        return (x, y)

    def _adder(self: MainWindow, type_name: str, pos: QPointF):
        return lambda _checked=False: self.scene.add_layer(type_name, pos)

    # -- context menu -------------------------------------------------------------------------
    def show_canvas_menu(self: MainWindow, point: QPoint) -> None:
        """Right-click menu at viewport point ``point``."""
        self.canvas_menu(point).exec(self.canvas.viewport().mapToGlobal(point))

    def canvas_menu(self: MainWindow, point: QPoint) -> QMenu:
        """Layer actions on a layer; add/paste/arrange on empty canvas."""
        scene_pos = self.canvas.mapToScene(point)
        item = next((i for i in self.scene.items(scene_pos) if isinstance(i, NodeItem)), None)
        menu = QMenu(self)
        a = self.actions
        if item is not None:
            if not item.isSelected():
                self.scene.select_nodes([item.node_id])
            for action in (a.cut, a.copy, a.duplicate, None, a.delete):
                menu.addSeparator() if action is None else menu.addAction(action)
        else:
            add = menu.addMenu(action_icon("new"), "Add layer here")
            for category in CATEGORIES:
                names = [n for n, c in LAYERS.items() if c.category == category]
                if not names:
                    continue
                sub = add.addMenu(category)
                for name in names:
                    act = sub.addAction(layer_icon(name), name)
                    act.setEnabled(not self.design_locked)
                    act.triggered.connect(self._adder(name, QPointF(scene_pos)))
            menu.addSeparator()
            for action in (a.paste, a.select_all, None, a.arrange, a.zoom_fit):
                menu.addSeparator() if action is None else menu.addAction(action)
        return menu
