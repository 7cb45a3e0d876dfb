"""The results panel after real runs: a classifier and a regressor."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.errors import DataError
from nnstudio.core.graph import ReplaceAll
from nnstudio.gui.workers import evaluation

pytestmark = pytest.mark.gui

BLOBS_NET = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 16},
              {"id": "a", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 3},
              {"id": "p", "type": "Softmax"}],
    "edges": [["in", "h"], ["h", "a"], ["a", "out"], ["out", "p"]],
}
HOUSE_NET = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 16},
              {"id": "a", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 1}],
    "edges": [["in", "h"], ["h", "a"], ["a", "out"]],
}


@pytest.fixture
def window(workflow_window):
    return workflow_window


def train(qtbot, window, example: str, network: dict, epochs: int, lr: float = 0.01):
    window.undo_stack.push_command(ReplaceAll(window.document, network))
    spec = DatasetSpec(example=example)
    prepared = build_dataset(spec)
    window.workflow.adopt_dataset(spec, prepared)
    panel = window.workflow.training
    panel.epochs.setValue(epochs)
    panel.learning_rate.setValue(lr)
    with qtbot.waitSignal(window.workflow.session.results_changed, timeout=60_000):
        panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    window.workflow.show_dock("results")  # the charts are drawn when the panel shows
    qtbot.waitUntil(lambda: window.workflow.results.split.count() > 0, timeout=5000)
    return prepared


def test_classifier_confusion_matrix_and_per_class_scores(qtbot, window):
    prepared = train(qtbot, window, "blobs", BLOBS_NET, 40)
    panel = window.workflow.results
    res = panel.results
    assert set(res.splits) == {"train", "validation", "test"}
    # the test split is shown first; the matrix counts every test sample once
    assert panel.split.currentData() == "test"
    cm = panel.confusion.matrix
    assert cm.shape == (3, 3) and cm.sum() == prepared.counts["test"]
    assert np.trace(cm) / cm.sum() == pytest.approx(res.splits["test"].metrics["accuracy"])
    assert len(panel.confusion.labels) == 9 and panel.confusion.labels[0]
    assert panel.per_class.rowCount() == 4  # 3 classes and their average
    assert panel.per_class.verticalHeaderItem(3).text() == "average"
    assert panel.per_class.verticalHeaderItem(0).text() == prepared.class_names[0]
    f1 = [float(panel.per_class.item(i, 2).text()) for i in range(3)]
    assert all(0 <= v <= 1 for v in f1)
    # the table has the three splits
    headers = [panel.table.horizontalHeaderItem(j).text() for j in range(3)]
    assert headers == ["Training", "Validation", "Test"]
    assert panel.table.item(0, 2).text().endswith("%")
    # another split redraws the matrix
    panel.split.setCurrentIndex(panel.split.findData("train"))
    assert panel.confusion.matrix.sum() == prepared.counts["train"]
    assert panel.pages.currentWidget() is panel.classification_page


def test_regressor_scatter_and_residuals(qtbot, window):
    prepared = train(qtbot, window, "house_price", HOUSE_NET, 60, lr=0.02)
    panel = window.workflow.results
    res = panel.results
    assert res.task == "regression"
    assert panel.pages.currentWidget() is panel.regression_page
    n_test = prepared.counts["test"]
    assert panel.scatter.n_points == n_test
    assert panel.residuals.counts.sum() == n_test
    # the identity line spans the data, in the price's own units (not standardized)
    x, y = panel.scatter.identity.getData()
    assert list(x) == list(y) and x[1] > 1e4
    test = res.splits["test"]
    assert test.y_true.min() > 1e4  # prices, not z-scores
    r2_text = panel.table.item(0, 2).text()
    assert float(r2_text) == pytest.approx(test.original["r2"], abs=1e-3)
    assert panel.table.verticalHeaderItem(1).text() == "MAE (price)"


def test_evaluate_on_demand_and_chart_export(qtbot, window, tmp_path):
    train(qtbot, window, "blobs", BLOBS_NET, 5)
    wf = window.workflow
    seen = []
    wf.session.results_changed.connect(seen.append)
    assert wf.actions["evaluate"].isEnabled()
    with qtbot.waitSignal(wf.session.results_changed, timeout=30_000):
        wf.actions["evaluate"].trigger()
    assert len(seen) == 1 and seen[0] is wf.results.results
    from nnstudio.gui.plots.results_plots import export_widget

    export_widget(wf.results.confusion, tmp_path / "cm.png")
    export_widget(wf.results.confusion, tmp_path / "cm.svg")
    assert (tmp_path / "cm.png").stat().st_size > 1000
    assert (tmp_path / "cm.svg").read_text().lstrip().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_evaluate_runs_off_the_gui_thread_and_shows_that_it_is_busy(qtbot, window,
                                                                      monkeypatch):
    train(qtbot, window, "blobs", BLOBS_NET, 3)
    wf = window.workflow
    panel = wf.results
    real = evaluation.evaluate_all
    gate = threading.Event()
    threads = []

    def gated(net, prepared, loss):
        threads.append(threading.current_thread())
        assert gate.wait(30)  # held until the test has looked at the busy panel
        return real(net, prepared, loss)

    monkeypatch.setattr(evaluation, "evaluate_all", gated)
    busy = []
    panel.busy_changed.connect(busy.append)
    seen = []
    wf.session.results_changed.connect(seen.append)
    wf.evaluate()
    # the GUI thread is free: the panel says it is busy while the worker waits at the gate
    qtbot.waitUntil(lambda: bool(threads), timeout=10_000)
    assert threads[0] is not threading.main_thread()
    assert panel.busy and busy == [True]
    assert not panel.evaluate_button.isEnabled()
    assert panel.evaluate_button.text() == "Evaluating…"
    assert not wf.actions["evaluate"].isEnabled()
    assert panel.banner.isVisibleTo(panel) and panel.banner.kind == "info"
    assert not panel.evaluate_now()  # one at a time
    assert seen == []
    with qtbot.waitSignal(wf.session.results_changed, timeout=30_000):
        gate.set()
    assert busy == [True, False] and not panel.busy
    assert seen[0] is panel.results and set(seen[0].splits) == {"train", "validation", "test"}
    assert panel.evaluate_button.isEnabled() and panel.evaluate_button.text() == "Evaluate"
    assert wf.actions["evaluate"].isEnabled()
    assert not panel.banner.isVisibleTo(panel)


@pytest.mark.parametrize("error, expected", [
    (DataError("the test split has\n3 columns, the network wants 2"),
     "the test split has 3 columns, the network wants 2"),
    (ValueError("shapes (5,3) and (2,16)\nnot aligned"),
     "evaluation failed unexpectedly: ValueError: shapes (5,3) and (2,16) not aligned"),
])
def test_a_failed_evaluation_is_one_readable_line(qtbot, window, monkeypatch, error, expected):
    train(qtbot, window, "blobs", BLOBS_NET, 2)
    panel = window.workflow.results
    before = panel.results

    def broken(net, prepared, loss):
        raise error

    monkeypatch.setattr(evaluation, "evaluate_all", broken)
    with qtbot.waitSignal(panel.evaluator.failed, timeout=10_000) as blocker:
        assert panel.evaluate_now()
    assert blocker.args == [expected]
    assert panel.banner.kind == "error" and panel.banner.isVisibleTo(panel)
    assert expected in panel.banner.label.text() and "Traceback" not in panel.banner.label.text()
    assert panel.results is before  # the scores shown stay
    qtbot.waitUntil(lambda: panel.evaluate_button.isEnabled(), timeout=5000)
