"""Fixtures for the io tests: projects on real data and trained models (built once a session).

Every model is trained briefly (one or a few epochs on real data, MNIST on a 1,200-image
subset written to a temporary NPZ): the tests check files, exports and parity, not accuracy.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.io.pipeline import load_data, run_training
from nnstudio.core.io.project import Project

MNIST_SUBSET = 1200


def make_project(dataset: dict, nodes: list, edges: list | None = None, base_dir=None,
                 **training) -> Project:
    """A validated project; ``edges`` default to a chain through ``nodes`` in order."""
    if edges is None:
        edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
    train = {"loss": "mse", "optimizer": {"type": "adam", "learning_rate": 0.01},
             "batch_size": 64, "epochs": 2, "seed": 0}
    train.update(training)
    d = {"format": "nnstudio.project", "version": 2, "dataset": dataset,
         "network": {"nodes": nodes, "edges": edges}, "training": train}
    return Project.from_dict(d, base_dir=base_dir, where="test project")


def chain(*layers) -> list[dict]:
    """Nodes from ``("Dense", {"units": 8})`` / ``"ReLU"`` items, ids n0, n1, ..."""
    out = []
    for i, item in enumerate(layers):
        kind, cfg = (item, {}) if isinstance(item, str) else item
        out.append({"id": f"n{i}", "type": kind, **cfg})
    return out


def trained(project: Project):
    prepared = load_data(project)
    return run_training(project, prepared), prepared


@pytest.fixture(scope="session")
def mnist_npz(datasets, tmp_path_factory) -> Path:
    """The first 1,200 MNIST test images and labels as an NPZ (``x`` uint8, ``y``)."""
    from nnstudio.core.data import load_idx

    d = datasets / "mnist-t10k"
    data = load_idx(d / "t10k-images-idx3-ubyte.gz", d / "t10k-labels-idx1-ubyte.gz")
    path = tmp_path_factory.mktemp("mnist") / "mnist_subset.npz"
    np.savez(path, x=data.x[:MNIST_SUBSET], y=data.y[:MNIST_SUBSET])
    return path


def kc_dataset(datasets: Path) -> dict:
    return {"source": str(datasets / "house" / "kc_house_data.csv"), "target": "price",
            "ignore": ["id"], "categorical": ["zipcode"], "scaling": "standard",
            "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 0}}


@pytest.fixture(scope="session")
def kc_model(datasets):
    """King County prices: 18 numeric columns (one a date) + zipcode one-hot (70 values)."""
    project = make_project(
        kc_dataset(datasets),
        chain("Input", ("Dense", {"units": 32}), "ReLU", ("Dense", {"units": 1})),
        epochs=1, batch_size=128,
    )
    return trained(project)


@pytest.fixture(scope="session")
def salary_model(datasets):
    project = make_project(
        {"source": str(datasets / "salary" / "Salary_Data.csv"), "target": "Salary"},
        chain("Input", ("Dense", {"units": 1})), epochs=50, batch_size=8,
        optimizer={"type": "sgd", "learning_rate": 0.05, "momentum": 0.9},
    )
    return trained(project)


def mnist_dataset(path: Path, scaling: str = "minmax") -> dict:
    return {"source": str(path), "scaling": scaling,
            "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 0}}


@pytest.fixture(scope="session")
def mnist_mlp(mnist_npz):
    project = make_project(
        mnist_dataset(mnist_npz),
        chain("Input", "Flatten", ("Dense", {"units": 32}), "ReLU", ("Dropout", {"rate": 0.2}),
              ("Dense", {"units": 10}), "Softmax"),
        loss="cross_entropy", epochs=2,
    )
    return trained(project)


#: A small convolutional network with every image layer, a residual Add and a Concatenate.
CONV_NODES = [
    {"id": "in", "type": "Input"},
    {"id": "img", "type": "Reshape", "shape": [1, 28, 28]},
    {"id": "c1", "type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"},
    {"id": "bn", "type": "BatchNorm"},
    {"id": "a1", "type": "ReLU"},
    {"id": "mp", "type": "MaxPool2D", "pool_size": 2},
    {"id": "c2", "type": "Conv2D", "filters": 4, "kernel_size": [3, 3], "strides": 2},
    {"id": "a2", "type": "LeakyReLU", "alpha": 0.1},
    {"id": "ap", "type": "AvgPool2D", "pool_size": 3, "strides": 2, "padding": "same"},
    {"id": "gap", "type": "GlobalAvgPool2D"},
    {"id": "flat", "type": "Flatten"},
    {"id": "d1", "type": "Dense", "units": 4},
    {"id": "res", "type": "Add"},
    {"id": "cat", "type": "Concatenate"},
    {"id": "bn2", "type": "BatchNorm"},
    {"id": "t", "type": "Tanh"},
    {"id": "out", "type": "Dense", "units": 10},
    {"id": "p", "type": "Softmax"},
]
CONV_EDGES = [
    ["in", "img"], ["img", "c1"], ["c1", "bn"], ["bn", "a1"], ["a1", "mp"], ["mp", "c2"],
    ["c2", "a2"], ["a2", "ap"], ["ap", "gap"], ["ap", "flat"], ["flat", "d1"], ["gap", "res"],
    ["d1", "res"], ["flat", "cat"], ["res", "cat"], ["cat", "bn2"], ["bn2", "t"], ["t", "out"],
    ["out", "p"],
]


@pytest.fixture(scope="session")
def mnist_conv(mnist_npz):
    project = make_project(mnist_dataset(mnist_npz), CONV_NODES, CONV_EDGES,
                           loss="cross_entropy", epochs=1)
    return trained(project)


#: Images read row by row as sequences (28 steps of 28 pixels) through every recurrent layer.
RNN_NODES = chain(
    "Input", ("LSTM", {"units": 8, "return_sequences": True}),
    ("GRU", {"units": 8, "return_sequences": True}), ("SimpleRNN", {"units": 8}),
    ("Dense", {"units": 10}), "Softmax",
)


@pytest.fixture(scope="session")
def mnist_rnn(mnist_npz):
    project = make_project(mnist_dataset(mnist_npz, "standard"), RNN_NODES,
                           loss="cross_entropy", epochs=1)
    return trained(project)
