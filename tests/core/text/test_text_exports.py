"""Text models leave nnstudio intact: ONNX (token ids / text vectors) in onnxruntime and the
standalone NumPy predict.py (raw text) agree with ``nnstudio predict`` / ``generate``."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest

from nnstudio.cli.commands import run_command
from nnstudio.core.data import load_table
from nnstudio.core.graph.text_templates import transformer_network
from nnstudio.core.io.generate import generate
from nnstudio.core.io.model_file import save_model
from nnstudio.core.io.numpy_export import export_numpy
from nnstudio.core.io.onnx_export import export_onnx, onnx_feeds
from nnstudio.core.io.pipeline import load_data, run_training
from tests.core.text.corpora import corpus_text, write_messages_csv
from tests.core.text.test_text_data import _mlp, _project

ort = pytest.importorskip("onnxruntime")


def _cli_probs(model_path, csv_path, tmp_path) -> np.ndarray:
    out = tmp_path / "pred.csv"
    assert run_command(["predict", str(model_path), "--data", str(csv_path), "--out",
                        str(out)]) == 0
    rows = list(csv.reader(out.open(encoding="utf-8")))
    return np.array([[float(v) for v in r[1:]] for r in rows[1:]])


def _script(folder):
    spec = importlib.util.spec_from_file_location("predict_text_model", folder / "predict.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("kind", ["tfidf", "sequence"])
def test_text_classifier_exports_match_nnstudio_predict(kind, tmp_path):
    data = tmp_path / "sms.csv"
    write_messages_csv(data, 200, with_length=kind == "tfidf")
    if kind == "tfidf":
        dataset = {"source": str(data), "target": "label", "text": {"encoding": "tfidf"}}
        net = _mlp(16)
    else:
        dataset = {"source": str(data), "target": "label",
                   "text": {"encoding": "sequence", "length": 12}}
        net = None
    if net is None:
        from nnstudio.core.data import DatasetSpec, build_dataset

        vocab = len(build_dataset(DatasetSpec.from_dict(dataset)).preparation.text.vocab)
        net = transformer_network("classifier", (12,), 2, vocab, 1, 16, 2)
    project = _project(dataset, net, epochs=2)
    prepared = load_data(project)
    model = run_training(project, prepared)
    save_model(model, tmp_path / "m.npz")
    ours = _cli_probs(tmp_path / "m.npz", data, tmp_path)

    export_onnx(model, tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    assert names == (["features", "message_vector"] if kind == "tfidf" else ["token_ids"])
    meta = sess.get_modelmeta().custom_metadata_map
    assert json.loads(meta["text_preparation"])["column"] == "message"
    out = dict(zip([o.name for o in sess.get_outputs()],
                   sess.run(None, onnx_feeds(model, load_table(data))), strict=True))
    np.testing.assert_allclose(out["probabilities"], ours, rtol=1e-4, atol=1e-6)

    export_numpy(model, tmp_path / "exp")
    _, probs, _ = _script(tmp_path / "exp").predict(str(data), folder=tmp_path / "exp")
    np.testing.assert_allclose(probs, ours, rtol=1e-4, atol=1e-6)


def test_language_model_exports(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(corpus_text(150), encoding="utf-8")
    dataset = {"source": str(path), "corpus": {"window": 16}}
    from nnstudio.core.data import DatasetSpec, build_dataset

    prepared = build_dataset(DatasetSpec.from_dict(dataset))
    v = prepared.output_size
    project = _project(dataset, transformer_network("gpt", (16,), v, v, 1, 16, 2), epochs=2)
    model = run_training(project, prepared)
    save_model(model, tmp_path / "gpt.npz")
    # ONNX: token ids in, next-token distributions out.
    export_onnx(model, tmp_path / "gpt.onnx")
    sess = ort.InferenceSession(str(tmp_path / "gpt.onnx"), providers=["CPUExecutionProvider"])
    ids = prepared.x_val[:5].astype(np.int64)
    (probs,) = sess.run(None, {"token_ids": ids})
    np.testing.assert_allclose(probs, model.output(prepared.x_val[:5]), rtol=1e-4, atol=1e-6)
    # The CLI, the core and the standalone script continue a prompt the same way (greedy).
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert run_command(["generate", str(tmp_path / "gpt.npz"), "--prompt", "the ",
                            "--length", "30", "--top-k", "1", "--seed", "1"]) == 0
    cli = buf.getvalue().rstrip("\n")
    core = generate(model, "the ", 30, top_k=1, seed=1).text
    assert cli == "the " + core
    export_numpy(model, tmp_path / "exp")
    assert _script(tmp_path / "exp").generate("the ", 30, top_k=1, seed=1,
                                              folder=tmp_path / "exp") == core
