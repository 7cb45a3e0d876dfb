"""The "Inside the network" views, driven offscreen: each shows what the core computes.

The numbers drawn are checked against the engine: the boundary map is ``net.predict`` on the
grid, the neuron formula is the engine's ``z``, the worked example's ∂C/∂w is the engine's
gradient, the landscape's centre is the current loss.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PySide6.QtGui import QImage

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.engine import Network, NetworkSpec, NodeSpec
from nnstudio.core.engine.losses import get_loss
from nnstudio.core.insight import decision_grid, grid_points
from nnstudio.core.insight.dataview import InsightData
from nnstudio.core.training import TrainingConfig, evaluate
from nnstudio.core.training.events import EpochEnd
from nnstudio.gui.insight import InsightPanel
from nnstudio.gui.insight.base import device_size
from nnstudio.gui.insight.contours import class_boundaries, contour_segments
from nnstudio.gui.workers.training_worker import BatchProgress
from tests.core.insight import nets

pytestmark = pytest.mark.gui


def mlp(n_in: int, n_out: int, widths=(8,), act="Tanh", head="Softmax", seed=0) -> Network:
    """A float32 MLP from the insight tests' builder (tests/core/insight/nets.py)."""
    return nets.mlp(widths, act, head, n_in, n_out, np.float32, seed)


@pytest.fixture(scope="module")
def moons():
    return build_dataset(DatasetSpec(example="moons"))


@pytest.fixture(scope="module")
def salary():
    return build_dataset(DatasetSpec(example="salary"))


@pytest.fixture
def panel(qtbot):
    p = InsightPanel()
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    qtbot.waitExposed(p)
    yield p
    p.shutdown()


def settle(qtbot, panel, view=None):
    """Wait until the compute thread is idle and its results are drawn."""
    qtbot.waitUntil(panel.source.compute.idle, timeout=10_000)
    qtbot.wait(30)
    qtbot.waitUntil(panel.source.compute.idle, timeout=10_000)
    if view is not None:
        qtbot.waitUntil(lambda: view.last_result is not None, timeout=10_000)


def test_decision_map_equals_the_models_predictions(qtbot, panel, moons):
    data = InsightData.from_prepared(moons)
    net = mlp(2, 2)
    panel.source.set_data(data)
    panel.source.set_network(net)
    view = panel.boundary
    settle(qtbot, panel, view)
    result = view.last_result
    assert result["kind"] == "map" and view.message == ""
    r = view.resolution
    probs = result["probs"]
    assert probs.shape == (r, r, 2)
    # The same numbers as the core's grid and as predict() on the prepared grid points.
    expected = decision_grid(net, data.to_input, view.x_range, view.y_range, r,
                             fixed=data.means(), n_features=2)
    np.testing.assert_array_equal(probs, expected)
    pts = grid_points(view.x_range, view.y_range, r)
    np.testing.assert_allclose(probs.reshape(-1, 2), net.predict(data.to_input(pts)), atol=1e-6)
    # Points drawn: training and test, in their own units (the moons' raw coordinates).
    assert view.train_points.data.size == len(data.plot_train)
    np.testing.assert_allclose(sorted(view.train_points.data["x"]),
                               sorted(moons.x_train[:, 0] * moons.preparation.features[0]
                                      ["divisor"] + moons.preparation.features[0]["offset"]),
                               rtol=1e-5)
    assert view.test_points.data.size == len(data.plot_test)
    # The boundary line is drawn and lies where the two classes are equally likely.
    lx, ly = view.lines.getData()
    assert len(lx) > 10
    on_line = net.predict(data.to_input(np.stack([lx, ly], 1)).astype(np.float32))
    assert np.abs(on_line[:, 1] - on_line[:, 0]).max() < 0.05


