"""The execution plan's rewrites on Transformer networks (engine/fusion.py): a LayerNorm's
γ and β folded into the Dense / MultiHeadAttention that reads it give the same outputs, node
values and gradients as the layer-by-layer graph (float64 to rounding, float32 closely),
with padding masks, one position, one sequence; and the rewrites only apply where exact."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.engine import Network, NetworkSpec
from nnstudio.core.graph.text_templates import transformer_network
from tests.core.engine.gradcheck import (
    chain,
    check_network_gradients,
    fusion_pair,
    training_step,
)


def _pair(spec, shape, dtype, seed=3) -> tuple[Network, Network]:
    """:func:`fusion_pair` with LayerNorm γ, β and the biases drawn at random (the same in
    both): untrained they are 1, 0 and 0, and nothing to fold would be tested."""
    nets = fusion_pair(spec, shape, dtype, seed)
    for net in nets:
        rng = np.random.default_rng(seed + 100)
        for layer in net.layers.values():
            for name, p in layer.params.items():
                if name in ("gamma", "beta", "b", "bqkv", "bo"):
                    p[...] = rng.normal(1.0 if name == "gamma" else 0.0, 0.5, p.shape)
    return nets


def _compare(spec, shape, x, dtype, tol):
    fused, plain = _pair(spec, shape, dtype)
    np.testing.assert_array_equal(fused.params, plain.params)
    g = np.random.default_rng(9).normal(size=plain.forward(x).shape).astype(dtype)
    yf, gf, vf = training_step(fused, x, g)
    yp, gp, vp = training_step(plain, x, g)
    np.testing.assert_allclose(yf, yp, rtol=tol, atol=tol)
    np.testing.assert_allclose(gf, gp, rtol=tol, atol=tol * np.abs(gp).max())
    assert vf.keys() == vp.keys()
    for k in vp:
        np.testing.assert_allclose(vf[k], vp[k], rtol=tol, atol=tol, err_msg=k)
    # Inference runs the same plan.
    np.testing.assert_allclose(fused.forward(x, training=False), yp, rtol=tol, atol=tol)
    return fused


def _folded(net) -> set[str]:
    return {k for k, r in net._plan.runners.items() if type(r).__name__ == "_Normalized"}


def _relu_in_place(net) -> set[str]:
    return {k for k, r in net._plan.runners.items() if type(r).__name__ == "_AppliedReLU"}


def _ids(n, t, vocab, pad_rows=(), seed=0):
    x = np.random.default_rng(seed).integers(1, vocab, (n, t))
    for row, keep in pad_rows:
        x[row, keep:] = 0  # padding id
    return x


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-11), (np.float32, 3e-4)])
@pytest.mark.parametrize("kind", ["gpt", "classifier"])
@pytest.mark.parametrize("n, t, pad_rows", [
    (3, 6, [(1, 2)]),        # a padded text
    (1, 5, []),              # batch of one
    (4, 1, []),              # one position
    (2, 4, [(0, 1), (1, 0)]),  # one real token; a text of padding only
])
def test_folded_layer_norms_match_the_graph_layer_by_layer(kind, dtype, tol, n, t, pad_rows):
    vocab = 13
    spec = NetworkSpec.from_dict(transformer_network(kind, (t,), vocab if kind == "gpt" else 3,
                                                     vocab, blocks=2, width=8, heads=2))
    x = _ids(n, t, vocab, pad_rows).astype(dtype)
    fused = _compare(spec, (t,), x, dtype, tol)
    # Every LayerNorm but the classifier's last (read by the pooling) is folded.
    norms = {k for k, layer in fused.layers.items() if layer.type_name == "LayerNorm"}
    assert _folded(fused) == (norms if kind == "gpt" else norms - {"norm_5"})
    assert _relu_in_place(fused) == {"relu_1", "relu_2"}


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_folded_layer_norm_before_a_dense_on_features(dtype, tol):
    spec = chain([{"type": "Dense", "units": 5}, {"type": "LayerNorm"},
                  {"type": "Dense", "units": 3}, {"type": "Tanh"}])
    x = np.random.default_rng(1).normal(size=(4, 6)).astype(dtype)
    fused = _compare(spec, (6,), x, dtype, tol)
    assert _folded(fused) == {"n1"}


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_dense_relu_in_place_on_features_and_a_shared_dense_left_alone(dtype, tol):
    # n0 → ReLU (in place); n2 is read by a ReLU and by the Add: not rewritten.
    spec = NetworkSpec.from_dict({
        "nodes": [{"id": "in", "type": "Input"}, {"id": "n0", "type": "Dense", "units": 6},
                  {"id": "r0", "type": "ReLU"}, {"id": "n2", "type": "Dense", "units": 6},
                  {"id": "r2", "type": "ReLU"}, {"id": "s", "type": "Add"},
                  {"id": "out", "type": "Dense", "units": 2}],
        "edges": [["in", "n0"], ["n0", "r0"], ["r0", "n2"], ["n2", "r2"], ["n2", "s"],
                  ["r2", "s"], ["s", "out"]]})
    x = np.random.default_rng(4).normal(size=(5, 3)).astype(dtype)
    fused = _compare(spec, (3,), x, dtype, tol)
    assert _relu_in_place(fused) == {"r0"}


def test_a_layer_norm_is_not_folded_where_it_would_not_be_exact():
    # No bias in the consumer; two consumers; the LayerNorm as the output.
    no_bias = chain([{"type": "LayerNorm"}, {"type": "Dense", "units": 3, "use_bias": False}])
    as_output = chain([{"type": "Dense", "units": 3}, {"type": "LayerNorm"}])
    shared = NetworkSpec.from_dict({
        "nodes": [{"id": "in", "type": "Input"}, {"id": "ln", "type": "LayerNorm"},
                  {"id": "a", "type": "Dense", "units": 3},
                  {"id": "b", "type": "Dense", "units": 3}, {"id": "s", "type": "Add"}],
        "edges": [["in", "ln"], ["ln", "a"], ["ln", "b"], ["a", "s"], ["b", "s"]]})
    for spec in (no_bias, as_output, shared):
        net = Network(spec, (4,), dtype=np.float64, seed=0)
        assert not _folded(net)


def test_a_folded_network_passes_the_gradient_check():
    spec = NetworkSpec.from_dict(transformer_network("gpt", (4,), 7, 7, blocks=1, width=4,
                                                     heads=2))
    y = np.random.default_rng(2).integers(0, 7, (2, 4))
    # Real-valued (T, D) inputs in place of token ids (central differences need them).
    net = check_network_gradients(_as_dense_input(spec), (4, 4), "cross_entropy", y, seed=1)
    assert len(_folded(net)) == 3


def _as_dense_input(spec: NetworkSpec) -> NetworkSpec:
    """The same blocks fed a real-valued (T, D) input instead of token ids."""
    d = spec.to_dict()
    drop = {n["id"] for n in d["nodes"] if n["type"] in ("Embedding", "PositionalEmbedding")}
    first = next(n["id"] for n in d["nodes"] if n["type"] == "Input")
    nodes = [n for n in d["nodes"] if n["id"] not in drop]
    edges = []
    for a, b in d["edges"]:
        if b in drop:
            continue
        edges.append([first if a in drop else a, b])
    return NetworkSpec.from_dict({"nodes": nodes, "edges": edges})


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_softmax_of_a_large_input_with_one_shift_and_far_rows(dtype, tol):
    """A distribution at every position of a batch (≥ LARGE_SOFTMAX values) is shifted by
    the largest value; rows far below it (their exponentials underflow) get their own."""
    from nnstudio.core.engine.activations import LARGE_SOFTMAX, Softmax

    rng = np.random.default_rng(6)
    z = rng.normal(size=(5, 64, 65)) * 4
    z[1, 3] -= 2000.0   # every exponential of this row underflows
    z[2, 7] += 50.0     # the largest value: most rows sit far below it
    z[4, 0, :] = -1e4   # a row of equal, very negative values
    z = z.astype(dtype)
    assert z.size >= LARGE_SOFTMAX
    layer = Softmax("s")
    layer.dtype = np.dtype(dtype)
    y = layer.forward([z], True)
    zr = z.astype(np.float64)
    e = np.exp(zr - zr.max(axis=-1, keepdims=True))
    want = e / e.sum(axis=-1, keepdims=True)
    # Relative: float32 loses ≈ 1e-7 per unit of distance below the shift (here ≤ 70).
    np.testing.assert_allclose(y, want, rtol=tol, atol=1e-30)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=tol)
    np.testing.assert_allclose(y[4, 0], 1 / 65, rtol=1e-6)


def test_softmax_of_a_large_input_keeps_a_nan_in_its_own_row():
    from nnstudio.core.engine.activations import Softmax

    z = np.random.default_rng(7).normal(size=(4, 64, 65))
    z[2, 5, 3] = np.nan
    z[3, 1, 0] = np.inf
    layer = Softmax("s")
    layer.dtype = np.dtype(np.float64)
    with np.errstate(invalid="ignore"):
        y = layer.forward([z], False)
    assert np.isnan(y[2, 5]).all()
    ok = np.ones(z.shape[:2], bool)
    ok[2, 5] = ok[3, 1] = False
    e = np.exp(z[ok] - z[ok].max(axis=-1, keepdims=True))
    np.testing.assert_allclose(y[ok], e / e.sum(axis=-1, keepdims=True), rtol=1e-13)
