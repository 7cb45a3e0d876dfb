"""Small networks and data for the insight tests."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine import Network, NetworkSpec, NodeSpec


def mlp(
    widths=(8, 8), act="ReLU", out="Softmax", n_in=2, n_out=2, dtype=np.float64, seed=1,
    dropout=None,
) -> Network:
    """Input(n_in) → [Dense w → act (→ Dropout)]* → Dense n_out → out."""
    nodes = [NodeSpec("in", "Input")]
    edges = []
    prev = "in"
    for i, w in enumerate(widths, 1):
        nodes += [NodeSpec(f"h{i}", "Dense", {"units": w}), NodeSpec(f"a{i}", act)]
        edges += [(prev, f"h{i}"), (f"h{i}", f"a{i}")]
        prev = f"a{i}"
        if dropout:
            nodes.append(NodeSpec(f"d{i}", "Dropout", {"rate": dropout}))
            edges.append((prev, f"d{i}"))
            prev = f"d{i}"
    nodes.append(NodeSpec("out", "Dense", {"units": n_out}))
    edges.append((prev, "out"))
    if out:
        nodes.append(NodeSpec("p", out))
        edges.append(("out", "p"))
    return Network(NetworkSpec(nodes, edges), (n_in,), dtype=dtype, seed=seed)


def neuron(act=None, dtype=np.float64, seed=0) -> Network:
    """The course's one-neuron model: Input(1) → Dense 1 [→ act]."""
    nodes = [NodeSpec("in", "Input"), NodeSpec("lin", "Dense", {"units": 1})]
    edges = [("in", "lin")]
    if act:
        nodes.append(NodeSpec("act", act))
        edges.append(("lin", "act"))
    return Network(NetworkSpec(nodes, edges), (1,), dtype=dtype, seed=seed)


def xor_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    return x, y
