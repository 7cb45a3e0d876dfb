"""Replay with same initialization: a run recorded as it starts, trained again through the
real worker thread, gives exactly the same epoch losses — in the same window, after a save and
reopen, and never when the network or the data changed (a plain message says so instead)."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.graph.commands import SetConfig
from nnstudio.gui.main_window import MainWindow
from nnstudio.resources import resource_path

pytestmark = pytest.mark.gui

XOR = resource_path("examples", "xor.nnsproj")
EPOCHS = 6


def curves(outcome) -> list[tuple]:
    """Everything an epoch reports except its clock."""
    return [(e.epoch, e.loss, e.val_loss, e.metrics, e.val_metrics, e.learning_rate)
            for e in outcome.epochs]


def run(qtbot, window, action) -> object:
    """Press a button (or call ``action``) and wait for the run's end; its outcome."""
    panel = window.workflow.training
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=60_000) as b:
        if callable(action):
            assert action()
        else:
            qtbot.mouseClick(action, Qt.MouseButton.LeftButton)
            assert panel.running
    return b.args[0]


@pytest.fixture
def opened(qtbot, workflow_window):
    """The xor example in the main window, trained once for a few epochs."""
    w = workflow_window
    assert w.open_path(XOR, ask=False)
    panel = w.workflow.training
    assert not panel.replay_button.isEnabled()  # nothing recorded yet
    panel.epochs.setValue(EPOCHS)
    first = run(qtbot, w, panel.start_button)
    assert len(first.epochs) == EPOCHS
    return w, curves(first)


def test_replay_gives_exactly_the_same_curves(qtbot, opened):
    w, first = opened
    panel = w.workflow.training
    record = w.workflow.session.run_record
    assert record is not None and panel.replay_button.isEnabled()
    assert record.config().epochs == EPOCHS and record.data_fingerprint
    # The user changes settings meanwhile: a replay still runs the recorded ones.
    panel.learning_rate.setValue(0.5)
    panel.epochs.setValue(2)
    panel.seed.setValue(77)
    action = w.workflow.actions["replay"]  # Training ▸ Replay with Same Initialization
    assert action.isEnabled() and action in w.menus["training"].actions()
    again = run(qtbot, w, lambda: (action.trigger(), panel.running)[1])
    assert curves(again) == first
    assert panel.epochs.value() == EPOCHS and panel.seed.value() == record.seed
    assert panel.learning_rate.value() == pytest.approx(record.config().learning_rate)
    assert again.finished.reason == "completed"
    assert "Finished" in panel.banner.text()


def test_replay_after_save_and_reopen(qtbot, opened, tmp_path, monkeypatch):
    w, first = opened
    path = tmp_path / "xor.nnsproj"
    assert w.save_to(path)
    item = json.loads(path.read_text())["runs"]["items"][-1]
    assert item["start"]["arrays"].startswith("xor.runs/")
    assert (tmp_path / item["start"]["arrays"]).is_file()
    assert (tmp_path / item["weights"]).is_file()
    w.workflow.shutdown()

    other = MainWindow(QSettings(str(tmp_path / "other.ini"), QSettings.Format.IniFormat),
                       recovery_dir=tmp_path / "recovery2")
    other.interactive = False
    qtbot.addWidget(other)
    try:
        assert other.open_path(path, ask=False)
        panel = other.workflow.training
        assert other.workflow.session.run_record is not None
        assert panel.replay_button.isEnabled()
        assert curves(run(qtbot, other, panel.replay_button)) == first
    finally:
        other.workflow.shutdown()


def test_a_changed_network_is_refused_plainly(qtbot, opened):
    w, _ = opened
    panel = w.workflow.training
    w.undo_stack.push_command(SetConfig(w.document, "h1", {"units": 12}))
    finished = []
    w.workflow.session.training_finished.connect(finished.append)
    qtbot.mouseClick(panel.replay_button, Qt.MouseButton.LeftButton)
    assert not panel.running and finished == []
    text = panel.banner.text()
    assert panel.banner.kind == "error" and "the network changed" in text
    assert "layer 'h1' has units 12, it was 8" in text and "Traceback" not in text
    # Undone, the network is the recorded one again: the replay runs.
    w.undo_stack.undo()
    assert run(qtbot, w, panel.replay) is not None


def test_changed_data_is_refused_plainly(qtbot, opened, monkeypatch):
    w, _ = opened
    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *a, **k: QMessageBox.StandardButton.No))
    spec = DatasetSpec.from_dict({"example": "xor", "target": "label",
                                  "split": {"train": 0.6, "validation": 0.2, "test": 0.2}})
    w.workflow.adopt_dataset(spec, build_dataset(spec))
    panel = w.workflow.training
    assert panel.replay_button.isEnabled()  # pressing it says why it cannot replay
    assert not panel.replay()
    assert "the data changed" in panel.banner.text() and not panel.running


def test_pause_and_stop_work_during_a_replay(qtbot, opened):
    w, _ = opened
    panel = w.workflow.training
    session = w.workflow.session
    # Paused the moment the runner starts (before the trainer's first batch).
    panel.runner.started.connect(panel.pause)
    with qtbot.waitSignal(session.training_finished, timeout=60_000) as b:
        assert panel.replay()
        qtbot.waitUntil(lambda: panel.runner.paused, timeout=10_000)
        assert panel.pause_button.text() == "Resume" and panel.running
        panel.stop()
    assert b.args[0].finished.reason == "stopped" and b.args[0].epochs == []
    assert session.run_record is not None and panel.replay_button.isEnabled()


def test_a_broken_record_in_the_file_is_said_and_the_project_opens(
        qtbot, workflow_window, tmp_path):
    d = json.loads(XOR.read_text())
    d["run"] = {"seed": "x", "arrays": "missing.npz"}
    path = tmp_path / "broken.nnsproj"
    path.write_text(json.dumps(d))
    w = workflow_window
    assert w.open_path(path, ask=False)
    panel = w.workflow.training
    assert w.workflow.session.prepared is not None  # the rest of the project is there
    assert "The recorded run could not be read" in panel.banner.text()
    assert "missing.npz: is missing" in panel.banner.text()
    assert not panel.replay_button.isEnabled()
