"""Keep the user's work: a trained model survives Save → close → reopen (in this process and
in another one), every run is kept, nothing discards the current model without a question,
every change marks the window modified, and every panel follows the one session state."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from nnstudio.core.io.model_file import save_model
from nnstudio.core.io.project import load_project
from nnstudio.core.training import TrainControl
from nnstudio.gui.main_window import MainWindow
from nnstudio.resources import resource_path

pytestmark = pytest.mark.gui

XOR = resource_path("examples", "xor.nnsproj")
HOUSE = resource_path("examples", "house_price.nnsproj")
REPO = Path(__file__).resolve().parents[2]
ROW = {"x1": "0.9", "x2": "0.1"}


def run(qtbot, w, action) -> object:
    """Start a run with ``action()`` and wait for its end (and the model's hand-over)."""
    with qtbot.waitSignal(w.session.training_finished, timeout=60_000) as b:
        assert action()
    return b.args[0]


def new_window(qtbot, tmp_path, name: str) -> MainWindow:
    settings = QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, recovery_dir=tmp_path / f"recovery-{name}")
    w.interactive = False
    qtbot.addWidget(w)
    w.show()
    return w


def settle(qtbot, w) -> None:
    """Wait until the current model's weights are read and it is scored."""
    s = w.session
    qtbot.waitUntil(lambda: not s.loading_weights, timeout=20_000)
    if s.current_run is not None and s.current_run.problem is None:
        qtbot.waitUntil(lambda: s.results is not None and not w.workflow.results.busy,
                        timeout=30_000)
    # Predict answers a moment after its form is filled (it waits for typing to pause).
    qtbot.waitUntil(lambda: not w.workflow.predict._timer.isActive(), timeout=5_000)
    # Inside the network: the Weights & gradients table of this model, computed off-thread.
    w.insight_dock.raise_()
    w.insight_panel.show_view("stats")
    compute = w.insight_panel.source.compute
    qtbot.wait(100)
    qtbot.waitUntil(compute.idle, timeout=20_000)
    qtbot.wait(100)


def predicted(w, row=ROW) -> tuple[str, list[float]]:
    pred = w.session.model.predict_raw([row])
    return str(pred.values[0]), [float(p) for p in pred.probabilities[0]]


def table(widget) -> list[list[str]]:
    return [[(widget.item(r, c).text() if widget.item(r, c) else "")
             for c in range(widget.columnCount())] for r in range(widget.rowCount())]


def snapshot(w) -> dict:
    """What every panel shows, as plain data (to compare two windows)."""
    t, r, p = w.workflow.training, w.workflow.results, w.workflow.predict
    ins = w.insight_panel
    hist = t.plots.history
    return {
        "title": w.windowTitle(), "modified": w.isWindowModified(),
        "training.status": t.status.text(), "training.banner": t.banner.text(),
        "training.config": t.config().to_dict(), "training.epochs": len(hist),
        "training.loss": [round(float(v), 6) for v in hist.series("loss")],
        "training.continue": t.continue_button.isEnabled(),
        "results.table": table(r.table), "results.hint": r.hint.isVisible(),
        "results.banner": r.banner.text(),
        "predict.fields": sorted(p.fields), "predict.result": p.result.text(),
        "predict.error": p.error.text() if hasattr(p.error, "text") else "",
        "predict.hint": p.hint.text(),
        "insight.network": None if ins.source.network is None else sorted(
            ins.source.network.layers),
        "insight.stats": [row[0] for row in table(ins.stats.table)],
        "runs": [(run.name, run.reason) for run in w.session.runs],
        "canvas": sorted(n.id for n in w.document.nodes),
    }


@pytest.fixture
def trained(qtbot, workflow_window, tmp_path):
    """The xor example trained once (to ~100 %) and saved to tmp."""
    w = workflow_window
    assert w.open_path(XOR, ask=False)
    panel = w.workflow.training
    panel.epochs.setValue(60)
    out = run(qtbot, w, panel.start)
    assert out.finished.reason == "completed"
    settle(qtbot, w)
    path = tmp_path / "xor.nnsproj"
    assert w.save_to(path)
    return w, path


