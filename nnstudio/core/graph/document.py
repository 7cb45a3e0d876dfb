"""The editable network document behind the canvas: nodes, ordered edges, live shapes.

:class:`GraphDocument` is plain Python (no Qt). Front ends *read* it freely and *change* it only
through the undoable commands of :mod:`nnstudio.core.graph.commands`, which call the mutators
below; every mutation is announced through :class:`~nnstudio.core.graph.signal.Signal`
attributes so a view can follow (command → document → signal → view).

The document keeps a cached :class:`~nnstudio.core.engine.network.ShapeReport` that is
recomputed after every structural or settings change, so a canvas can show each node's output
shape, parameter count and error as the user edits.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import nnstudio.core.engine  # noqa: F401  (registers every layer type)
from nnstudio.core.engine.layer import LAYERS, Layer, Setting
from nnstudio.core.engine.network import NetworkSpec, NodeShape, NodeSpec, ShapeReport, infer_shapes
from nnstudio.core.errors import ConfigError, GraphError, NNStudioError
from nnstudio.core.graph import data_design
from nnstudio.core.graph.signal import Signal

Pos = tuple[float, float]
Edge = tuple[str, str]
Shape = tuple[int, ...]


@dataclass
class Node:
    """One layer on the canvas.

    Attributes
    ----------
    id:
        Unique, stable name (``dense_1``); edges and parameter keys use it.
    type:
        A layer ``type_name`` from :data:`~nnstudio.core.engine.layer.LAYERS` (an unknown type
        is kept, and reported as an error on the node).
    config:
        The layer's settings by schema name; never holds ``None`` values.
    pos:
        Top-left corner on the canvas, in scene units.
    """

    id: str
    type: str
    config: dict[str, Any] = field(default_factory=dict)
    pos: Pos = (0.0, 0.0)

    @property
    def layer_class(self) -> type[Layer] | None:
        """The registered layer class, or ``None`` for an unknown type."""
        return LAYERS.get(self.type)

    @property
    def settings(self) -> tuple[Setting, ...]:
        """The setting schema of the layer type (empty for an unknown type)."""
        cls = self.layer_class
        return cls.settings if cls is not None else ()

    @property
    def n_inputs(self) -> int | None:
        """0 (Input), 1 (ordinary layer) or ``None`` (merge: two or more)."""
        cls = self.layer_class
        return cls.n_inputs if cls is not None else 1

    def describe(self) -> str:
        """Short label with the key settings: ``Dense 128``, ``Conv2D 16 3x3``."""
        try:
            return Layer.from_config(self.type, self.id, self.config).describe()
        except NNStudioError:
            return self.type

    def to_dict(self) -> dict[str, Any]:
        """The project-file record: ``{"id", "type", settings..., "pos": [x, y]}``."""
        return {
            "id": self.id,
            "type": self.type,
            **copy.deepcopy(self.config),
            "pos": [round(float(self.pos[0]), 1), round(float(self.pos[1]), 1)],
        }


def normalize_config(type_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """A complete, type-checked copy of ``config`` without ``None`` values (nor empty
    column lists and names).

    Missing settings take their defaults so files are explicit. When the settings are invalid
    (or the type unknown) the raw values are kept: shape inference reports the problem on the
    node instead of the file failing to open.
    """
    raw = {k: copy.deepcopy(v) for k, v in config.items() if v is not None}
    cls = LAYERS.get(type_name)
    if cls is None:
        return raw
    try:
        full = cls.validate_config(raw, f"{type_name}")
    except ConfigError:
        return raw
    # An empty column list or name means "unset" (an Input taking the remaining columns):
    # left out, so files of networks that do not use them stay as they were.
    unset = {s.name for s in cls.settings if s.kind in ("names", "text")}
    return {k: v for k, v in full.items()
            if v is not None and not (k in unset and v in ([], ""))}


def id_base(type_name: str) -> str:
    """The id prefix of a layer type: ``Dense`` → ``dense``, ``LeakyReLU`` → ``leaky_relu``."""
    s = re.sub(r"(?<=[a-z])(?=[A-Z][a-z])", "_", type_name)
    s = re.sub(r"(?<=[a-z]{3})(?=[A-Z]{2,}$)", "_", s)
    s = re.sub(r"[^0-9a-zA-Z_]+", "_", s).strip("_").lower()
    return s or "node"


class GraphDocument:
    """Nodes, ordered edges and the input shape of a network being designed.

    Parameters
    ----------
    input_shape:
        Per-sample shape of the data (``(13,)``, ``(1, 28, 28)``) or ``None`` when no data is
        loaded yet.

    Notes
    -----
    Signals (plain callbacks, see :class:`~nnstudio.core.graph.signal.Signal`):

    ``node_added(node)``, ``node_removed(node)``, ``node_moved(node)``,
    ``node_config_changed(node)``, ``edge_added(src, dst)``, ``edge_removed(src, dst)``,
    ``reset()`` (everything was replaced), ``input_shape_changed(shape)``,
    ``shapes_changed(report)`` (the live :class:`ShapeReport`), ``changed()`` (after any
    mutation, once per batch).
    """

    def __init__(self, input_shape: Shape | None = None):
        self._nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []
        self._input_shape: Shape | None = _shape(input_shape)
        self._report: ShapeReport | None = None
        self._preparation: Any = None  # the loaded table's, for the Inputs' columns
        self._columns: dict[str, Any] | None = None
        self._binding_error: NNStudioError | None = None
        self._batch = 0
        self._pending_shapes = False
        self._pending_changed = False
        #: A node was inserted: ``(node)``.
        self.node_added = Signal()
        #: A node was removed (its edges were removed first): ``(node)``.
        self.node_removed = Signal()
        #: A node's position changed: ``(node)``.
        self.node_moved = Signal()
        #: A node's settings changed: ``(node)``.
        self.node_config_changed = Signal()
        #: An edge was inserted: ``(src, dst)``.
        self.edge_added = Signal()
        #: An edge was removed: ``(src, dst)``.
        self.edge_removed = Signal()
        #: Every node and edge was replaced at once (open, template, New): ``()``.
        self.reset = Signal()
        #: The per-sample data shape changed: ``(shape or None)``.
        self.input_shape_changed = Signal()
        #: The shape report was recomputed: ``(report)``.
        self.shapes_changed = Signal()
        #: Anything changed (once per batch): ``()``.
        self.changed = Signal()

    # -- queries -----------------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        """Nodes in document order (the order decides ties in the topological order)."""
        return list(self._nodes.values())

    @property
    def node_ids(self) -> list[str]:
        return list(self._nodes)

    @property
    def edges(self) -> list[Edge]:
        """``(src, dst)`` pairs; their order is the input order of merge layers."""
        return list(self._edges)

    def node(self, node_id: str) -> Node:
        """The node with this id; raises :class:`GraphError` when there is none."""
        try:
            return self._nodes[node_id]
        except KeyError:
            raise GraphError(f"there is no node '{node_id}'") from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def index_of(self, node_id: str) -> int:
        return list(self._nodes).index(node_id)

    def predecessors(self, node_id: str) -> list[str]:
        return [a for a, b in self._edges if b == node_id]

    def successors(self, node_id: str) -> list[str]:
        return [b for a, b in self._edges if a == node_id]

    def edges_of(self, node_ids: Iterable[str]) -> list[Edge]:
        """Every edge touching one of ``node_ids``, in edge order."""
        ids = set(node_ids)
        return [e for e in self._edges if e[0] in ids or e[1] in ids]

    @property
    def input_shape(self) -> Shape | None:
        return self._input_shape

    @property
    def report(self) -> ShapeReport:
        """The cached shape report of the current graph (recomputed after each change).

        With a table's preparation (:meth:`set_preparation`) each Input of a network whose
        Inputs take chosen columns gets the shape of its columns; a column choice that cannot
        work is the error of the Input at fault."""
        if self._report is None:
            spec = self.spec()
            columns, problem = self._binding(spec)
            report = infer_shapes(spec, self._input_shape, columns)
            target_problem = data_design.target_problem(spec)
            if target_problem is not None and target_problem.node in report.nodes:
                report.nodes[target_problem.node].error = str(target_problem)
            elif self._input_shape is not None:
                data_design.output_problems(spec, report, self._preparation)
            if problem is not None:
                node = getattr(problem, "node", None)
                for node_id, ns in report.nodes.items():
                    if node_id == node:
                        ns.error = str(problem)
                    elif self._nodes[node_id].type == "Input" and ns.shape is None:
                        ns.error = None  # its shape waits for the Input at fault
            self._report = report
        return self._report

    @property
    def input_columns(self) -> dict[str, Any] | None:
        """``{Input id: prepared-matrix columns}`` of the loaded table's preparation, or
        None (one Input takes the whole sample; no data; a column choice that cannot work,
        see :attr:`binding_error`)."""
        self.report  # noqa: B018  (computes the binding with the report)
        return self._columns

    @property
    def binding_error(self) -> NNStudioError | None:
        """Why the Inputs' columns cannot be taken from the loaded data (None if they can)."""
        self.report  # noqa: B018
        return self._binding_error

    def _binding(self, spec: NetworkSpec) -> tuple[dict[str, Any] | None, NNStudioError | None]:
        from nnstudio.core.data.binding import input_columns

        self._columns, self._binding_error = None, None
        if self._preparation is None or self._input_shape is None:
            return None, None
        try:
            self._columns = input_columns(spec, self._preparation)
        except NNStudioError as e:  # a GraphError at an Input, or a setting's ConfigError
            self._binding_error = e
            return data_design.chosen_columns(spec, self._preparation), e
        return self._columns, None

    def node_shape(self, node_id: str) -> NodeShape:
        """Output shape, parameter count and error of one node."""
        return self.report.nodes.get(node_id, NodeShape())

    def waiting_for_data(self, node_id: str) -> bool:
        """True for an Input that takes its shape from data not loaded yet.

        Its "shape unknown" is not a design error: front ends show it as pending.
        """
        node = self._nodes.get(node_id)
        return (node is not None and node.type == "Input" and self._input_shape is None
                and not node.config.get("shape"))

    @property
    def problems(self) -> list[str]:
        """The report's errors, without the "shape unknown" of an Input waiting for data."""
        report = self.report
        return report.graph_errors + [
            ns.error for node_id, ns in report.nodes.items()
            if ns.error and not self.waiting_for_data(node_id)
        ]

    def spec(self) -> NetworkSpec:
        """The graph as the engine's plain :class:`NetworkSpec`."""
        return NetworkSpec(
            [NodeSpec(n.id, n.type, copy.deepcopy(n.config)) for n in self._nodes.values()],
            list(self._edges),
        )

    def to_network_dict(self) -> dict[str, Any]:
        """The project file's ``network`` section: ``{"nodes": [...], "edges": [[a, b]]}``."""
        return {
            "nodes": [n.to_dict() for n in self._nodes.values()],
            "edges": [[a, b] for a, b in self._edges],
        }

    @classmethod
    def from_network_dict(
        cls, network: dict[str, Any], input_shape: Shape | None = None
    ) -> GraphDocument:
        """A new document holding ``network`` (see :meth:`to_network_dict`)."""
        doc = cls(input_shape)
        doc.replace(network)
        return doc

    def new_id(self, type_name: str, taken: Iterable[str] = ()) -> str:
        """A fresh id for a node of ``type_name``: ``dense_1``, ``dense_2``...

        ``taken`` holds ids reserved by the caller besides the document's own.
        """
        base = id_base(type_name)
        used = set(self._nodes) | set(taken)
        n = 1
        while f"{base}_{n}" in used:
            n += 1
        return f"{base}_{n}"

    # -- validation ---------------------------------------------------------------------------
    def check_connect(self, src: str, dst: str) -> None:
        """Raise :class:`GraphError` with the reason when ``src → dst`` cannot be added."""
        a, b = self.node(src), self.node(dst)
        if (src, dst) in self._edges:
            raise GraphError(f"'{src}' is already connected to '{dst}'")
        if b.n_inputs == 0:
            raise GraphError(f"'{b.type}' takes no input: data enters the network there")
        path = [src] if src == dst else self._path(dst, src)
        if path is not None:
            cycle = [a.id, *path] if src != dst else [src, src]
            raise GraphError("would create a cycle: " + " → ".join(cycle))
        if b.n_inputs == 1:
            preds = self.predecessors(dst)
            if preds:
                raise GraphError(
                    f"'{b.type}' takes one input and '{dst}' already has one (from "
                    f"'{preds[0]}'); delete that connection first or use a merge layer"
                )

    def can_connect(self, src: str, dst: str) -> bool:
        """Whether :meth:`check_connect` would pass."""
        return self.connect_problem(src, dst) is None

    def connect_problem(self, src: str, dst: str) -> str | None:
        """The reason ``src → dst`` is refused, or ``None`` when it is allowed."""
        try:
            self.check_connect(src, dst)
        except GraphError as e:
            return str(e)
        return None

    def _path(self, start: str, goal: str) -> list[str] | None:
        """Node ids of a directed path ``start → ... → goal`` (both included), or None."""
        succ: dict[str, list[str]] = {}
        for a, b in self._edges:
            succ.setdefault(a, []).append(b)
        parent: dict[str, str | None] = {start: None}
        stack = [start]
        while stack:
            n = stack.pop()
            if n == goal:
                path = [n]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])  # type: ignore[arg-type]
                return path[::-1]
            for s in succ.get(n, ()):
                if s not in parent:
                    parent[s] = n
                    stack.append(s)
        return None

    def validate_setting(self, node_id: str, key: str, value: Any) -> Any:
        """``value`` coerced for setting ``key`` of the node; raises :class:`ConfigError`.

        ``None`` means "back to the default" and is always valid.
        """
        node = self.node(node_id)
        if value is None:
            return None
        for s in node.settings:
            if s.name == key:
                return s.coerce(value, f"{node.type} '{node_id}'")
        raise ConfigError(f"has no setting '{key}'", f"{node.type} '{node_id}'")

    # -- mutators (called by the commands; each emits its signal) ----------------------------
    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group mutations: shapes are recomputed and ``changed`` emitted once, at the end."""
        self._batch += 1
        try:
            yield
        finally:
            self._batch -= 1
            if self._batch == 0:
                self._flush()

    def insert_node(self, node: Node, index: int | None = None) -> None:
        """Add ``node`` (at ``index`` in document order, default last)."""
        if not node.id or node.id in self._nodes:
            raise GraphError(f"a node id must be unique and not empty (got '{node.id}')")
        node.config = normalize_config(node.type, node.config)
        node.pos = (float(node.pos[0]), float(node.pos[1]))
        items = list(self._nodes.items())
        items.insert(len(items) if index is None else index, (node.id, node))
        self._nodes = dict(items)
        self.node_added.emit(node)
        self._touched(shapes=True)

    def remove_node(self, node_id: str) -> int:
        """Remove a node that has no edges left; returns its former index."""
        node = self.node(node_id)
        if self.edges_of([node_id]):
            raise GraphError(f"'{node_id}' still has connections")
        index = self.index_of(node_id)
        del self._nodes[node_id]
        self.node_removed.emit(node)
        self._touched(shapes=True)
        return index

    def move_node(self, node_id: str, pos: Pos) -> None:
        node = self.node(node_id)
        pos = (float(pos[0]), float(pos[1]))
        if pos != node.pos:
            node.pos = pos
            self.node_moved.emit(node)
            self._touched(shapes=False)

    def set_config(self, node_id: str, config: dict[str, Any]) -> None:
        """Replace a node's settings (normalized: defaults filled, ``None`` dropped)."""
        node = self.node(node_id)
        node.config = normalize_config(node.type, config)
        self.node_config_changed.emit(node)
        self._touched(shapes=True)

    def insert_edge(self, src: str, dst: str, index: int | None = None) -> None:
        """Add ``src → dst`` (at ``index`` in edge order, default last); no validation."""
        self.node(src), self.node(dst)
        if (src, dst) in self._edges:
            raise GraphError(f"'{src}' is already connected to '{dst}'")
        self._edges.insert(len(self._edges) if index is None else index, (src, dst))
        self.edge_added.emit(src, dst)
        self._touched(shapes=True)

    def remove_edge(self, src: str, dst: str) -> int:
        """Remove ``src → dst``; returns its former index."""
        try:
            index = self._edges.index((src, dst))
        except ValueError:
            raise GraphError(f"'{src}' is not connected to '{dst}'") from None
        del self._edges[index]
        self.edge_removed.emit(src, dst)
        self._touched(shapes=True)
        return index

    def replace(self, network: dict[str, Any]) -> None:
        """Replace every node and edge by those of a ``network`` dict; emits ``reset``.

        Raises :class:`GraphError` (and changes nothing) when the dict is malformed.
        """
        nodes, edges = _parse_network(network)
        self._nodes = {n.id: n for n in nodes}
        self._edges = edges
        self.reset.emit()
        self._touched(shapes=True)

    def set_preparation(self, preparation: Any) -> None:
        """The loaded table's ``Preparation`` (``None``: none): the Inputs that take chosen
        columns get their shapes from it; not an undoable edit."""
        if preparation is not self._preparation:
            self._preparation = preparation
            self._touched(shapes=True)

    def set_input_shape(self, shape: Shape | None) -> None:
        """Set the per-sample data shape (``None``: no data); not an undoable edit."""
        shape = _shape(shape)
        if shape != self._input_shape:
            self._input_shape = shape
            self.input_shape_changed.emit(shape)
            self._touched(shapes=True)

    def _touched(self, shapes: bool) -> None:
        if shapes:
            self._report = None
            self._pending_shapes = True
        self._pending_changed = True
        if self._batch == 0:
            self._flush()

    def _flush(self) -> None:
        if self._pending_shapes:
            self._pending_shapes = False
            self.shapes_changed.emit(self.report)
        if self._pending_changed:
            self._pending_changed = False
            self.changed.emit()


