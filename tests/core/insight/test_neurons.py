"""The neuron inspector's numbers are the engine's: z = w·x + b and its activation."""

import numpy as np
import pytest

from nnstudio.core.insight import all_neuron_maps, neuron_map, neuron_report, unit_activations
from nnstudio.core.insight.boundary import grid_points
from nnstudio.core.insight.common import num
from tests.core.insight.nets import mlp


def test_first_layer_unit_matches_hand_formula():
    net = mlp(act="Tanh")
    x = np.array([0.5, -2.0])
    r = neuron_report(net, "h1", 3, x)
    W, b = net.param_views["h1"]["W"], net.param_views["h1"]["b"]
    np.testing.assert_allclose(r.weights, W[:, 3])
    assert r.bias == b[3]
    np.testing.assert_allclose(r.inputs, x)
    assert r.z == pytest.approx(x @ W[:, 3] + b[3], abs=1e-12)
    assert r.activation == pytest.approx(np.tanh(r.z), abs=1e-12)
    assert r.activation_name == "Tanh"
    assert r.input_names == ["x₀", "x₁"]  # counted from 0, like the units


def test_hidden_unit_reads_previous_activations_and_engine_values():
    net = mlp(widths=(4, 3))
    x = np.array([[1.0, 0.25]])
    r = neuron_report(net, "h2", 1, x)
    net.forward(x)
    np.testing.assert_allclose(r.inputs, net.values["a1"][0])
    assert r.z == net.values["h2"][0, 1]
    assert r.activation == max(r.z, 0.0)
    assert r.input_names[0] == "a₀"  # unit 0 of the layer before


def test_formula_shows_the_numbers():
    net = mlp(widths=(2,), act="Sigmoid")
    net.param_views["h1"]["W"][:, 0] = [0.42, -1.3]
    net.param_views["h1"]["b"][0] = 0.1
    r = neuron_report(net, "h1", 0, np.array([1.0, 2.0]))
    lines = r.formula()
    assert lines[0] == "z = 0.42·x₀ − 1.3·x₁ + 0.1"
    assert lines[1] == "  = 0.42·1 − 1.3·2 + 0.1"
    assert lines[2] == "  = −2.08"
    assert lines[3].startswith("a = σ(−2.08) = 0.111")


def test_formula_summarizes_many_inputs():
    net = mlp(widths=(2,), n_in=10)
    x = np.linspace(-1, 1, 10)
    r = neuron_report(net, "h1", 1, x, feature_names=[f"f{i}" for i in range(10)])
    lines = r.formula(max_terms=3)
    assert lines[0].count("·f") == 3 and "+ …" in lines[0]
    assert "other 7 terms" in lines[-1]
    # The written terms and the remainder add up to z.
    w = r.weights
    top = np.argsort(-np.abs(w))[:3]
    rest = np.setdiff1d(np.arange(10), top)
    assert float(w[rest] @ x[rest] + w[top] @ x[top] + r.bias) == pytest.approx(r.z, abs=1e-9)


def test_output_unit_without_activation_and_bad_arguments():
    net = mlp(out=None, n_out=1)
    r = neuron_report(net, "out", 0, np.zeros(2))
    assert r.activation == r.z and r.activation_name == "Linear"
    assert any("no activation" in line for line in r.formula())
    with pytest.raises(ValueError):
        neuron_report(net, "h1", 8, np.zeros(2))
    with pytest.raises(ValueError):
        neuron_report(net, "a1", 0, np.zeros(2))


def test_neuron_maps_equal_values_on_the_grid():
    net = mlp(widths=(5, 4))
    m = neuron_map(net, "h2", 2, None, (-1, 1), (-2, 2), resolution=9)
    net.forward(grid_points((-1, 1), (-2, 2), 9))
    np.testing.assert_array_equal(m, net.values["a2"][:, 2].reshape(9, 9))
    maps = all_neuron_maps(net, None, (-1, 1), (-2, 2), resolution=9)
    assert maps["h1"].shape == (5, 9, 9) and maps["out"].shape == (2, 9, 9)
    np.testing.assert_array_equal(maps["h2"][2], m)


def test_unit_activations_of_every_layer():
    net = mlp(widths=(3,))
    acts = unit_activations(net, np.array([0.3, -0.7]))
    assert set(acts) == {"h1", "out"}
    np.testing.assert_allclose(acts["out"].sum(), 1.0)  # softmax after the output layer


def test_softmax_unit_is_its_share_of_the_vector_of_logits():
    net = mlp(widths=(4,), n_out=3, out="Softmax")
    x = np.array([0.3, -1.2])
    r = neuron_report(net, "out", 2, x)
    net.forward(x[None])
    z = net.values["out"][0].astype(np.float64)
    share = np.exp(z[2]) / np.exp(z).sum()
    assert r.activation == pytest.approx(share, rel=1e-5)
    np.testing.assert_allclose(r.logits, z)
    text = "\n".join(r.formula())
    assert "softmax(z)₂ = e^z₂ / Σₖ e^zₖ over the 3 units" in text
    assert "softmax(" + num(r.z) + ")" not in text  # never the softmax of one number
    assert "this unit's share of the 3 outputs" in text


def test_one_hot_inputs_read_as_a_statement():
    net = mlp(widths=(2,), n_in=3)
    r = neuron_report(net, "h1", 0, np.array([0.2, 1.0, 0.0]),
                      feature_names=["bill", "island=Dream", "island=Biscoe"])
    lines = r.formula()
    assert "[island is Dream]" in lines[0] and "island=Dream" not in lines[0]
    assert any("is 1 when it holds for the sample, else 0" in line for line in lines)
