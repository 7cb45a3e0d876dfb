"""Inside the network for a network with two Inputs and two outputs, in the real window:
Weights & gradients is drawn (the gradients of the weighted sum of the outputs' losses, as
training takes them), the views that follow one Input to one output say why they are not
drawn, and step mode trains such a network one batch / one epoch at a time."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.insight.stats import layer_stats

from .test_insight_training import PausedAtStart, wait_paused
from .test_several_outputs import open_project, project_file, train, window  # noqa: F401

pytestmark = pytest.mark.gui

LAYERS = ["h1", "h2", "h3", "v", "l"]  # the layers with weights, both Inputs' and both heads'


def test_weights_and_gradients_are_drawn_and_other_views_say_why_not(
        qtbot, window, project_file):  # noqa: F811
    open_project(qtbot, window, project_file)
    train(qtbot, window, epochs=3)
    panel = window.insight_panel
    source = panel.source
    qtbot.waitUntil(lambda: source.network is window.workflow.session.network
                    and source.data is not None, timeout=10_000)
    assert source.several == ["Inputs", "outputs"]
    assert source.compatible and source.mismatch_text() == ""
    stats = panel.stats
    assert stats.message == ""
    stats.update_now(force=True)
    qtbot.waitUntil(lambda: stats.last_result is not None, timeout=20_000)
    result = stats.last_result
    assert [s.node_id for s in result.layers] == LAYERS
    assert [stats.layer_combo.itemData(i) for i in range(stats.layer_combo.count())] == LAYERS
    # The same numbers as the core computes on the trained weights with both heads.
    x, y = stats._probe
    net = source.network
    expect = layer_stats(net, x, y, heads=source.data.heads)
    for got, want in zip(result.layers, expect.layers, strict=True):
        assert got.grad_norm > 0 and np.isfinite(got.grad_norm)
        np.testing.assert_allclose(got.grad_norm, want.grad_norm, rtol=1e-4)
        np.testing.assert_array_equal(got.weights.counts, want.weights.counts)
    # The table is filled once the view is drawn.
    stats._redraw()
    assert stats.table.rowCount() == len(LAYERS)
    assert stats.table.item(1, 0).text() == "h2"
    # The views that follow one Input to one output say so, and why.
    for view, why in ((panel.boundary, "map of one output"),
                      (panel.neurons, "one sample from one Input"),
                      (panel.landscape, "one loss over two directions")):
        assert "several Inputs and outputs" in view.message
        assert why in view.message and "Weights & gradients" in view.message
        view.update_now(force=True)
        assert not source.compute.pending(view.key)  # nothing computed for them


def test_step_mode_trains_a_network_with_two_outputs(qtbot, window, project_file,  # noqa: F811
                                                      monkeypatch):
    from nnstudio.gui.workers import training_worker

    monkeypatch.setattr(training_worker, "TrainControl", PausedAtStart)
    open_project(qtbot, window, project_file)
    panel = window.insight_panel
    src = panel.source
    assert panel.steps.start_handler is not None
    window.workflow.training.epochs.setValue(5)
    panel.steps.one_batch_action.trigger()  # starts a run through the training panel
    wait_paused(qtbot, src)
    n = src.n_batches
    assert n > 1 and src.position_text() == f"epoch 1 · batch 1/{n}"
    before = src.network.params.copy()
    panel.steps.one_epoch_action.trigger()  # to the end of epoch 1
    wait_paused(qtbot, src)
    assert src.position_text() == f"epoch 1 · batch {n}/{n}"
    assert not np.array_equal(before, src.network.params)  # the heads' gradients moved it
    qtbot.waitUntil(lambda: panel.stats.last_result is not None or not panel.stats.isVisible(),
                    timeout=10_000)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=60_000):
        window.workflow.training.stop()
    run = window.workflow.session.current_run
    assert run.kind == "step" and run.epochs >= 1
    assert {"value/r2", "label/accuracy"} <= set(run.metrics["validation"])
