"""Text as data, end to end through the real pipeline: a spam/ham CSV with TF-IDF, bag of
words and token sequences; a text corpus for a tiny GPT; the preparation stored in the model
file; and one clear message for each kind of bad text input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset, load_table
from nnstudio.core.data.text import TextPreparation, normalize, tokenize
from nnstudio.core.errors import DataError, NNStudioError
from nnstudio.core.graph import build_template
from nnstudio.core.io.generate import classify_text, generate
from nnstudio.core.io.model_file import load_model, save_model
from nnstudio.core.io.pipeline import load_data, run_training
from nnstudio.core.io.project import Project
from tests.core.text.corpora import corpus_text, write_messages_csv


def _project(dataset: dict, network: dict, **training) -> Project:
    train = {"loss": "cross_entropy", "optimizer": {"type": "adam", "learning_rate": 0.003},
             "batch_size": 32, "epochs": 6, "seed": 0}
    train.update(training)
    return Project.from_dict({"format": "nnstudio.project", "version": 1, "dataset": dataset,
                              "network": network, "training": train}, where="test project")


def _mlp(n_in_hidden=32, classes=2) -> dict:
    nodes = [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": n_in_hidden},
             {"id": "r", "type": "ReLU"}, {"id": "o", "type": "Dense", "units": classes},
             {"id": "s", "type": "Softmax"}]
    return {"nodes": nodes, "edges": [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]}


def test_normalisation_and_tokens():
    assert normalize("Ｆｕｌｌ-width ＡＢＣ!") == "full-width abc!"
    assert normalize("Hello, World!", strip_punctuation=True) == "hello  world "
    assert tokenize("win £1000 now!", "word") == ["win", "£", "1000", "now", "!"]
    assert tokenize("ab c", "char") == ["a", "b", " ", "c"]


def test_vocabulary_from_train_rows_only_with_limits():
    prep = TextPreparation.fit(["a a a b b c", "a b d"], "t",
                               {"encoding": "bag", "max_size": 3, "min_count": 2})
    assert prep.vocab.tokens == ["<pad>", "<unk>", "a", "b"]  # c, d seen once
    x = prep.transform(["a b zzz", ""])
    np.testing.assert_allclose(x, [[1 / 3, 1 / 3], [0, 0]])
    seq = TextPreparation.fit(["a b c"], "t", {"encoding": "sequence", "length": 4})
    np.testing.assert_array_equal(seq.transform(["c a q", "a b c a b"]),
                                  [[4, 2, 1, 0], [2, 3, 4, 2]])


@pytest.mark.parametrize("encoding", ["tfidf", "bag"])
def test_spam_ham_vector_encodings_reach_high_accuracy(encoding, tmp_path):
    csv = tmp_path / "sms.csv"
    write_messages_csv(csv, 400, with_length=True)
    project = _project({"source": str(csv), "target": "label", "text": {"encoding": encoding}},
                       _mlp(), epochs=8)
    prepared = load_data(project)
    names = prepared.preparation.output_names()
    assert names[0] == "hour" and names[1].startswith("message:")  # numbers, then the vector
    model = run_training(project, prepared)
    assert model.summary["metrics"]["test"]["accuracy"] >= 0.97
    # The preparation (vocabulary, idf) travels in the model file.
    save_model(model, tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    assert back.preparation.text.vocab.tokens == model.preparation.text.vocab.tokens
    table = load_table(csv)
    np.testing.assert_allclose(back.prepare(table), model.prepare(table))
    p = back.predict_raw([{"message": "claim your free cash prize now", "hour": "3"}])
    assert p.values[0] == "spam"


def test_spam_ham_transformer_on_token_sequences(tmp_path):
    csv = tmp_path / "sms.csv"
    write_messages_csv(csv, 400, seed=1)
    dataset = {"source": str(csv), "target": "label",
               "text": {"encoding": "sequence", "length": 16}}
    spec = DatasetSpec.from_dict(dataset)
    prepared = build_dataset(spec)
    vocab = len(prepared.preparation.text.vocab)
    assert prepared.input_shape == (16,) and prepared.x_train.max() < vocab
    from nnstudio.core.graph.text_templates import transformer_network

    net = transformer_network("classifier", (16,), 2, vocab, blocks=1, width=16, heads=2)
    project = _project(dataset, net, epochs=6)
    model = run_training(project, prepared)
    assert model.summary["metrics"]["test"]["accuracy"] >= 0.95
    probs = classify_text(model, "urgent! claim your free prize")
    assert probs["spam"] > 0.5 and abs(sum(probs.values()) - 1) < 1e-5


@pytest.mark.slow
def test_tiny_gpt_learns_a_small_corpus(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(corpus_text(300), encoding="utf-8")
    dataset = {"source": str(path), "corpus": {"tokens": "char", "window": 16, "stride": 8}}
    prepared = build_dataset(DatasetSpec.from_dict(dataset))
    assert prepared.task == "language_model"
    assert prepared.y_train.shape == prepared.x_train.shape and prepared.y_train.dtype == np.int64
    # Targets are the inputs shifted by one token.
    np.testing.assert_array_equal(prepared.x_train[0, 1:], prepared.y_train[0, :-1])
    from nnstudio.core.graph.text_templates import transformer_network

    v = prepared.output_size
    net = transformer_network("gpt", (16,), v, blocks=1, width=24, heads=2)
    project = _project(dataset, net, epochs=4, batch_size=32)
    model = run_training(project, prepared)
    losses = model.history["val_loss"]
    assert losses[-1] < losses[0] * 0.7 and losses[-1] < 1.9, losses
    assert model.summary["metrics"]["validation"]["accuracy"] > 0.4
    out = generate(model, "the ", length=40, temperature=0.8, top_k=5, seed=0)
    assert len(out.text) == 40 and set(out.text) <= set(model.preparation.text.vocab.tokens)
    save_model(model, tmp_path / "gpt.npz")
    again = generate(load_model(tmp_path / "gpt.npz"), "the ", length=40, temperature=0.8,
                     top_k=5, seed=0)
    assert again.text == out.text


# -- bad input ---------------------------------------------------------------------------------

def _fails(dataset: dict, match: str):
    with pytest.raises(DataError, match=match) as info:
        build_dataset(DatasetSpec.from_dict(dataset))
    assert "Traceback" not in str(info.value)
    return str(info.value)


def test_empty_text_column(tmp_path):
    csv = tmp_path / "e.csv"
    csv.write_text("message,label\n,ham\n,spam\n,ham\n,spam\n", encoding="utf-8")
    _fails({"source": str(csv), "target": "label", "text": {"columns": ["message"]}},
           "text column 'message' is empty")


def test_a_megabyte_in_one_cell(tmp_path):
    csv = tmp_path / "big.csv"
    rows = ["message,label"] + [f"hello {i},ham" for i in range(20)]
    rows[5] = '"' + "spam " * 210_000 + '",spam'
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    msg = _fails({"source": str(csv), "target": "label", "text": {}}, "longer than")
    assert "row 6" in msg


def test_invalid_utf8_corpus(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"hello world\n" * 50 + b"caf\xe9\n")
    _fails({"source": str(path), "corpus": {"window": 8}}, "not valid UTF-8: byte 0xe9")


def test_corpus_shorter_than_the_window(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("just a few words here\n", encoding="utf-8")
    _fails({"source": str(path), "corpus": {"window": 64}}, "shorter than one window of 64")


def test_vocabulary_of_one_token(tmp_path):
    path = tmp_path / "aaa.txt"
    path.write_text("a" * 5000, encoding="utf-8")
    _fails({"source": str(path), "corpus": {"window": 8}}, "only one distinct token \\('a'\\)")


def test_prompt_with_unknown_characters_and_too_long_sequences(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(corpus_text(100), encoding="utf-8")
    dataset = {"source": str(path), "corpus": {"window": 16}}
    prepared = build_dataset(DatasetSpec.from_dict(dataset))
    net = build_template("tiny_gpt", (16,), prepared.output_size)
    model = run_training(_project(dataset, net, epochs=0), prepared, epochs=0)
    with pytest.raises(DataError, match="never saw in training: '5', 'ß', 'é', '€'"):
        generate(model, "the café costs 5€ ß", length=5)
    # A sequence longer than the learned positions allow: one message at shape inference.
    for node in net["nodes"]:
        if node["type"] == "PositionalEmbedding":
            node["max_length"] = 8
    with pytest.raises(NNStudioError, match="16 positions but max_length allows 8"):
        run_training(_project(dataset, net, epochs=1), prepared)


def test_embedding_smaller_than_the_vocabulary_is_named_before_training(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(corpus_text(60), encoding="utf-8")
    dataset = {"source": str(path), "corpus": {"window": 8}}
    prepared = build_dataset(DatasetSpec.from_dict(dataset))
    net = build_template("tiny_gpt", (8,), prepared.output_size, vocab_size=5)
    with pytest.raises(NNStudioError, match=f"vocab_size is 5 but the text's vocabulary has "
                                            f"{prepared.output_size} tokens"):
        run_training(_project(dataset, net, epochs=1), prepared)


@pytest.mark.parametrize("kind", ["corpus", "sequence", "tfidf"])
def test_token_sequences_are_not_plotted_as_features(tmp_path, kind):
    """Inside the network draws decision maps over table features; token ids are not
    features ("token 0" against "token 1" means nothing), bag/TF-IDF vectors are."""
    from nnstudio.core.insight.dataview import InsightData

    if kind == "corpus":
        path = tmp_path / "story.txt"
        path.write_text(corpus_text(100), encoding="utf-8")
        dataset = {"source": str(path), "corpus": {"window": 16}}
    else:
        path = tmp_path / "sms.csv"
        write_messages_csv(path, 200, seed=3)
        dataset = {"source": str(path), "target": "label",
                   "text": {"encoding": kind, "length": 16}}
    data = InsightData.from_prepared(build_dataset(DatasetSpec.from_dict(dataset)))
    assert data.tabular == (kind == "tfidf")
    assert data.token_sequences == (kind != "tfidf")
