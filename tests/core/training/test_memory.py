"""Training memory is estimated from shapes alone; nothing to learn or too much to hold is
refused in one sentence; more than half the machine is a warning."""

import numpy as np
import pytest

from nnstudio.core.engine.network import Network, NetworkSpec, infer_shapes
from nnstudio.core.errors import ConfigError
from nnstudio.core.training import TrainingConfig, train
from nnstudio.core.training.memory import (
    check_training_fits,
    estimate_training_memory,
    machine_memory,
    training_fit,
)

MLP = {"nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 100},
                 {"id": "a", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 3}],
       "edges": [["in", "h"], ["h", "a"], ["a", "out"]]}


def test_estimate_adds_weights_gradients_optimizer_and_activations():
    report = infer_shapes(NetworkSpec.from_dict(MLP), (10,))
    p = 10 * 100 + 100 + 100 * 3 + 3
    assert report.total_params == p
    adam = estimate_training_memory(report, batch_size=64, optimizer="adam")
    assert adam.parameters == (2 + 3) * 4 * p  # weights, gradients, 3 saved copies (float32)
    assert adam.optimizer == 2 * 4 * p  # two moments
    # Outputs and their gradients at the batch size, or the forward-only validation pass in
    # batches of up to 1,024, whichever is larger (here: the validation pass).
    values = 10 + 100 + 100 + 3
    assert adam.activations == max(2 * 64 * values, 1024 * values) * 4
    big = estimate_training_memory(report, batch_size=4096, optimizer="adam")
    assert big.activations == 2 * 4096 * values * 4
    sgd = estimate_training_memory(report, batch_size=64, optimizer="sgd")
    assert sgd.optimizer == 0 and sgd.total < adam.total
    assert "activations" in adam.describe() and "batch size 64" in adam.describe()


def test_a_network_of_122_million_parameters_is_refused_on_a_small_machine():
    big = {"nodes": [{"id": "in", "type": "Input"}]
           + [{"id": f"d{i}", "type": "Dense", "units": 2048} for i in range(30)],
           "edges": [["in", "d0"]] + [[f"d{i}", f"d{i + 1}"] for i in range(29)]}
    est = estimate_training_memory(infer_shapes(NetworkSpec.from_dict(big), (2048,)), 32)
    assert est.params > 122_000_000
    gb = 10**9
    with pytest.raises(ConfigError, match="more than this machine has free"):
        check_training_fits(est, (8 * gb, 1 * gb))
    assert "more than half" in check_training_fits(est, (6 * gb, 5.5 * gb))
    assert check_training_fits(est, (64 * gb, 60 * gb)) == ""
    total, available = machine_memory()
    assert total > 0 and 0 < available <= total


def test_nothing_to_learn_is_refused_in_one_sentence():
    alone = {"nodes": [{"id": "in", "type": "Input"}], "edges": []}
    with pytest.raises(ConfigError) as e:
        training_fit(NetworkSpec.from_dict(alone), (4,), TrainingConfig())
    assert ". " not in str(e.value) and "no trainable parameter" in str(e.value)
    net = Network(NetworkSpec.from_dict(alone), (4,), seed=0)
    x = np.zeros((8, 4), np.float32)
    with pytest.raises(ConfigError, match="no trainable parameter"):
        next(train(net, TrainingConfig(loss="mse", epochs=1), (x, x)))


LSTM = {"nodes": [{"id": "in", "type": "Input"}, {"id": "r", "type": "LSTM", "units": 64},
                  {"id": "o", "type": "Dense", "units": 10}, {"id": "s", "type": "Softmax"}],
        "edges": [["in", "r"], ["r", "o"], ["o", "s"]]}
CNN = {"nodes": [{"id": "in", "type": "Input"},
                 {"id": "c", "type": "Conv2D", "filters": 16, "kernel_size": [3, 3],
                  "padding": "same"},
                 {"id": "a", "type": "ReLU"}, {"id": "p", "type": "MaxPool2D"},
                 {"id": "f", "type": "Flatten"}, {"id": "o", "type": "Dense", "units": 10},
                 {"id": "s", "type": "Softmax"}],
       "edges": [["in", "c"], ["c", "a"], ["a", "p"], ["p", "f"], ["f", "o"], ["o", "s"]]}


@pytest.mark.parametrize(("net", "shape"), [(LSTM, (28, 28)), (CNN, (1, 28, 28))])
def test_estimate_is_within_a_factor_of_two_of_the_measured_peak(net, shape):
    """The layers' working arrays count (an LSTM's gates at every step, a convolution's
    unfolded input): the estimate used to be a floor 8–22 times below the peak."""
    import tracemalloc

    spec = NetworkSpec.from_dict(net)
    est = estimate_training_memory(infer_shapes(spec, shape), 32, "adam", spec=spec)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1024, *shape)).astype(np.float32)
    y = rng.integers(0, 10, 1024)
    tracemalloc.start()
    try:
        network = Network(spec, shape, seed=0)
        config = TrainingConfig(loss="cross_entropy", epochs=1, batch_size=32,
                                early_stopping=None)
        for _ in train(network, config, (x, y), (x[:256], y[:256])):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    measured = peak - x.nbytes  # the epoch's shuffled copy of the data is not the network's
    assert 0.5 <= measured / est.total <= 2.0, (measured, est.describe())