def test_a_trained_model_survives_save_close_reopen(qtbot, trained, tmp_path):
    w, path = trained
    before = snapshot(w)
    before_pred = predicted(w)
    assert w.session.results.splits["test"].metrics["accuracy"] >= 0.95
    assert not w.isWindowModified()
    w.workflow.shutdown()
    w.close()

    other = new_window(qtbot, tmp_path, "other")
    try:
        assert other.open_path(path, ask=False)
        settle(qtbot, other)
        assert predicted(other) == before_pred  # no retraining: the very same weights
        after = snapshot(other)
        for key in ("training.status", "training.config", "training.epochs", "training.loss",
                    "results.table", "predict.fields", "insight.network", "runs", "canvas"):
            assert after[key] == before[key], key
        assert after["training.continue"]  # the current model can be trained further
        np.testing.assert_array_equal(other.session.network.params, w.session.network.params)
    finally:
        other.workflow.shutdown()


_REOPEN = r"""
import json, sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from nnstudio.gui.main_window import MainWindow
app = QApplication([])
w = MainWindow(QSettings(sys.argv[2], QSettings.Format.IniFormat), recovery_dir=sys.argv[3])
w.interactive = False
w.show()
assert w.open_path(sys.argv[1], ask=False)
s = w.session
import time
deadline = time.time() + 60
while (s.loading_weights or s.results is None or w.workflow.results.busy) \
        and time.time() < deadline:
    app.processEvents()
    time.sleep(0.01)
pred = s.model.predict_raw([{"x1": "0.9", "x2": "0.1"}])
table = w.workflow.results.table
print(json.dumps({
    "value": str(pred.values[0]), "p": [float(v) for v in pred.probabilities[0]],
    "results": [[table.item(r, c).text() for c in range(table.columnCount())]
                for r in range(table.rowCount())]}))
w.workflow.shutdown()
"""


@pytest.mark.slow
def test_another_process_opens_the_same_model(trained, tmp_path):
    w, path = trained
    value, probs = predicted(w)
    expected = table(w.workflow.results.table)
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", _REOPEN, str(path), str(tmp_path / "p.ini"),
                          str(tmp_path / "rec2")], env=env, capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["value"] == value and got["p"] == probs
    assert got["results"] == expected


def test_step_buttons_continue_the_current_model(qtbot, trained):
    w, _ = trained
    s = w.session
    good = s.current_run
    acc = s.results.splits["test"].metrics["accuracy"]
    steps = w.insight_panel.steps
    steps.one_batch()  # no run going: continue from the current model, paused after a batch
    qtbot.waitUntil(lambda: w.workflow.training.runner.paused, timeout=20_000)
    w.workflow.training.stop()
    qtbot.waitUntil(lambda: not s.training, timeout=20_000)
    step = s.runs.last
    assert step.kind == "step" and step.parent == good.id and step is not good
    assert s.current_run is step  # stopped by the user: a normal end
    settle(qtbot, w)
    # One more batch on the trained weights: the model is as good as before, not reset.
    assert s.results.splits["test"].metrics["accuracy"] >= acc - 0.05
    assert good.model is not None and s.runs.get(good.id) is good  # still in the history


def test_continue_training_is_a_new_run_from_the_current_weights(qtbot, trained):
    w, _ = trained
    s, panel = w.session, w.workflow.training
    parent = s.current_run
    first_loss = parent.history["loss"][-1]
    panel.epochs.setValue(3)
    action = w.workflow.actions["continue"]  # Training ▸ Continue Training
    assert action.isEnabled()
    out = run(qtbot, w, lambda: (action.trigger(), panel.running)[1])
    assert out.finished.epochs_run == 3
    child = s.current_run
    assert child.kind == "continue" and child.parent == parent.id
    assert child.history["loss"][0] < 2 * first_loss + 0.05  # started trained, not fresh
    assert len(s.runs) == 2 and w.isWindowModified()


def test_a_diverging_rerun_keeps_the_good_model_current(qtbot, workflow_window):
    w = workflow_window
    assert w.open_path(HOUSE, ask=False)
    s, panel = w.session, w.workflow.training
    panel.epochs.setValue(5)
    run(qtbot, w, panel.start)
    settle(qtbot, w)
    good = s.current_run
    row = {"area_m2": "120", "location": "city"}
    value = s.model.predict_raw([row]).values[0, 0]
    r2 = s.results.splits["test"].original["r2"]
    panel.optimizer.setCurrentIndex(panel.optimizer.findData("sgd"))
    panel.learning_rate.setValue(1e6)
    out = run(qtbot, w, panel.start)
    assert out.finished.reason == "diverged"
    assert s.runs.last.diverged and s.current_run is good
    assert s.model.predict_raw([row]).values[0, 0] == value
    assert s.results.splits["test"].original["r2"] == r2  # Results still the good model's
    assert good.name in panel.banner.text() and "diverged" in panel.banner.text()


