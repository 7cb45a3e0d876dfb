"""The fast paths of the sequence layers against plain references.

Attention (scores minus a row bound inside the score GEMM, normalization on the output, the
(T, T) work in blocks of sequences, the underflow fallback, the weights Insight reads), the
Embedding's sparse gradient, the per-position log-sum-exp, and the recurrent cells (one tanh
for every gate): each checked against a straightforward float64 NumPy version, in float32
and float64, with masks, odd sizes and many batch sizes.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nnstudio.core.engine import Network, attention, sequence_loss
from nnstudio.core.engine.attention import MultiHeadAttention
from nnstudio.core.engine.embedding import Embedding
from nnstudio.core.engine.recurrent import GRU, LSTM
from tests.core.engine.gradcheck import _attach, chain, check_layer_gradients


def _attention(dtype, t, d, heads, causal, key_dim=0, seed=0, scale=0.5, **extra):
    layer = MultiHeadAttention("a", heads=heads, causal=causal, key_dim=key_dim, **extra)
    rng = np.random.default_rng(seed)
    params, _ = _attach(layer, [(t, d)], rng)
    params[...] = rng.normal(0.0, scale, params.shape)  # non-zero biases too
    layer.dtype = np.dtype(dtype)
    for store in (layer.params, layer.grads):
        for name, a in store.items():
            store[name] = a.astype(dtype)
    return layer


def _reference_weights(layer, x, valid=None):
    """Softmax of the masked scores, float64, straight from the definition."""
    p = {k: v.astype(np.float64) for k, v in layer.params.items()}
    n, t, d = x.shape
    h = layer.config["heads"]
    k = layer.key_size(d)
    qkv = x.astype(np.float64) @ p["Wqkv"] + p.get("bqkv", 0.0)
    q, kk = (qkv[..., i * h * k:(i + 1) * h * k].reshape(n, t, h, k).transpose(0, 2, 1, 3)
             for i in range(2))
    s = q @ kk.transpose(0, 1, 3, 2) / np.sqrt(k)
    if layer.config["causal"]:
        s = np.where(np.triu(np.ones((t, t), bool), 1), -np.inf, s)
    if valid is not None:
        s = np.where(valid[:, None, None, :], s, -np.inf)
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("heads, key_dim, t", [(2, 0, 4), (3, 3, 5)])
def test_attention_gradients_in_one_sequence_blocks(causal, heads, key_dim, t):
    """Blocks of one sequence (the last block shorter than the rest when it is not)."""
    def make():
        layer = MultiHeadAttention("a", heads=heads, key_dim=key_dim, causal=causal)
        layer.chunk_bytes = 1  # one sequence per block: 3 blocks for the batch of 3
        return layer
    check_layer_gradients(make, [(t, 6)], seed=t, params_scale=0.5)


def test_attention_gradients_in_blocks_of_two_with_dropout():
    def make():
        layer = MultiHeadAttention("a", heads=2, dropout=0.3, causal=True)
        layer.chunk_bytes = 2 * 2 * 4 * 4 * 8  # two sequences a block: 2 + 1
        return layer
    check_layer_gradients(make, [(4, 4)], seed=11, params_scale=0.5)


def test_attention_underflow_fallback_gives_the_same_layer(monkeypatch):
    """The maximum-first path (taken when the exponentials underflow) is the same function."""
    x = np.random.default_rng(1).normal(size=(3, 5, 6))
    g = np.random.default_rng(2).normal(size=(3, 5, 6))
    fast = _attention(np.float64, 5, 6, 2, True)
    y_fast = fast.forward([x], True).copy()
    dx_fast = fast.backward(g)[0].copy()
    grads_fast = {k: v.copy() for k, v in fast.grads.items()}
    monkeypatch.setattr(attention, "_TINY", {np.float32: np.inf, np.float64: np.inf})
    slow = _attention(np.float64, 5, 6, 2, True)
    y_slow = slow.forward([x], True)
    np.testing.assert_allclose(y_slow, y_fast, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(slow.backward(g)[0], dx_fast, rtol=1e-11, atol=1e-13)
    for name, want in grads_fast.items():
        np.testing.assert_allclose(slow.grads[name], want, rtol=1e-11, atol=1e-13)
    check_layer_gradients(lambda: MultiHeadAttention("a", heads=2, causal=True), [(5, 6)],
                          seed=4, params_scale=0.5)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
def test_attention_underflows_to_the_fallback_on_peaked_scores(dtype, tol):
    """Scores in the hundreds: the bound lies far above most rows' largest score, their
    exponentials underflow, and the layer falls back to the row maximum — no NaN, and the
    weights are still the softmax."""
    layer = _attention(dtype, 6, 8, 2, False, seed=3, scale=3.0)
    x = (np.random.default_rng(5).normal(size=(2, 6, 8)) * 4).astype(dtype)
    y = layer.forward([x], True)
    assert np.isfinite(y).all()
    assert layer._weights_src[1] is None  # the fallback ran
    np.testing.assert_allclose(layer.weights, _reference_weights(layer, x), atol=tol)
    dx = layer.backward(np.ones_like(y))[0]
    assert np.isfinite(dx).all()


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_attention_weights_for_insight_are_the_softmax(dtype, tol, causal, padded):
    n, t, d = 4, 7, 6
    layer = _attention(dtype, t, d, 3, causal, seed=7)
    layer.chunk_bytes = 1
    x = np.random.default_rng(8).normal(size=(n, t, d)).astype(dtype)
    valid = None
    if padded:
        valid = np.ones((n, t), bool)
        valid[1, 4:] = False
        valid[3, 1:] = False  # one real token
        layer.mask_from = SimpleNamespace(mask=valid)
    want = _reference_weights(layer, x, valid)
    for training in (False, True):
        layer.forward([x], training)
        w = layer.weights
        assert w.shape == (n, 3, t, t) and w.dtype == dtype
        np.testing.assert_allclose(w, want, atol=tol)
        np.testing.assert_allclose(layer.weights, w)  # reading twice gives the same
    if causal:
        assert np.all(np.triu(layer.weights[0, 0], 1) == 0.0)
    if padded:
        assert np.all(layer.weights[1, :, :, 4:] == 0.0)


def test_attention_with_a_fully_padded_sequence_stays_finite():
    layer = _attention(np.float32, 5, 4, 2, False)
    valid = np.ones((3, 5), bool)
    valid[2] = False  # a text with no tokens at all
    layer.mask_from = SimpleNamespace(mask=valid)
    x = np.random.default_rng(0).normal(size=(3, 5, 4)).astype(np.float32)
    y = layer.forward([x], True)
    dx = layer.backward(np.ones_like(y))[0]
    assert np.isfinite(y).all() and np.isfinite(dx).all()
    np.testing.assert_allclose(layer.weights.sum(axis=-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("kind, settings", [
    ("MultiHeadAttention", {"heads": 2, "causal": True}),
    ("LSTM", {"units": 3, "return_sequences": True}),
    ("GRU", {"units": 3}),
    ("LayerNorm", {}),
])
def test_backward_after_many_batch_sizes_matches_a_fresh_layer(kind, settings):
    """Buffers rotate after many batch sizes: a backward pass must still see its forward's
    arrays, including the ones written once (the row of ones under x, Q's extra column)."""
    spec = chain([{"type": kind, **settings}])
    net = Network(spec, (6, 4), dtype=np.float64)
    layer = net.layers["n0"]
    layer.skip_input_grad = False  # it reads the Input: ask for dx all the same
    rng = np.random.default_rng(3)
    for n in (32, 18, 46, 7, 5, 32, 18, 9, 7):
        fresh_net = Network(spec, (6, 4), dtype=np.float64)
        fresh_net.params[...] = net.params
        fresh = fresh_net.layers["n0"]
        fresh.skip_input_grad = False
        x = rng.normal(size=(n, 6, 4))
        y = layer.forward([x], True)
        g = rng.normal(size=y.shape)
        got = layer.backward(g)[0].copy()
        fresh.forward([x], True)
        want = fresh.backward(g)[0]
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        for name in layer.grads:
            np.testing.assert_allclose(layer.grads[name], fresh.grads[name], rtol=1e-12,
                                       atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask_padding", [False, True])
@pytest.mark.parametrize("vocab", [5, 1000])
def test_embedding_gradient_is_the_scatter_add(dtype, mask_padding, vocab):
    layer = Embedding("e", vocab_size=vocab, dim=3, mask_padding=mask_padding)
    rng = np.random.default_rng(vocab)
    _attach(layer, [(9,)], rng)
    layer.dtype = np.dtype(dtype)
    for store in (layer.params, layer.grads):
        store["E"] = store["E"].astype(dtype)
    ids = rng.integers(0, vocab, (4, 9))
    ids[0, :5] = 2  # a token repeated
    ids[1, -3:] = 0  # padding
    layer.forward([ids.astype(dtype)], True)
    g = rng.normal(size=(4, 9, 3)).astype(dtype)
    layer.backward(g)
    want = np.zeros((vocab, 3))
    np.add.at(want, ids.reshape(-1), g.reshape(-1, 3).astype(np.float64))
    if mask_padding:
        want[0] = 0.0
    assert layer.grads["E"].dtype == dtype
    np.testing.assert_allclose(layer.grads["E"], want, rtol=1e-5 if dtype == np.float32 else
                               1e-12, atol=1e-5 if dtype == np.float32 else 1e-12)


def _reference_loss(z, y):
    z = z.astype(np.float64).reshape(-1, z.shape[-1])
    y = y.reshape(-1)
    keep = y >= 0
    m = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
    return float(np.sum((lse - z[np.arange(len(y)), np.maximum(y, 0)])[keep])) / keep.sum()


@pytest.mark.parametrize("dtype, tol", [(np.float32, 1e-5), (np.float64, 1e-13)])
def test_sequence_loss_with_one_shift_and_far_rows(dtype, tol):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(3, 5, 7)) * 3
    z[1, 2] -= 500.0  # far below the largest logit: its exponentials underflow
    z[2, 4] += 80.0  # the shift for everyone else
    y = rng.integers(0, 7, (3, 5))
    y[0, :2] = -1  # ignored positions
    got = sequence_loss.fused_value(z.astype(dtype), y)
    want = _reference_loss(z.astype(dtype), y)
    assert np.isfinite(got)
    assert got == pytest.approx(want, rel=tol)
    y[:] = -1
    assert sequence_loss.fused_value(z.astype(dtype), y) == 0.0


def _reference_cell(kind, x, W, R, b, h_units):
    """The ONNX equations in float64 with σ(z) = 1 / (1 + e^−z)."""
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    n, t, _ = x.shape
    gh = W.shape[0]
    wb, rb = b[:gh], b[gh:]
    h = np.zeros((n, h_units))
    c = np.zeros((n, h_units))
    out = []
    for s in range(t):
        if kind == "LSTM":
            z = x[:, s] @ W.T + h @ R.T + wb + rb
            i, o, f, cc = np.split(z, 4, axis=1)
            c = sig(f) * c + sig(i) * np.tanh(cc)
            h = sig(o) * np.tanh(c)
        else:
            zx = x[:, s] @ W.T + wb
            zh = h @ R.T + rb
            zg = sig(zx[:, :h_units] + zh[:, :h_units])
            rg = sig(zx[:, h_units:2 * h_units] + zh[:, h_units:2 * h_units])
            hh = np.tanh(zx[:, 2 * h_units:] + rg * zh[:, 2 * h_units:])
            h = (1 - zg) * hh + zg * h
        out.append(h)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("kind", [LSTM, GRU])
@pytest.mark.parametrize("dtype, tol", [(np.float32, 3e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("scale", [0.5, 6.0])
def test_recurrent_cells_match_the_onnx_equations(kind, dtype, tol, scale):
    """σ as (1 + tanh(z/2)) / 2 with halved kernels gives the gates of the definition, also
    when they saturate (scale 6)."""
    layer = kind("r", units=5, return_sequences=True)
    rng = np.random.default_rng(int(scale))
    params, _ = _attach(layer, [(7, 3)], rng)
    params[...] = rng.normal(0.0, scale / 3, params.shape)
    layer.dtype = np.dtype(dtype)
    for store in (layer.params, layer.grads):
        for name, a in store.items():
            store[name] = a.astype(dtype)
    x = rng.normal(size=(4, 7, 3)) * scale
    y = layer.forward([x.astype(dtype)], True)
    p = {k: v.astype(np.float64) for k, v in layer.params.items()}
    want = _reference_cell(kind.type_name, x.astype(dtype).astype(np.float64), p["W"], p["R"],
                           p["b"], 5)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, want, atol=tol)