def test_three_features_pick_two_and_fix_the_rest(qtbot, panel):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    y = (x[:, 0] + x[:, 2] > 0).astype(np.int64)
    data = InsightData.from_arrays(x[:90], y[:90], x[90:], y[90:],
                                   feature_names=["a", "b", "c"])
    net = mlp(3, 2)
    panel.source.set_data(data)
    panel.source.set_network(net)
    view = panel.boundary
    view.set_features(2, 0)
    settle(qtbot, panel, view)
    assert "other numeric feature stays at its training mean" in view.fixed_label.text()
    probs = view.last_result["probs"]
    pts = grid_points(view.x_range, view.y_range, view.resolution, 3, (2, 0), data.means())
    np.testing.assert_allclose(probs.reshape(-1, 2), net.predict(pts), atol=1e-6)


def test_salary_fitted_line_in_dollars(qtbot, panel, salary):
    data = InsightData.from_prepared(salary)
    net = mlp(1, 1, widths=(), head=None)
    panel.source.set_data(data)
    panel.source.set_network(net)
    view = panel.boundary
    settle(qtbot, panel, view)
    assert panel.tabs.tabText(0) == "Fitted function"
    result = view.last_result
    assert result["kind"] == "curve"
    xs, ys = view.curves[0].getData()
    raw = data.to_input(xs[:, None])
    expected = salary.preparation.decode_target(net.predict(raw.astype(np.float32)))[:, 0]
    np.testing.assert_allclose(ys, expected, rtol=1e-5)
    # Points are drawn in years and dollars.
    assert view.train_points.data["y"].max() > 50_000
    assert view.plot.getPlotItem().getAxis("left").labelText == "Salary"


def test_image_data_gets_a_message(qtbot, panel):
    x = np.zeros((10, 1, 4, 4), np.float32)
    data = InsightData(x_train=x, y_train=np.zeros(10, np.int64), task="classification")
    nodes = [NodeSpec("in", "Input"), NodeSpec("f", "Flatten"), NodeSpec("o", "Dense",
                                                                          {"units": 2})]
    net = Network(NetworkSpec(nodes, [("in", "f"), ("f", "o")]), (1, 4, 4))
    panel.source.set_data(data)
    panel.source.set_network(net)
    assert "tables of features" in panel.boundary.message
    assert "Dense layers fed by a table" in panel.neurons.message


def test_neuron_inspector_click_a_unit_and_read_its_formula(qtbot, panel, moons):
    data = InsightData.from_prepared(moons)
    net = mlp(2, 2, widths=(4, 3))
    panel.source.set_data(data)
    panel.source.set_network(net)
    panel.show_view("neurons")
    view = panel.neurons
    settle(qtbot, panel, view)
    # Click unit 2 of h2 in the diagram: find its spot and send the click the scatter sends.
    spot = next(p for p in view.diagram.units.points() if p.data() == ("h2", 2))
    view.diagram._clicked(view.diagram.units, [spot])
    view.sample_spin.setValue(5)
    qtbot.waitUntil(lambda: view.last_result is not None
                    and view.last_result["report"].node_id == "h2"
                    and view.last_result["report"].unit == 2, timeout=10_000)
    settle(qtbot, panel)
    r = view.last_result["report"]
    net.forward(moons.x_train[5:6])
    assert r.z == pytest.approx(float(net.values["h2"][0, 2]), abs=1e-6)
    assert r.activation == pytest.approx(float(net.values["a2"][0, 2]), abs=1e-6)
    text = view.formula.text()
    assert text.startswith("z = ") and "a = tanh(" in text
    assert "h2, unit 2 (Tanh)" in view.title.text()
    assert view.layer_combo.currentData() == "h2" and view.unit_spin.value() == 2
    assert "Training sample #5" in view.sample_label.text()
    assert not view.worked_box.isVisible()
    assert view.map_plot.isVisible()


def pixels(image: QImage) -> np.ndarray:
    """``(H·W, 4)`` uint8 copy of an image's pixels."""
    rgb = image.convertToFormat(QImage.Format.Format_RGB32)
    bits = bytes(rgb.constBits())[: rgb.sizeInBytes()]
    return np.frombuffer(bits, np.uint8).reshape(-1, 4).copy()


