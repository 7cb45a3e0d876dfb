"""The training panel in the real main window: runs in the worker thread, plots, controls."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.graph import ReplaceAll
from nnstudio.gui.main_window import MainWindow

pytestmark = pytest.mark.gui

CLASSIFIER = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 16},
              {"id": "a", "type": "Tanh"}, {"id": "out", "type": "Dense", "units": 2},
              {"id": "p", "type": "Softmax"}],
    "edges": [["in", "h"], ["h", "a"], ["a", "out"], ["out", "p"]],
}
LINE = {"nodes": [{"id": "in", "type": "Input"}, {"id": "out", "type": "Dense", "units": 1}],
        "edges": [["in", "out"]]}


@pytest.fixture
def window(workflow_window):
    return workflow_window


def load(window, example: str, network: dict) -> None:
    window.undo_stack.push_command(ReplaceAll(window.document, network))
    spec = DatasetSpec(example=example)
    window.workflow.adopt_dataset(spec, build_dataset(spec))  # a fix is declined


def test_real_run_in_the_worker_fills_one_point_per_epoch(qtbot, window):
    load(window, "xor", CLASSIFIER)
    panel = window.workflow.training
    panel.epochs.setValue(15)
    panel.learning_rate.setValue(0.02)
    assert panel.resolved_loss() == "cross_entropy"
    session = window.workflow.session
    with qtbot.waitSignal(session.training_finished, timeout=60_000) as blocker:
        assert panel.start()
        assert window.design_locked and not panel.settings_box.isEnabled()
        assert not window.actions.delete.isEnabled() and not window.palette.isEnabled()
    outcome = blocker.args[0]
    fin = outcome.finished
    assert fin.reason == "completed" and fin.epochs_run == 15
    assert not window.design_locked and panel.settings_box.isEnabled()
    plots = panel.plots
    for curve in ("loss", "val_loss", "metric", "val_metric", "learning_rate"):
        assert plots.points(curve) == fin.epochs_run, curve
    assert plots.points("batch_loss") >= fin.epochs_run
    x, y = plots.curves["loss"].getData()
    assert list(x) == list(range(1, 16))
    assert np.allclose(y, fin.history["loss"])
    assert panel.progress.value() == 1000
    assert "Finished" in panel.banner.text() and "test accuracy" in panel.banner.text()
    assert session.model is not None and session.results is not None
    assert window.workflow.actions["export"].isEnabled()
    text = plots.show_epoch(4)
    assert "Epoch 4" in text and "accuracy" in text and "training / validation" in text


def test_pause_resume_stop_from_the_panel(qtbot, window):
    load(window, "spirals", {**CLASSIFIER})
    panel = window.workflow.training
    panel.epochs.setValue(100_000)
    panel.batch_size.setValue(4)
    epochs = []
    panel.runner.epoch_finished.connect(lambda e: epochs.append(e.epoch))
    panel.start()
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=20_000)
    panel.pause_button.click()
    assert panel.pause_button.text() == "Resume"
    assert window.workflow.actions["pause"].text() == "&Resume"
    qtbot.wait(200)
    seen = len(epochs)
    qtbot.wait(400)
    assert len(epochs) <= seen + 1 and "paused" in panel.status.text()
    panel.pause_button.click()
    assert panel.pause_button.text() == "Pause"
    qtbot.waitUntil(lambda: len(epochs) >= seen + 2, timeout=20_000)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=20_000) as b:
        panel.stop_button.click()
    assert b.args[0].finished.reason == "stopped"
    assert panel.banner.kind == "info" and "stopped the run" in panel.banner.text()
    assert panel.start_button.isEnabled() and not window.design_locked
    assert window.workflow.session.model is not None


def test_a_diverging_run_stops_says_so_and_keeps_finite_weights(qtbot, window):
    load(window, "salary", LINE)
    panel = window.workflow.training
    panel.optimizer.setCurrentIndex(panel.optimizer.findData("sgd"))
    panel.learning_rate.setValue(1e5)
    panel.epochs.setValue(50)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=30_000) as b:
        panel.start()
    fin = b.args[0].finished
    assert fin.reason == "diverged"
    assert panel.banner.kind == "error"
    text = panel.banner.text()
    assert "diverged" in text and "lower learning rate" in text and "Traceback" not in text
    # Kept in the history, marked diverged, with its last good (finite) weights; it does not
    # become the current model.
    session = window.workflow.session
    run = session.runs.last
    assert run.reason == "diverged" and run.model is not None
    assert np.all(np.isfinite(run.model.network.params))
    assert session.current_run is None and session.network is None
    assert not window.design_locked


def test_closing_the_window_mid_run_leaves_no_thread(qtbot, window):
    load(window, "spirals", CLASSIFIER)
    panel = window.workflow.training
    panel.epochs.setValue(100_000)
    panel.batch_size.setValue(2)
    epochs = []
    panel.runner.epoch_finished.connect(epochs.append)
    panel.start()
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=20_000)
    thread = panel.runner.thread
    assert thread.isRunning()
    assert window.close()
    assert thread.isFinished()
    assert not panel.running


def test_closing_while_paused_leaves_no_thread(qtbot, window):
    load(window, "spirals", CLASSIFIER)
    panel = window.workflow.training
    panel.epochs.setValue(100_000)
    epochs = []
    panel.runner.epoch_finished.connect(epochs.append)
    panel.start()
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=20_000)
    thread = panel.runner.thread
    panel.pause()
    assert window.close()
    assert thread.isFinished()


def test_a_network_that_does_not_fit_says_why(qtbot, window):
    load(window, "blobs", LINE)  # 3 classes, Dense 1, fix declined
    panel = window.workflow.training
    panel.loss.setCurrentIndex(panel.loss.findData("cross_entropy"))
    failures = []
    panel.run_failed.connect(failures.append)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=20_000):
        panel.start()
    assert failures and "Dense 3" in failures[0]
    assert panel.banner.kind == "error" and "Traceback" not in panel.banner.text()
    assert not window.design_locked and panel.start_button.isEnabled()


def test_loss_follows_the_task_and_can_be_overridden(qtbot, window):
    panel = window.workflow.training
    load(window, "salary", LINE)
    assert panel.resolved_loss() == "mse" and "mean squared error" in panel.loss.itemText(0)
    panel.loss.setCurrentIndex(panel.loss.findData("mae"))
    assert panel.config().loss == "mae"
    panel.loss.setCurrentIndex(0)
    load(window, "spam", {**LINE})  # binary classes, one output
    assert panel.resolved_loss() == "binary_cross_entropy"
    panel.schedule.setCurrentIndex(panel.schedule.findData("cosine"))
    panel.early_stopping.setChecked(True)
    panel.patience.setValue(7)
    cfg = panel.config()
    assert cfg.schedule == {"type": "cosine"} and cfg.early_stopping == {"patience": 7}


def test_start_without_data_explains(qtbot, window):
    panel = window.workflow.training
    assert not panel.start()
    assert "Load a dataset" in panel.banner.text()


def test_data_and_settings_travel_with_the_project(qtbot, window, tmp_path):
    load(window, "house_price", {
        "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 8},
                  {"id": "a", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 1}],
        "edges": [["in", "h"], ["h", "a"], ["a", "out"]]})
    panel = window.workflow.training
    panel.learning_rate.setValue(0.02)
    panel.epochs.setValue(33)
    panel.loss.setCurrentIndex(panel.loss.findData("mae"))
    path = tmp_path / "house.nnsproj"
    assert window.save_to(path)
    settings = QSettings(str(tmp_path / "other.ini"), QSettings.Format.IniFormat)
    other = MainWindow(settings, recovery_dir=tmp_path / "recovery2")
    other.interactive = False
    qtbot.addWidget(other)
    assert other.open_path(path, ask=False)
    wf = other.workflow
    assert wf.session.prepared is not None and wf.session.task == "regression"
    assert other.document.input_shape == window.document.input_shape
    cfg = wf.training.config()
    assert cfg.learning_rate == pytest.approx(0.02) and cfg.epochs == 33 and cfg.loss == "mae"
    assert wf.actions["train"].isEnabled()
    wf.shutdown()


def test_stop_right_after_start(qtbot, window):
    load(window, "xor", CLASSIFIER)
    panel = window.workflow.training
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=10_000):
        assert panel.start()
        panel.stop()
    assert not panel.running and not window.design_locked
    assert panel.runner.thread is None and panel.start_button.isEnabled()


def test_weight_decay_and_clipping_are_settings_saved_with_the_project(qtbot, window, tmp_path):
    load(window, "xor", CLASSIFIER)
    panel = window.workflow.training
    cfg = panel.config()
    assert cfg.weight_decay == 0.0 and cfg.clip_norm is None and cfg.clip_value is None
    assert panel.clip_norm.text() == "Off"
    panel.weight_decay.setValue(0.001)
    panel.clip_norm.setValue(1.5)
    cfg = panel.config()
    assert (cfg.weight_decay, cfg.clip_norm, cfg.clip_value) == (0.001, 1.5, None)
    panel.epochs.setValue(3)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=60_000):
        assert panel.start()
    assert window.workflow.session.run_record.config().clip_norm == 1.5  # the run used them

    path = tmp_path / "xor.nnsproj"
    assert window.save_to(path)
    saved = json.loads(path.read_text())["training"]
    assert saved["weight_decay"] == 0.001 and saved["clip_norm"] == 1.5
    assert "clip_value" not in saved
    settings = QSettings(str(tmp_path / "other.ini"), QSettings.Format.IniFormat)
    other = MainWindow(settings, recovery_dir=tmp_path / "recovery2")
    other.interactive = False
    qtbot.addWidget(other)
    assert other.open_path(path, ask=False)
    p2 = other.workflow.training
    assert p2.weight_decay.value() == pytest.approx(0.001)
    assert p2.clip_norm.value() == pytest.approx(1.5) and p2.clip_value.text() == "Off"
    assert p2.config().clip_value is None
    other.workflow.shutdown()
