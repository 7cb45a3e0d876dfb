"""Edit operations: undo/redo of each kind, copy/paste, templates, auto-arrange, locking."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from nnstudio.core.graph import MoveNodes, SetConfig, templates

from .editor_helpers import build_chain, drop_layer, mouse_drag, node_point, port_point

pytestmark = pytest.mark.gui


def test_undo_redo_of_every_kind_of_edit_through_the_actions(window):
    """add, connect, move, property change, disconnect, delete: each undoes and redoes."""
    states = [window.document.to_network_dict()]

    def step():
        states.append(window.document.to_network_dict())

    drop_layer(window, "Input", QPoint(200, 200))
    step()
    drop_layer(window, "Dense", QPoint(500, 200))
    step()
    mouse_drag(window, port_point(window, "input_1", "out"), port_point(window, "dense_1", "in"))
    step()
    start = node_point(window, "dense_1")
    mouse_drag(window, start, start + QPoint(0, 90))
    step()
    window.scene.select_nodes(["dense_1"])
    window.properties.editors["units"].spin.setValue(5)
    step()
    window.scene.clearSelection()
    window.scene.edge_items[("input_1", "dense_1")].setSelected(True)
    window.actions.delete.trigger()
    step()
    window.scene.select_nodes(["dense_1"])
    window.actions.delete.trigger()
    step()
    for i in range(1, len(states)):  # every step changed something
        assert states[i] != states[i - 1], i
    for expected in reversed(states[:-1]):
        window.actions.undo.trigger()
        assert window.document.to_network_dict() == expected
    assert not window.actions.undo.isEnabled()
    for expected in states[1:]:
        window.actions.redo.trigger()
        assert window.document.to_network_dict() == expected
    # the scene mirrors the document after all that
    assert set(window.scene.node_items) == set(window.document.node_ids)
    assert set(window.scene.edge_items) == set(window.document.edges)


def test_undo_action_names_the_edit(window):
    build_chain(window, ("Input", {}))
    assert window.actions.undo.text() == "&Undo Add Input"
    window.undo_stack.undo()
    assert window.actions.redo.text() == "&Redo Add Input"


def test_standard_shortcuts(window):
    a = window.actions
    assert a.new.shortcut() == QKeySequence(QKeySequence.StandardKey.New)
    assert a.open.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert a.save.shortcut() == QKeySequence(QKeySequence.StandardKey.Save)
    assert a.undo.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert QKeySequence("Ctrl+Shift+Z") in a.redo.shortcuts()
    assert QKeySequence("Del") in a.delete.shortcuts()
    assert a.select_all.shortcut() == QKeySequence(QKeySequence.StandardKey.SelectAll)
    assert a.zoom_fit.shortcut() == QKeySequence("Ctrl+0")


def test_keyboard_shortcuts_reach_the_actions(window):
    ids = build_chain(window, ("Input", {}), ("Dense", {}))
    window.activateWindow()
    window.canvas.setFocus()
    ctrl = Qt.KeyboardModifier.ControlModifier
    QTest.keyClick(window.canvas, Qt.Key.Key_A, ctrl)
    assert window.scene.selected_node_ids() == ids
    QTest.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert len(window.document) == 0
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, ctrl)
    assert window.document.node_ids == ids
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, ctrl | Qt.KeyboardModifier.ShiftModifier)
    assert len(window.document) == 0
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, ctrl)
    window.canvas.set_zoom(2.0)
    QTest.keyClick(window.canvas, Qt.Key.Key_0, ctrl)
    assert window.canvas.zoom <= 1.0


def test_copy_paste_and_duplicate(window):
    ids = build_chain(window, ("Input", {}), ("Dense", {"units": 7}), ("ReLU", {}))
    window.scene.select_nodes(ids[1:])
    assert window.copy_selection()
    window.paste()
    assert window.document.node_ids[-2:] == ["dense_2", "relu_2"]
    assert ("dense_2", "relu_2") in window.document.edges
    assert window.document.node("dense_2").config["units"] == 7
    x, y = window.document.node("dense_1").pos
    assert window.document.node("dense_2").pos == (x + 40, y + 40)
    assert window.scene.selected_node_ids() == ["dense_2", "relu_2"]
    window.undo_stack.undo()
    assert window.document.node_ids == ids
    window.scene.select_nodes([ids[1]])
    window.duplicate()
    assert window.document.node_ids[-1] == "dense_2"
    window.scene.select_nodes([ids[2]])
    window.cut_selection()
    assert ids[2] not in window.document
    window.paste()
    assert "relu_1" in window.document  # the id is free again


def test_templates_build_on_the_canvas_and_undo(window):
    build_chain(window, ("Input", {}), ("Dense", {}))
    before = window.document.to_network_dict()
    window.document.set_input_shape((13,))
    action = next(a for a in window.actions.templates if a.data() == "linear_regression")
    action.trigger()
    assert [n.type for n in window.document.nodes] == ["Input", "Dense"]
    assert window.document.node("dense_1").config["units"] == 1
    assert window.document.report.total_params == 14  # ŷ = w·x + b over 13 features
    window.undo_stack.undo()
    assert window.document.to_network_dict() == before


@pytest.mark.parametrize("key", [t.key for t in templates()])
def test_every_template_builds_a_network_that_works(window, key):
    from nnstudio.core.graph import template

    if not template(key).available:
        pytest.xfail("layer types of this template are not registered")
    window.output_units = 4
    window.document.set_input_shape(None if template(key).default_input else (4,))
    window.apply_template(key)
    report = window.document.report
    assert report.ok, report.errors
    assert not any(item.error for item in window.scene.node_items.values())


def test_auto_arrange_lays_out_left_to_right_in_one_step(window):
    ids = build_chain(window, ("Input", {}), ("Dense", {}), ("ReLU", {}))
    window.push(MoveNodes(window.document, {ids[0]: (900, 300), ids[1]: (0, -200),
                                            ids[2]: (400, 500)}))
    before = window.document.to_network_dict()
    n = window.undo_stack.count()
    window.actions.arrange.trigger()
    xs = [window.document.node(i).pos[0] for i in ids]
    assert xs == sorted(xs) and len(set(xs)) == 3
    assert len({window.document.node(i).pos[1] for i in ids}) == 1
    assert window.undo_stack.count() == n + 1
    window.undo_stack.undo()
    assert window.document.to_network_dict() == before


def test_locked_design_refuses_every_edit(window):
    ids = build_chain(window, ("Input", {}), ("Dense", {}))
    window.undo_stack.undo()
    window.scene.select_nodes([ids[1]])
    before = window.document.to_network_dict()
    window.set_design_locked(True)
    a = window.actions
    for action in (a.undo, a.redo, a.delete, a.paste, a.arrange, a.new, a.open, *a.templates):
        assert not action.isEnabled()
    assert not window.palette.isEnabled()
    assert not window.properties.editors["units"].isEnabled()
    assert not drop_layer(window, "ReLU", QPoint(300, 300))
    mouse_drag(window, port_point(window, ids[0], "out"), port_point(window, ids[1], "in"))
    start = node_point(window, ids[1])
    mouse_drag(window, start, start + QPoint(50, 50))
    window.delete_selection()
    window.apply_template("mlp_classifier")
    assert window.document.to_network_dict() == before
    window.set_design_locked(False)
    assert a.undo.isEnabled() and window.palette.isEnabled()
    window.push(SetConfig(window.document, ids[1], {"units": 3}))
    assert window.document.node(ids[1]).config["units"] == 3


def test_context_menu_on_a_node_and_on_the_canvas(window):
    ids = build_chain(window, ("Input", {}))
    menu = window.canvas_menu(node_point(window, ids[0]))
    assert "&Delete" in [a.text() for a in menu.actions()]
    assert window.scene.selected_node_ids() == ids
    menu = window.canvas_menu(QPoint(5, 5))
    add = menu.actions()[0].menu()
    assert menu.actions()[0].text() == "Add layer here"
    core = next(a.menu() for a in add.actions() if a.text() == "Core")
    next(a for a in core.actions() if a.text() == "Dense").trigger()
    assert "dense_1" in window.document
