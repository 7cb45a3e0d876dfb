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
        ("out", "Dense", {"units": 2}), ("lin", "Linear", {}), ("o", "Output", {}),
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
    # -- sequences and text ------------------------------------------------------------------
    "transformer": (spec([
        ("in", "Input", {}), ("emb", "Embedding", {"vocab_size": 11, "dim": 8}),
        ("pos", "PositionalEmbedding", {"kind": "learned", "max_length": 9}),
        ("att", "MultiHeadAttention", {"heads": 2}), ("res", "Add", {}),
        ("ln", "LayerNorm", {"epsilon": 1e-4}), ("ff", "Dense", {"units": 8}),
        ("gelu", "GELU", {}), ("gap", "GlobalAvgPool1D", {}), ("out", "Dense", {"units": 3}),
        ("p", "Softmax", {}),
    ], [("in", "emb"), ("emb", "pos"), ("pos", "att"), ("pos", "res"), ("att", "res"),
        ("res", "ln"), ("ln", "ff"), ("ff", "gelu"), ("gelu", "gap"), ("gap", "out"),
        ("out", "p")]), (6,), "cross_entropy"),
    "gpt": (spec([
        ("in", "Input", {}), ("emb", "Embedding", {"vocab_size": 9, "dim": 6}),
        ("pos", "PositionalEmbedding", {"kind": "sinusoidal", "max_length": 8}),
        ("att", "MultiHeadAttention", {"heads": 2, "key_dim": 4, "causal": True,
                                       "use_bias": False}),
        ("ln", "LayerNorm", {}), ("gelu", "GELU", {"approximate": True}),
        ("out", "Dense", {"units": 9}), ("p", "Softmax", {}),
    ]), (5,), "cross_entropy"),
    "lm_last": (spec([
        ("in", "Input", {}), ("emb", "Embedding", {"vocab_size": 7, "dim": 4}),
        ("conv", "Conv1D", {"filters": 4, "kernel_size": 2, "padding": "causal"}),
        ("att", "MultiHeadAttention", {"heads": 1, "causal": True}),
        ("last", "LastPosition", {}), ("out", "Dense", {"units": 3}), ("p", "Softmax", {}),
    ]), (6,), "cross_entropy"),
    "text_pool": (spec([
        ("in", "Input", {}), ("emb", "Embedding", {"vocab_size": 8, "dim": 4}),
        ("mp", "MaxPool1D", {"pool_size": 2}), ("gap", "GlobalAvgPool1D", {}),
        ("raw", "Embedding", {"vocab_size": 8, "dim": 4, "mask_padding": False}),
        ("gap2", "GlobalAvgPool1D", {}), ("last", "LastPosition", {}),
        ("cat", "Concatenate", {}), ("out", "Dense", {"units": 1}),
    ], [("in", "emb"), ("emb", "mp"), ("mp", "gap"), ("in", "raw"), ("raw", "gap2"),
        ("emb", "last"), ("gap", "cat"), ("gap2", "cat"), ("last", "cat"), ("cat", "out")]),
        (7,), "mse"),
    "seq_conv": (spec([
        ("in", "Input", {}),
        ("c1", "Conv1D", {"filters": 4, "kernel_size": 3, "padding": "same"}),
        ("bn", "BatchNorm", {"momentum": 0.7}), ("elu", "ELU", {"alpha": 0.7}),
        ("mp", "MaxPool1D", {"pool_size": 3, "strides": 2, "padding": "same"}),
        ("c2", "Conv1D", {"filters": 4, "kernel_size": 2, "padding": "causal",
                          "dilation_rate": 2, "groups": 2, "use_bias": False}),
        ("silu", "SiLU", {}),
        ("ap", "AvgPool1D", {"pool_size": 3, "strides": 1, "padding": "same"}),
        ("c3", "Conv1D", {"filters": 3, "kernel_size": 2, "strides": 2}),
        ("sp", "Softplus", {}), ("gap", "GlobalAvgPool1D", {}), ("out", "Dense", {"units": 1}),
    ]), (12, 3), "mse"),
    "bidirectional": (spec([
        ("in", "Input", {}),
        ("lstm", "Bidirectional", {"layer": "LSTM", "units": 3, "return_sequences": True}),
        ("rnn", "Bidirectional", {"layer": "SimpleRNN", "units": 3, "return_sequences": True,
                                  "merge_mode": "sum"}),
        ("gru", "Bidirectional", {"layer": "GRU", "units": 2}),
        ("gru_sum", "Bidirectional", {"layer": "GRU", "units": 2, "merge_mode": "sum"}),
        ("cat", "Concatenate", {}), ("out", "Dense", {"units": 2}), ("p", "Softmax", {}),
    ], [("in", "lstm"), ("lstm", "rnn"), ("rnn", "gru"), ("lstm", "gru_sum"),
        ("gru", "cat"), ("gru_sum", "cat"), ("cat", "out"), ("out", "p")]),
        (6, 3), "cross_entropy"),
    "permute": (spec([
        ("in", "Input", {}), ("c", "Conv2D", {"filters": 3, "kernel_size": [2, 2],
                                              "padding": "same"}),
        ("perm", "Permute", {"dims": [3, 1, 2]}), ("rs", "Reshape", {"shape": [4, 15]}),
        ("prelu", "PReLU", {}), ("swap", "Permute", {"dims": [2, 1]}),
        ("gru", "GRU", {"units": 3}), ("out", "Dense", {"units": 1}),
    ]), (3, 5, 4), "mse"),
    # -- images ---------------------------------------------------------------------------------
    "autoencoder": (spec([
        ("in", "Input", {}), ("enc", "Conv2D", {"filters": 4, "kernel_size": [3, 3],
                                                "strides": [2, 2], "padding": "same"}),
        ("r", "ReLU", {}),
        ("dec", "Conv2DTranspose", {"filters": 3, "kernel_size": [3, 3], "strides": [2, 2]}),
        ("prelu", "PReLU", {"alpha_init": 0.1}),
        ("wide", "Conv2DTranspose", {"filters": 2, "kernel_size": [2, 1], "strides": [3, 2],
                                     "use_bias": True}),
        ("mp", "MaxPool2D", {"pool_size": [3, 2]}),
        ("valid", "Conv2DTranspose", {"filters": 2, "kernel_size": [2, 3], "strides": [1, 1],
                                      "padding": "valid", "use_bias": False}),
        ("up", "UpSampling2D", {"size": [1, 2]}),
        ("out", "Conv2D", {"filters": 1, "kernel_size": [3, 3], "padding": "same"}),
        ("f", "Flatten", {}),
    ]), (1, 6, 6), "mse"),
    "depthwise": (spec([
        ("in", "Input", {}),
        ("dw", "DepthwiseConv2D", {"depth_multiplier": 2, "kernel_size": [3, 3],
                                   "padding": "same"}),
        ("dil", "Conv2D", {"filters": 4, "kernel_size": [3, 3], "dilation_rate": [2, 2]}),
        ("grp", "Conv2D", {"filters": 4, "kernel_size": [3, 2], "groups": 2,
                           "dilation_rate": [1, 2], "strides": [2, 1], "padding": "same"}),
        ("dw2", "DepthwiseConv2D", {"kernel_size": [2, 2], "strides": [2, 2],
                                    "padding": "same", "use_bias": False}),
        ("gmp", "GlobalMaxPool2D", {}), ("out", "Dense", {"units": 1}), ("s", "Sigmoid", {}),
    ]), (3, 9, 9), "binary_cross_entropy"),
    "gates": (spec([
        ("in", "Input", {}), ("g", "Dense", {"units": 4}), ("gate", "Sigmoid", {}),
        ("a", "Dense", {"units": 4}), ("pa", "PReLU", {"shared": "all"}),
        ("b", "Dense", {"units": 4}), ("pb", "PReLU", {}),
        ("mul", "Multiply", {}), ("avg", "Average", {}), ("out", "Dense", {"units": 2}),
    ], [("in", "g"), ("g", "gate"), ("in", "a"), ("a", "pa"), ("in", "b"), ("b", "pb"),
        ("gate", "mul"), ("pa", "mul"), ("pb", "mul"), ("mul", "avg"), ("pb", "avg"),
        ("avg", "out")]), (5,), "mae"),
}