def test_neuron_diagram_lines_are_an_image_made_off_the_gui_thread(qtbot, panel, moons):
    panel.source.set_data(InsightData.from_prepared(moons))
    panel.source.set_network(mlp(2, 2, widths=(12, 8)))
    panel.show_view("neurons")
    view = panel.neurons
    settle(qtbot, panel, view)
    d = view.diagram
    image = view.last_result["edges_image"]
    assert (image.width(), image.height()) == device_size(d) != (0, 0)
    assert all(p is None for p in d.edges.paths)  # nothing left for the GUI thread to draw
    with_image = d.grab().toImage()
    # The same lines drawn the old way, on the GUI thread: the same picture.
    r = view.last_result
    d.draw({"": r["inputs"], **r["acts"]}, r["weights"], view.selected)
    assert d.edges_image.image is None and any(p is not None for p in d.edges.paths)
    drawn = d.grab().toImage()
    a, b = (pixels(i) for i in (with_image, drawn))
    assert (a != 255).any(axis=1).mean() > 0.1  # lines and units are there
    # Rasterized in another order a line may shift by a pixel here and there: the same
    # picture to the eye (measured: 3 % of pixels differ, by 0.1 of 255 on average).
    assert (a != b).any(axis=1).mean() < 0.06
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 1.0


def test_worked_example_for_the_salary_neuron(qtbot, panel, salary):
    data = InsightData.from_prepared(salary)
    net = mlp(1, 1, widths=(), head=None)
    panel.source.set_data(data)
    panel.source.set_network(net, TrainingConfig(loss="mse", optimizer={
        "type": "sgd", "learning_rate": 0.1}))
    panel.show_view("neurons")
    view = panel.neurons
    view.sample_spin.setValue(3)
    settle(qtbot, panel, view)
    qtbot.waitUntil(lambda: view.worked_box.isVisible(), timeout=10_000)
    ex = view.last_result["worked"]
    # ∂C/∂w and ∂C/∂b equal the engine's gradients on that one sample.
    twin = mlp(1, 1, widths=(), head=None)
    twin.params[...] = net.params
    x, y = salary.x_train[3:4], salary.y_train[3:4]
    pred = twin.forward(x, training=True)
    twin.backward(get_loss("mse").grad(pred, y))
    assert ex.dc_dw == pytest.approx(float(twin.layers["out"].grads["W"][0, 0]), rel=1e-5)
    assert ex.dc_db == pytest.approx(float(twin.layers["out"].grads["b"][0]), rel=1e-5)
    assert ex.w_new == pytest.approx(ex.w - 0.1 * ex.dc_dw)
    text = view.worked.text()
    assert "∂C/∂w = ∂C/∂ŷ" in text and "w ← w − α·∂C/∂w" in text
    assert "after the data's scaling" in view.worked_note.text()


def test_stats_view_warns_of_dead_relus(qtbot, panel, moons):
    data = InsightData.from_prepared(moons)
    net = mlp(2, 2, widths=(8,), act="ReLU")
    net.param_views["h1"]["b"][:6] = -50.0
    panel.source.set_data(data)
    panel.source.set_network(net, TrainingConfig(loss="cross_entropy"))
    panel.show_view("stats")
    view = panel.stats
    settle(qtbot, panel, view)
    assert "Dead ReLUs: 6 of 8 units in h1 (75%)" in view.warnings.text()
    assert view.table.rowCount() == 2
    assert view.table.item(0, 5).text() == "6 (75%)"
    h = view.last_result.layer("h1")
    qtbot.waitUntil(lambda: view.w_bars.opts["height"] is not None
                    and len(view.w_bars.opts["height"]) > 0, timeout=5_000)
    assert view.w_bars.opts["height"].sum() == h.weights.counts.sum() == 16


