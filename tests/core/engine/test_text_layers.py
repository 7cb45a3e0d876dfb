"""Embedding, positions, LayerNorm, multi-head attention, sequence pooling, Dense on the
last axis and the per-position cross-entropy: backward passes against central differences
(float64, random shapes), padding masks, float32 runs and shape messages."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.engine import Network, get_loss, infer_shapes
from nnstudio.core.engine.attention import MultiHeadAttention
from nnstudio.core.engine.core_layers import Dense
from nnstudio.core.engine.embedding import PositionalEmbedding, sinusoids
from nnstudio.core.engine.norm import LayerNorm
from nnstudio.core.engine.seqpool import GlobalAvgPool1D, LastPosition
from nnstudio.core.errors import ShapeError
from tests.core.engine.gradcheck import (
    _central_differences,
    _compare,
    _loss_and_grad,
    chain,
    check_layer_gradients,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dense_on_the_last_axis_of_a_sequence(seed):
    rng = np.random.default_rng(seed)
    t, f, u = rng.integers(1, 5, 3)
    errors = check_layer_gradients(lambda: Dense("d", units=int(u)), [(int(t), int(f))],
                                   seed=seed, params_scale=0.5)
    assert set(errors) == {"W", "b", "x0"}


def test_dense_sequence_matches_per_position_dense():
    net = Network(chain([{"type": "Dense", "units": 3}]), (4, 5), dtype=np.float64)
    x = np.random.default_rng(0).normal(size=(2, 4, 5))
    y = net.forward(x)
    W, b = net.param_views["n0"]["W"], net.param_views["n0"]["b"]
    assert y.shape == (2, 4, 3)
    np.testing.assert_allclose(y, np.einsum("ntf,fu->ntu", x, W) + b, rtol=1e-12)


def test_dense_refuses_images():
    report = infer_shapes(chain([{"type": "Dense", "units": 3}]), (1, 4, 4))
    assert "Flatten" in report.nodes["n0"].error


@pytest.mark.parametrize("shape", [(5,), (3, 4), (1, 6)])
def test_layernorm_gradients(shape):
    errors = check_layer_gradients(lambda: LayerNorm("ln"), [shape], seed=len(shape),
                                   params_scale=0.7)
    assert set(errors) == {"gamma", "beta", "x0"}


@pytest.mark.parametrize("kind", ["learned", "sinusoidal"])
def test_positional_embedding_gradients(kind):
    errors = check_layer_gradients(lambda: PositionalEmbedding("p", kind=kind), [(4, 6)], seed=3)
    assert set(errors) == ({"P", "x0"} if kind == "learned" else {"x0"})


def test_positional_embedding_with_a_longer_table_and_too_long_input():
    check_layer_gradients(lambda: PositionalEmbedding("p", max_length=7), [(4, 3)], seed=1)
    report = infer_shapes(chain([{"type": "Embedding", "vocab_size": 5, "dim": 4},
                                 {"type": "PositionalEmbedding", "max_length": 8}]), (12,))
    assert "12 positions but max_length allows 8" in report.nodes["n1"].error


def test_sinusoids_follow_the_formula():
    p = sinusoids(5, 6)
    assert p[3, 2] == pytest.approx(np.sin(3 / 10000 ** (2 / 6)))
    assert p[3, 3] == pytest.approx(np.cos(3 / 10000 ** (2 / 6)))


@pytest.mark.parametrize(("heads", "key_dim", "causal", "t"), [
    (1, 0, False, 3), (2, 0, True, 4), (3, 2, False, 5), (2, 3, True, 1),
])
def test_attention_gradients(heads, key_dim, causal, t):
    errors = check_layer_gradients(
        lambda: MultiHeadAttention("a", heads=heads, key_dim=key_dim, causal=causal),
        [(t, 6)], seed=t, params_scale=0.5,
    )
    assert set(errors) == {"Wqkv", "bqkv", "Wo", "bo", "x0"}


def test_attention_gradients_with_dropout():
    check_layer_gradients(lambda: MultiHeadAttention("a", heads=2, dropout=0.3), [(4, 4)],
                          seed=5, params_scale=0.5)


def test_attention_backward_after_many_batch_sizes_matches_a_fresh_layer():
    """Scratch arrays are kept per batch size; once many sizes were seen the layer must still
    give its backward pass the forward's arrays (dropping them mid-step gave NaN gradients
    on the last, smaller batch of an epoch)."""
    spec = chain([{"type": "MultiHeadAttention", "heads": 2, "dropout": 0.0}])
    net = Network(spec, (6, 4), dtype=np.float64)
    layer = net.layers["n0"]
    rng = np.random.default_rng(3)
    for n in (32, 18, 46, 7, 32, 18):  # more scratch arrays than one generation holds
        fresh_net = Network(spec, (6, 4), dtype=np.float64)
        fresh_net.params[...] = net.params
        fresh = fresh_net.layers["n0"]
        x = rng.normal(size=(n, 6, 4))
        g = rng.normal(size=(n, 6, 4))
        layer.forward([x], True)
        got = layer.backward(g)[0].copy()
        fresh.forward([x], True)
        want = fresh.backward(g)[0]
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(layer.grads["Wqkv"], fresh.grads["Wqkv"], rtol=1e-12)


def test_causal_attention_does_not_look_ahead():
    net = Network(chain([{"type": "MultiHeadAttention", "heads": 2, "causal": True}]), (5, 4),
                  dtype=np.float64)
    x = np.random.default_rng(0).normal(size=(1, 5, 4))
    y1 = net.forward(x).copy()
    x[0, 3:] += 10.0  # change the future of position 2
    y2 = net.forward(x)
    np.testing.assert_allclose(y1[0, :3], y2[0, :3], rtol=1e-12)
    assert not np.allclose(y1[0, 3:], y2[0, 3:])
    w = net.layers["n0"].weights
    assert np.all(w[0, :, 1, 2:] == 0.0)  # position 1 gives weight 0 to positions 2…
    np.testing.assert_allclose(w.sum(axis=-1), 1.0)


def test_width_that_does_not_split_into_heads():
    report = infer_shapes(chain([{"type": "MultiHeadAttention", "heads": 3}]), (4, 8))
    assert "does not split into 3 heads" in report.nodes["n0"].error


@pytest.mark.parametrize("pool", [GlobalAvgPool1D, LastPosition])
def test_pool_gradients_without_mask(pool):
    errors = check_layer_gradients(lambda: pool("p"), [(4, 3)], seed=2)
    assert set(errors) == {"x0"}


def _id_network_check(spec, ids, y, loss_name, seed=0):
    """Central differences of a float64 network that reads token ids (no input gradient)."""
    net = Network(spec, ids.shape[1:], dtype=np.float64, seed=seed)
    net.params[...] += np.random.default_rng(seed).normal(0, 0.3, net.params.shape)
    loss = get_loss(loss_name)
    x = ids.astype(np.float64)
    seeded = [k for k, layer in net.layers.items() if hasattr(layer, "rng")]

    def evaluate():
        for i, k in enumerate(seeded):
            net.layers[k].rng = np.random.default_rng(seed + i)
        return _loss_and_grad(net, loss, x, y)

    _, analytic = evaluate()
    numeric = _central_differences(net.params, lambda: evaluate()[0], 1e-6)
    _compare(analytic, numeric, "network d loss/d params", 1e-5, 1e-7)
    return net, analytic


def _classifier(pool):
    return chain([
        {"type": "Embedding", "vocab_size": 7, "dim": 4, "id": "emb"},
        {"type": "PositionalEmbedding"},
        {"type": "LayerNorm"},
        {"type": "MultiHeadAttention", "heads": 2, "id": "att"},
        {"type": pool, "id": "pool"},
        {"type": "Dense", "units": 3},
        {"type": "Softmax"},
    ])


@pytest.mark.parametrize("pool", ["GlobalAvgPool1D", "LastPosition"])
def test_masked_classifier_gradients_and_padding_is_ignored(pool):
    ids = np.array([[3, 2, 5, 0, 0], [1, 4, 4, 6, 2], [2, 0, 0, 0, 0]])
    y = np.array([0, 2, 1])
    net, analytic = _id_network_check(_classifier(pool), ids, y, "cross_entropy")
    # The padding row of the embedding gets no gradient and stays zero.
    sl = net.param_slices["emb/E"]
    assert np.all(analytic[sl].reshape(7, 4)[0] == 0.0)
    # Padding is invisible: a longer run of padding changes nothing for the real tokens.
    out = net.forward(ids.astype(float)).copy()
    w = net.layers["att"].weights
    assert np.all(w[0, :, :, 3:] == 0.0)
    net2 = Network(_classifier(pool), (8,), dtype=np.float64)
    state = net.state_dict()
    # The learned position table is longer; positions 0…4 are the same.
    state["n1/P"] = np.concatenate([state["n1/P"], np.ones((3, 4))])
    net2.load_state_dict(state)
    longer = np.zeros((3, 8))
    longer[:, :5] = ids
    np.testing.assert_allclose(net2.forward(longer), out, rtol=1e-10)


def test_language_model_gradients_with_ignored_positions():
    spec = chain([
        {"type": "Embedding", "vocab_size": 6, "dim": 4},
        {"type": "PositionalEmbedding"},
        {"type": "MultiHeadAttention", "heads": 2, "causal": True, "dropout": 0.2},
        {"type": "LayerNorm"},
        {"type": "Dense", "units": 6},
        {"type": "Softmax"},
    ])
    ids = np.array([[1, 2, 3, 4], [5, 1, 0, 0]])
    y = np.array([[2, 3, 4, 5], [1, 2, -1, -1]])
    _id_network_check(spec, ids, y, "cross_entropy", seed=4)


def test_sequence_loss_ignores_positions_and_matches_fused_form():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 3, 4))
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    y = np.array([[1, -1, 3], [0, 2, -1]])
    loss = get_loss("cross_entropy")
    expected = -np.mean([np.log(p[0, 0, 1]), np.log(p[0, 2, 3]), np.log(p[1, 0, 0]),
                         np.log(p[1, 1, 2])])
    assert loss.value(p, y) == pytest.approx(expected, rel=1e-12)
    assert loss.fused_value(z, y) == pytest.approx(expected, rel=1e-12)
    g = loss.fused_grad(p, y)
    assert np.all(g[0, 1] == 0) and np.all(g[1, 2] == 0)
    # The unfused gradient, chained through softmax, equals the fused one.
    gu = loss.grad(p, y)
    chained = p * (gu - np.sum(gu * p, axis=-1, keepdims=True))
    np.testing.assert_allclose(chained, g, atol=1e-12)


def test_float32_transformer_runs_and_embedding_rejects_bad_ids():
    spec = _classifier("GlobalAvgPool1D")
    net = Network(spec, (5,), dtype=np.float32)
    out = net.forward(np.array([[1, 2, 3, 0, 0]], np.float32))
    assert out.dtype == np.float32 and out.shape == (1, 3)
    with pytest.raises(ShapeError, match="token id 9 but its vocabulary has 7"):
        net.forward(np.array([[1, 9, 3, 0, 0]], np.float32))
