"""Networks with several Inputs and several outputs in the real window: column editors,
live shapes per Input, data prepared for the Output layers (in the loader thread), a run in
the worker thread with per-output plots, per-output Results and Predict, Save and reopen."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.core.graph import SetConfig

pytestmark = pytest.mark.gui

FEATURES = ["a", "b", "c", "zone"]


def write_csv(path, n: int = 240, seed: int = 3) -> None:
    """Three numbers and a category → a number (``value``) and a class (``label``)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, n))
    zone = rng.choice(["north", "south", "east"], size=n)
    shift = np.select([zone == "north", zone == "south"], [4.0, -4.0], 0.0)
    value = 50 + 10 * a - 6 * b + 3 * shift + rng.normal(scale=0.5, size=n)
    label = np.where(a + c + 0.3 * shift > 0, "high", "low")
    lines = ["a,b,c,zone,value,label"]
    lines += [f"{a[i]:.4f},{b[i]:.4f},{c[i]:.4f},{zone[i]},{value[i]:.3f},{label[i]}"
              for i in range(n)]
    path.write_text("\n".join(lines) + "\n")


def two_by_two(dataset_target: str = "value") -> dict:
    """A project: Input 'nums' (a, b, c) and Input 'place' (the rest: zone) → shared trunk
    → Output 'value' (a number) and Output 'label' (two classes, weight 0.5)."""
    nodes = [
        {"id": "nums", "type": "Input", "columns": ["a", "b", "c"], "pos": [0, 0]},
        {"id": "place", "type": "Input", "pos": [0, 200]},
        {"id": "h1", "type": "Dense", "units": 16, "pos": [220, 0]},
        {"id": "r1", "type": "ReLU", "pos": [440, 0]},
        {"id": "h2", "type": "Dense", "units": 4, "pos": [220, 200]},
        {"id": "join", "type": "Concatenate", "pos": [660, 100]},
        {"id": "h3", "type": "Dense", "units": 16, "pos": [880, 100]},
        {"id": "r3", "type": "ReLU", "pos": [1100, 100]},
        {"id": "v", "type": "Dense", "units": 1, "pos": [1320, 0]},
        {"id": "value", "type": "Output", "target": "value", "pos": [1540, 0]},
        {"id": "l", "type": "Dense", "units": 2, "pos": [1320, 200]},
        {"id": "sm", "type": "Softmax", "pos": [1540, 200]},
        {"id": "label", "type": "Output", "target": "label", "weight": 0.5, "pos": [1760, 200]},
    ]
    edges = [["nums", "h1"], ["h1", "r1"], ["place", "h2"], ["r1", "join"], ["h2", "join"],
             ["join", "h3"], ["h3", "r3"], ["r3", "v"], ["v", "value"], ["r3", "l"],
             ["l", "sm"], ["sm", "label"]]
    return {"format": "nnstudio.project", "version": 3,
            "dataset": {"source": "multi.csv", "target": dataset_target},
            "network": {"nodes": nodes, "edges": edges},
            "training": {"epochs": 40, "batch_size": 16,
                         "optimizer": {"type": "adam", "learning_rate": 0.01}}}


@pytest.fixture
def project_file(tmp_path):
    write_csv(tmp_path / "multi.csv")
    path = tmp_path / "multi.nnsproj"
    path.write_text(json.dumps(two_by_two()))
    return path


@pytest.fixture
def window(workflow_window):
    return workflow_window


def open_project(qtbot, window, path) -> None:
    assert window.open_path(path, ask=False)
    session = window.workflow.session
    qtbot.waitUntil(lambda: session.prepared is not None and not window.workflow.data_loader.busy,
                    timeout=20_000)


def train(qtbot, window, epochs: int = 40):
    panel = window.workflow.training
    panel.epochs.setValue(epochs)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=120_000) as b:
        assert panel.start(), panel.banner.text()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    return b.args[0]


