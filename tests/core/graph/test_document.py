"""GraphDocument: ids, validation, live shapes, signals, network-dict round trip."""

from __future__ import annotations

import json

import pytest

from nnstudio.core.errors import ConfigError, GraphError
from nnstudio.core.graph import GraphDocument, Node, Signal, id_base, normalize_config


def test_signal_connect_emit_disconnect():
    s = Signal()
    seen: list[int] = []
    s.connect(seen.append)
    s.connect(seen.append)  # twice is once
    s.emit(1)
    s.disconnect(seen.append)
    s.emit(2)
    assert seen == [1]
    assert len(s) == 0


@pytest.mark.parametrize(
    ("type_name", "base"),
    [("Dense", "dense"), ("ReLU", "relu"), ("LeakyReLU", "leaky_relu"), ("Conv2D", "conv2d"),
     ("SimpleRNN", "simple_rnn"), ("LSTM", "lstm"), ("BatchNorm", "batch_norm")],
)
def test_id_base(type_name, base):
    assert id_base(type_name) == base


def test_new_id_is_unique(chain):
    assert chain.new_id("Dense") == "dense_3"
    assert chain.new_id("Dense", taken={"dense_3"}) == "dense_4"
    assert chain.new_id("ReLU") == "relu_1"


def test_shapes_follow_the_graph(chain):
    r = chain.report
    assert r.nodes["input_1"].shape == (13,)
    assert r.nodes["dense_1"].shape == (8,)
    assert r.nodes["dense_1"].params == 13 * 8 + 8
    assert r.total_params == 13 * 8 + 8 + 9
    assert r.ok


def test_input_shape_change_recomputes_and_emits(chain):
    seen = []
    chain.shapes_changed.connect(seen.append)
    chain.set_input_shape((4,))
    assert chain.node_shape("dense_1").params == 4 * 8 + 8
    assert len(seen) == 1 and seen[0] is chain.report
    chain.set_input_shape(None)
    assert chain.node_shape("input_1").error  # shape unknown
    assert chain.node_shape("dense_1").shape is None
    assert chain.node_shape("dense_1").error is None  # the fault is marked at the Input only


def test_error_reported_on_the_node_at_fault():
    doc = GraphDocument((1, 28, 28))
    doc.insert_node(Node("in", "Input"))
    doc.insert_node(Node("d", "Dense", {"units": 4}))
    doc.insert_edge("in", "d")
    assert "Flatten" in doc.node_shape("d").error


def test_check_connect_refuses_cycle_with_path(chain):
    with pytest.raises(GraphError, match=r"would create a cycle: dense_2 → dense_1 → dense_2"):
        chain.check_connect("dense_2", "dense_1")
    assert "cycle" in chain.connect_problem("dense_1", "dense_1")


def test_check_connect_refuses_a_second_input(chain):
    chain.insert_node(Node("x", "Dense"))
    with pytest.raises(GraphError, match="'Dense' takes one input and 'dense_1' already has one"):
        chain.check_connect("x", "dense_1")
    assert not chain.can_connect("x", "dense_1")
    assert chain.can_connect("dense_2", "x")


def test_check_connect_refuses_input_target_and_duplicates(chain):
    with pytest.raises(GraphError, match="takes no input"):
        chain.check_connect("dense_2", "input_1")
    with pytest.raises(GraphError, match="already connected"):
        chain.check_connect("input_1", "dense_1")


def test_merge_takes_several_inputs(chain):
    chain.insert_node(Node("add", "Add"))
    chain.insert_edge("dense_1", "add")
    assert chain.can_connect("input_1", "add") is False or True  # shapes may differ: allowed
    chain.check_connect("dense_2", "add")


def test_validate_setting(chain):
    assert chain.validate_setting("dense_1", "units", "12") == 12
    assert chain.validate_setting("dense_1", "units", None) is None
    with pytest.raises(ConfigError, match="units"):
        chain.validate_setting("dense_1", "units", 0)
    with pytest.raises(ConfigError, match="no setting"):
        chain.validate_setting("dense_1", "filters", 3)


def test_normalize_config_fills_defaults_and_drops_none():
    assert normalize_config("Dense", {"units": 3})["use_bias"] is True
    assert normalize_config("Input", {"shape": None}) == {}
    # invalid values are kept so the node shows the error instead of the file failing
    assert normalize_config("Dense", {"units": -1}) == {"units": -1}
    assert normalize_config("Nope", {"a": 1}) == {"a": 1}