def test_landscape_centre_is_the_current_loss(qtbot, panel, salary):
    data = InsightData.from_prepared(salary)
    net = mlp(1, 1, widths=(), head=None)
    panel.source.set_data(data)
    panel.source.set_network(net, TrainingConfig(loss="mse"))
    panel.show_view("landscape")
    view = panel.landscape
    settle(qtbot, panel, view)
    s = view.last_result["slice"]
    x, y = view._probe
    assert s.center_loss == pytest.approx(evaluate(net, x, y, "mse")["loss"], rel=1e-6)
    r = len(s.xs)
    assert s.loss[r // 2, r // 2] == s.center_loss
    # The one-neuron model's plane is w and b: the axes say so, the star is at (w, b).
    assert s.directions.labels == ("w₀₀ (out)", "b₀ (out)")
    assert view.end.data["x"][0] == pytest.approx(net.param_views["out"]["W"][0, 0])
    view.mode_combo.setCurrentIndex(1)  # random directions
    qtbot.waitUntil(lambda: view.last_result["slice"].directions.kind == "random",
                    timeout=10_000)


def test_views_wait_while_network_and_data_do_not_fit(qtbot, panel, moons):
    panel.source.set_network(mlp(5, 2))
    panel.source.set_data(InsightData.from_prepared(moons))
    for view in panel.views:
        assert "do not fit together yet" in view.message, view.key
        assert "Input expects (5,)" in view.message, view.key
    qtbot.wait(50)
    assert panel.source.compute.idle() and panel.boundary.last_result is None
    panel.source.set_network(mlp(2, 2))
    assert panel.boundary.message == ""
    qtbot.waitUntil(lambda: panel.boundary.last_result is not None, timeout=10_000)


def test_a_failing_job_shows_one_line_and_prints_no_traceback(
        qtbot, panel, moons, capsys, caplog, monkeypatch):
    from nnstudio.gui.insight import stats_view

    def broken(net, x, y, loss):  # an unforeseen failure inside a computation
        return np.ones((3, 2)) + np.ones((4, 5))

    monkeypatch.setattr(stats_view, "stats_job", broken)
    caplog.set_level(logging.DEBUG, logger="nnstudio.insight")
    panel.source.set_data(InsightData.from_prepared(moons))
    panel.source.set_network(mlp(2, 2), TrainingConfig(loss="cross_entropy"))
    panel.show_view("stats")
    view = panel.stats
    qtbot.waitUntil(lambda: view.job_failed, timeout=10_000)
    settle(qtbot, panel)
    assert view.message.startswith("This view cannot be computed for this network and data "
                                   "(ValueError: operands could not be broadcast")
    assert "\n" not in view.message
    err = capsys.readouterr().err
    assert "Traceback" not in err and "ValueError" not in err
    assert any(r.exc_info for r in caplog.records if r.name == "nnstudio.insight")
    # The other views were not affected, and a new network clears the message.
    assert panel.boundary.message == ""
    monkeypatch.setattr(stats_view, "stats_job", stats_view.layer_stats)
    panel.source.set_network(mlp(2, 2, seed=1))
    assert view.message == "" and not view.job_failed
    settle(qtbot, panel, view)


def test_another_tasks_loss_does_not_reach_the_views(qtbot, panel, salary, capsys):
    """A project's classification settings while regression data and a fitting design are
    loaded: the views use the loss the task implies (the run would too) and compute."""
    panel.source.set_data(InsightData.from_prepared(salary))
    panel.source.set_network(mlp(1, 1, widths=(4,), head=None),
                             TrainingConfig(loss="cross_entropy"))
    assert panel.source.loss == "mse" and panel.source.compatible
    panel.show_view("stats")
    settle(qtbot, panel, panel.stats)
    assert panel.stats.message == "" and panel.stats.last_result.layer("out").grad_norm > 0
    assert "Traceback" not in capsys.readouterr().err


def test_targets_that_do_not_fit_the_outputs_are_said_before_any_job(qtbot, panel, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = rng.normal(size=(60, 2))  # two regression targets
    panel.source.set_data(InsightData.from_arrays(x[:40], y[:40], x[40:], y[40:],
                                                  task="regression"))
    panel.source.set_network(mlp(2, 3, head=None), TrainingConfig(loss="mse"))
    for view in panel.views:
        assert "2 target value(s) per sample but the network outputs (3,)" in view.message
    qtbot.wait(50)
    assert panel.source.compute.idle() and panel.stats.last_result is None
    assert "Traceback" not in capsys.readouterr().err


def test_landscape_refuses_big_models(qtbot, panel, moons):
    panel.source.set_data(InsightData.from_prepared(moons))
    panel.source.set_network(mlp(2, 2, widths=(128, 128)))
    assert "small models" in panel.landscape.message


def test_synthetic_events_drive_position_and_refresh(qtbot, panel, moons):
    data = InsightData.from_prepared(moons)
    net = mlp(2, 2)
    src = panel.source
    src.set_data(data)
    src.set_network(net)
    settle(qtbot, panel, panel.boundary)
    first = panel.boundary.last_result["probs"].copy()
    net.param_views["out"]["b"][:] = [3.0, -3.0]  # the "trainer" moved the weights
    src.on_progress(BatchProgress(2, 10, 4, 9, 0.5, 0.5, 0.01, 1.0))
    src.on_epoch(EpochEnd(2, 10, 0.4, 0.5, {}, {}, 0.01, 1.0, True, 2))
    assert src.position_text() == "epoch 2 · batch 9/9"
    qtbot.waitUntil(lambda: not np.array_equal(panel.boundary.last_result["probs"], first),
                    timeout=10_000)
    assert panel.boundary.last_result["probs"][..., 0].mean() > 0.9
    assert len(src.path) == 2  # the start and the moved weights (the epoch saw no change)


def test_contours_cross_where_the_field_does():
    xs = np.linspace(-1, 1, 41)
    ys = np.linspace(-1, 1, 31)
    gx, gy = np.meshgrid(xs, ys)
    field = gx**2 + gy**2
    x, y = contour_segments(field, 0.25, xs, ys)
    assert len(x) > 20 and len(x) % 2 == 0
    np.testing.assert_allclose(np.hypot(x, y), 0.5, atol=0.01)
    probs = np.stack([gx > 0.3, (gx <= 0.3) & (gy > 0), (gx <= 0.3) & (gy <= 0)], -1) * 1.0
    bx, by = class_boundaries(probs * 0.8 + 0.1, xs, ys)
    assert len(bx) > 0
    # Every boundary point lies between grid points on either side of x = 0.3 or y = 0.
    near = (np.abs(bx - 0.3) <= 0.05) | ((np.abs(by) <= 0.07) & (bx <= 0.35))
    assert near.all()


def test_boundary_of_a_one_output_sigmoid_classifier():
    from nnstudio.gui.insight.contours import class_boundaries

    xs = np.linspace(-1, 1, 21)
    ys = np.linspace(-1, 1, 21)
    gx, _ = np.meshgrid(xs, ys)
    probs = (1 / (1 + np.exp(-8 * gx)))[..., None]  # (R, C, 1): p(class 1) rises with x
    bx, by = class_boundaries(probs, xs, ys)
    assert len(bx) > 0 and np.allclose(bx, 0.0, atol=0.06)  # the vertical line x = 0
    assert by.min() <= -0.9 and by.max() >= 0.9  # across the whole plot


def test_a_log_gradient_axis_labels_whole_decades_only():
    from nnstudio.gui.insight.stats_view import decade_ticks

    major, minor = decade_ticks(-1.0, 1.0)
    assert [label for _, label in major] == ["0.1", "1", "10"]
    assert [v for v, _ in major] == [-1.0, 0.0, 1.0]
    assert len(minor) == 16 and all(label == "" for _, label in minor)  # 2…9 in two decades
    assert all(-1.0 < v < 1.0 for v, _ in minor)