def test_opened_project_is_prepared_for_its_outputs_and_shapes_each_input(qtbot, window,
                                                                          project_file):
    open_project(qtbot, window, project_file)
    prepared = window.workflow.session.prepared
    assert prepared.task == "multi_output"
    assert [h["target"] for h in prepared.preparation.heads] == ["value", "label"]
    assert prepared.y_train.shape[1] == 2
    doc = window.document
    # a, b, c → 3 columns; zone (three places, one-hot) → 3 columns
    assert doc.node_shape("nums").shape == (3,)
    assert doc.node_shape("place").shape == (3,)
    assert doc.node_shape("join").shape == (20,)
    assert doc.problems == []
    status = window.workflow.training.status.text()
    assert "targets from the Output layers" in status and "value (number)" in status
    assert "label (2 classes)" in status
    loss = window.workflow.training.loss
    assert not loss.isEnabled() and loss.toolTip().startswith("each Output layer sets its loss")


def test_train_shows_each_output_in_plots_results_and_predict(qtbot, window, project_file):
    open_project(qtbot, window, project_file)
    outcome = train(qtbot, window, epochs=30)
    fin = outcome.finished
    assert fin.reason in ("completed", "early_stopping")
    session = window.workflow.session
    # The live plots: a validation line per output (R² of the number, accuracy of the class).
    plots = window.workflow.training.plots
    assert list(plots.output_curves) == ["value/r2", "label/accuracy"]
    for key, curve in plots.output_curves.items():
        x, y = curve.getData()
        assert len(x) == fin.epochs_run
        assert np.allclose(y, fin.history["val_" + key], equal_nan=True)
    assert plots.output_curves["value/r2"].getData()[1][-1] > 0.8
    assert "value R²" in plots.show_epoch(3) and "label accuracy" in plots.show_epoch(3)
    assert plots.metric_plot.titleLabel.text == "Per output (validation)"
    train(qtbot, window, epochs=2)  # a second run: the same lines, the same title
    assert plots.metric_plot.titleLabel.text == "Per output (validation)"
    assert len(plots.output_curves["value/r2"].getData()[0]) == 2
    banner = window.workflow.training.banner.text()
    assert "value R²" in banner and "label accuracy" in banner
    # Results: a row per output, a column per metric, for the chosen split.
    results = window.workflow.results
    results.set_results(session.results)
    results._show_charts()
    res = session.results
    assert res.outputs is not None and list(res.outputs) == ["value", "label"]
    table = results.table
    rows = [table.verticalHeaderItem(i).text() for i in range(table.rowCount())]
    cols = [table.horizontalHeaderItem(j).text() for j in range(table.columnCount())]
    assert rows == ["value", "label", "Total (test)"]
    assert cols == ["Accuracy", "R²", "MAE", "RMSE", "Loss"]
    test = res.splits["test"].metrics
    assert table.item(0, 1).text() == f"{test['value/r2']:.3f}"
    assert table.item(1, 0).text() == f"{100 * test['label/accuracy']:.1f} %"
    assert table.item(0, 0).text() == "–" and table.item(1, 1).text() == "–"
    # The numbers are the core model's own scores (the CLI's), in the target's units.
    core = session.model.metrics(session.prepared.x_test, session.prepared.y_test)
    assert test["value/mae"] == pytest.approx(core["value/mae"], rel=1e-5)
    assert test["label/accuracy"] == pytest.approx(core["label/accuracy"])
    # The output selector: the class output's confusion matrix first, then the number's plot.
    assert results.output.isVisibleTo(results) and results.output.count() == 2
    assert results.output.currentData() == "label"
    assert results.pages.currentWidget() is results.classification_page
    cm = res.outputs["label"].splits["test"].confusion
    assert cm.sum() == res.splits["test"].n and cm.shape == (2, 2)
    assert results.per_class.rowCount() == 3
    results.output.setCurrentIndex(results.output.findData("value"))
    assert results.pages.currentWidget() is results.regression_page
    results.split.setCurrentIndex(results.split.findData("validation"))
    assert table.verticalHeaderItem(2).text() == "Total (validation)"
    assert table.item(0, 1).text() == f"{res.splits['validation'].metrics['value/r2']:.3f}"
    # Predict: the same form of feature columns; each output shown, at once after the run
    # for the typical values the form holds.
    predict = window.workflow.predict
    assert sorted(predict.fields) == sorted(FEATURES)
    qtbot.waitUntil(lambda: predict.last is not None, timeout=5000)
    assert predict.output_text("value") != "–"
    predict.set_value("a", "1.5")
    predict.set_value("zone", "north")
    with qtbot.waitSignal(predict.predicted, timeout=5000) as blocker:
        pass
    shown = blocker.args[0]
    row = predict.row()
    core = session.model.predict_raw([row])
    assert set(shown.outputs) == {"value", "label"}
    number = float(core.outputs["value"].values[0, 0])
    assert predict.output_text("value") == f"{number:.4g}"
    probs = core.outputs["label"].probabilities[0]
    best = core.outputs["label"].values[0]
    assert predict.output_text("label").startswith(f"{best}  ·  {100 * probs.max():.1f} %")
    _value, bars = predict.output_blocks["label"]
    assert sorted(bars) == ["high", "low"]
    assert bars["high"].value() == round(1000 * probs[list(core.outputs["label"].class_names)
                                                     .index("high")])
    assert not predict.result.isVisibleTo(predict)