def test_unknown_type_is_an_error_on_the_node():
    doc = GraphDocument((3,))
    doc.insert_node(Node("in", "Input"))
    doc.insert_node(Node("w", "Wobble"))
    doc.insert_edge("in", "w")
    assert "unknown layer type" in doc.node_shape("w").error
    assert doc.node("w").describe() == "Wobble"


def test_network_dict_round_trip_is_identical(chain):
    d = chain.to_network_dict()
    text = json.dumps(d)
    again = GraphDocument.from_network_dict(json.loads(text), chain.input_shape)
    assert again.to_network_dict() == d
    assert d["nodes"][1]["pos"] == [250.0, 0.0]
    assert d["edges"] == [["input_1", "dense_1"], ["dense_1", "dense_2"]]


@pytest.mark.parametrize(
    ("network", "message"),
    [
        ({"nodes": [{"id": "a"}]}, "needs an 'id' and a 'type'"),
        ({"nodes": [{"id": "a", "type": "Input"}, {"id": "a", "type": "Dense"}]}, "used twice"),
        ({"nodes": [{"id": "a", "type": "Input"}], "edges": [["a", "b"]]}, "unknown node 'b'"),
        ({"nodes": [{"id": "a", "type": "Input", "pos": "x"}]}, "'pos' must be"),
        ([], "must be an object"),
    ],
)
def test_replace_rejects_malformed_networks_and_changes_nothing(chain, network, message):
    before = chain.to_network_dict()
    with pytest.raises(GraphError, match=message):
        chain.replace(network)
    assert chain.to_network_dict() == before


def test_signals_announce_every_mutation(doc):
    log = []
    doc.node_added.connect(lambda n: log.append(("add", n.id)))
    doc.node_removed.connect(lambda n: log.append(("remove", n.id)))
    doc.node_moved.connect(lambda n: log.append(("move", n.id, n.pos)))
    doc.node_config_changed.connect(lambda n: log.append(("config", n.id)))
    doc.edge_added.connect(lambda a, b: log.append(("edge+", a, b)))
    doc.edge_removed.connect(lambda a, b: log.append(("edge-", a, b)))
    doc.reset.connect(lambda: log.append(("reset",)))
    changed = []
    doc.changed.connect(lambda: changed.append(1))
    doc.insert_node(Node("a", "Input"))
    doc.insert_node(Node("b", "ReLU"))
    doc.insert_edge("a", "b")
    doc.move_node("b", (5, 6))
    doc.move_node("b", (5, 6))  # no change, no signal
    doc.set_config("a", {"shape": [3]})
    with doc.batch():
        doc.remove_edge("a", "b")
        doc.remove_node("b")
    doc.replace({"nodes": [], "edges": []})
    assert log == [
        ("add", "a"), ("add", "b"), ("edge+", "a", "b"), ("move", "b", (5.0, 6.0)),
        ("config", "a"), ("edge-", "a", "b"), ("remove", "b"), ("reset",),
    ]
    assert len(changed) == 7  # once per mutation, once for the batch


def test_remove_node_with_edges_is_refused(chain):
    with pytest.raises(GraphError, match="still has connections"):
        chain.remove_node("dense_1")


def test_describe_uses_the_layer(chain):
    assert chain.node("dense_1").describe() == "Dense 8"
    assert chain.node("input_1").describe() == "Input"


def test_an_input_waiting_for_data_is_not_a_problem():
    doc = GraphDocument()
    doc.insert_node(Node("in", "Input"))
    assert doc.report.errors and doc.waiting_for_data("in")
    assert doc.problems == []
    doc.set_config("in", {"shape": [3]})
    assert not doc.waiting_for_data("in")
    doc.insert_node(Node("d", "Dense"))
    problems = doc.problems
    assert len(problems) == 2
    assert problems[0] == "Input 'in' is not connected to any layer"
    assert problems[1] == "Dense 'd': is not connected to an input"


def test_nodes_written_without_positions_are_laid_out_not_stacked():
    """A network written by hand or by a script has no "pos": the canvas must not show all
    its layers on one spot (edges then look like loops)."""
    doc = GraphDocument()
    doc.replace({
        "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 4},
                  {"id": "a", "type": "Tanh"}, {"id": "o", "type": "Dense", "units": 1},
                  {"id": "note", "type": "Dense", "units": 2, "pos": [900, 700]}],
        "edges": [["in", "h"], ["h", "a"], ["a", "o"]],
    })
    xs = [doc.node(n).pos[0] for n in ("in", "h", "a", "o")]
    assert xs == sorted(xs) and len(set(xs)) == 4  # left to right along the data flow
    assert len({doc.node(n).pos for n in ("in", "h", "a", "o")}) == 4
    assert doc.node("note").pos == (900.0, 700.0)  # a written position is kept
