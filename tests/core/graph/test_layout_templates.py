"""Auto-arrange (left to right by longest path) and the templates."""

from __future__ import annotations

import itertools

import pytest

from nnstudio.core.engine import LAYERS
from nnstudio.core.graph import (
    NODE_WIDTH,
    GraphDocument,
    Node,
    auto_arrange,
    build_template,
    template,
    templates,
)


def _doc(nodes, edges):
    doc = GraphDocument((4,))
    for n, t in nodes:
        doc.insert_node(Node(n, t))
    for a, b in edges:
        doc.insert_edge(a, b)
    return doc


def test_auto_arrange_columns_follow_longest_path():
    doc = _doc([("in", "Input"), ("a", "Dense"), ("b", "Dense"), ("c", "Dense"), ("m", "Add")],
               [("in", "a"), ("a", "b"), ("b", "m"), ("in", "c"), ("c", "m")])
    pos = auto_arrange(doc)
    xs = {k: v[0] for k, v in pos.items()}
    assert xs["in"] < xs["a"] < xs["b"] < xs["m"]
    assert xs["c"] == xs["a"]  # longest path decides the column of m, not c's
    for a, b in doc.edges:
        assert xs[a] + NODE_WIDTH <= xs[b]
    ys = {k: v[1] for k, v in pos.items()}
    assert ys["a"] != ys["c"]


def test_auto_arrange_stacks_separate_parts_and_no_overlap():
    doc = _doc([("in", "Input"), ("a", "Dense"), ("x", "ReLU"), ("y", "ReLU")],
               [("in", "a"), ("x", "y")])
    pos = auto_arrange(doc)
    assert pos["x"][1] > pos["in"][1]
    assert len({tuple(p) for p in pos.values()}) == 4
    assert auto_arrange(GraphDocument()) == {}


def test_every_template_is_listed_and_chained():
    keys = [t.key for t in templates()]
    assert keys == ["linear_regression", "logistic_regression", "mlp_classifier", "lenet",
                    "image_cnn", "spectrogram_cnn", "lstm", "transformer_classifier", "tiny_gpt"]
    for t in templates():
        if t.builder is not None:  # the Transformers have residual branches
            continue
        net = build_template(t.key)
        ids = [n["id"] for n in net["nodes"]]
        assert net["nodes"][0]["type"] == "Input"
        assert [tuple(e) for e in net["edges"]] == list(itertools.pairwise(ids))


def test_linear_and_logistic_regression_shapes():
    doc = GraphDocument.from_network_dict(build_template("linear_regression"), (13,))
    assert doc.report.ok and doc.report.total_params == 14
    doc = GraphDocument.from_network_dict(build_template("logistic_regression"), (2,))
    assert [n.type for n in doc.nodes] == ["Input", "Dense", "Sigmoid"]
    assert doc.report.ok


def test_mlp_classifier_uses_the_number_of_classes():
    doc = GraphDocument.from_network_dict(build_template("mlp_classifier", (4,), n_outputs=3), (4,))
    assert doc.report.ok
    out = doc.nodes[-1]
    assert out.type == "Softmax" and doc.node_shape(out.id).shape == (3,)


@pytest.mark.parametrize("key", ["lenet", "lstm"])
def test_image_and_sequence_templates_work_for_their_data(key):
    t = template(key)
    missing = [name for name, _ in t.layers if name not in LAYERS]
    if missing:
        pytest.xfail(f"layer types not registered yet: {missing}")
    doc = GraphDocument.from_network_dict(build_template(key), None)
    assert doc.report.ok, doc.report.errors
    assert doc.node_shape(doc.nodes[-1].id).shape == (10,)
    # flat or channel-less data gets a Reshape in front
    data = (28, 28) if key == "lenet" else (1, 28, 28)
    doc = GraphDocument.from_network_dict(build_template(key, data), data)
    assert doc.nodes[1].type == "Reshape"
    assert doc.report.ok, doc.report.errors


def test_a_long_chain_is_wrapped_into_rows_the_shape_of_a_screen():
    from nnstudio.core.graph.layout import NODE_HEIGHT, NODE_WIDTH, arrange

    ids = [f"n{i}" for i in range(61)]
    edges = list(itertools.pairwise(ids))
    pos = arrange(ids, edges)
    xs = sorted({p[0] for p in pos.values()})
    ys = sorted({p[1] for p in pos.values()})
    assert 5 <= len(ys) <= 10 and len(xs) * len(ys) >= 61  # rows, not one strip
    width = xs[-1] + NODE_WIDTH - xs[0]
    height = ys[-1] + NODE_HEIGHT - ys[0]
    assert 1.0 <= width / height <= 2.5
    # Read like a page: left to right in a row, rows top to bottom.
    order = sorted(ids, key=lambda n: (pos[n][1], pos[n][0]))
    assert order == ids
    # No two nodes overlap.
    boxes = sorted(pos.values())
    assert len(set(boxes)) == 61
    # A short chain stays in one row.
    short = arrange(ids[:8], edges[:7])
    assert len({p[1] for p in short.values()}) == 1
