"""The Runs panel: three real runs of the xor example (real worker thread) listed, sorted,
compared, renamed, annotated, deleted, made current (and undone), exported, and their older
weights dropped — every change going through the session."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QApplication, QFileDialog, QLineEdit, QMessageBox

from nnstudio.core.io.model_file import load_model
from nnstudio.gui.panels import runs_compare
from nnstudio.gui.panels.runs_table import CURRENT_MARK, KEYS, SORT_ROLE
from nnstudio.gui.theme import current_theme
from nnstudio.resources import resource_path

pytestmark = pytest.mark.gui

XOR = resource_path("examples", "xor.nnsproj")
#: (learning rate, epochs) of the three runs.
SETTINGS = ((0.03, 6), (0.1, 9), (0.01, 4))


class Questions:
    """Answers ``QMessageBox.question`` from a queue and records what was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []
        self.answers: list[QMessageBox.StandardButton] = []

    def __call__(self, parent, title, text, *args, **kwargs):
        self.asked.append((title, text))
        if "Unsaved" in title:
            return QMessageBox.StandardButton.Discard
        assert self.answers, f"unexpected question: {title}: {text}"
        return self.answers.pop(0)


@pytest.fixture
def questions(monkeypatch) -> Questions:
    q = Questions()
    monkeypatch.setattr(QMessageBox, "question", staticmethod(q))
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning",
                        staticmethod(lambda _p, _t, text, *a, **k: warnings.append(text)))
    q.warnings = warnings
    return q


def train(qtbot, window, learning_rate: float, epochs: int):
    panel = window.workflow.training
    panel.learning_rate.setValue(learning_rate)
    panel.epochs.setValue(epochs)
    with qtbot.waitSignal(window.session.training_finished, timeout=60_000):
        assert panel.start()
    qtbot.waitUntil(lambda: not window.session.training, timeout=10_000)


@pytest.fixture
def runs(qtbot, workflow_window, questions):
    """The xor example trained three times with different settings; the Runs panel shown."""
    w = workflow_window
    assert w.open_path(XOR, ask=False)
    for lr, epochs in SETTINGS:
        train(qtbot, w, lr, epochs)
    w.workflow.show_dock("runs")
    return w, w.workflow.runs


def cell(panel, row: int, key: str, role=Qt.ItemDataRole.DisplayRole):
    return panel.proxy.index(row, KEYS.index(key)).data(role)


def row_ids(panel) -> list[str]:
    return [panel.proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 2)
            for r in range(panel.proxy.rowCount())]