def test_every_setting_marks_the_window_modified_and_save_clears_it(qtbot, trained):
    w, path = trained
    panel = w.workflow.training
    for change in (lambda: panel.learning_rate.setValue(0.0123),
                   lambda: panel.optimizer.setCurrentIndex(panel.optimizer.findData("sgd")),
                   lambda: panel.epochs.setValue(7),
                   lambda: panel.patience.setValue(4),
                   lambda: panel.early_stopping.setChecked(False)):
        change()
        assert w.isWindowModified()
        assert w.save_to(path)
        assert not w.isWindowModified()
    saved = json.loads(path.read_text())["training"]
    assert saved["epochs"] == 7 and saved.get("early_stopping") is None
    assert saved["optimizer"]["type"] == "sgd"


def test_renaming_and_making_a_run_current_mark_changes_and_undo(qtbot, trained):
    w, _ = trained
    s, panel = w.session, w.workflow.training
    first = s.current_run
    w.save()
    s.rename_run(first.id, "baseline")
    assert w.isWindowModified() and first.name == "baseline"
    panel.epochs.setValue(2)
    run(qtbot, w, panel.start)
    second = s.current_run
    assert second is not first
    assert w.workflow.make_run_current(first.id)
    assert s.current_run is first and panel.epochs.value() == 60
    w.undo_stack.undo()
    assert s.current_run is second and panel.epochs.value() == 2


def test_closing_during_training_asks_and_keeps_the_partial_run(
        qtbot, workflow_window, monkeypatch):
    w = workflow_window
    assert w.open_path(resource_path("examples", "spirals.nnsproj"), ask=False)
    panel = w.workflow.training
    panel.epochs.setValue(100_000)
    asked = []

    def question(parent, title, text, *a, **k):
        asked.append(title)
        if title == "Training is running":
            return QMessageBox.StandardButton.Cancel if len(asked) == 1 \
                else QMessageBox.StandardButton.Yes
        return QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    w.interactive = True
    epochs = []
    panel.runner.epoch_finished.connect(epochs.append)
    panel.start()
    qtbot.waitUntil(lambda: len(epochs) >= 2, timeout=30_000)
    assert not w.close()  # Cancel: it goes on
    assert panel.running and asked == ["Training is running"]
    assert w.close()  # Yes: stopped, kept, then Save / Discard / Cancel
    assert asked == ["Training is running", "Training is running", "Unsaved changes"]
    assert w.session.runs.last.reason == "stopped" and w.session.runs.last.epochs >= 2


def test_every_panel_follows_new_and_open(qtbot, workflow_window, tmp_path):
    """A → B → New → A → a model file, each compared with a fresh window's panels."""
    w = workflow_window
    house = tmp_path / "house.nnsproj"
    Path(house).write_text(Path(HOUSE).read_text())
    assert w.open_path(house, ask=False)
    w.workflow.training.epochs.setValue(3)
    run(qtbot, w, w.workflow.training.start)
    settle(qtbot, w)
    assert w.save_to(house)
    model_file = tmp_path / "house.npz"
    save_model(w.session.model, model_file)
    xor = tmp_path / "xor.nnsproj"
    Path(xor).write_text(Path(XOR).read_text())
    # Something on every panel of the window before each switch: errors, curves, results.
    w.workflow.predict.set_value("area_m2", "not a number")
    w.workflow.predict.predict()

    def fresh(open_it) -> dict:
        f = new_window(qtbot, tmp_path, f"fresh{len(seen)}")
        try:
            open_it(f)
            settle(qtbot, f)
            return snapshot(f)
        finally:
            f.workflow.shutdown()

    seen: list[str] = []
    for name, open_it in (
            ("B", lambda win: win.open_path(xor, ask=False)),
            ("New", lambda win: win.new_project() or True),
            ("A", lambda win: win.open_path(house, ask=False)),
            ("model", lambda win: win.open_path(model_file, ask=False))):
        seen.append(name)
        assert open_it(w) is not False
        settle(qtbot, w)
        mine, theirs = snapshot(w), fresh(open_it)
        mine.pop("title"), theirs.pop("title")
        assert mine == theirs, name