#: Networks whose input is token ids: name → vocabulary size (id 0 is padding).
TOKENS = {"transformer": 11, "gpt": 9, "lm_last": 7, "text_pool": 8}


def network(name: str, seed: int = 0, dtype=np.float32) -> Network:
    """The named network with every parameter and state made non-trivial (biases, running
    statistics, BatchNorm scales and PReLU slopes away from their initial values)."""
    s, shape, _ = NETWORKS[name]
    net = Network(s, shape, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for node_id in net.order:
        layer = net.layers[node_id]
        for key, arr in {**layer.params, **layer.state}.items():
            if key in ("b", "beta", "gamma", "running_mean", "bqkv", "bo"):
                arr += rng.uniform(-0.5, 0.5, arr.shape).astype(arr.dtype)
            elif key == "running_var":
                arr[...] = rng.uniform(0.5, 2.0, arr.shape)
            elif key == "alpha":
                arr[...] = rng.uniform(0.05, 0.6, arr.shape)
    return net


def token_ids(rng: np.random.Generator, n: int, t: int, vocab: int) -> np.ndarray:
    """``(n, t)`` right-padded token ids as floats: lengths from 0 (all padding) to ``t``."""
    ids = rng.integers(1, vocab, (n, t))
    lengths = rng.integers(0, t + 1, n)
    lengths[:2] = (0, t)
    ids[np.arange(t)[None, :] >= lengths[:, None]] = 0
    return ids.astype(np.float32)


def batch(name: str, n: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets in the form the network's loss takes (token ids for a text
    network; a language model's targets ``(n, T)`` are ``-1`` at padding)."""
    s, shape, loss = NETWORKS[name]
    net = Network(s, shape)
    rng = np.random.default_rng(seed)
    if name in TOKENS:
        x = token_ids(rng, n, shape[0], TOKENS[name])
    else:
        x = rng.normal(size=(n, *shape)).astype(np.float32)
    k = int(np.prod(net.output_shape))
    if loss == "cross_entropy" and len(net.output_shape) == 2:
        t, v = net.output_shape
        y = np.where(x > 0, rng.integers(0, v, (n, t)), -1)
    elif loss == "cross_entropy":
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
