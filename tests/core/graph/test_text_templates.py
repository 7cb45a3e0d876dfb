"""The Transformer templates build valid graphs of the issue's shape for their data."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine import Network, NetworkSpec
from nnstudio.core.graph import GraphDocument, build_template


def test_transformer_classifier_template():
    net = build_template("transformer_classifier", (20,), n_outputs=3, vocab_size=50)
    doc = GraphDocument.from_network_dict(net, (20,))
    assert doc.report.ok, doc.report.errors
    types = [n.type for n in doc.nodes]
    assert types.count("MultiHeadAttention") == 2 and types.count("Add") == 4
    assert types[-3:] == ["GlobalAvgPool1D", "Dense", "Softmax"]
    assert doc.node_shape(doc.nodes[-1].id).shape == (3,)
    emb = next(n for n in doc.nodes if n.type == "Embedding")
    assert emb.config["vocab_size"] == 50
    # Every Add joins a block's input with its branch: two different predecessors.
    for n in doc.nodes:
        if n.type == "Add":
            assert len(set(doc.predecessors(n.id))) == 2


def test_tiny_gpt_template_is_causal_and_outputs_every_position():
    net = build_template("tiny_gpt", (16,), n_outputs=30)
    doc = GraphDocument.from_network_dict(net, (16,))
    assert doc.report.ok, doc.report.errors
    assert all(n.config["causal"] for n in doc.nodes if n.type == "MultiHeadAttention")
    assert doc.node_shape(doc.nodes[-1].id).shape == (16, 30)
    built = Network(NetworkSpec.from_dict(net), (16,))
    out = built.forward(np.ones((2, 16), np.float32))
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)


def test_without_data_the_input_declares_a_length():
    doc = GraphDocument.from_network_dict(build_template("tiny_gpt"), None)
    assert doc.report.ok, doc.report.errors
