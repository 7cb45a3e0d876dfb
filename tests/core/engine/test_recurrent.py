"""SimpleRNN, LSTM, GRU: backpropagation through time against central differences, shapes,
messages, and the ONNX gate layouts (checked against onnxruntime's RNN/LSTM/GRU operators)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnstudio.core.engine import Network, infer_shapes
from nnstudio.core.engine.recurrent import GRU, LSTM, SimpleRNN
from nnstudio.core.errors import ShapeError
from tests.core.engine.gradcheck import (
    chain,
    check_layer_gradients,
    check_network_gradients,
    step_allocations,
)

KINDS = [SimpleRNN, LSTM, GRU]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("steps", [1, 4])
def test_recurrent_gradients_through_time(kind, return_sequences, steps):
    errors = check_layer_gradients(
        lambda: kind("rnn", units=3, return_sequences=return_sequences),
        [(steps, 2)], seed=steps, params_scale=0.6,
    )
    assert set(errors) == {"W", "R", "b", "x0"}


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_gradients_over_many_steps_with_saturating_inputs(kind):
    check_layer_gradients(
        lambda: kind("rnn", units=4, return_sequences=True), [(7, 3)], seed=9,
        params_scale=0.8, input_scale=2.0, batch=2,
    )


def test_stacked_recurrent_network_gradients():
    check_network_gradients(
        chain([
            {"type": "LSTM", "units": 4, "return_sequences": True},
            {"type": "GRU", "units": 3, "return_sequences": True},
            {"type": "SimpleRNN", "units": 3},
            {"type": "Dense", "units": 3},
            {"type": "Softmax"},
        ]),
        (5, 2), "cross_entropy", np.array([0, 2, 1]), seed=3,
    )


def test_sequence_output_into_flatten_and_dense():
    net = check_network_gradients(
        chain([
            {"type": "Reshape", "shape": [4, -1]},
            {"type": "GRU", "units": 3, "return_sequences": True},
            {"type": "Flatten"},
            {"type": "Dense", "units": 2},
        ]),
        (8,), "mse", np.random.default_rng(0).normal(size=(3, 2)), seed=2,
    )
    assert net.shapes["n0"] == (4, 2) and net.shapes["n2"] == (12,)


@pytest.mark.parametrize(
    "kind, gates, config, shape, out",
    [
        (SimpleRNN, 1, {"units": 5}, (28, 28), (5,)),
        (LSTM, 4, {"units": 64}, (28, 28), (64,)),
        (GRU, 3, {"units": 8, "return_sequences": True}, (10, 3), (10, 8)),
        (LSTM, 4, {"units": 2, "return_sequences": True}, (1, 1), (1, 2)),
    ],
)
def test_recurrent_shapes_and_parameter_layout(kind, gates, config, shape, out):
    layer = kind("r", **config)
    h, f = config["units"], shape[1]
    assert layer.output_shape([shape]) == out
    assert layer.param_shapes([shape]) == {
        "W": (gates * h, f), "R": (gates * h, h), "b": (2 * gates * h,)
    }
    assert layer.param_count([shape]) == gates * h * (f + h + 2)
    net = Network(chain([{"type": kind.type_name, **config}]), shape)
    assert net.forward(np.zeros((3, *shape), np.float32)).shape == (3, *out)


@pytest.mark.parametrize("kind", KINDS)
def test_recurrent_layers_need_sequences(kind):
    with pytest.raises(ShapeError) as err:
        kind("lstm1", units=4).output_shape([(784,)])
    assert f"{kind.type_name} 'lstm1': needs sequences (T, F) but gets (784,)" in str(err.value)
    assert "Reshape" in str(err.value)
    report = infer_shapes(chain([{"id": "r", "type": kind.type_name}]), (1, 28, 28))
    assert "needs sequences (T, F) but gets (1, 28, 28)" in report.nodes["r"].error


def test_describe_category_and_initialization():
    assert LSTM("l", units=64).describe() == "LSTM 64"
    assert GRU("g", units=8, return_sequences=True).describe() == "GRU 8 seq"
    assert all(k.category == "Recurrent" for k in KINDS)
    net = Network(chain([{"type": "LSTM", "units": 5}]), (3, 4), np.float64, seed=0)
    p = net.param_views["n0"]
    np.testing.assert_array_equal(p["b"][10:15], 1.0)  # forget gate input bias
    np.testing.assert_array_equal(np.delete(p["b"], np.s_[10:15]), 0.0)
    for g in range(4):
        block = p["R"][5 * g:5 * (g + 1)]
        np.testing.assert_allclose(block @ block.T, np.eye(5), atol=1e-12)


def test_lstm_matches_a_step_by_step_reference_in_onnx_gate_order():
    rng = np.random.default_rng(1)
    n, t, f, h = 2, 5, 3, 4
    net = Network(chain([{"type": "LSTM", "units": h, "return_sequences": True}]), (t, f),
                  np.float64, seed=1)
    p = net.param_views["n0"]
    p["b"][...] = rng.normal(size=p["b"].shape)
    x = rng.normal(size=(n, t, f))
    W, R, b = p["W"], p["R"], p["b"][: 4 * h] + p["b"][4 * h:]
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    hs, cs, ys = np.zeros((n, h)), np.zeros((n, h)), []
    for s in range(t):
        g = x[:, s] @ W.T + hs @ R.T + b
        i, o, fg, c = sig(g[:, :h]), sig(g[:, h:2 * h]), sig(g[:, 2 * h:3 * h]), np.tanh(
            g[:, 3 * h:])
        cs = fg * cs + i * c
        hs = o * np.tanh(cs)
        ys.append(hs)
    np.testing.assert_allclose(net.forward(x), np.stack(ys, axis=1), rtol=1e-12, atol=1e-12)


def _onnx_recurrent(op, x, W, R, B, hidden, **attrs):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    n, t, f = x.shape
    node = helper.make_node(op, ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden, **attrs)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [t, n, f])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [t, 1, n, hidden]),
         helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, n, hidden])],
        # ONNX keeps a leading num_directions axis; ours has one direction and drops it.
        [numpy_helper.from_array(W[None], "W"), numpy_helper.from_array(R[None], "R"),
         numpy_helper.from_array(B[None], "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model, full_check=True)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    Y, Y_h = sess.run(None, {"X": np.ascontiguousarray(x.transpose(1, 0, 2))})
    return Y[:, 0].transpose(1, 0, 2), Y_h[0]


@pytest.mark.parametrize(
    "kind, op, attrs",
    [(SimpleRNN, "RNN", {}), (LSTM, "LSTM", {}), (GRU, "GRU", {"linear_before_reset": 1})],
)
def test_recurrent_layers_equal_onnx_operators(kind, op, attrs):
    """The export contract: W, R, b map to ONNX's W, R, B with a leading axis of 1."""
    rng = np.random.default_rng(4)
    n, t, f, h = 3, 6, 5, 4
    net = Network(chain([{"type": kind.type_name, "units": h, "return_sequences": True}]),
                  (t, f), seed=2)
    p = net.param_views["n0"]
    p["b"][...] = rng.normal(scale=0.5, size=p["b"].shape)
    x = rng.normal(size=(n, t, f)).astype(np.float32)
    y = net.forward(x).copy()
    Y, Y_h = _onnx_recurrent(op, x, p["W"].copy(), p["R"].copy(), p["b"].copy(), h, **attrs)
    np.testing.assert_allclose(y, Y, rtol=1e-5, atol=1e-5)
    last = Network(chain([{"type": kind.type_name, "units": h}]), (t, f), seed=2)
    last.params[...] = net.params
    np.testing.assert_allclose(last.forward(x), Y_h, rtol=1e-5, atol=1e-5)


