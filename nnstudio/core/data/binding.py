"""Which data goes in at each Input and which target comes out at each Output.

A network may have several ``Input`` layers when its data is a table: each Input's
``columns`` setting names the table columns it takes (an Input with none takes every feature
column no other Input takes). The data is still prepared into one ``(N, F)`` matrix; the
network gives each Input the matrix columns that came from its table columns (a categorical
column's one-hot block, a date's parts, a text column's bag-of-words or token ids).

A network predicts several targets when it ends in ``Output`` layers that name them (one
column each). :func:`output_targets` reads them; :func:`input_columns` maps Inputs to matrix
columns. Both raise a :class:`GraphError` naming the node when the design cannot work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnstudio.core.engine.layer import layer_class
from nnstudio.core.engine.network import NetworkSpec
from nnstudio.core.errors import GraphError


def _where(spec: NetworkSpec, node_id: str) -> str:
    return f"{spec.node(node_id).type} '{node_id}'"


def _fail(spec: NetworkSpec, node_id: str, message: str) -> GraphError:
    """A :class:`GraphError` placed at ``node_id``; ``.node`` holds the id (the canvas marks
    that node)."""
    err = GraphError(message, _where(spec, node_id))
    err.node = node_id
    return err


def _settings(node: Any) -> dict[str, Any]:
    """A node's settings as the layer reads them ("a, b" typed for columns is a list)."""
    return layer_class(node.type).validate_config(node.config, f"{node.type} '{node.id}'")


def output_targets(spec: NetworkSpec) -> list[tuple[str, str]] | None:
    """``[(target column, loss)]`` of the network's Output layers, in node order, or None
    when no Output names a target (the dataset's target and the training loss apply)."""
    outs = [(n, _settings(n)) for n in spec.nodes if n.type == "Output"]
    if not any(c["target"] for _, c in outs):
        return None
    result, seen = [], {}
    for n, config in outs:
        target = config["target"]
        if not target:
            raise _fail(spec, n.id, "name the target column this output predicts (the "
                        "other Outputs name theirs)")
        if target in seen:
            raise _fail(spec, n.id, f"predicts {target!r}, as Output '{seen[target]}' does: "
                        "each target has one Output")
        seen[target] = n.id
        result.append((target, config["loss"]))
    return result


def several_inputs(spec: NetworkSpec) -> bool:
    """True when the Inputs take chosen columns (several Inputs, or one with columns)."""
    inputs = [n for n in spec.nodes if n.type == "Input"]
    return len(inputs) > 1 or any(_settings(n)["columns"] for n in inputs)


def feature_blocks(preparation: Any) -> dict[str, list[int]]:
    """``{table column: prepared-matrix columns}`` of a table's preparation, in order."""
    blocks: dict[str, list[int]] = {}
    j = 0
    for f in preparation.features:
        width = len(preparation.output_names_of(f))
        blocks[f["name"]] = list(range(j, j + width))
        j += width
    text = getattr(preparation, "text", None)
    if text is not None:
        blocks[text.column] = list(range(j, j + text.n_features))
    return blocks


def input_columns(spec: NetworkSpec, preparation: Any) -> dict[str, np.ndarray] | None:
    """``{Input id: int array of prepared-matrix columns}``, or None when the network's one
    Input takes the whole sample. Raises :class:`GraphError` at the Input at fault."""
    if not several_inputs(spec):
        return None
    inputs = [n for n in spec.nodes if n.type == "Input"]
    if preparation is None or getattr(preparation, "array", None) is not None \
            or (not getattr(preparation, "features", None) and getattr(
                preparation, "text", None) is None):
        raise _fail(spec, inputs[0].id, "an Input that takes chosen columns needs a table "
                    "(CSV) as data; image, sound and corpus data have one Input")
    blocks = feature_blocks(preparation)
    taken: dict[str, str] = {}
    out: dict[str, np.ndarray] = {}
    chosen = {n.id: _settings(n)["columns"] for n in inputs}
    rest = [n for n in inputs if not chosen[n.id]]
    if len(rest) > 1:
        raise _fail(spec, rest[1].id, f"Inputs {', '.join(repr(n.id) for n in rest)} both "
                    "take 'the remaining columns': choose the columns of all but one")
    for n in inputs:
        cols = chosen[n.id]
        for c in cols:
            if c not in blocks:
                raise _fail(spec, n.id, f"takes column {c!r}, which is not a feature of the "
                            f"data (features: {', '.join(blocks)})")
            if c in taken:
                raise _fail(spec, n.id,
                            f"takes column {c!r}, which Input '{taken[c]}' takes too")
            taken[c] = n.id
        out[n.id] = np.array([j for c in cols for j in blocks[c]], np.intp)
    for n in rest:
        left = [c for c in blocks if c not in taken]
        if not left:
            raise _fail(spec, n.id, "takes the remaining feature columns, but the other "
                        "Inputs take them all")
        out[n.id] = np.array([j for c in left for j in blocks[c]], np.intp)
    return out
