"""Automatic left-to-right layout of a network graph.

Nodes are put in columns by the length of the longest path that reaches them (so data flows
left to right and every edge goes forward), ordered inside a column by the mean position of
their neighbours (fewer crossings), and each weakly connected part of the graph gets its own
band, one below the other.

A long network (a chain of 61 layers) in one row would be a thin strip that only fits the
view at 15 % zoom. Past :data:`WRAP_AFTER` columns the columns are wrapped into rows, read
left to right and top to bottom like a page, with about as many columns per row as makes the
whole picture the shape of a screen (16:10); the edge from a row's last column to the next
row's first goes back across, below the row it leaves.
"""

from __future__ import annotations

import math

from nnstudio.core.graph.document import GraphDocument, Pos

#: Size of a node on the canvas (the Qt view draws nodes this size).
NODE_WIDTH = 160.0
NODE_HEIGHT = 66.0
#: Space between columns and between nodes of one column.
COLUMN_GAP = 44.0
ROW_GAP = 28.0
#: Networks with more columns than this are wrapped into rows.
WRAP_AFTER = 10
#: The width / height the wrapped picture aims at (a screen).
ASPECT = 1.6


def auto_arrange(
    doc: GraphDocument,
    origin: Pos = (0.0, 0.0),
    node_size: tuple[float, float] = (NODE_WIDTH, NODE_HEIGHT),
    gaps: tuple[float, float] = (COLUMN_GAP, ROW_GAP),
) -> dict[str, Pos]:
    """New top-left positions ``{node_id: (x, y)}`` for every node of ``doc``.

    The document is not changed: wrap the result in a
    :class:`~nnstudio.core.graph.commands.MoveNodes` command to apply it undoably.
    """
    return arrange(doc.node_ids, doc.edges, origin, node_size, gaps)


def arrange(
    ids: list[str],
    edges: list[tuple[str, str]],
    origin: Pos = (0.0, 0.0),
    node_size: tuple[float, float] = (NODE_WIDTH, NODE_HEIGHT),
    gaps: tuple[float, float] = (COLUMN_GAP, ROW_GAP),
) -> dict[str, Pos]:
    """:func:`auto_arrange` of a graph given as node ids and ``(source, target)`` edges."""
    if not ids:
        return {}
    w, h = node_size
    gx, gy = gaps
    out: dict[str, Pos] = {}
    y0 = origin[1]
    for comp in _components(ids, edges):
        cols = _columns(comp, [e for e in edges if e[0] in comp])
        for band in _wrap(cols, w + gx, h + gy):
            tallest = max(len(c) for c in band)
            height = tallest * h + (tallest - 1) * gy
            for ci, col in enumerate(band):
                col_h = len(col) * h + (len(col) - 1) * gy
                top = y0 + (height - col_h) / 2
                for ri, node_id in enumerate(col):
                    out[node_id] = (origin[0] + ci * (w + gx), top + ri * (h + gy))
            y0 += height + 2 * gy
    return out


def columns_per_row(n_columns: int, tallest: int, column_width: float,
                    row_height: float) -> int:
    """How many columns a row holds so that the wrapped picture is about :data:`ASPECT`
    wide per unit of height; ``n_columns`` when the network is short enough for one row."""
    if n_columns <= WRAP_AFTER:
        return n_columns
    band = tallest * row_height + 2 * ROW_GAP
    per_row = math.ceil(math.sqrt(ASPECT * n_columns * band / column_width))
    return max(4, min(n_columns, per_row))


def _wrap(cols: list[list[str]], column_width: float, row_height: float
          ) -> list[list[list[str]]]:
    """The columns cut into rows of :func:`columns_per_row` columns."""
    per_row = columns_per_row(len(cols), max(len(c) for c in cols), column_width, row_height)
    return [cols[i:i + per_row] for i in range(0, len(cols), per_row)]


def _components(ids: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    parent = {n: n for n in ids}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for n in ids:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())


def _columns(ids: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Nodes by longest-path layer, each column ordered to reduce edge crossings."""
    position = {n: i for i, n in enumerate(ids)}
    preds: dict[str, list[str]] = {n: [] for n in ids}
    succ: dict[str, list[str]] = {n: [] for n in ids}
    for a, b in edges:
        preds[b].append(a)
        succ[a].append(b)
    indeg = {n: len(preds[n]) for n in ids}
    ready = [n for n in ids if indeg[n] == 0]
    layer: dict[str, int] = {}
    while ready:
        ready.sort(key=position.__getitem__)
        n = ready.pop(0)
        layer[n] = max((layer[p] + 1 for p in preds[n] if p in layer), default=0)
        for s in succ[n]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    # A cycle (only possible in a hand-edited file): put what is left after the rest.
    for n in ids:
        if n not in layer:
            layer[n] = max(layer.values(), default=-1) + 1
    cols: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for n in ids:
        cols[layer[n]].append(n)
    # Two barycentre sweeps: left to right by predecessors, then right to left by successors.
    for neighbours, order in ((preds, range(1, len(cols))),
                              (succ, range(len(cols) - 2, -1, -1))):
        for ci in order:
            ref = {n: i for c in cols for i, n in enumerate(c)}

            def key(n: str, nb: dict[str, list[str]] = neighbours,
                    ref: dict[str, int] = ref) -> tuple[float, int]:
                ps = nb[n]
                bary = sum(ref[p] for p in ps) / len(ps) if ps else ref[n]
                return bary, position[n]

            cols[ci].sort(key=key)
    return cols
