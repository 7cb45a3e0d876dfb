"""The standalone NumPy predict.py runs the sequence layers like the engine (masks included)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from nnstudio.core.engine import Network
from nnstudio.core.io.model_file import TrainedModel
from nnstudio.core.io.numpy_export import export_numpy
from tests.core.engine.gradcheck import chain


def _script(folder):
    spec = importlib.util.spec_from_file_location("predict_text", folder / "predict.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(("pool", "kind"), [("GlobalAvgPool1D", "learned"),
                                             ("LastPosition", "sinusoidal")])
def test_standalone_forward_matches_engine(pool, kind, tmp_path):
    spec = chain([
        {"type": "Embedding", "vocab_size": 9, "dim": 8},
        {"type": "PositionalEmbedding", "kind": kind},
        {"type": "LayerNorm"},
        {"type": "MultiHeadAttention", "heads": 2, "causal": pool == "LastPosition"},
        {"type": "Dense", "units": 8},
        {"type": pool},
        {"type": "Dense", "units": 3},
        {"type": "Softmax"},
    ])
    net = Network(spec, (6,), seed=1)
    net.params[...] += np.random.default_rng(0).normal(0, 0.1, net.params.shape).astype(
        np.float32)
    export_numpy(TrainedModel(net, None, "regression", [], "mse"), tmp_path / "exp")
    mod = _script(tmp_path / "exp")
    model, params = mod.load(tmp_path / "exp")
    ids = np.array([[3, 2, 5, 0, 0, 0], [1, 4, 4, 6, 2, 8]], np.float32)
    np.testing.assert_allclose(mod.forward(model, params, ids), net.forward(ids), rtol=1e-4,
                               atol=1e-6)
