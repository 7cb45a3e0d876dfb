"""The layer palette (registry-driven, grouped, filterable) and the properties panel."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from nnstudio.core.engine import CATEGORIES, LAYERS
from nnstudio.gui.panels.editors import IntEditor, ShapeEditor, parse_shape
from nnstudio.gui.panels.palette import LAYER_MIME, TYPE_ROLE, layer_from_mime

from .editor_helpers import build_chain

pytestmark = pytest.mark.gui


def test_palette_lists_every_registered_layer_in_its_group(window):
    palette = window.palette
    assert sorted(palette.type_names()) == sorted(LAYERS)
    model = palette.model
    groups = [model.item(r).data(Qt.ItemDataRole.AccessibleTextRole)
              for r in range(model.rowCount())]
    used = [c for c in CATEGORIES if any(cls.category == c for cls in LAYERS.values())]
    assert groups[: len(used)] == used
    for r in range(model.rowCount()):
        group = model.item(r)
        category = group.data(Qt.ItemDataRole.AccessibleTextRole)
        for c in range(group.rowCount()):
            name = group.child(c).data(TYPE_ROLE)
            assert LAYERS[name].category == category
            assert not group.child(c).icon().isNull()
    # Within a group, what a beginner reaches for first.
    names = {model.item(r).data(Qt.ItemDataRole.AccessibleTextRole):
             [model.item(r).child(c).data(TYPE_ROLE) for c in range(model.item(r).rowCount())]
             for r in range(model.rowCount())}
    assert names["Input/Output"][0] == "Input"
    assert names["Core"][0] == "Dense"
    assert names["Core"].index("Dense") < names["Core"].index("MultiHeadAttention")
    assert names["Activations"][:3] == ["ReLU", "Sigmoid", "Tanh"]
    assert names["Convolution & pooling"][:2] == ["Conv2D", "MaxPool2D"]


def test_palette_tooltip_says_what_the_layer_computes(window):
    index = window.palette.model.index_of("Sigmoid")
    assert index.data(Qt.ItemDataRole.ToolTipRole).startswith("Sigmoid: σ(z) = 1 / (1 + e^−z)")
    assert "\n" not in index.data(Qt.ItemDataRole.ToolTipRole)


def test_palette_filter(window, qtbot):
    palette = window.palette
    qtbot.keyClicks(palette.filter, "relu")
    # Names first, then the smooth ReLUs whose summaries mention it (GELU, Softplus).
    assert palette.type_names() == ["ReLU", "LeakyReLU", "GELU", "Softplus", "PReLU"]
    palette.filter.clear()
    palette.filter.setText("probab")  # matches the summary of Sigmoid and Softmax
    assert set(palette.type_names()) == {"Sigmoid", "Softmax"}
    palette.filter.setText("nothing like this")
    assert palette.type_names() == []
    # "output" matches Input too (its group is "Input/Output"); Enter adds the Output layer.
    palette.filter.clear()
    qtbot.keyClicks(palette.filter, "output")
    assert {"Input", "Output"} <= set(palette.type_names())
    assert palette.type_names().index("Input") < palette.type_names().index("Output")
    with qtbot.waitSignal(palette.layer_activated) as added:
        qtbot.keyClick(palette.filter, Qt.Key.Key_Return)
    assert added.args == ["Output"]
    palette.filter.clear()
    qtbot.keyClicks(palette.filter, "probab")  # no name matches: the first shown
    with qtbot.waitSignal(palette.layer_activated) as added:
        qtbot.keyClick(palette.filter, Qt.Key.Key_Return)
    assert added.args == [palette.type_names()[0]]


def test_palette_mime_data_carries_the_type(window):
    mime = window.palette.mime_data("Dense")
    assert mime.hasFormat(LAYER_MIME)
    assert layer_from_mime(mime) == "Dense"


def test_double_click_adds_after_the_selected_layer_and_connects(window):
    window.document.set_input_shape((3,))
    (a,) = build_chain(window, ("Input", {}))
    window.scene.select_nodes([a])
    window.palette.layer_activated.emit("Dense")
    assert window.document.edges == [(a, "dense_1")]
    assert window.document.node("dense_1").pos[0] > window.document.node(a).pos[0]
    assert window.scene.selected_node_ids() == ["dense_1"]
    window.undo_stack.undo()  # one step
    assert window.document.node_ids == [a]


def test_properties_show_the_selected_node(window):
    window.document.set_input_shape((4,))
    ids = build_chain(window, ("Input", {}), ("Dense", {"units": 8}))
    props = window.properties
    assert props.node_id is None
    window.scene.select_nodes([ids[1]])
    assert props.node_id == ids[1]
    assert props.title.text() == "Dense 8"
    assert set(props.editors) == {s.name for s in LAYERS["Dense"].settings}
    assert props.shape_label.text() == "(8,)"
    assert props.params_label.text() == "40"
    assert props.error.isHidden()
    window.scene.clearSelection()
    assert props.node_id is None
    assert "2 layers" in props.overview.text()


def test_a_property_edit_is_one_undoable_step(window):
    window.document.set_input_shape((4,))
    ids = build_chain(window, ("Input", {}), ("Dense", {"units": 8}))
    window.scene.select_nodes([ids[1]])
    editor = window.properties.editors["units"]
    assert isinstance(editor, IntEditor)
    n = window.undo_stack.count()
    editor.spin.setValue(32)
    assert window.document.node(ids[1]).config["units"] == 32
    assert window.undo_stack.count() == n + 1
    item = window.scene.node_items[ids[1]]
    assert item.title == "Dense 32" and item.shape_text == "(32,)"
    assert window.properties.title.text() == "Dense 32"
    window.undo_stack.undo()
    assert window.document.node(ids[1]).config["units"] == 8
    assert editor.spin.value() == 8
    assert item.title == "Dense 8"


def test_choice_and_bool_edits(window):
    ids = build_chain(window, ("Input", {}), ("Dense", {}))
    window.scene.select_nodes([ids[1]])
    props = window.properties
    props.editors["use_bias"].check.setChecked(False)
    assert window.document.node(ids[1]).config["use_bias"] is False
    combo = props.editors["kernel_initializer"].combo
    combo.setCurrentText("he_normal")
    combo.activated.emit(combo.currentIndex())
    assert window.document.node(ids[1]).config["kernel_initializer"] == "he_normal"
    window.undo_stack.undo()
    window.undo_stack.undo()
    assert window.document.node(ids[1]).config["use_bias"] is True


def test_shape_editor_validates_as_typed(window, qtbot):
    ids = build_chain(window, ("Input", {}))
    window.scene.select_nodes(ids)
    editor = window.properties.editors["shape"]
    assert isinstance(editor, ShapeEditor)
    label = window.properties.field_errors["shape"]
    n = window.undo_stack.count()
    qtbot.keyClicks(editor.edit, "1, a")
    assert editor.edit.property("invalid") is True
    assert label.isVisibleTo(window.properties) and "e.g. 1, 28, 28" in label.text()
    editor.edit.editingFinished.emit()
    assert window.undo_stack.count() == n  # nothing committed
    editor.edit.clear()
    qtbot.keyClicks(editor.edit, "1, 28, 28")
    assert editor.edit.property("invalid") is False and not label.isVisibleTo(window.properties)
    QTest.keyClick(editor.edit, Qt.Key.Key_Return)
    assert window.document.node(ids[0]).config["shape"] == [1, 28, 28]
    assert window.scene.node_items[ids[0]].shape_text == "1×28×28"


def test_int_editor_reports_out_of_range_text(window, qtbot):
    ids = build_chain(window, ("Input", {}), ("Dense", {}))
    window.scene.select_nodes([ids[1]])
    editor = window.properties.editors["units"]
    editor.spin.lineEdit().selectAll()
    qtbot.keyClicks(editor.spin.lineEdit(), "0")
    assert "≥ 1" in window.properties.field_errors["units"].text()


def test_properties_show_the_node_error(window):
    window.document.set_input_shape((1, 28, 28))
    ids = build_chain(window, ("Input", {}), ("Dense", {}))
    window.scene.select_nodes([ids[1]])
    assert not window.properties.error.isHidden()
    assert "Flatten" in window.properties.error.text()


def test_deleting_the_shown_node_clears_the_panel(window):
    ids = build_chain(window, ("Input", {}), ("Dense", {}))
    window.scene.select_nodes([ids[1]])
    window.delete_selection()
    assert window.properties.node_id is None


@pytest.mark.parametrize(("text", "shape"), [("1, 28, 28", [1, 28, 28]), ("(13,)", [13]),
                                             ("28x28", [28, 28]), ("", None)])
def test_parse_shape(text, shape):
    assert parse_shape(text) == shape


def test_pair_editor_with_an_auto_default(window):
    (a,) = build_chain(window, ("MaxPool2D", {}))
    window.scene.select_nodes([a])
    editor = window.properties.editors["strides"]
    assert [s.text() for s in editor.spins] == ["auto", "auto"]
    editor.spins[0].setValue(3)
    editor.spins[1].setValue(3)
    assert window.document.node(a).config["strides"] == [3, 3]
    editor.spins[0].setValue(editor.auto)
    assert "strides" not in window.document.node(a).config
    assert window.properties.editors["pool_size"].spins[0].text() == "2"
