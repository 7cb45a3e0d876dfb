"""Helpers of the PyTorch export tests: networks covering every layer type, loading the
exported Python files, comparing arrays."""

from __future__ import annotations

import importlib
import itertools
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from nnstudio.core.engine.network import Network, NetworkSpec, NodeSpec
from nnstudio.core.io.export_pytorch import FILES
from nnstudio.core.io.export_pytorch.model_code import render_model

GENERATED = ("model", "data", "train", "nnstudio_layers", "nnstudio_sequence")


def spec(nodes: list[tuple], edges: list[tuple[str, str]] | None = None) -> NetworkSpec:
    """``[(id, type, config), ...]``; edges default to a chain in node order."""
    ns = [NodeSpec(i, t, dict(c)) for i, t, c in nodes]
    if edges is None:
        edges = [(a.id, b.id) for a, b in itertools.pairwise(ns)]
    return NetworkSpec(ns, list(edges))


#: name → (spec, per-sample input shape, loss): together every layer type, several settings.
NETWORKS = {
    "dense": (spec([
        ("in", "Input", {}), ("h1", "Dense", {"units": 7}), ("a1", "ReLU", {}),
        ("h2", "Dense", {"units": 6, "use_bias": False}), ("a2", "Tanh", {}),
        ("bn", "BatchNorm", {"momentum": 0.8, "epsilon": 1e-3}),
        ("h3", "Dense", {"units": 5}), ("a3", "LeakyReLU", {"alpha": 0.2}),
        ("drop", "Dropout", {"rate": 0.3}), ("h4", "Dense", {"units": 4}),
        ("a4", "Sigmoid", {}), ("out", "Dense", {"units": 3}), ("p", "Softmax", {}),
    ]), (6,), "cross_entropy"),
    "conv": (spec([
        ("in", "Input", {}), ("c1", "Conv2D", {"filters": 4, "kernel_size": [3, 3],
                                                "padding": "same"}),
        ("bn", "BatchNorm", {}), ("r", "ReLU", {}),
        ("mp", "MaxPool2D", {"pool_size": [2, 2], "padding": "same"}),
        ("c2", "Conv2D", {"filters": 3, "kernel_size": [2, 3], "strides": [2, 1],
                          "use_bias": False}),
        ("ap", "AvgPool2D", {"pool_size": [2, 2], "strides": [1, 1], "padding": "same"}),
        ("c3", "Conv2D", {"filters": 5, "kernel_size": [2, 2], "strides": [2, 2],
                          "padding": "same"}),
        ("gap", "GlobalAvgPool2D", {}), ("out", "Dense", {"units": 1}), ("s", "Sigmoid", {}),
    ]), (2, 9, 9), "binary_cross_entropy"),
    "image_row": (spec([
        ("in", "Input", {}), ("rs", "Reshape", {"shape": [1, -1, 4]}),
        ("c", "Conv2D", {"filters": 2, "kernel_size": [3, 3]}),
        ("avg", "AvgPool2D", {"pool_size": [2, 1]}), ("f", "Flatten", {}),
        ("out", "Dense", {"units": 2}), ("lin", "Linear", {}),
    ]), (24,), "mse"),
    "merge": (spec([
        ("in", "Input", {}), ("a", "Dense", {"units": 4}), ("b", "Dense", {"units": 4}),
        ("c", "Dense", {"units": 4}), ("sum", "Add", {}), ("cat", "Concatenate", {}),
        ("cat0", "Concatenate", {"axis": 0}), ("out", "Dense", {"units": 2}),
    ], [("in", "a"), ("in", "b"), ("in", "c"), ("c", "sum"), ("a", "sum"), ("b", "sum"),
        ("sum", "cat"), ("b", "cat"), ("cat", "cat0"), ("a", "cat0"), ("cat0", "out")]),
        (5,), "mae"),
    "recurrent": (spec([
        ("in", "Input", {}), ("rs", "Reshape", {"shape": [4, 3]}),
        ("lstm", "LSTM", {"units": 5, "return_sequences": True}),
        ("gru", "GRU", {"units": 4, "return_sequences": True}),
        ("rnn", "SimpleRNN", {"units": 3}), ("out", "Dense", {"units": 2}),
        ("p", "Softmax", {}),
    ]), (12,), "cross_entropy"),
    "recurrent_last": (spec([
        ("in", "Input", {}), ("gru", "GRU", {"units": 3}),
        ("to_seq", "Reshape", {"shape": [3, 1]}), ("lstm", "LSTM", {"units": 2}),
        ("out", "Dense", {"units": 1}),
    ]), (5, 2), "mse"),
}


def network(name: str, seed: int = 0) -> Network:
    """The named network with every parameter and state made non-trivial (biases, running
    statistics and BatchNorm scales away from their initial 0/1)."""
    s, shape, _ = NETWORKS[name]
    net = Network(s, shape, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for node_id in net.order:
        layer = net.layers[node_id]
        for key, arr in {**layer.params, **layer.state}.items():
            if key in ("b", "beta", "gamma", "running_mean"):
                arr += rng.uniform(-0.5, 0.5, arr.shape).astype(arr.dtype)
            elif key == "running_var":
                arr[...] = rng.uniform(0.5, 2.0, arr.shape)
    return net


def batch(name: str, n: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets in the form the network's loss takes."""
    s, shape, loss = NETWORKS[name]
    net = Network(s, shape)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    k = int(np.prod(net.output_shape))
    if loss == "cross_entropy":
        y = rng.integers(0, k, n)
    elif loss == "binary_cross_entropy":
        y = rng.integers(0, 2, (n, 1)).astype(np.float32)
    else:
        y = rng.normal(size=(n, k)).astype(np.float32)
    return x, y


@contextmanager
def exported_modules(folder: Path):
    """Import ``model``, ``nnstudio_layers`` (and ``data``/``train`` when present) of an
    exported folder, fresh; yields a namespace of the modules."""
    saved = {m: sys.modules.pop(m) for m in GENERATED if m in sys.modules}
    sys.path.insert(0, str(folder))
    try:
        mods = {m: importlib.import_module(m) for m in GENERATED
                if (folder / f"{m}.py").is_file()}
        yield SimpleNamespace(**mods)
    finally:
        sys.path.remove(str(folder))
        for m in GENERATED:
            sys.modules.pop(m, None)
        sys.modules.update(saved)


def write_model(folder: Path, name: str) -> Path:
    """``model.py``, ``nnstudio_layers.py`` and ``train.py`` of a named network."""
    s, shape, loss = NETWORKS[name]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.py").write_text(render_model(s, shape, loss, name).source)
    for f in ("nnstudio_layers.py", "nnstudio_sequence.py", "train.py", "data.py"):
        shutil.copyfile(FILES / f, folder / f)
    return folder


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max |b| (the plain difference when b is all zeros)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = float(np.abs(b).max()) if b.size else 0.0
    return float(np.abs(a - b).max() / scale) if scale else float(np.abs(a - b).max())