def test_a_model_file_opens_predicts_and_becomes_a_project(qtbot, trained, tmp_path):
    w, _ = trained
    model_file = tmp_path / "xor.npz"
    save_model(w.session.model, model_file)
    value = predicted(w)
    other = new_window(qtbot, tmp_path, "model")
    try:
        # Dropped on the window, as from a file manager.
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(model_file))])
        enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(other, enter)
        assert enter.isAccepted()
        drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                          Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(other, drop)
        qtbot.waitUntil(lambda: other.session.model is not None, timeout=10_000)
        settle(qtbot, other)
        assert predicted(other) == value
        assert len(other.workflow.training.plots.history) == 60  # its curves
        assert other.workflow.results.table.rowCount() > 0  # its recorded scores
        assert {n.id for n in other.document.nodes} == {n.id for n in w.document.nodes}
        assert other.workflow.actions["export"].isEnabled()
        project = tmp_path / "from-model.nnsproj"
        assert other.save_to(project)
        assert load_project(project).trained_model().output(np.array([[0.9, 0.1]])).shape
    finally:
        other.workflow.shutdown()


def test_autosave_keeps_the_trained_model_for_recovery(qtbot, trained, tmp_path):
    w, _ = trained
    w.workflow.training.learning_rate.setValue(0.02)  # an unsaved change
    path = w.recovery.autosave()
    assert path is not None
    model = load_project(path).trained_model()
    np.testing.assert_array_equal(model.network.params, w.session.network.params)
    # The project's own files are untouched by the autosave: its runs still point there.
    assert w.session.current_run.weights_path.parent.name == "xor.runs"


def test_time_figures_leave_out_pauses():
    import threading
    import time as _time

    from nnstudio.core.engine.network import Network
    from nnstudio.core.training import train
    from tests.core.training.data import mlp, xor

    net = Network(mlp(), (2,), seed=0)
    x, y = xor()
    control = TrainControl()
    control.pause()
    threading.Timer(0.6, control.resume).start()
    t0 = _time.perf_counter()
    events = list(train(net, _cfg(), (x, y), None, control))
    wall = _time.perf_counter() - t0
    fin = events[-1]
    assert wall >= 0.6 and control.waited >= 0.55
    assert fin.elapsed < wall - 0.5 and math.isfinite(fin.elapsed)


def _cfg():
    from nnstudio.core.training import TrainingConfig

    return TrainingConfig(loss="cross_entropy", epochs=2, batch_size=4)


def _big_csv_project(tmp_path) -> Path:
    """A project over a 20,000-row CSV (≈ 600 KB: loaded in the background on Open)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20_000, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=20_000)
    rows = "\n".join(",".join(f"{v:.6f}" for v in (*r, t)) for r, t in zip(x, y, strict=True))
    (tmp_path / "big.csv").write_text("a,b,c,y\n" + rows + "\n")
    d = json.loads(Path(resource_path("examples", "salary.nnsproj")).read_text())
    d["dataset"] = {"source": "big.csv", "target": "y"}
    path = tmp_path / "big.nnsproj"
    path.write_text(json.dumps(d))
    return path


def test_large_data_loads_in_the_background_and_can_be_cancelled(
        qtbot, workflow_window, tmp_path):
    w = workflow_window
    path = _big_csv_project(tmp_path)
    assert path.with_name("big.csv").stat().st_size > 256 * 1024
    loader = w.workflow.data_loader
    assert w.open_path(path, ask=False)
    assert loader.busy and w.session.prepared is None  # open_path returned at once
    banner = w.workflow.training.banner
    assert "Loading the project's data" in banner.text() and banner.button.isVisible()
    assert not w.workflow.actions["train"].isEnabled()
    qtbot.waitUntil(lambda: w.session.prepared is not None, timeout=30_000)
    assert w.session.prepared.input_shape == (3,) and not banner.isVisible()
    assert w.workflow.actions["train"].isEnabled()
    # Cancel: the project stays open without data; the late result is dropped.
    assert w.open_path(path, ask=False)
    qtbot.mouseClick(banner.button, Qt.MouseButton.LeftButton)
    assert not loader.busy and "cancelled" in banner.text()
    qtbot.wait(1500)
    assert w.session.prepared is None
    # Another project opened while the data loads: the first project's data never arrives.
    assert w.open_path(path, ask=False)
    assert w.open_path(XOR, ask=False)
    qtbot.wait(1500)
    assert w.session.prepared is not None and w.session.prepared.input_shape == (2,)