def click_header(qtbot, panel, key: str) -> None:
    header = panel.table.horizontalHeader()
    col = KEYS.index(key)
    x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(x, header.height() // 2))


def validation_accuracy(window, run) -> float:
    """Accuracy of the run's model on the validation split, computed here from its
    predictions (not read from the run's record)."""
    prepared = window.session.prepared
    predicted = run.model.predict_prepared(prepared.x_val).values
    truth = np.asarray(prepared.class_names)[prepared.y_val]
    return float(np.mean(predicted == truth))


def edit_in_place(qtbot, panel, row: int, key: str, text: str) -> None:
    """Double-click a cell, type into its editor, press Enter."""
    index = panel.proxy.index(row, KEYS.index(key))
    pos = panel.table.visualRect(index).center()
    # A double click edits the cell that the press before it hit (as a real mouse sends).
    qtbot.mousePress(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    press_return(qtbot, panel, editor)


def press_return(qtbot, panel, editor) -> None:
    """Enter in a cell editor: the delegate commits and closes it (queued)."""
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.table.state() != QAbstractItemView.State.EditingState)


def test_the_table_lists_every_run_with_its_metrics_and_the_current_one(qtbot, runs):
    w, panel = runs
    session = w.session
    assert panel.model.rowCount() == 3 and not panel.empty.isVisible()
    history = list(session.runs)
    assert [r.settings["epochs"] for r in history] == [e for _, e in SETTINGS]
    assert row_ids(panel) == [r.id for r in history]  # oldest first (sorted by start)
    for row, run in enumerate(history):
        acc = validation_accuracy(w, run)
        assert cell(panel, row, "validation") == f"{100 * acc:.1f} %"
        assert cell(panel, row, "validation", SORT_ROLE) == pytest.approx(acc, abs=1e-6)
        assert cell(panel, row, "epochs") == str(run.epochs) == str(SETTINGS[row][1])
        assert cell(panel, row, "test").endswith("%")
        assert cell(panel, row, "reason") == "Completed"
        assert cell(panel, row, "kind") == "Start"
        assert cell(panel, row, "weights") == "kept"
    # The last finished run is the current model: marked and bold; the others are not.
    assert session.current_run is history[-1]
    assert [cell(panel, r, "current") for r in range(3)] == ["", "", CURRENT_MARK]
    assert cell(panel, 2, "name", Qt.ItemDataRole.FontRole).bold()
    assert cell(panel, 0, "name", Qt.ItemDataRole.FontRole) is None
    assert "current model" in cell(panel, 2, "name", Qt.ItemDataRole.ToolTipRole)
    assert "unsaved" in panel.disk.text()

    # Sorting by clicking the Validation header: numeric order of the metric, both ways.
    values = {r.id: validation_accuracy(w, r) for r in history}
    click_header(qtbot, panel, "validation")
    shown = [values[i] for i in row_ids(panel)]
    assert shown == sorted(shown) and len(set(row_ids(panel))) == 3
    click_header(qtbot, panel, "validation")
    shown = [values[i] for i in row_ids(panel)]
    assert shown == sorted(shown, reverse=True)
    # Epochs sort as numbers (9 after 6 after 4), not as text.
    click_header(qtbot, panel, "epochs")
    epochs = [session.runs.get(i).epochs for i in row_ids(panel)]
    assert epochs in ([4, 6, 9], [9, 6, 4])

    # Continue training: a fourth run whose parent (the third) is named in its tooltips.
    w.workflow.training.epochs.setValue(2)
    with qtbot.waitSignal(session.training_finished, timeout=60_000):
        assert w.workflow.continue_training()
    qtbot.waitUntil(lambda: not session.training, timeout=10_000)
    child = session.runs.last
    assert child.parent == history[-1].id and session.current_run is child
    row = panel.row_of(child.id)
    assert cell(panel, row, "kind") == "Continue"
    assert f"Continued from {history[-1].name}" in cell(panel, row, "name",
                                                        Qt.ItemDataRole.ToolTipRole)
    assert cell(panel, row, "current") == CURRENT_MARK
    assert cell(panel, panel.row_of(history[-1].id), "current") == ""


def test_selecting_runs_overlays_their_curves_and_compares_settings(qtbot, runs, monkeypatch):
    w, panel = runs
    first, second, _third = list(w.session.runs)
    panel.select_runs([first.id, second.id])
    compare = panel.compare
    assert [r.id for r in compare.runs] == [first.id, second.id]
    assert compare.metric_name == "accuracy"
    for curve, run in zip(compare.loss_curves[:2], (first, second), strict=True):
        x, y = curve.getOriginalDataset()
        assert list(x) == list(range(1, run.epochs + 1))
        assert np.allclose(y, run.history["val_loss"])
        assert curve.isVisible()
    for curve, run in zip(compare.metric_curves[:2], (first, second), strict=True):
        x, y = curve.getOriginalDataset()
        assert np.allclose(y, 100 * np.asarray(run.history["val_accuracy"]))
    colors = {c.opts["pen"].color().name() for c in compare.loss_curves[:2]}
    assert len(colors) == 2  # one colour per run
    assert [label.text for _, label in compare.legend.items] == [first.name, second.name]
    # Settings side by side: the differing rows are highlighted, the shared ones not.
    assert compare.row_values("optimizer.learning_rate") == ["0.03", "0.1"]
    assert compare.row_values("epochs") == ["6", "9"]
    assert {"optimizer.learning_rate", "epochs"} <= set(compare.differing)
    assert "batch_size" not in compare.differing and "Network" not in compare.differing
    assert compare.row_values("Data")[0] == first.data_fp[:8]
    table = compare.settings
    rows = {table.verticalHeaderItem(r).text(): r for r in range(table.rowCount())}
    assert table.item(rows["epochs"], 0).background().color().alpha() > 0
    assert table.item(rows["batch_size"], 0).background().style() == Qt.BrushStyle.NoBrush
    compare.only_differences.setChecked(True)
    assert table.isRowHidden(rows["batch_size"]) and not table.isRowHidden(rows["epochs"])

    # A third run joins: a third curve (the pool grows); back to two: the third is emptied.
    panel.select_runs([r.id for r in w.session.runs])
    assert len(compare.legend.items) == 3 and compare.loss_curves[2].isVisible()
    pool = list(compare.loss_curves)
    panel.select_runs([first.id, second.id])
    assert compare.loss_curves == pool  # the same curve objects, updated
    assert not compare.loss_curves[2].isVisible() and len(compare.loss_curves[2].getData()[0]
                                                          or []) == 0
    # More runs selected than compared at once: the first ones, and the hint says so.
    monkeypatch.setattr(runs_compare, "MAX_COMPARED", 2)
    panel.select_runs([r.id for r in w.session.runs])
    assert len(compare.runs) == 2 and len(compare.legend.items) == 2
    assert "first 2 of the 3 selected runs" in compare.hint.text()
    assert compare.settings.columnCount() == 2


def test_rename_and_note_in_place_go_to_the_session(qtbot, runs, tmp_path):
    w, panel = runs
    assert w.save_to(tmp_path / "xor.nnsproj")
    assert not w.isWindowModified()
    run = next(iter(w.session.runs))
    edit_in_place(qtbot, panel, 0, "name", "Slow start")
    assert w.session.runs.get(run.id).name == "Slow start"
    assert cell(panel, 0, "name") == "Slow start"
    assert w.isWindowModified() and w.session.modified
    edit_in_place(qtbot, panel, 0, "note", "lr too low?")
    assert w.session.runs.get(run.id).note == "lr too low?"
    # The Rename button edits the name in place too; an empty name is refused.
    panel.select_runs([run.id])
    qtbot.mouseClick(panel.buttons["rename"], Qt.MouseButton.LeftButton)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit) and editor.text() == "Slow start"
    editor.clear()
    press_return(qtbot, panel, editor)
    assert w.session.runs.get(run.id).name == "Slow start"
    # A run that finishes while a note is being typed leaves the editor (and the selection)
    # as they were: the new run is a new row, not a new table.
    index = panel.proxy.index(panel.row_of(run.id), KEYS.index("note"))
    panel.table.setCurrentIndex(index)
    panel.table.edit(index)
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "typed during a run")
    train(qtbot, w, 0.05, 2)
    assert len(w.session.runs) == 4 and panel.model.rowCount() == 4
    assert panel.table.state() == QAbstractItemView.State.EditingState
    assert panel.selected_ids() == [run.id]
    press_return(qtbot, panel, editor)
    assert w.session.runs.get(run.id).note == "typed during a run"
    # Saved and the names come back in a project reopened.
    assert w.save_to(tmp_path / "xor.nnsproj")
    assert w.open_path(tmp_path / "xor.nnsproj", ask=False)
    assert cell(w.workflow.runs, 0, "name") == "Slow start"
    assert cell(w.workflow.runs, 0, "note") == "typed during a run"


