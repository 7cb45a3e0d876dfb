"""The canvas: drops from the palette, port-to-port connections, refusals, moves, deletes."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QTransform
from PySide6.QtTest import QTest

from nnstudio.core.engine import LAYERS
from nnstudio.gui.canvas.edge_item import EdgeItem
from nnstudio.gui.canvas.grid import GRID, MIN_GRID_ZOOM, draw_grid

from .editor_helpers import build_chain, drop_layer, mouse_drag, node_point, port_point

pytestmark = pytest.mark.gui


def test_drop_from_palette_adds_the_layer_where_dropped(window):
    pos = QPoint(300, 200)
    assert drop_layer(window, "Dense", pos)
    assert window.document.node_ids == ["dense_1"]
    node = window.document.node("dense_1")
    item = window.scene.node_items["dense_1"]
    centre = window.canvas.mapToScene(pos)
    assert item.sceneBoundingRect().contains(centre)
    assert (item.pos().x(), item.pos().y()) == node.pos
    assert item.title == "Dense 16"
    assert item.isSelected()
    window.undo_stack.undo()
    assert len(window.document) == 0 and not window.scene.node_items
    window.undo_stack.redo()
    assert window.document.node("dense_1").pos == node.pos


@pytest.mark.parametrize("type_name", sorted(LAYERS))
def test_every_palette_layer_can_be_dropped(window, type_name):
    assert drop_layer(window, type_name, QPoint(250, 250))
    (node,) = window.document.nodes
    assert node.type == type_name
    assert window.scene.node_items[node.id].title == node.describe()


def test_foreign_drops_and_locked_canvas_refuse(window):
    from PySide6.QtCore import QMimeData

    mime = QMimeData()
    mime.setText("Dense")
    assert not drop_layer(window, "Dense", QPoint(200, 200), mime=mime)
    window.set_design_locked(True)
    assert not drop_layer(window, "Dense", QPoint(200, 200))
    assert len(window.document) == 0


def test_connect_by_dragging_from_output_port_to_input_port(window):
    window.document.set_input_shape((4,))
    a, b = build_chain(window, ("Input", {}), ("Dense", {"units": 8}))
    window.undo_stack.undo()  # drop the connection made by the helper
    assert window.document.edges == []
    item = window.scene.node_items[b]
    assert item.shape_text == "?"
    mouse_drag(window, port_point(window, a, "out"), port_point(window, b, "in"))
    assert window.document.edges == [(a, b)]
    assert (a, b) in window.scene.edge_items
    assert item.shape_text == "(8,)" and item.params_text == "40 params"
    assert window.params_label.text() == "Total: 40 parameters"
    window.undo_stack.undo()
    assert window.document.edges == [] and not window.scene.edge_items
    window.undo_stack.redo()
    assert window.document.edges == [(a, b)]


def test_connect_by_dragging_from_input_port_back_to_a_node(window):
    a, b = build_chain(window, ("Input", {}), ("ReLU", {}))
    window.undo_stack.undo()
    # from b's input port onto a's body: the model decides the direction
    mouse_drag(window, port_point(window, b, "in"), node_point(window, a))
    assert window.document.edges == [(a, b)]


def test_a_cycle_is_refused_with_a_visible_reason(window, qtbot):
    ids = build_chain(window, ("Input", {}), ("Dense", {}), ("Dense", {}), ("ReLU", {}))
    before = window.document.to_network_dict()
    n = window.undo_stack.count()
    with qtbot.waitSignal(window.scene.connection_refused) as blocker:
        mouse_drag(window, port_point(window, ids[3], "out"), port_point(window, ids[1], "in"))
    reason = blocker.args[0]
    assert "would create a cycle: relu_1 → dense_1 → dense_2 → relu_1" in reason
    assert window.document.to_network_dict() == before
    assert window.undo_stack.count() == n
    assert reason in window.statusBar().currentMessage()
    assert window.scene._bubble.isVisible() and window.scene._bubble.text == reason


def test_a_second_input_to_a_single_input_layer_is_refused(window, qtbot):
    ids = build_chain(window, ("Input", {}), ("Dense", {}))
    (other,) = build_chain(window, ("ReLU", {}))
    with qtbot.waitSignal(window.scene.connection_refused) as blocker:
        mouse_drag(window, port_point(window, other, "out"), port_point(window, ids[1], "in"))
    assert "'Dense' takes one input and 'dense_1' already has one" in blocker.args[0]
    assert (other, ids[1]) not in window.document.edges


def test_hovering_a_refused_target_shows_the_reason_while_dragging(window):
    ids = build_chain(window, ("Input", {}), ("Dense", {}))
    viewport = window.canvas.viewport()
    start = port_point(window, ids[1], "out")
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(viewport, port_point(window, ids[1], "in") + QPoint(-40, 0))
    QTest.mouseMove(viewport, node_point(window, ids[0]))
    link = window.scene._link
    assert link is not None and "takes no input" in link.problem
    assert link.bubble.isVisible()
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       node_point(window, ids[0]))
    assert window.scene._link is None and link.preview.scene() is None
    assert window.document.edges == [(ids[0], ids[1])]


def test_node_shows_shape_params_and_error_live(window):
    window.document.set_input_shape((1, 28, 28))
    ids = build_chain(window, ("Input", {}), ("Dense", {"units": 10}))
    item = window.scene.node_items[ids[1]]
    assert item.error and "Flatten" in item.error
    assert "Flatten" in item.toolTip()
    assert window.problem_label.text().startswith("⚠")
    window.document.set_input_shape((784,))
    assert item.error is None
    assert item.shape_text == "(10,)" and item.params_text == "7,850 params"
    assert window.problem_label.text() == ""
    window.document.set_input_shape((1, 28, 28))
    assert window.scene.node_items[ids[0]].shape_text == "1×28×28"


def test_moving_nodes_with_the_mouse_is_one_undoable_step(window):
    (a,) = build_chain(window, ("Dense", {}))
    before = window.document.node(a).pos
    n = window.undo_stack.count()
    start = node_point(window, a)
    mouse_drag(window, start, start + QPoint(120, 60), steps=6)
    after = window.document.node(a).pos
    assert after != before
    assert window.undo_stack.count() == n + 1
    item = window.scene.node_items[a]
    assert (item.pos().x(), item.pos().y()) == after
    window.undo_stack.undo()
    assert window.document.node(a).pos == before
    assert (item.pos().x(), item.pos().y()) == before


def test_rubber_band_selects_and_delete_removes_nodes_and_edges(window):
    ids = build_chain(window, ("Input", {}), ("Dense", {}), ("ReLU", {}))
    before = window.document.to_network_dict()
    window.select_all()
    assert window.scene.selected_node_ids() == ids
    window.scene.clearSelection()
    # rubber band around the first two nodes
    r1 = window.scene.node_items[ids[0]].sceneBoundingRect()
    r2 = window.scene.node_items[ids[1]].sceneBoundingRect()
    top_left = window.canvas.mapFromScene(r1.topLeft() - QPointF(20, 20))
    bottom_right = window.canvas.mapFromScene(r2.bottomRight() + QPointF(10, 20))
    mouse_drag(window, top_left, bottom_right)
    assert window.scene.selected_node_ids() == ids[:2]
    window.canvas.setFocus()
    window.actions.delete.trigger()
    assert window.document.node_ids == [ids[2]]
    assert window.document.edges == []
    window.undo_stack.undo()
    assert window.document.to_network_dict() == before


def test_selecting_an_edge_and_pressing_delete_disconnects(window):
    ids = build_chain(window, ("Input", {}), ("Dense", {}))
    edge = window.scene.edge_items[(ids[0], ids[1])]
    assert isinstance(edge, EdgeItem)
    edge.setSelected(True)
    window.activateWindow()
    window.canvas.setFocus()
    QTest.keyClick(window.canvas.viewport(), Qt.Key.Key_Delete)
    assert window.document.edges == []
    assert window.document.node_ids == ids
    window.undo_stack.undo()
    assert window.document.edges == [(ids[0], ids[1])]


def test_zoom_and_fit(window):
    build_chain(window, ("Input", {}), ("Dense", {}), ("Dense", {}), ("Dense", {}),
                ("Dense", {}), ("Dense", {}), ("Softmax", {}))
    window.canvas.set_zoom(1.0)
    window.canvas.zoom_in()
    assert window.canvas.zoom == pytest.approx(1.25)
    window.canvas.zoom_out()
    window.actions.zoom_fit.trigger()
    assert window.canvas.zoom < 1.0
    visible = window.canvas.mapToScene(window.canvas.viewport().rect()).boundingRect()
    for item in window.scene.node_items.values():
        assert visible.contains(item.sceneBoundingRect())
    assert window.zoom_label.text() == f"{window.canvas.zoom * 100:.0f} %"


def test_an_input_waiting_for_data_is_pending_not_red(window):
    (a,) = build_chain(window, ("Input", {}))
    item = window.scene.node_items[a]
    assert item.waiting and item.error is None
    assert window.problem_label.text() == ""
    window.document.set_input_shape((3,))
    assert not item.waiting and item.shape_text == "(3,)"


def _grid_image(zoom: float, rects) -> QImage:
    """The dot grid at ``zoom`` (view origin off the pixel grid), painted rect by rect."""
    image = QImage(300, 200, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setWorldTransform(QTransform(zoom, 0, 0, zoom, 13.3, 7.7))
    inverse, _ = painter.worldTransform().inverted()
    for r in rects:
        draw_grid(painter, inverse.mapRect(QRectF(*r)), "#202020", "#f0f0f0")
    painter.end()
    return image


@pytest.mark.parametrize("zoom", [0.64, 1.0, 1.37, 3.0])
def test_the_dot_grid_lines_up_across_partial_repaints(zoom):
    # a moved node or a scroll repaints part of the view: its dots must meet the others
    whole = _grid_image(zoom, [(0, 0, 300, 200)])
    pieces = _grid_image(zoom, [(0, 0, 137, 91), (137, 0, 163, 91), (0, 91, 300, 109)])
    assert whole == pieces
    dark = sum(QColor(whole.pixel(x, y)).lightness() < 200
               for x in range(300) for y in range(200))
    pitch = round(GRID * zoom)
    assert dark >= (300 // pitch) * (200 // pitch)  # a dot per cell, at least a pixel each


def test_no_dots_when_zoomed_far_out():
    image = _grid_image(MIN_GRID_ZOOM * 0.9, [(0, 0, 300, 200)])
    assert len({image.pixel(x, y) for x in range(0, 300, 3) for y in range(0, 200, 3)}) == 1


def test_the_canvas_shows_the_grid(window):
    window.canvas.set_zoom(1.0)
    image = window.canvas.viewport().grab().toImage()
    colours = {image.pixel(x, y) for x in range(0, 200) for y in range(0, 120)}
    assert len(colours) > 2  # background, dots and their anti-aliased edges


def test_undoing_a_template_keeps_the_network_in_view(qtbot, window):
    """After Undo of a template the canvas shows the design that came back."""
    from nnstudio.core.graph import ReplaceAll

    far = {"nodes": [{"id": "in", "type": "Input", "pos": [5000, 4000]},
                     {"id": "d", "type": "Dense", "units": 3, "pos": [5250, 4000]}],
           "edges": [["in", "d"]]}
    window.undo_stack.push_command(ReplaceAll(window.document, far))
    window.canvas.zoom_to_fit()
    window.apply_template("mlp_classifier")
    qtbot.wait(20)
    view = window.canvas
    window.undo_stack.undo()
    qtbot.wait(20)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert any(visible.intersects(item.sceneBoundingRect())
               for item in view.canvas.node_items.values())
    window.undo_stack.redo()
    qtbot.wait(20)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert any(visible.intersects(item.sceneBoundingRect())
               for item in view.canvas.node_items.values())


def test_auto_arrange_lays_a_long_chain_out_in_readable_rows(qtbot, window):
    from nnstudio.core.graph import ReplaceAll

    nodes = [{"id": "in", "type": "Input"}] + [
        {"id": f"d{i}", "type": "Dense", "units": 4} for i in range(60)]
    ids = [n["id"] for n in nodes]
    window.undo_stack.push_command(ReplaceAll(window.document, {
        "nodes": nodes, "edges": [[a, b] for a, b in itertools.pairwise(ids)]}))
    window.resize(1280, 800)
    qtbot.wait(50)
    window.auto_arrange()
    qtbot.wait(20)
    rows = {round(window.document.node(n).pos[1]) for n in ids}
    assert len(rows) > 3
    assert window.canvas.zoom >= 0.3  # one row of 61 nodes fitted at 15 %
