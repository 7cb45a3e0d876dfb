"""Dense-family layers one by one: gradients (inputs and parameters) against central
finite differences in float64, shape inference, and readable setting errors."""

import numpy as np
import pytest

from nnstudio.core.engine import LAYERS, Layer, NetworkSpec, infer_shapes
from nnstudio.core.errors import ConfigError, ShapeError
from tests.core.engine.gradcheck import chain, check_layer_gradients, step_allocations


def make(type_name, **config):
    return lambda: Layer.from_config(type_name, "t", config)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "type_name, config, shapes",
    [
        ("Dense", {"units": 4}, [(5,)]),
        ("Dense", {"units": 3, "use_bias": False}, [(2,)]),
        ("Sigmoid", {}, [(6,)]),
        ("Tanh", {}, [(3, 4)]),
        ("ReLU", {}, [(7,)]),
        ("LeakyReLU", {"alpha": 0.3}, [(7,)]),
        ("Linear", {}, [(4,)]),
        ("Softmax", {}, [(5,)]),
        ("BatchNorm", {}, [(4,)]),
        ("Dropout", {"rate": 0.4}, [(6,)]),
        ("Add", {}, [(4,), (4,), (4,)]),
        ("Concatenate", {}, [(3,), (2,)]),
        ("Concatenate", {"axis": 0}, [(2, 3), (4, 3)]),
    ],
)
def test_layer_backward_matches_finite_differences(type_name, config, shapes, seed):
    # Random shapes per seed for the element-wise layers keep the check from being lucky.
    check_layer_gradients(make(type_name, **config), shapes, seed=seed, batch=2 + seed)


def test_relu_family_gradient_away_from_the_kink():
    # ReLU is not differentiable at 0; random normal inputs are never exactly there.
    check_layer_gradients(make("ReLU"), [(50,)], seed=5)


def test_dropout_is_identity_at_inference_and_scales_in_training():
    layer = Layer.from_config("Dropout", "d", {"rate": 0.5})
    layer.rng = np.random.default_rng(0)
    x = np.ones((1000, 10), np.float32)
    assert layer.forward([x], training=False) is x
    y = layer.forward([x], training=True)
    assert set(np.unique(y)) == {0.0, 2.0}
    assert abs((y == 0).mean() - 0.5) < 0.02


def test_batchnorm_running_statistics_are_used_at_inference():
    layer = Layer.from_config("BatchNorm", "bn", {"momentum": 0.0})
    check_layer_gradients(lambda: layer, [(3,)], seed=0)  # attaches params and state
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(500, 3))
    layer.forward([x], training=True)
    np.testing.assert_allclose(layer.state["running_mean"], x.mean(0), rtol=1e-6)
    np.testing.assert_allclose(layer.state["running_var"], x.var(0), rtol=1e-6)
    y = layer.forward([x], training=False)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-3)


def test_shape_inference_reports_shapes_and_parameter_counts_without_data():
    report = infer_shapes(
        chain([{"type": "Dense", "units": 256}, {"type": "ReLU"},
                   {"type": "Dense", "units": 10}, {"type": "Softmax"}]),
        (784,),
    )
    assert report.ok
    assert report.nodes["n0"].shape == (256,) and report.nodes["n0"].params == 784 * 256 + 256
    assert report.nodes["n2"].params == 2570
    assert report.total_params == 784 * 256 + 256 + 2570


def test_shape_errors_name_the_layer_and_suggest_a_fix():
    report = infer_shapes(chain([{"type": "Dense", "units": 4}]), (1, 28, 28))
    assert report.nodes["n0"].error == (
        "Dense 'n0': needs features (F,) or a sequence (T, F) but gets (1, 28, 28): add a "
        "Flatten layer before it"
    )
    # A sequence (T, F) is transformed position by position on its last axis.
    assert infer_shapes(chain([{"type": "Dense", "units": 4}]), (28, 28)).nodes["n0"].shape \
        == (28, 4)
    merge = NetworkSpec.from_dict({
        "nodes": [{"id": "in", "type": "Input"}, {"id": "a", "type": "Dense", "units": 3},
                  {"id": "b", "type": "Dense", "units": 4}, {"id": "s", "type": "Add"}],
        "edges": [["in", "a"], ["in", "b"], ["a", "s"], ["b", "s"]],
    })
    assert "needs inputs of one shape, got 3, 4" in infer_shapes(merge, (2,)).nodes["s"].error