def _editor(window, node_id: str, setting: str):
    window.scene.select_nodes([node_id])
    window.properties.set_node(node_id)
    return window.properties.editors[setting]


def test_input_columns_editor_lists_the_tables_features_and_edits_undoably(
        qtbot, window, project_file):
    from nnstudio.gui.panels.column_editors import NamesEditor

    open_project(qtbot, window, project_file)
    editor = _editor(window, "nums", "columns")
    assert isinstance(editor, NamesEditor) and editor.list is not None
    names = [editor.list.item(i).data(Qt.ItemDataRole.UserRole)
             for i in range(editor.list.count())]
    assert names == FEATURES  # the feature columns in the table's order (not the targets)
    assert editor.checked() == ["a", "b", "c"]
    doc = window.document
    # Uncheck "c": 'nums' takes a, b; 'place' (the rest) takes c and zone.
    editor.item("c").setCheckState(Qt.CheckState.Unchecked)
    assert doc.node("nums").config["columns"] == ["a", "b"]
    assert doc.node_shape("nums").shape == (2,) and doc.node_shape("place").shape == (4,)
    assert window.scene.node_items["place"].error is None
    # Check zone too: every feature is taken, the remaining-columns Input has none.
    editor = window.properties.editors["columns"]
    editor.item("c").setCheckState(Qt.CheckState.Checked)
    editor.item("zone").setCheckState(Qt.CheckState.Checked)
    error = doc.node_shape("place").error
    assert error and "other Inputs take them all" in error
    assert window.scene.node_items["place"].error == error
    assert doc.node_shape("nums").error is None and doc.node_shape("nums").shape == (6,)
    # Undo, step by step: the shapes follow.
    window.undo_stack.undo()
    assert doc.node("nums").config["columns"] == ["a", "b", "c"]
    assert doc.node_shape("place").shape == (3,) and doc.problems == []
    # A column another Input takes: listed with its owner, and an error at the Input.
    editor = _editor(window, "place", "columns")
    assert "(Input 'nums')" in editor.item("a").text()
    editor.item("a").setCheckState(Qt.CheckState.Checked)
    assert "which Input 'nums' takes too" in doc.node_shape("place").error
    window.undo_stack.undo()
    # An unknown column typed in a file: an error naming it, at that Input.
    window.undo_stack.push_command(SetConfig(doc, "place", {"columns": ["area"]}))
    assert "takes column 'area', which is not a feature" in doc.node_shape("place").error
    editor = _editor(window, "place", "columns")
    assert "(not a feature of the data)" in editor.item("area").text()


def test_two_inputs_taking_the_rest_is_an_error_at_the_second(qtbot, window, project_file):
    open_project(qtbot, window, project_file)
    doc = window.document
    window.undo_stack.push_command(SetConfig(doc, "nums", {"columns": []}))
    assert "both take 'the remaining columns'" in doc.node_shape("place").error
    assert doc.node_shape("nums").error is None
    assert not window.workflow.training.start()
    assert "remaining columns" in window.workflow.training.banner.text()


