"""The worked example: the engine's ∂C/∂w and step equal the course's hand formulas."""

import numpy as np
import pytest

from nnstudio.core.engine.losses import get_loss
from nnstudio.core.insight import single_neuron, worked_example
from tests.core.insight.nets import mlp, neuron


def set_wb(net, w, b):
    net.param_views["lin"]["W"][0, 0] = w
    net.param_views["lin"]["b"][0] = b


def test_linear_mse_matches_the_course_by_hand():
    net = neuron()
    set_wb(net, 0.5, 0.2)
    ex = worked_example(net, x=2.0, y=3.0, loss="mse", lr=0.1)
    y_hat = 0.5 * 2.0 + 0.2
    assert ex.y_hat == pytest.approx(y_hat)
    assert ex.loss == pytest.approx((3.0 - y_hat) ** 2)
    assert ex.dc_dw == pytest.approx(2 * (y_hat - 3.0) * 2.0)
    assert ex.dc_db == pytest.approx(2 * (y_hat - 3.0))
    assert ex.w_new == pytest.approx(0.5 - 0.1 * ex.dc_dw)
    assert ex.b_new == pytest.approx(0.2 - 0.1 * ex.dc_db)
    # The network itself is untouched.
    assert net.param_views["lin"]["W"][0, 0] == 0.5
    text = "\n".join(ex.lines())
    assert "ŷ = w·x + b = 0.5·2 + 0.2 = 1.2" in text
    assert "C = (y − ŷ)²" in text and "w ← w − α·∂C/∂w = 0.5 − 0.1·(−7.2) = 1.22" in text
    # The course's chain, step by step, with the numbers.
    assert ex.lines()[2:6] == [
        "∂C/∂ŷ = −2(y − ŷ) = −2·(3 − 1.2) = −3.6",
        "∂ŷ/∂w = x = 2",
        "∂C/∂w = ∂C/∂ŷ · ∂ŷ/∂w = (−3.6)·2 = −7.2",
        "∂ŷ/∂b = 1, so ∂C/∂b = ∂C/∂ŷ · ∂ŷ/∂b = (−3.6)·1 = −3.6",
    ]
    assert ex.dc_dyhat == pytest.approx(-2 * (3.0 - y_hat))


def test_dc_dw_equals_the_engines_gradient():
    net = neuron(dtype=np.float64, seed=7)
    x, y = 1.7, -0.4
    ex = worked_example(net, x, y, loss="mse", lr=0.05)
    pred = net.forward(np.array([[x]]), training=True)
    loss = get_loss("mse")
    net.backward(loss.grad(pred, np.array([[y]])))
    assert ex.dc_dw == net.layers["lin"].grads["W"][0, 0]
    assert ex.dc_db == net.layers["lin"].grads["b"][0]


@pytest.mark.parametrize("act", ["Sigmoid", "Tanh", "ReLU", "LeakyReLU"])
def test_chain_rule_pieces_multiply_to_the_gradient(act):
    net = neuron(act)
    set_wb(net, 0.8, 0.1)
    ex = worked_example(net, x=1.5, y=0.3, loss="mse", lr=0.5)
    assert ex.dc_dyhat * ex.dyhat_dz * ex.x == pytest.approx(ex.dc_dw, rel=1e-12)
    assert ex.dc_dyhat * ex.dyhat_dz == pytest.approx(ex.dc_db, rel=1e-12)
    if act == "Sigmoid":
        s = 1 / (1 + np.exp(-(0.8 * 1.5 + 0.1)))
        assert ex.dc_dw == pytest.approx(2 * (s - 0.3) * s * (1 - s) * 1.5)
        assert "ŷ = σ(w·x + b) = σ(0.8·1.5 + 0.1) = σ(1.3)" in ex.lines()[0]


def test_logistic_neuron_with_fused_cross_entropy():
    net = neuron("Sigmoid")
    set_wb(net, -0.3, 0.05)
    ex = worked_example(net, x=2.0, y=1.0, loss="binary_cross_entropy", lr=1.0)
    p = 1 / (1 + np.exp(-(-0.3 * 2 + 0.05)))
    assert ex.loss == pytest.approx(-np.log(p))
    assert ex.dc_dw == pytest.approx((p - 1.0) * 2.0)  # (ŷ − y)·x
    assert ex.w_new == pytest.approx(-0.3 - (p - 1.0) * 2.0)


def test_other_optimizer_takes_its_real_first_step():
    net = neuron()
    set_wb(net, 0.5, 0.0)
    ex = worked_example(net, 1.0, 2.0, lr=0.01, optimizer={"type": "adam"})
    # Adam's first step moves every weight by about lr against the gradient's sign.
    assert ex.w_new == pytest.approx(0.5 + 0.01, rel=1e-4)
    assert "adam step" in ex.lines()[-1]


def test_only_one_neuron_models():
    assert single_neuron(neuron()) == ("lin", None)
    assert single_neuron(neuron("Sigmoid")) == ("lin", "act")
    assert single_neuron(mlp()) is None
    with pytest.raises(ValueError):
        worked_example(mlp(), 1.0, 1.0)
