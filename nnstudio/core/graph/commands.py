"""Undoable edits of a :class:`~nnstudio.core.graph.document.GraphDocument`.

Every change a user makes to a design is one :class:`Command`: ``do()`` applies it through the
document's mutators (which emit the signals a view follows) and ``undo()`` restores exactly the
previous state, including node and edge order. Commands hold plain data only, so the CLI, the
tests and the Qt shell (through a thin ``QUndoCommand`` adapter) share them; :class:`UndoStack`
is the GUI-free stack.

Commands check what they can before changing anything and raise a typed error
(:class:`~nnstudio.core.errors.GraphError`), so a failed ``do()`` leaves the document intact.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from nnstudio.core.errors import GraphError
from nnstudio.core.graph.document import Edge, GraphDocument, Node, Pos, _parse_network

#: Merge ids (a command merges only with the top of the stack having the same id).
MERGE_MOVE = 1
MERGE_CONFIG = 2

_drag_ids = itertools.count(1)


def new_drag_id() -> int:
    """A token for one continuous gesture: moves with the same token merge into one step."""
    return next(_drag_ids)


class Command:
    """Base class: a reversible edit with a menu text (``"Add Dense"``).

    Attributes
    ----------
    text:
        Shown in Edit ▸ Undo/Redo.
    merge_id:
        ``-1`` never merges; otherwise :meth:`merge` is tried against the top of the stack
        when it has the same ``merge_id``.
    """

    text = "Edit"
    merge_id = -1

    def __init__(self, doc: GraphDocument):
        self.doc = doc

    def do(self) -> None:
        raise NotImplementedError

    def undo(self) -> None:
        raise NotImplementedError

    def merge(self, other: Command) -> bool:
        """Absorb ``other`` (already done) into this command; return whether it did."""
        return False

    @property
    def is_noop(self) -> bool:
        """True when the command changes nothing (stacks drop such commands)."""
        return False


class AddNode(Command):
    """Add one layer. The id is chosen when the command is built, so redo reuses it."""

    def __init__(
        self,
        doc: GraphDocument,
        type_name: str,
        pos: Pos = (0.0, 0.0),
        config: dict[str, Any] | None = None,
        node_id: str | None = None,
    ):
        super().__init__(doc)
        self.node_id = node_id or doc.new_id(type_name)
        self.type_name = type_name
        self.pos = (float(pos[0]), float(pos[1]))
        self.config = copy.deepcopy(config or {})
        self.text = f"Add {type_name}"

    def do(self) -> None:
        self.doc.insert_node(Node(self.node_id, self.type_name, copy.deepcopy(self.config),
                                  self.pos))

    def undo(self) -> None:
        with self.doc.batch():
            for a, b in reversed(self.doc.edges_of([self.node_id])):
                self.doc.remove_edge(a, b)
            self.doc.remove_node(self.node_id)


class RemoveNodes(Command):
    """Delete nodes together with every edge touching them."""

    def __init__(self, doc: GraphDocument, node_ids: Iterable[str]):
        super().__init__(doc)
        order = doc.node_ids
        self.node_ids = sorted(set(node_ids), key=order.index)
        for n in self.node_ids:
            doc.node(n)
        self._nodes: list[tuple[int, Node]] = []
        self._edges: list[tuple[int, Edge]] = []
        self.text = (
            f"Delete {doc.node(self.node_ids[0]).type}" if len(self.node_ids) == 1
            else f"Delete {len(self.node_ids)} layers"
        )

    def do(self) -> None:
        doc = self.doc
        edges = doc.edges
        touched = set(doc.edges_of(self.node_ids))
        self._edges = [(i, e) for i, e in enumerate(edges) if e in touched]
        order = doc.node_ids
        self._nodes = [(order.index(n), doc.node(n)) for n in self.node_ids]
        with doc.batch():
            for _, (a, b) in reversed(self._edges):
                doc.remove_edge(a, b)
            for _, node in reversed(self._nodes):
                doc.remove_node(node.id)

    def undo(self) -> None:
        doc = self.doc
        with doc.batch():
            for index, node in self._nodes:
                doc.insert_node(copy.deepcopy(node), index)
            for index, (a, b) in self._edges:
                doc.insert_edge(a, b, index)


class MoveNodes(Command):
    """Move nodes to new positions; successive moves of one drag merge into one step.

    Parameters
    ----------
    positions:
        ``{node_id: (x, y)}`` new top-left corners.
    drag_id:
        Moves sharing a drag id (from :func:`new_drag_id`) merge; ``None`` never merges.
    old_positions:
        Where the nodes were before; default: their positions in the document now. A view
        that moved its items live passes the positions from the start of the gesture.
    """

    def __init__(
        self,
        doc: GraphDocument,
        positions: dict[str, Pos],
        drag_id: int | None = None,
        text: str = "Move",
        old_positions: dict[str, Pos] | None = None,
    ):
        super().__init__(doc)
        self.new = {k: (float(v[0]), float(v[1])) for k, v in positions.items()}
        old = old_positions or {}
        self.old = {k: tuple(old.get(k, doc.node(k).pos)) for k in self.new}
        self.drag_id = drag_id
        self.merge_id = MERGE_MOVE if drag_id is not None else -1
        self.text = text

    def do(self) -> None:
        with self.doc.batch():
            for k, p in self.new.items():
                self.doc.move_node(k, p)

    def undo(self) -> None:
        with self.doc.batch():
            for k, p in self.old.items():
                self.doc.move_node(k, p)

    def merge(self, other: Command) -> bool:
        if not (isinstance(other, MoveNodes) and other.drag_id == self.drag_id
                and set(other.new) == set(self.new)):
            return False
        self.new = dict(other.new)
        return True

    @property
    def is_noop(self) -> bool:
        return all(self.old[k] == self.new[k] for k in self.new)


class Connect(Command):
    """Add an edge ``src → dst`` after :meth:`GraphDocument.check_connect` agrees."""

    def __init__(self, doc: GraphDocument, src: str, dst: str):
        super().__init__(doc)
        self.src, self.dst = src, dst
        self.text = f"Connect {src} → {dst}"

    def do(self) -> None:
        self.doc.check_connect(self.src, self.dst)
        self.doc.insert_edge(self.src, self.dst)

    def undo(self) -> None:
        self.doc.remove_edge(self.src, self.dst)


class Disconnect(Command):
    """Remove edges; undo puts them back at their places in the edge order."""

    def __init__(self, doc: GraphDocument, edges: Iterable[Edge]):
        super().__init__(doc)
        current = doc.edges
        self.edges = sorted({tuple(e) for e in edges}, key=lambda e: current.index(e)
                            if e in current else -1)
        for a, b in self.edges:
            if (a, b) not in current:
                raise GraphError(f"'{a}' is not connected to '{b}'")
        self._indices: list[tuple[int, Edge]] = []
        self.text = (
            f"Disconnect {self.edges[0][0]} → {self.edges[0][1]}" if len(self.edges) == 1
            else f"Disconnect {len(self.edges)} connections"
        )

    def do(self) -> None:
        current = self.doc.edges
        self._indices = sorted((current.index(e), e) for e in self.edges)
        with self.doc.batch():
            for _, (a, b) in reversed(self._indices):
                self.doc.remove_edge(a, b)

    def undo(self) -> None:
        with self.doc.batch():
            for index, (a, b) in self._indices:
                self.doc.insert_edge(a, b, index)


class SetConfig(Command):
    """Change settings of one node: ``changes = {name: value}``; ``None`` restores a default.

    Values are validated (``ConfigError``) when the command is built. With ``merge=True``
    successive changes of the same settings of the same node merge into one step (for editors
    that commit on every keystroke).
    """

    def __init__(
        self, doc: GraphDocument, node_id: str, changes: dict[str, Any], merge: bool = False
    ):
        super().__init__(doc)
        node = doc.node(node_id)
        self.node_id = node_id
        self.changes = {k: doc.validate_setting(node_id, k, v) for k, v in changes.items()}
        self.old = copy.deepcopy(node.config)
        self.merge_id = MERGE_CONFIG if merge else -1
        names = ", ".join(self.changes)
        self.text = f"Change {names} of {node_id}"

    def _new_config(self) -> dict[str, Any]:
        config = copy.deepcopy(self.old)
        for k, v in self.changes.items():
            if v is None:
                config.pop(k, None)
            else:
                config[k] = copy.deepcopy(v)
        return config

    def do(self) -> None:
        self.doc.set_config(self.node_id, self._new_config())

    def undo(self) -> None:
        self.doc.set_config(self.node_id, copy.deepcopy(self.old))

    def merge(self, other: Command) -> bool:
        if not (isinstance(other, SetConfig) and other.node_id == self.node_id
                and set(other.changes) == set(self.changes)):
            return False
        self.changes = dict(other.changes)
        return True

    @property
    def is_noop(self) -> bool:
        from nnstudio.core.graph.document import normalize_config

        node = self.doc.node(self.node_id)
        return normalize_config(node.type, self._new_config()) == normalize_config(
            node.type, self.old
        )


class ReplaceAll(Command):
    """Replace the whole graph (a template, a pasted design); undo restores the old one."""

    def __init__(self, doc: GraphDocument, network: dict[str, Any], text: str = "Replace"):
        super().__init__(doc)
        _parse_network(network)  # fail now, not in do()
        self.new = copy.deepcopy(network)
        self.old = doc.to_network_dict()
        self.text = text

    def do(self) -> None:
        self.doc.replace(copy.deepcopy(self.new))

    def undo(self) -> None:
        self.doc.replace(copy.deepcopy(self.old))


class AddSubgraph(Command):
    """Add several nodes and the edges among them (paste, duplicate, insert a template).

    Ids that clash with the document's are renamed (``dense_1`` → ``dense_3``) and positions
    shifted by ``offset``; :attr:`id_map` tells the new id of each original one.
    """

    def __init__(
        self,
        doc: GraphDocument,
        network: dict[str, Any],
        offset: Pos = (0.0, 0.0),
        text: str = "Paste",
    ):
        super().__init__(doc)
        nodes, edges = _parse_network(network)
        self.id_map: dict[str, str] = {}
        taken: set[str] = set()
        self.nodes: list[Node] = []
        for n in nodes:
            new_id = n.id if n.id not in doc and n.id not in taken else doc.new_id(n.type, taken)
            taken.add(new_id)
            self.id_map[n.id] = new_id
            self.nodes.append(Node(new_id, n.type, n.config,
                                   (n.pos[0] + offset[0], n.pos[1] + offset[1])))
        self.edges = [(self.id_map[a], self.id_map[b]) for a, b in edges]
        self.text = text

    def do(self) -> None:
        with self.doc.batch():
            for n in self.nodes:
                self.doc.insert_node(copy.deepcopy(n))
            for a, b in self.edges:
                self.doc.insert_edge(a, b)

    def undo(self) -> None:
        with self.doc.batch():
            for a, b in reversed(self.edges):
                self.doc.remove_edge(a, b)
            for n in reversed(self.nodes):
                self.doc.remove_node(n.id)


class Macro(Command):
    """Several commands as one undoable step (delete a selection, add-and-connect)."""

    def __init__(self, doc: GraphDocument, text: str, commands: Sequence[Command] = ()):
        super().__init__(doc)
        self.text = text
        self.commands = list(commands)

    def do(self) -> None:
        done: list[Command] = []
        with self.doc.batch():
            try:
                for c in self.commands:
                    c.do()
                    done.append(c)
            except Exception:
                for c in reversed(done):
                    c.undo()
                raise

    def undo(self) -> None:
        with self.doc.batch():
            for c in reversed(self.commands):
                c.undo()


class UndoStack:
    """A GUI-free undo stack of :class:`Command` objects (the CLI and tests use it).

    ``push`` runs the command; a command whose ``do()`` raises is not pushed.
    """

    def __init__(self) -> None:
        self._commands: list[Command] = []
        self._index = 0
        self._clean: int | None = 0

    def push(self, command: Command) -> None:
        command.do()
        del self._commands[self._index:]
        if self._clean is not None and self._clean > self._index:
            self._clean = None
        top = self._commands[-1] if self._commands else None
        if (top is not None and command.merge_id != -1 and top.merge_id == command.merge_id
                and self._clean != self._index and top.merge(command)):
            if top.is_noop:
                self._commands.pop()
                self._index -= 1
            return
        self._commands.append(command)
        self._index += 1

    def undo(self) -> None:
        if self.can_undo:
            self._index -= 1
            self._commands[self._index].undo()

    def redo(self) -> None:
        if self.can_redo:
            self._commands[self._index].do()
            self._index += 1

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._commands)

    @property
    def undo_text(self) -> str:
        return self._commands[self._index - 1].text if self.can_undo else ""

    @property
    def redo_text(self) -> str:
        return self._commands[self._index].text if self.can_redo else ""

    @property
    def index(self) -> int:
        return self._index

    def __len__(self) -> int:
        return len(self._commands)

    def set_clean(self) -> None:
        """Mark the current state as saved."""
        self._clean = self._index

    @property
    def is_clean(self) -> bool:
        return self._clean == self._index

    def clear(self) -> None:
        self._commands.clear()
        self._index = 0
        self._clean = 0