def test_delete_asks_and_removes(qtbot, runs, questions):
    w, panel = runs
    first, _second, third = list(w.session.runs)
    # Del on the table asks about the runs; the canvas's Del (a window shortcut) stays out.
    w.select_all()
    layers = len(w.document.nodes)
    assert w.scene.selected_node_ids()
    panel.select_runs([first.id])
    panel.table.setFocus()
    questions.answers.append(QMessageBox.StandardButton.No)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert len(w.session.runs) == 3 and "Delete" in questions.asked[-1][0]
    assert len(w.document.nodes) == layers
    # Ctrl+A selects every run, not every layer (the window's Select All stays out).
    w.scene.clearSelection()
    qtbot.keyClick(panel.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(panel.selected_ids()) == 3 and not w.scene.selected_node_ids()
    panel.select_runs([first.id])
    questions.answers.append(QMessageBox.StandardButton.No)
    qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert len(w.session.runs) == 3 and len(questions.asked) == 2
    questions.answers.append(QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(panel.buttons["delete"], Qt.MouseButton.LeftButton)
    assert w.session.runs.get(first.id) is None and panel.model.rowCount() == 2
    assert w.session.current_run is third
    # Deleting the current run says it leaves no current model.
    panel.select_runs([third.id])
    questions.answers.append(QMessageBox.StandardButton.Yes)
    assert panel.delete()
    assert "leaves no current model" in questions.asked[-1][1]
    assert w.session.current_run is None and w.session.model is None
    assert CURRENT_MARK not in [cell(panel, r, "current") for r in range(panel.proxy.rowCount())]
    assert w.isWindowModified()


def test_make_current_and_undo(qtbot, runs):
    w, panel = runs
    first, _second, third = list(w.session.runs)
    button = panel.buttons["make_current"]
    panel.select_runs([third.id])
    assert not button.isEnabled()  # already current
    panel.select_runs([first.id])
    assert button.isEnabled()
    # Right-click the third run's row: it gets selected, its menu cannot make it current.
    pos = panel.table.visualRect(panel.proxy.index(panel.row_of(third.id), 1)).center()
    panel.table.customContextMenuRequested.emit(pos)
    assert panel.selected_ids() == [third.id]
    items = {a.text().split("\t")[0]: a for a in panel._menu.actions() if a.text()}
    assert {"Make Current", "Rename", "Edit Note", "Export Model…", "Delete…"} <= set(items)
    assert not items["Make Current"].isEnabled()
    panel._menu.close()
    # The first run's menu does.
    pos = panel.table.visualRect(panel.proxy.index(panel.row_of(first.id), 1)).center()
    panel.table.customContextMenuRequested.emit(pos)
    assert panel.selected_ids() == [first.id]
    items = {a.text().split("\t")[0]: a for a in panel._menu.actions() if a.text()}
    items["Make Current"].trigger()
    panel._menu.close()
    assert w.session.runs.current_id == first.id
    assert w.session.model is first.model
    assert w.workflow.training.learning_rate.value() == pytest.approx(0.03)
    assert w.workflow.training.epochs.value() == 6
    assert cell(panel, panel.row_of(first.id), "current") == CURRENT_MARK
    assert not button.isEnabled()
    # The window's title says the project changed.
    assert w.isWindowModified()
    w.actions.undo.trigger()  # Edit ▸ Undo
    assert w.session.runs.current_id == third.id
    assert w.workflow.training.learning_rate.value() == pytest.approx(0.01)
    assert cell(panel, panel.row_of(third.id), "current") == CURRENT_MARK
    assert button.isEnabled()  # the first run is still selected, no longer current

    # Disabled while training.
    training = w.workflow.training
    training.epochs.setValue(200)
    with qtbot.waitSignal(w.session.training_finished, timeout=60_000):
        assert training.start()
        assert not button.isEnabled() and not panel.make_current()
        training.stop()
    qtbot.waitUntil(lambda: not w.session.training, timeout=10_000)
    assert button.isEnabled()


def test_export_writes_a_model_file(qtbot, runs, questions, tmp_path, monkeypatch):
    w, panel = runs
    first = next(iter(w.session.runs))
    target = tmp_path / "first"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    panel.select_runs([first.id])
    qtbot.mouseClick(panel.buttons["export"], Qt.MouseButton.LeftButton)
    path = tmp_path / "first.npz"
    model = load_model(path)
    x = w.session.prepared.x_test
    assert np.array_equal(model.predict_prepared(x).probabilities,
                          first.model.predict_prepared(x).probabilities)
    assert not questions.warnings
    # A folder that does not exist: one readable line, no file.
    bad = tmp_path / "missing" / "m.npz"
    assert not panel.export_model(str(bad))
    assert len(questions.warnings) == 1 and "\n" not in questions.warnings[0]
    assert str(bad) in questions.warnings[0] and "Traceback" not in questions.warnings[0]
    assert not bad.exists()


def test_keep_last_n_drops_older_weights(qtbot, runs, questions, tmp_path):
    w, panel = runs
    first, second, third = list(w.session.runs)
    project = tmp_path / "xor.nnsproj"
    assert w.save_to(project)
    files = list((tmp_path / "xor.runs").iterdir())
    size = sum(os.path.getsize(p) for p in files)
    assert panel.disk.text() == f"Runs use {size / 1000:.1f} kB on disk"
    # Declined: nothing is dropped and the box says All again.
    questions.answers.append(QMessageBox.StandardButton.No)
    panel.keep.setValue(1)
    assert panel.keep.value() == 0 and panel.keep.text() == "all runs"
    assert w.session.runs.keep_weights is None and first.has_weights
    questions.answers.append(QMessageBox.StandardButton.Yes)
    panel.keep.setValue(1)
    assert "Run 1, Run 2" in questions.asked[-1][1]
    assert w.session.runs.keep_weights == 1 and panel.keep.text() == "the last 1 run"
    assert not first.has_weights and not second.has_weights and third.has_weights
    assert [cell(panel, r, "weights") for r in range(3)] == ["dropped", "dropped", "kept"]
    # Curves and metrics stay; the dropped runs cannot be made current or exported.
    assert first.history["val_loss"] and not math.isnan(first.metric("validation", "accuracy"))
    panel.select_runs([first.id])
    assert not panel.buttons["make_current"].isEnabled()
    assert not panel.buttons["export"].isEnabled()
    assert "not kept" in panel.buttons["make_current"].toolTip()
    assert w.isWindowModified()
    assert w.save_to(project)
    kept = sorted(p.name for p in (tmp_path / "xor.runs").iterdir() if "model" in p.name)
    assert kept == [f"{third.id}.model.npz"]
    # Back to All: the setting is saved with the project (weights once dropped stay dropped).
    panel.keep.setValue(0)
    assert w.session.runs.keep_weights is None


def test_new_project_empties_the_panel(qtbot, runs):
    w, panel = runs
    panel.select_runs([r.id for r in w.session.runs])
    assert w.new_project()
    assert panel.model.rowCount() == 0 and panel.compare.runs == []
    assert panel.empty.isVisibleTo(panel) and not panel.buttons["delete"].isEnabled()


def test_a_diverged_run_is_marked_and_regression_runs_show_r2(qtbot, workflow_window,
                                                             questions):
    w = workflow_window
    assert w.open_path(resource_path("examples", "salary.nnsproj"), ask=False)
    train(qtbot, w, 0.01, 4)
    training = w.workflow.training
    training.optimizer.setCurrentIndex(training.optimizer.findData("sgd"))
    train(qtbot, w, 1.5, 6)  # plain SGD at a learning rate of 1.5 blows up in epoch 3
    good, bad = list(w.session.runs)
    assert bad.reason == "diverged"
    panel = w.workflow.runs
    # The diverged run is kept and marked (red, ⚠) but the good run stays current.
    assert cell(panel, 1, "reason") == "⚠ Diverged"
    red = cell(panel, 1, "reason", Qt.ItemDataRole.ForegroundRole).color().name()
    assert red == QColor(current_theme().error).name()
    assert cell(panel, 0, "reason", Qt.ItemDataRole.ForegroundRole) is None
    assert "diverged" in cell(panel, 1, "reason", Qt.ItemDataRole.ToolTipRole)
    assert [cell(panel, r, "current") for r in range(2)] == [CURRENT_MARK, ""]
    # R² of the good run, computed here from its predictions on the validation split.
    prepared = w.session.prepared
    truth = prepared.preparation.decode_target(prepared.y_val)
    predicted = good.model.predict_prepared(prepared.x_val).values
    r2 = 1 - np.sum((truth - predicted) ** 2) / np.sum((truth - truth.mean(axis=0)) ** 2)
    assert cell(panel, 0, "validation") == f"R² {r2:.3f}"
    panel.select_runs([good.id, bad.id])
    assert panel.compare.metric_name == "r2"
    _x, y = panel.compare.metric_curves[1].getOriginalDataset()
    assert np.allclose(y, bad.history["val_r2"], equal_nan=True)
    # The axes show the good run; the diverged one's values (R² far below 0) leave the plot.
    low, high = panel.compare.metric_plot.viewRange()[1]
    assert low <= min(good.history["val_r2"]) and high >= max(good.history["val_r2"])
    assert min(bad.history["val_r2"]) < low
    # The user may still make it current (its last good weights were kept).
    panel.select_runs([bad.id])
    assert panel.buttons["make_current"].isEnabled()


def panel_state(panel) -> dict:
    """What the Runs panel shows, as plain data (to compare two windows)."""
    proxy = panel.proxy
    return {
        "rows": [[proxy.index(r, c).data() for c in range(proxy.columnCount())]
                 for r in range(proxy.rowCount())],
        "bold": [bool(proxy.index(r, 1).data(Qt.ItemDataRole.FontRole))
                 for r in range(proxy.rowCount())],
        "selected": panel.selected_ids(), "compared": [r.id for r in panel.compare.runs],
        "plots": panel.compare.splitter.isVisibleTo(panel),
        "settings": panel.compare.settings.columnCount(),
        "disk": panel.disk.text(), "keep": panel.keep.text(),
        "empty": panel.empty.isVisibleTo(panel),
        "buttons": {k: b.isEnabled() for k, b in panel.buttons.items()},
    }


def fresh_window(qtbot, tmp_path, name: str):
    from PySide6.QtCore import QSettings

    from nnstudio.gui.main_window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp_path / f"recovery-{name}")
    w.interactive = False
    qtbot.addWidget(w)
    w.show()
    return w


def settle(qtbot, w) -> None:
    qtbot.waitUntil(lambda: not w.session.loading_weights, timeout=20_000)
    qtbot.waitUntil(lambda: not w.workflow.results.busy, timeout=30_000)


def test_the_panel_follows_open_and_new_like_a_fresh_window(qtbot, runs, tmp_path):
    w, panel = runs
    a = tmp_path / "a.nnsproj"
    w.session.set_run_note(next(iter(w.session.runs)).id, "first try")
    assert w.save_to(a)
    panel.select_runs([r.id for r in w.session.runs][:2])
    assert panel.compare.runs
    b = resource_path("examples", "spirals.nnsproj")
    fresh = fresh_window(qtbot, tmp_path, "fresh")
    try:
        for step in ("b", "new", "a"):
            if step == "new":
                assert w.new_project() and fresh.new_project()
            else:
                path = a if step == "a" else b
                assert w.open_path(path, ask=False) and fresh.open_path(path, ask=False)
            settle(qtbot, w)
            settle(qtbot, fresh)
            state = panel_state(panel)
            assert state == panel_state(fresh.workflow.runs), step
        # Project A again: its three runs, the note, the current marker, the disk use.
        assert len(state["rows"]) == 3 and state["rows"][0][KEYS.index("note")] == "first try"
        assert [row[0] for row in state["rows"]] == ["", "", CURRENT_MARK]
        assert state["disk"].startswith("Runs use ") and "unsaved" not in state["disk"]
        assert state["selected"] == [] and not state["plots"]
    finally:
        fresh.workflow.shutdown()


def test_settings_rows_line_up_settings_a_run_does_not_have():
    from nnstudio.core.io.runs import Run
    from nnstudio.core.training import TrainingConfig

    stopping = TrainingConfig(early_stopping={"patience": 20}, epochs=50)
    plain = TrainingConfig(optimizer={"type": "sgd", "learning_rate": 0.1}, clip_norm=1.0,
                           early_stopping=None)
    runs = [Run(id="r0001-aaaaaa", settings=stopping.to_dict(), epochs=31, best_epoch=11,
                network={"nodes": [{"id": "a"}, {"id": "b"}]}, network_fp="1234567890abcdef"),
            Run(id="r0002-bbbbbb", settings=plain.to_dict(), epochs=100)]
    rows = dict(runs_compare.settings_rows(runs))
    assert rows["early_stopping.patience"] == ["20", "off"]
    assert "early_stopping" not in rows  # folded into its sub-key's row
    assert rows["optimizer.type"] == ["adam", "sgd"]
    assert rows["optimizer.learning_rate"] == ["0.001", "0.1"]
    assert rows["clip_norm"] == ["off", "1"]
    assert rows["shuffle"] == ["yes", "yes"]
    assert rows["Epochs run"] == ["31", "100"] and rows["Best epoch"] == ["11", "—"]
    assert rows["Network"] == ["12345678", "—"] and rows["Layers"] == ["2", "—"]
    labels = [label for label, _ in runs_compare.settings_rows(runs)]
    assert labels[:3] == ["loss", "optimizer.type", "optimizer.learning_rate"]