def test_gru_is_not_the_linear_before_reset_0_variant():
    # Guard for exporters: with non-zero recurrent biases the two ONNX variants differ.
    rng = np.random.default_rng(6)
    net = Network(chain([{"type": "GRU", "units": 3, "return_sequences": True}]), (4, 2), seed=1)
    p = net.param_views["n0"]
    p["b"][...] = rng.normal(size=p["b"].shape)
    x = rng.normal(size=(2, 4, 2)).astype(np.float32)
    Y0, _ = _onnx_recurrent("GRU", x, p["W"].copy(), p["R"].copy(), p["b"].copy(), 3,
                            linear_before_reset=0)
    assert not np.allclose(net.forward(x), Y0, atol=1e-4)


def test_large_gate_inputs_saturate_without_warnings():
    net = Network(chain([{"type": "LSTM", "units": 3}]), (4, 2), seed=0)
    x = np.full((2, 4, 2), 1e4, np.float32)
    x[1] *= -1
    with warnings.catch_warnings(), np.errstate(invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        y = net.forward(x)
    assert np.isfinite(y).all()


def test_an_lstm_training_step_allocates_nothing_in_the_steady_state():
    net = Network(chain([{"type": "LSTM", "units": 64}, {"type": "Dense", "units": 10}]),
                  (28, 28))
    x = np.random.default_rng(0).normal(size=(64, 28, 28)).astype(np.float32)
    g = np.ones((64, 10), np.float32)

    kept, peak = step_allocations(net, x, g)
    assert kept < 4_000, f"a steady-state step kept {kept} bytes"
    assert peak < 150_000, f"a steady-state step allocated {peak} bytes at once"