def test_output_target_change_prepares_the_data_again_off_the_gui_thread(
        qtbot, window, project_file):
    import threading

    from nnstudio.gui.panels.column_editors import TextEditor

    open_project(qtbot, window, project_file)
    session, follow = window.workflow.session, window.workflow.follow
    editor = _editor(window, "label", "target")
    assert isinstance(editor, TextEditor)
    items = [editor.combo.itemText(i) for i in range(editor.combo.count())]
    assert items == ["value", "label", "a", "b", "c", "zone"]
    assert editor.combo.currentText() == "label"
    threads = []
    real = follow.loader._run
    follow.loader._run = lambda *a: (threads.append(threading.current_thread()), real(*a))
    before = session.prepared
    # Predict the zone instead: choose it in the list.
    editor.combo.setCurrentIndex(items.index("zone"))
    editor.combo.activated.emit(items.index("zone"))
    assert window.document.node("label").config["target"] == "zone"
    qtbot.waitUntil(lambda: session.prepared is not before, timeout=20_000)
    assert threads and threads[0] is not threading.main_thread()
    heads = session.prepared.preparation.heads
    assert [(h["target"], h["task"]) for h in heads] == [("value", "regression"),
                                                         ("zone", "classification")]
    assert heads[1]["class_names"] == ["east", "north", "south"]
    # 'label' is a feature now: 'place' takes it (two classes, one-hot) and no zone.
    assert window.document.node_shape("place").shape == (2,)
    assert "zone (3 classes)" in window.workflow.training.status.text()
    # The output layer cannot learn three classes with two units: said before training.
    assert not window.workflow.training.start()
    assert "3 classes" in window.workflow.training.banner.text()
    # Typing a target the data do not have: the data cannot be prepared, said in the banner.
    editor = _editor(window, "label", "target")
    editor.combo.lineEdit().selectAll()
    qtbot.keyClicks(editor.combo.lineEdit(), "colour")
    qtbot.keyClick(editor.combo.lineEdit(), Qt.Key.Key_Return)
    assert window.document.node("label").config["target"] == "colour"
    qtbot.waitUntil(lambda: "could not be prepared" in window.workflow.training.banner.text(),
                    timeout=20_000)
    assert "colour" in window.workflow.training.banner.text()
    # Undo twice: the original targets, the data prepared for them again.
    window.undo_stack.undo()
    window.undo_stack.undo()
    qtbot.waitUntil(lambda: [h["target"] for h in session.prepared.preparation.heads]
                    == ["value", "label"], timeout=20_000)
    assert window.document.node_shape("place").shape == (3,)


def test_save_quit_reopen_predicts_the_same(qtbot, window, project_file, tmp_path):
    open_project(qtbot, window, project_file)
    train(qtbot, window, epochs=15)
    session = window.workflow.session
    row = {"a": "0.2", "b": "-1", "c": "0.5", "zone": "south"}
    before = session.model.predict_raw([row])
    saved = tmp_path / "saved.nnsproj"
    assert window.save_to(saved)
    window.set_project(type(session.project)())
    assert session.model is None
    assert window.open_path(saved, ask=False)
    qtbot.waitUntil(lambda: session.model is not None and session.results is not None
                    and not window.workflow.results.busy, timeout=30_000)
    after = session.model.predict_raw([row])
    assert after.outputs["value"].values[0, 0] == before.outputs["value"].values[0, 0]
    np.testing.assert_array_equal(after.outputs["label"].probabilities,
                                  before.outputs["label"].probabilities)
    assert session.results.outputs is not None
    assert "validation value R²" in window.workflow.training.status.text()
    assert list(window.workflow.training.plots.output_curves) == ["value/r2", "label/accuracy"]
    # The run's record (its first weights, the Inputs' columns) came back: Replay works.
    panel = window.workflow.training
    assert "could not be read" not in panel.banner.text()
    with qtbot.waitSignal(session.training_finished, timeout=60_000) as b:
        assert panel.replay(), panel.banner.text()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    first = next(iter(session.runs))
    assert b.args[0].finished.history["loss"] == list(first.history["loss"])


