"""The Runs panel compares runs of a network with several outputs: each output's validation
metric overlaid (a selector chooses the output), each Output layer's target, loss and weight
side by side. Two real runs in the worker thread, with different weights."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.graph import SetConfig
from nnstudio.gui.panels import runs_compare

from .test_several_outputs import open_project, project_file, train, window  # noqa: F401

pytestmark = pytest.mark.gui


def test_two_runs_with_other_weights_are_compared_per_output(qtbot, window, project_file):  # noqa: F811
    open_project(qtbot, window, project_file)
    session = window.workflow.session
    train(qtbot, window, epochs=4)
    first = session.current_run
    window.push(SetConfig(window.document, "label", {"weight": 3.0}))
    qtbot.waitUntil(lambda: not window.workflow.data_loader.busy
                    and session.prepared is not None, timeout=20_000)
    train(qtbot, window, epochs=6)
    second = session.current_run
    assert second.id != first.id

    panel = window.workflow.runs
    panel.select_runs([first.id, second.id])
    compare = panel.compare
    qtbot.waitUntil(lambda: [r.id for r in compare.runs] == [first.id, second.id],
                    timeout=5_000)
    # The selector lists both outputs; the first output's R² is overlaid first.
    choice = compare.output_choice
    assert choice.isVisibleTo(compare)
    assert [choice.itemData(i) for i in range(choice.count())] == ["value/r2",
                                                                   "label/accuracy"]
    assert compare.metric_name == "value/r2"
    assert compare.metric_plot.titleLabel.text.startswith("Validation R² · value")
    for curve, run in zip(compare.metric_curves[:2], (first, second), strict=True):
        x, y = curve.getOriginalDataset()
        np.testing.assert_allclose(y, run.history["val_value/r2"])
        assert len(x) == run.epochs
    # Choosing the class output overlays its accuracy, in %.
    compare.choose_output("label")
    assert compare.metric_name == "label/accuracy"
    assert "accuracy" in compare.metric_plot.titleLabel.text
    for curve, run in zip(compare.metric_curves[:2], (first, second), strict=True):
        _x, y = curve.getOriginalDataset()
        np.testing.assert_allclose(y, 100 * np.asarray(run.history["val_label/accuracy"]))
    # The loss curves stay, one per run.
    _x, y = compare.loss_curves[1].getOriginalDataset()
    np.testing.assert_allclose(y, second.history["val_loss"])
    # Each Output's target, loss and weight side by side; the weight differs.
    assert compare.row_values("Output value: target") == ["value", "value"]
    assert compare.row_values("Output label: target") == ["label", "label"]
    assert compare.row_values("Output label: loss") == ["auto", "auto"]
    assert compare.row_values("Output label: weight") == ["0.5", "3"]
    assert compare.row_values("Output value: weight") == ["1", "1"]
    # The run's recorded loss setting was not used: the row points at the Outputs' rows.
    assert compare.row_values("loss") == [runs_compare.PER_OUTPUT] * 2
    assert "Output label: weight" in compare.differing
    assert "Output value: weight" not in compare.differing
    # The choice stays while the selection changes to runs that still have that output.
    panel.select_runs([second.id])
    qtbot.waitUntil(lambda: [r.id for r in compare.runs] == [second.id], timeout=5_000)
    assert compare.metric_name == "label/accuracy"


def test_runs_of_one_output_have_no_output_selector(qtbot):
    from nnstudio.core.io.runs import Run
    from nnstudio.gui.panels.runs_compare import RunsCompare, output_rows

    compare = RunsCompare()
    qtbot.addWidget(compare)
    a = Run(id="a", name="Run 1", history={"val_loss": [1.0, 0.5], "val_accuracy": [0.5, 0.7]})
    b = Run(id="b", name="Run 2", history={"val_loss": [0.9, 0.4], "val_accuracy": [0.6, 0.8]})
    compare.show_runs([a, b])
    assert not compare.output_choice.isVisibleTo(compare)
    assert compare.metric_name == "accuracy"
    assert output_rows([a, b]) == []
    a.settings, b.settings = {"loss": "cross_entropy"}, {"loss": "mse"}
    assert dict(runs_compare.settings_rows([a, b]))["loss"] == ["cross_entropy", "mse"]
