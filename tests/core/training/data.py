"""A small network and the XOR data set, shared by the trainer and worker tests."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine import NetworkSpec


def mlp(n_in=2, hidden=8, n_out=2, head="Softmax", act="Tanh") -> NetworkSpec:
    """Input → Dense ``hidden`` → ``act`` → Dense ``n_out`` [→ ``head``]."""
    nodes = [
        {"id": "in", "type": "Input"},
        {"id": "h", "type": "Dense", "units": hidden},
        {"id": "a", "type": act},
        {"id": "o", "type": "Dense", "units": n_out},
    ]
    edges = [["in", "h"], ["h", "a"], ["a", "o"]]
    if head:
        nodes.append({"id": "p", "type": head})
        edges.append(["o", "p"])
    return NetworkSpec.from_dict({"nodes": nodes, "edges": edges})


def xor(n=200, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """``x (n, 2)`` float32 in [−1, 1], ``y (n,)`` int64: 1 where the signs differ."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    return x, y