def test_without_data_columns_are_typed(qtbot, window):
    from nnstudio.core.io.project import Project

    window.set_project(Project(network=two_by_two()["network"]))
    doc = window.document
    assert doc.waiting_for_data("nums") and doc.problems == []
    editor = _editor(window, "place", "columns")
    assert editor.list is None and editor.edit is not None
    editor.edit.setFocus()
    qtbot.keyClicks(editor.edit, "zone, c")
    qtbot.keyClick(editor.edit, Qt.Key.Key_Return)
    assert doc.node("place").config["columns"] == ["zone", "c"]
    target = _editor(window, "value", "target")
    assert target.combo.count() == 0
    target.combo.lineEdit().selectAll()
    qtbot.keyClicks(target.combo.lineEdit(), "price")
    qtbot.keyClick(target.combo.lineEdit(), Qt.Key.Key_Return)
    assert doc.node("value").config["target"] == "price"
    window.undo_stack.undo()
    assert doc.node("value").config["target"] == "value"


def test_the_palette_offers_output_under_input_output(window):
    from nnstudio.gui.panels.palette import TYPE_ROLE

    model = window.palette.model
    for r in range(model.rowCount()):
        group = model.item(r)
        if group.data(Qt.ItemDataRole.AccessibleTextRole) == "Input/Output":
            names = [group.child(c).data(TYPE_ROLE) for c in range(group.rowCount())]
            assert names[:2] == ["Input", "Output"]
            return
    raise AssertionError("no Input/Output group")


def test_a_double_click_in_the_palette_adds_one_layer(qtbot, window):
    """A double click emits both ``activated`` and ``doubleClicked``: one layer only."""
    from PySide6.QtTest import QTest

    from nnstudio.core.io.project import Project

    window.set_project(Project(network={"nodes": [{"id": "in", "type": "Input"}],
                                        "edges": []}))
    window.scene.select_nodes(["in"])
    palette = window.palette
    proxy_index = palette.tree.model().mapFromSource(palette.model.index_of("Output"))
    rect = palette.tree.visualRect(proxy_index)
    viewport, left = palette.tree.viewport(), Qt.MouseButton.LeftButton
    none = Qt.KeyboardModifier.NoModifier
    QTest.mouseClick(viewport, left, none, rect.center())  # a double click: press, release,
    QTest.mouseDClick(viewport, left, none, rect.center())  # then the double-click event
    qtbot.wait(50)
    assert [n.type for n in window.document.nodes] == ["Input", "Output"]
    assert window.document.edges == [("in", "output_1")]


def test_wizard_data_are_prepared_for_the_output_layers(qtbot, window, tmp_path):
    """The wizard prepares one target and lists every other column as a feature; a design
    whose Outputs name their targets gets the data prepared for them (the target an Output
    predicts leaves the features), and says so."""
    from nnstudio.core.data import DatasetSpec, build_dataset
    from nnstudio.core.graph import ReplaceAll

    write_csv(tmp_path / "multi.csv")
    window.undo_stack.push_command(ReplaceAll(window.document, two_by_two()["network"]))
    spec = DatasetSpec(source=str(tmp_path / "multi.csv"), target="label",
                       features=["a", "b", "c", "zone", "value"])
    wizard_data = build_dataset(spec)
    assert wizard_data.task == "classification"
    session = window.workflow.session
    window.workflow.adopt_dataset(spec, wizard_data)  # no "fix the output layer?" question
    qtbot.waitUntil(lambda: session.prepared is not wizard_data, timeout=20_000)
    prepared = session.prepared
    assert prepared.task == "multi_output"
    assert [h["target"] for h in prepared.preparation.heads] == ["value", "label"]
    assert session.dataset_spec.features == ["a", "b", "c", "zone"]
    assert session.project.dataset is session.dataset_spec  # what Save writes
    assert window.document.node_shape("place").shape == (3,) and window.document.problems == []
    assert "targets from the Output layers" in window.workflow.training.status.text()
    outcome = train(qtbot, window, epochs=5)
    assert outcome.finished.epochs_run == 5 and session.results.outputs is not None


