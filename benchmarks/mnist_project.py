"""The MNIST MLP project the benchmarks share (data from ``../shared/datasets/mnist-t10k/``,
paths absolute: the project files live in temporary folders)."""

from __future__ import annotations

import itertools
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "mnist-t10k"


def mnist_project(hidden: tuple[int, ...] = (128,), epochs: int = 1, batch_size: int = 64,
                  title: str = "MNIST MLP benchmark", version: int = 1) -> dict:
    """Input → Flatten → (Dense h → ReLU)* → Dense 10 → Softmax, Adam 1e-3, 70/15/15 split."""
    nodes = [{"id": "in", "type": "Input"}, {"id": "flat", "type": "Flatten"}]
    for i, units in enumerate(hidden, 1):
        nodes += [{"id": f"h{i}", "type": "Dense", "units": units},
                  {"id": f"a{i}", "type": "ReLU"}]
    nodes += [{"id": "out", "type": "Dense", "units": 10}, {"id": "p", "type": "Softmax"}]
    for i, node in enumerate(nodes):
        node["pos"] = [250 * i, 100]
    edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
    return {
        "format": "nnstudio.project", "version": version, "title": title,
        "dataset": {
            "source": str(DATA / "t10k-images-idx3-ubyte.gz"),
            "labels": str(DATA / "t10k-labels-idx1-ubyte.gz"),
            "scaling": "standard",
            "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 0},
        },
        "network": {"nodes": nodes, "edges": edges},
        "training": {
            "loss": "cross_entropy", "optimizer": {"type": "adam", "learning_rate": 0.001},
            "batch_size": batch_size, "epochs": epochs, "seed": 0,
        },
    }
