"""Undoable commands and the GUI-free UndoStack: every kind of edit undoes and redoes."""

from __future__ import annotations

import pytest

from nnstudio.core.errors import ConfigError, GraphError
from nnstudio.core.graph import (
    AddNode,
    AddSubgraph,
    Connect,
    Disconnect,
    GraphDocument,
    Macro,
    MoveNodes,
    RemoveNodes,
    ReplaceAll,
    SetConfig,
    UndoStack,
    build_template,
    new_drag_id,
)


def _roundtrip(doc: GraphDocument, stack: UndoStack, command) -> None:
    """Push, undo, redo; the document must match each state exactly."""
    before = doc.to_network_dict()
    stack.push(command)
    after = doc.to_network_dict()
    assert after != before
    stack.undo()
    assert doc.to_network_dict() == before
    stack.redo()
    assert doc.to_network_dict() == after


def test_add_node(doc, stack):
    _roundtrip(doc, stack, AddNode(doc, "Dense", (10, 20), {"units": 3}))
    assert doc.node("dense_1").config["units"] == 3
    assert doc.node("dense_1").pos == (10.0, 20.0)


def test_remove_nodes_restores_order_and_edges(chain, stack):
    _roundtrip(chain, stack, RemoveNodes(chain, ["dense_1"]))
    assert chain.node_ids == ["input_1", "dense_2"]
    assert chain.edges == []
    stack.undo()
    assert chain.node_ids == ["input_1", "dense_1", "dense_2"]
    assert chain.edges == [("input_1", "dense_1"), ("dense_1", "dense_2")]


def test_move_nodes_merges_one_drag(chain, stack):
    drag = new_drag_id()
    n = len(stack)
    stack.push(MoveNodes(chain, {"dense_1": (300, 10)}, drag_id=drag))
    stack.push(MoveNodes(chain, {"dense_1": (320, 40)}, drag_id=drag))
    assert len(stack) == n + 1
    assert chain.node("dense_1").pos == (320.0, 40.0)
    stack.undo()
    assert chain.node("dense_1").pos == (250.0, 0.0)
    _roundtrip(chain, stack, MoveNodes(chain, {"dense_1": (1, 2), "dense_2": (3, 4)}))


def test_move_with_old_positions_from_a_live_drag(chain, stack):
    cmd = MoveNodes(chain, {"dense_1": (5, 5)}, old_positions={"dense_1": (250, 0)})
    stack.push(cmd)
    stack.undo()
    assert chain.node("dense_1").pos == (250.0, 0.0)


def test_connect_and_disconnect(chain, stack):
    stack.push(AddNode(chain, "ReLU"))
    _roundtrip(chain, stack, Connect(chain, "dense_2", "relu_1"))
    # Disconnect puts the edge back at its place in the order (inputs of merges).
    _roundtrip(chain, stack, Disconnect(chain, [("input_1", "dense_1")]))
    stack.undo()
    assert chain.edges[0] == ("input_1", "dense_1")


def test_connect_refused_is_not_pushed(chain, stack):
    n = len(stack)
    with pytest.raises(GraphError, match="cycle"):
        stack.push(Connect(chain, "dense_2", "dense_1"))
    assert len(stack) == n


def test_set_config(chain, stack):
    _roundtrip(chain, stack, SetConfig(chain, "dense_1", {"units": 32}))
    assert chain.node_shape("dense_1").shape == (32,)
    with pytest.raises(ConfigError):
        SetConfig(chain, "dense_1", {"units": 0})


def test_set_config_merges_when_asked(chain, stack):
    n = len(stack)
    stack.push(SetConfig(chain, "dense_1", {"units": 9}, merge=True))
    stack.push(SetConfig(chain, "dense_1", {"units": 10}, merge=True))
    assert len(stack) == n + 1
    stack.undo()
    assert chain.node("dense_1").config["units"] == 8


def test_set_config_none_restores_default(doc, stack):
    stack.push(AddNode(doc, "Input", config={"shape": [4]}))
    stack.push(SetConfig(doc, "input_1", {"shape": None}))
    assert "shape" not in doc.node("input_1").config
    stack.undo()
    assert doc.node("input_1").config["shape"] == [4]


def test_replace_all(chain, stack):
    _roundtrip(chain, stack, ReplaceAll(chain, build_template("mlp_classifier"), "Template"))


def test_add_subgraph_renames_clashing_ids(chain, stack):
    part = {"nodes": [{"id": "dense_1", "type": "Dense", "units": 2, "pos": [0, 0]},
                      {"id": "relu_9", "type": "ReLU", "pos": [100, 0]}],
            "edges": [["dense_1", "relu_9"]]}
    cmd = AddSubgraph(chain, part, offset=(30, 30))
    _roundtrip(chain, stack, cmd)
    assert cmd.id_map == {"dense_1": "dense_3", "relu_9": "relu_9"}
    assert chain.node("dense_3").pos == (30.0, 30.0)
    assert ("dense_3", "relu_9") in chain.edges


def test_macro_is_one_step_and_rolls_back_on_failure(chain, stack):
    n = len(stack)
    add = AddNode(chain, "ReLU", (700, 0))
    _roundtrip(chain, stack, Macro(chain, "Add ReLU", [add, Connect(chain, "dense_2",
                                                                     add.node_id)]))
    assert len(stack) == n + 1
    before = chain.to_network_dict()
    bad = Macro(chain, "bad", [AddNode(chain, "ReLU"), Connect(chain, "dense_2", "dense_1")])
    with pytest.raises(GraphError):
        stack.push(bad)
    assert chain.to_network_dict() == before


def test_undo_stack_clean_state_and_texts(chain, stack):
    assert stack.is_clean
    stack.push(SetConfig(chain, "dense_1", {"units": 4}))
    assert not stack.is_clean
    assert stack.undo_text == "Change units of dense_1"
    stack.undo()
    assert stack.is_clean
    assert stack.redo_text.startswith("Change")
    stack.push(MoveNodes(chain, {"dense_1": (0, 99)}))
    assert not stack.is_clean and not stack.can_redo
    stack.clear()
    assert stack.is_clean and not stack.can_undo