def test_the_loss_field_says_the_outputs_set_it_whatever_the_file_holds(
        qtbot, window, tmp_path):
    write_csv(tmp_path / "multi.csv")
    project = two_by_two()
    project["training"]["loss"] = "cross_entropy"
    path = tmp_path / "ce.nnsproj"
    path.write_text(json.dumps(project))
    open_project(qtbot, window, path)
    loss = window.workflow.training.loss
    assert not loss.isEnabled() and loss.currentIndex() == 0
    assert loss.currentText() == "Set by each Output layer"
    assert not window.isWindowModified()


def test_an_output_without_its_target_is_an_error_there_and_keeps_the_data(
        qtbot, window, project_file):
    open_project(qtbot, window, project_file)
    session, doc = window.workflow.session, window.document
    before = session.prepared
    window.undo_stack.push_command(SetConfig(doc, "label", {"target": ""}))
    error = doc.node_shape("label").error
    assert error and "name the target column this output predicts" in error
    assert window.scene.node_items["label"].error == error
    qtbot.wait(600)  # past the quiet time after an edit: nothing is prepared again
    assert session.prepared is before and not window.workflow.follow.busy
    window.undo_stack.undo()
    assert doc.node_shape("label").error is None and doc.problems == []


def test_an_output_that_cannot_learn_its_target_says_so_on_the_canvas(
        qtbot, window, project_file):
    open_project(qtbot, window, project_file)
    doc = window.document
    window.undo_stack.push_command(SetConfig(doc, "v", {"units": 4}))
    error = doc.node_shape("value").error
    assert error and "receives (4,) but its target is one number" in error
    assert window.scene.node_items["value"].error == error
    window.undo_stack.push_command(SetConfig(doc, "l", {"units": 3}))
    assert "its target has 2 classes" in doc.node_shape("label").error
    assert not window.workflow.training.start()
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert doc.problems == []


def test_inside_the_network_says_it_shows_one_input_and_one_output(qtbot, window,
                                                                   project_file):
    open_project(qtbot, window, project_file)
    train(qtbot, window, epochs=3)
    source = window.insight_panel.source
    qtbot.waitUntil(lambda: source.network is not None and source.data is not None,
                    timeout=10_000)
    # The views that follow one Input to one output say so; Weights & gradients is drawn.
    text = window.insight_panel.boundary.message
    assert "several Inputs and outputs" in text and "Results and Predict" in text
    assert source.compatible and window.insight_panel.stats.message == ""


def test_the_runs_table_shows_each_outputs_score(qtbot, window, project_file):
    from nnstudio.gui.panels.runs_table import metric_text

    open_project(qtbot, window, project_file)
    train(qtbot, window, epochs=3)
    run = window.workflow.session.current_run
    m = run.metrics["validation"]
    text, _ = metric_text(run, "validation")
    assert text == (f"value R² {m['value/r2']:.3f} · label {100 * m['label/accuracy']:.1f} %")


def test_the_dataset_wizard_says_the_output_layers_name_the_targets(qtbot, window):
    from nnstudio.core.io.project import Project

    window.set_project(Project(network=two_by_two()["network"]))
    wizard = window.workflow.open_dataset_wizard()
    note = wizard.columns_page.design_note
    assert not note.isHidden()
    assert "Output layers name their targets (value, label)" in note.text()
    wizard.reject()
    window.set_project(Project(network={"nodes": [{"id": "in", "type": "Input"}],
                                        "edges": []}))
    wizard = window.workflow.open_dataset_wizard()
    assert wizard.columns_page.design_note.isHidden()
    wizard.reject()


