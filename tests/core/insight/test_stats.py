"""Layer health: dead ReLUs, saturation, gradient norms and the warnings built on them."""

import math

import numpy as np
import pytest

from nnstudio.core.engine.losses import get_loss
from nnstudio.core.insight import StatsHistory, layer_stats
from tests.core.insight.nets import mlp, xor_data


def test_dead_relu_share_on_a_constructed_network():
    net = mlp(widths=(8,))
    # Units 0, 2 and 5 get a bias no input in [-1, 1]² can overcome: they never fire.
    net.param_views["h1"]["b"][[0, 2, 5]] = -100.0
    net.param_views["h1"]["b"][[1, 3, 4, 6, 7]] = 100.0
    x, y = xor_data()
    stats = layer_stats(net, x, y, "cross_entropy")
    h1 = stats.layer("h1")
    assert h1.dead_units == [0, 2, 5]
    assert h1.dead_share == pytest.approx(3 / 8)
    advice = stats.warnings()
    assert [a.kind for a in advice] == ["dead_relu"]
    assert "3 of 8 units in h1 (38%)" in advice[0].text and "LeakyReLU" in advice[0].text
    # A healthy network has no warning.
    assert layer_stats(mlp(widths=(8,)), x, y, "cross_entropy").warnings() == []


def test_saturated_sigmoid_and_tanh():
    x, y = xor_data()
    for act in ("Sigmoid", "Tanh"):
        net = mlp(widths=(6,), act=act)
        net.param_views["h1"]["W"][...] *= 1000.0
        s = layer_stats(net, x, y, "cross_entropy").layer("h1")
        assert s.saturated_share > 0.9
        assert s.dead_share is None
    kinds = [a.kind for a in layer_stats(net, x, y, "cross_entropy").warnings()]
    assert "saturated" in kinds


def test_gradient_norms_equal_the_engines_gradients():
    net = mlp(widths=(5, 4))
    x, y = xor_data(64)
    stats = layer_stats(net, x, y, "cross_entropy")
    twin = mlp(widths=(5, 4))
    pred = twin.forward(x, training=True)
    loss = get_loss("cross_entropy")
    twin.backward(loss.fused_grad(pred, y), at="out")
    for node in ("h1", "h2", "out"):
        g = twin.layers[node].grads
        expected = math.sqrt(sum(float((v**2).sum()) for v in g.values()))
        assert stats.layer(node).grad_norm == pytest.approx(expected, rel=1e-12)
    w = twin.param_views["h1"]["W"]
    assert stats.layer("h1").weight_norm == pytest.approx(np.linalg.norm(w))
    assert stats.layer("h1").weights.counts.sum() == w.size
    assert stats.layer("h1").activations.counts.sum() == 64 * 5


def test_without_targets_no_gradients():
    x, _ = xor_data(10)
    stats = layer_stats(mlp(), x)
    assert all(math.isnan(s.grad_norm) for s in stats.layers)
    assert stats.warnings() == []


def test_vanishing_gradients_in_a_deep_sigmoid_stack():
    net = mlp(widths=(8,) * 8, act="Sigmoid")
    x, y = xor_data()
    advice = layer_stats(net, x, y, "cross_entropy").warnings()
    assert any(a.kind == "vanishing" and a.node_id == "h1" for a in advice)


def test_exploding_gradients():
    net = mlp(widths=(16, 16), act="Linear", out=None, n_out=1)
    for node in ("h1", "h2", "out"):
        net.param_views[node]["W"][...] *= 30.0
    x, _ = xor_data()
    y = np.full((len(x), 1), 1000.0)
    advice = layer_stats(net, x, y, "mse").warnings()
    assert any(a.kind == "exploding" for a in advice)
    assert "clip" in next(a.text for a in advice if a.kind == "exploding")


def test_history_keeps_series_aligned_and_bounded():
    net = mlp(widths=(4,))
    x, y = xor_data(32)
    h = StatsHistory(max_points=8)
    for step in range(20):
        h.append(step, layer_stats(net, x, y, "cross_entropy"))
    steps, norms = h.arrays("grad_norm")
    assert len(steps) <= 8 and steps[0] == 0
    assert set(norms) == {"h1", "out"}
    assert all(len(v) == len(steps) for v in norms.values())
    _, dead = h.arrays("dead_share")
    assert np.isnan(dead["out"]).all() and not np.isnan(dead["h1"]).any()


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "SimpleRNN"])
def test_a_last_state_that_forgot_the_sequence_is_pointed_out(kind):
    """Clips padded with 60 frames of silence end in the same state whatever came first
    (the course's spoken words read by an LSTM stayed at chance); with return_sequences and
    an average over the steps, or without the long padding, nothing is said."""
    from nnstudio.core.engine import Network
    from tests.core.engine.gradcheck import chain

    rng = np.random.default_rng(0)
    sound = rng.normal(size=(64, 12, 8))
    padded = np.concatenate([sound, np.full((64, 60, 8), -0.7)], axis=1)
    y = rng.integers(0, 3, 64)

    def advice(x, layers):
        net = Network(chain(layers + [{"type": "Dense", "units": 3}, {"type": "Softmax"}]),
                      x.shape[1:], np.float64, seed=1)
        stats = layer_stats(net, x, y, "cross_entropy")
        return stats, [a for a in stats.warnings() if a.kind == "same_state"]

    stats, said = advice(padded, [{"type": kind, "units": 16}])
    assert len(said) == 1 and said[0].node_id == "n0"
    assert "return_sequences" in said[0].text and "GlobalAvgPool1D" in said[0].text
    assert stats.layer("n0").sample_spread < 0.05
    assert stats.layer("n0").activation == "hidden state"  # not "Linear"
    stats, said = advice(sound, [{"type": kind, "units": 16}])
    assert not said and stats.layer("n0").sample_spread > 0.2
    stats, said = advice(padded, [{"type": kind, "units": 16, "return_sequences": True},
                                  {"type": "GlobalAvgPool1D"}])
    assert not said and stats.layer("n0").sample_spread is None