def test_graph_level_problems_are_reported_not_raised():
    cyc = NetworkSpec.from_dict({
        "nodes": [{"id": "in", "type": "Input"}, {"id": "a", "type": "Dense", "units": 2},
                  {"id": "b", "type": "Add"}],
        "edges": [["in", "b"], ["b", "a"], ["a", "b"]],
    })
    assert "cycle" in infer_shapes(cyc, (2,)).errors[0]
    two_outputs = NetworkSpec.from_dict({
        "nodes": [{"id": "in", "type": "Input"}, {"id": "a", "type": "Dense", "units": 2},
                  {"id": "b", "type": "Dense", "units": 2}],
        "edges": [["in", "a"], ["in", "b"]],
    })
    assert "2 outputs" in infer_shapes(two_outputs, (2,)).errors[0]
    dangling = NetworkSpec.from_dict({
        "nodes": [{"id": "in", "type": "Input"}, {"id": "a", "type": "Dense", "units": 2}],
        "edges": [],
    })
    errors = infer_shapes(dangling, (2,)).errors
    assert any("is not connected to an input" in e for e in errors)


@pytest.mark.parametrize(
    "type_name, config, message",
    [
        ("Dense", {"units": 0}, "Dense 't': needs 'units' ≥ 1 (got 0)"),
        ("Dense", {"units": 2.5}, "'units' must be a whole number"),
        ("Dense", {"unit": 3}, "has no setting 'unit'"),
        ("LeakyReLU", {"alpha": "x"}, "'alpha' must be a number"),
        ("Dropout", {"rate": 1.0}, "'rate' ≤ 0.95"),
        ("Dense", {"kernel_initializer": "magic"}, "must be one of glorot_uniform"),
    ],
)
def test_bad_settings_are_named(type_name, config, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Layer.from_config(type_name, "t", config)


def test_unknown_layer_type_lists_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown layer type 'Denze'.*Dense"):
        Layer.from_config("Denze", "t", {})


def test_every_layer_has_palette_metadata():
    from nnstudio.core.engine import CATEGORIES

    for name, cls in LAYERS.items():
        assert cls.category in CATEGORIES, name
        assert cls.summary, f"{name} has no one-line summary"


def test_shape_error_is_raised_by_network_construction():
    from nnstudio.core.engine import Network

    with pytest.raises(ShapeError, match="add a Flatten layer"):
        Network(chain([{"type": "Dense", "units": 4}]), (1, 28, 28))


@pytest.mark.parametrize("shape", [(128,), (8, 12, 12)])
def test_batchnorm_steps_allocate_nothing_of_batch_size(shape):
    from nnstudio.core.engine import Network

    layers = [{"type": "BatchNorm"}, {"type": "ReLU"}]
    if len(shape) > 1:
        layers.append({"type": "Flatten"})
    net = Network(chain(layers + [{"type": "Dense", "units": 10}]), shape)
    x = np.random.default_rng(0).normal(size=(256, *shape)).astype(np.float32)
    kept, peak = step_allocations(net, x, np.ones((256, 10), np.float32))
    assert x.nbytes >= 128_000  # so that one batch-sized temporary would show
    assert kept < 4_000, f"a steady-state step kept {kept} bytes"
    # NumPy's own iterator buffers (≤ 32 KB) for reductions over strided axes are all.
    assert peak < 48_000, f"a step allocated {peak} bytes at once"