def test_replay_and_continue_a_network_with_several_inputs(qtbot, window, project_file):
    open_project(qtbot, window, project_file)
    first = train(qtbot, window, epochs=4)
    panel, session = window.workflow.training, window.workflow.session
    # Replay: the recorded first weights, the same curves bit for bit.
    with qtbot.waitSignal(session.training_finished, timeout=60_000) as b:
        assert panel.replay(), panel.banner.text()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    again = b.args[0]
    assert again.finished.history["loss"] == first.finished.history["loss"]
    assert again.finished.history["val_label/accuracy"] == \
        first.finished.history["val_label/accuracy"]
    # Continue: the current model trained further, its Inputs still taking their columns.
    assert panel.can_continue()
    with qtbot.waitSignal(session.training_finished, timeout=60_000):
        assert panel.continue_training(), panel.banner.text()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    run = session.current_run
    assert run.kind == "continue" and session.network.input_columns is not None
    assert len(session.runs) == 3


def test_a_project_opened_without_its_data_shows_the_recorded_scores_per_output(
        qtbot, window, project_file, tmp_path):
    open_project(qtbot, window, project_file)
    train(qtbot, window, epochs=3)
    session = window.workflow.session
    recorded = session.current_run.metrics["test"]
    saved = tmp_path / "saved.nnsproj"
    assert window.save_to(saved)
    (tmp_path / "multi.csv").unlink()
    assert window.open_path(saved, ask=False)
    qtbot.waitUntil(lambda: session.model is not None and session.results is not None,
                    timeout=30_000)
    assert session.prepared is None
    res = session.results
    assert list(res.outputs) == ["value", "label"]
    results = window.workflow.results
    results.set_results(res)
    results._show_charts()
    table = results.table
    assert [table.verticalHeaderItem(i).text() for i in range(table.rowCount())] == \
        ["value", "label", "Total (test)"]
    assert table.item(0, 1).text() == f"{recorded['value/r2']:.3f}"
    assert table.item(1, 0).text() == f"{100 * recorded['label/accuracy']:.1f} %"
    assert results.output.itemText(results.output.findData("label")) == "label (2 classes)"
    # Predict still answers from the model's own preparation.
    predict = window.workflow.predict
    qtbot.waitUntil(lambda: predict.last is not None, timeout=5000)
    assert set(predict.last.outputs) == {"value", "label"}


def test_one_output_layer_naming_its_target(qtbot, window, tmp_path):
    """One Output naming its target: the network learns that column (not the dataset's
    target), with the Output's loss; Results and Predict show it."""
    write_csv(tmp_path / "multi.csv")
    project = two_by_two()
    project["network"] = {
        "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 8},
                  {"id": "r", "type": "ReLU"}, {"id": "l", "type": "Dense", "units": 2},
                  {"id": "sm", "type": "Softmax"},
                  {"id": "label", "type": "Output", "target": "label"}],
        "edges": [["in", "h"], ["h", "r"], ["r", "l"], ["l", "sm"], ["sm", "label"]]}
    path = tmp_path / "one.nnsproj"
    path.write_text(json.dumps(project))  # the dataset's target is "value"
    open_project(qtbot, window, path)
    session = window.workflow.session
    assert [h["target"] for h in session.prepared.preparation.heads] == ["label"]
    assert "value" in [f["name"] for f in session.prepared.preparation.features]
    train(qtbot, window, epochs=10)
    assert list(session.results.outputs) == ["label"]
    assert session.results.splits["test"].metrics["label/accuracy"] > 0.6
    predict = window.workflow.predict
    qtbot.waitUntil(lambda: predict.last is not None, timeout=5000)
    assert predict.output_text("label").split()[0] in ("high", "low")


def test_inside_the_network_says_so_before_training_too(qtbot, window, project_file):
    open_project(qtbot, window, project_file)
    source = window.insight_panel.source
    qtbot.waitUntil(lambda: source.network is not None and source.data is not None,
                    timeout=10_000)
    assert source.network.input_columns is not None  # the design, its Inputs' columns
    assert source.compatible  # the design fits the data prepared for its Outputs
    assert "several Inputs and outputs" in window.insight_panel.neurons.message
