"""Validate the ``network`` section of a project file, collecting every problem with its place.

The section is first read as plain records (``{"id", "type", settings..., "pos"}`` and
``[source, target]`` edges), each checked on its own so that one bad node does not hide the
next; then, when every record is sound, the graph as a whole is checked with
:func:`~nnstudio.core.engine.network.infer_shapes` (cycles, inputs, outputs, connections and,
when the data's shape is known, every layer's shapes).

Places read like ``network.nodes[3] 'out'`` and ``network.edges[2]``.
"""

from __future__ import annotations

import math
from typing import Any

import nnstudio.core.engine  # noqa: F401  (registers every layer type)
from nnstudio.core.engine.layer import LAYERS
from nnstudio.core.engine.network import NetworkSpec, infer_shapes
from nnstudio.core.errors import NNStudioError

#: A problem: ``(place, message)``.
Problem = tuple[str, str]

_NODE_KEYS = ("id", "type", "pos")


def node_place(index: int, node_id: Any) -> str:
    """``network.nodes[3] 'out'`` (or ``network.nodes[3]`` when the id is unusable)."""
    return f"network.nodes[{index}] {node_id!r}" if isinstance(node_id, str) else (
        f"network.nodes[{index}]"
    )


def check_network(network: Any, input_shape: tuple[int, ...] | None = None,
                  input_columns: dict | None = None) -> list[Problem]:
    """Every problem of a project-file ``network`` section; ``[]`` when it is sound.

    Parameters
    ----------
    network:
        The parsed JSON value of the section.
    input_shape:
        The data's per-sample shape when known (e.g. ``(13,)`` or ``(1, 28, 28)``): then the
        shapes of every layer are checked too. ``None`` checks only what does not need data.
    input_columns:
        The prepared-matrix columns of each Input that takes chosen columns
        (:func:`nnstudio.core.data.binding.input_columns`).
    """
    if not isinstance(network, dict):
        return [("network", "must be an object with 'nodes' and 'edges'")]
    problems: list[Problem] = []
    unknown = sorted(set(network) - {"nodes", "edges"})
    if unknown:
        problems.append(("network", f"unknown field {', '.join(map(repr, unknown))}"))
    nodes = network.get("nodes")
    edges = network.get("edges", [])
    sound = True
    if not isinstance(nodes, list):
        problems.append(("network.nodes", "must be a list of layers"))
        nodes, sound = [], False
    if not isinstance(edges, list):
        problems.append(("network.edges", "must be a list of [source, target] pairs"))
        edges, sound = [], False
    place_of: dict[str, str] = {}
    for i, rec in enumerate(nodes):
        node_problems = _check_node(i, rec, place_of)
        problems += node_problems
        sound = sound and not node_problems
    seen_edges: set[tuple[str, str]] = set()
    for j, edge in enumerate(edges):
        where = f"network.edges[{j}]"
        if (not isinstance(edge, (list, tuple)) or len(edge) != 2
                or not all(isinstance(e, str) for e in edge)):
            problems.append((where, f"must be a pair of node ids [source, target] (got {edge!r})"))
            sound = False
            continue
        a, b = edge
        missing = [e for e in (a, b) if e not in place_of]
        if missing:
            problems.append((where, f"no node with id {missing[0]!r}"))
            sound = False
        elif a == b:
            problems.append((where, f"connects {a!r} to itself"))
            sound = False
        elif (a, b) in seen_edges:
            problems.append((where, f"connects {a!r} to {b!r} a second time"))
            sound = False
        seen_edges.add((a, b))
    if not nodes and isinstance(network.get("nodes"), list):
        problems.append(("network.nodes", "the network has no layers"))
    if sound and nodes:
        problems += shape_problems(network, input_shape, place_of, input_columns)
    return problems


def _check_node(i: int, rec: Any, place_of: dict[str, str]) -> list[Problem]:
    if not isinstance(rec, dict):
        return [(f"network.nodes[{i}]", "must be an object like {\"id\": \"h1\", \"type\": ...}")]
    node_id = rec.get("id")
    where = node_place(i, node_id)
    problems: list[Problem] = []
    if not isinstance(node_id, str) or not node_id.strip():
        problems.append((where, f"needs an 'id' that is a non-empty text (got {node_id!r})"))
    elif node_id in place_of:
        problems.append((where, f"has the same id as {place_of[node_id]}"))
    else:
        place_of[node_id] = where
    type_name = rec.get("type")
    cls = LAYERS.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        known = ", ".join(sorted(LAYERS))
        problems.append((where, f"unknown layer type {type_name!r} (known: {known})"))
    else:
        for key, value in rec.items():
            if key in _NODE_KEYS:
                continue
            try:
                cls.validate_config({key: value}, where)
            except NNStudioError as e:
                problems.append((where, f"{type_name} {e.message}"))
    pos = rec.get("pos")
    if pos is not None and not (
        isinstance(pos, (list, tuple)) and len(pos) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in pos)
    ):
        problems.append((where, f"'pos' must be [x, y] (got {pos!r})"))
    return problems


def shape_problems(
    network: dict, input_shape: tuple[int, ...] | None, place_of: dict[str, str] | None = None,
    input_columns: dict | None = None,
) -> list[Problem]:
    """Graph and shape problems of a well-formed section, placed at their nodes.

    Without ``input_shape`` the Input's "shape unknown" (and so every shape check downstream
    of it) is skipped: only the structure is checked.
    """
    spec = NetworkSpec.from_dict(network)
    if place_of is None:
        place_of = {n["id"]: node_place(i, n["id"]) for i, n in enumerate(network["nodes"])}
    report = infer_shapes(spec, input_shape, input_columns)
    problems: list[Problem] = [("network", msg) for msg in report.graph_errors]
    for ns in spec.nodes:
        result = report.nodes[ns.id]
        if not result.error:
            continue
        if ns.type == "Input" and not ns.config.get("shape") and (
                input_shape is None or (input_columns is None and sum(
                    n.type == "Input" for n in spec.nodes) > 1)):
            continue  # its shape comes with the data (and the columns it takes)
        msg = result.error
        prefix = f"{ns.type} '{ns.id}': "
        msg = f"{ns.type} {msg[len(prefix):]}" if msg.startswith(prefix) else msg
        problems.append((place_of.get(ns.id, f"network node {ns.id!r}"), msg))
    return problems


def format_problems(problems: list[Problem]) -> str:
    """One line for one problem; a count and an indented list for several."""
    lines = [f"{where}: {msg}" if where else msg for where, msg in problems]
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems:\n  " + "\n  ".join(lines)
