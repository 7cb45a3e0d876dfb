"""Attention maps and token influence on a trained spam/ham Transformer."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.errors import DataError
from nnstudio.core.graph.text_templates import transformer_network
from nnstudio.core.insight.attention import attention_maps, token_influence
from nnstudio.core.io.pipeline import run_training
from tests.core.text.corpora import write_messages_csv
from tests.core.text.test_text_data import _project


@pytest.fixture(scope="module")
def spam_model(tmp_path_factory):
    csv = tmp_path_factory.mktemp("sms") / "sms.csv"
    write_messages_csv(csv, 300, seed=2)
    dataset = {"source": str(csv), "target": "label",
               "text": {"encoding": "sequence", "length": 16}}
    prepared = build_dataset(DatasetSpec.from_dict(dataset))
    vocab = len(prepared.preparation.text.vocab)
    net = transformer_network("classifier", (16,), 2, vocab, blocks=2, width=16, heads=2)
    return run_training(_project(dataset, net, epochs=5), prepared)


def test_attention_maps_per_head_per_layer(spam_model):
    maps = attention_maps(spam_model, "claim your free prize now")
    assert maps.tokens == ["claim", "your", "free", "prize", "now"]
    assert len(maps.layers) == 2
    for _, w in maps.layers:
        assert w.shape == (2, 5, 5)
        np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=1e-5)


def test_spam_words_raise_the_spam_class(spam_model):
    cls, top = token_influence(spam_model, "are we meeting, claim your free prize")
    assert cls == "spam"
    assert {t for t, _ in top[:3]} & {"claim", "free", "prize"}
    assert top[0][1] >= top[-1][1]


def test_messages(spam_model):
    with pytest.raises(DataError, match="no tokens"):
        attention_maps(spam_model, "   ")
