"""ONNX export of the sequence layers: onnx.checker passes and onnxruntime reproduces the
engine's outputs (padding masks, causal mask, both pooling layers, Dense on a sequence)."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.engine import Network
from nnstudio.core.io.model_file import TrainedModel
from nnstudio.core.io.onnx_export import export_onnx
from tests.core.engine.gradcheck import chain

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _parity(spec, ids, tmp_path, seed=0):
    net = Network(spec, ids.shape[1:], seed=seed)
    rng = np.random.default_rng(seed)
    net.params[...] += rng.normal(0, 0.1, net.params.shape).astype(np.float32)
    model = TrainedModel(net, None, "regression", [], "mse")
    path = tmp_path / "m.onnx"
    export_onnx(model, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = sess.run(None, {"x": ids.astype(np.float32)})
    ours = net.forward(ids.astype(np.float32)).reshape(len(ids), -1)
    np.testing.assert_allclose(out, ours, rtol=1e-4, atol=1e-5)
    return net


@pytest.mark.parametrize("pool", ["GlobalAvgPool1D", "LastPosition"])
@pytest.mark.parametrize("mask", [True, False])
def test_transformer_classifier_parity(pool, mask, tmp_path):
    spec = chain([
        {"type": "Embedding", "vocab_size": 9, "dim": 8, "mask_padding": mask},
        {"type": "PositionalEmbedding", "kind": "sinusoidal"},
        {"type": "LayerNorm"},
        {"type": "MultiHeadAttention", "heads": 2},
        {"type": pool},
        {"type": "Dense", "units": 3},
        {"type": "Softmax"},
    ])
    ids = np.array([[3, 2, 5, 0, 0, 0], [1, 4, 4, 6, 2, 8], [2, 0, 0, 0, 0, 0]])
    _parity(spec, ids, tmp_path)


def test_causal_language_model_parity(tmp_path):
    spec = chain([
        {"type": "Embedding", "vocab_size": 11, "dim": 8, "id": "emb"},
        {"type": "PositionalEmbedding", "id": "pos"},
        {"type": "LayerNorm", "id": "ln"},
        {"type": "MultiHeadAttention", "heads": 4, "key_dim": 3, "causal": True, "id": "att"},
        {"type": "Dense", "units": 16, "id": "up"},
        {"type": "ReLU", "id": "relu"},
        {"type": "Dense", "units": 11, "id": "logits"},
        {"type": "Softmax", "id": "out"},
    ])
    ids = np.random.default_rng(1).integers(1, 11, (4, 7))
    _parity(spec, ids, tmp_path, seed=2)