def _shape(shape: Any) -> Shape | None:
    return None if shape is None else tuple(int(v) for v in shape)


def _parse_network(network: dict[str, Any]) -> tuple[list[Node], list[Edge]]:
    if not isinstance(network, dict):
        raise GraphError("the network must be an object with 'nodes' and 'edges'")
    nodes: list[Node] = []
    seen: set[str] = set()
    unplaced: list[int] = []  # nodes written without a position (by hand, by a script)
    for i, rec in enumerate(network.get("nodes", [])):
        where = f"network.nodes[{i}]"
        if not isinstance(rec, dict) or "id" not in rec or "type" not in rec:
            raise GraphError("each node needs an 'id' and a 'type'", where)
        node_id = str(rec["id"])
        if not node_id or node_id in seen:
            raise GraphError(f"node id '{node_id}' is empty or used twice", where)
        seen.add(node_id)
        pos = rec.get("pos")
        if pos is None:
            unplaced.append(len(nodes))
            pos = (0.0, 0.0)
        try:
            x, y = (float(v) for v in pos)
        except (TypeError, ValueError):
            raise GraphError(f"'pos' must be [x, y] (got {pos!r})", where) from None
        config = {k: v for k, v in rec.items() if k not in ("id", "type", "pos")}
        nodes.append(Node(node_id, str(rec["type"]), normalize_config(str(rec["type"]), config),
                          (x, y)))
    edges: list[Edge] = []
    for i, e in enumerate(network.get("edges", [])):
        where = f"network.edges[{i}]"
        if not isinstance(e, (list, tuple)) or len(e) != 2:
            raise GraphError(f"an edge must be [source, target] (got {e!r})", where)
        a, b = str(e[0]), str(e[1])
        for end in (a, b):
            if end not in seen:
                raise GraphError(f"edge {a} → {b} names an unknown node '{end}'", where)
        if (a, b) in edges:
            raise GraphError(f"edge {a} → {b} is listed twice", where)
        edges.append((a, b))
    if unplaced:
        # Lay the graph out left to right rather than stack every such node on one spot.
        from nnstudio.core.graph.layout import arrange

        laid = arrange([n.id for n in nodes], edges)
        for i in unplaced:
            nodes[i].pos = laid[nodes[i].id]
    return nodes, edges
