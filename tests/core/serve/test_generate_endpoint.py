"""A language model is served on ``POST /generate`` with the sampler ``nnstudio generate``
uses: the same prompt, length, temperature, top-k and seed give the same text."""

from __future__ import annotations

import io
import json
import sqlite3
import warnings
from contextlib import redirect_stdout

import pytest

from nnstudio.cli.commands import run_command
from nnstudio.core.graph.text_templates import transformer_network
from nnstudio.core.io.model_file import save_model
from nnstudio.core.serve import Limits, PredictionLog, Predictor, create_app
from tests.core.text.corpora import corpus_text

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def gpt(tmp_path_factory):
    from nnstudio.core.data import DatasetSpec, build_dataset
    from nnstudio.core.io.pipeline import run_training
    from nnstudio.core.io.project import Project

    folder = tmp_path_factory.mktemp("gpt")
    path = folder / "story.txt"
    path.write_text(corpus_text(120), encoding="utf-8")
    dataset = {"source": str(path), "corpus": {"window": 12}}
    prepared = build_dataset(DatasetSpec.from_dict(dataset))
    v = prepared.output_size
    project = Project.from_dict({
        "format": "nnstudio.project", "version": 1, "dataset": dataset,
        "network": transformer_network("gpt", (12,), v, v, 1, 16, 2),
        "training": {"loss": "cross_entropy", "optimizer": {"type": "adam",
                                                            "learning_rate": 0.003},
                     "batch_size": 32, "epochs": 1, "seed": 0}}, where="gpt")
    model = run_training(project, prepared)
    save_model(model, folder / "gpt.npz")
    return model, folder / "gpt.npz"


def test_generate_equals_nnstudio_generate_and_is_logged(gpt, tmp_path):
    model, path = gpt
    log = PredictionLog(tmp_path / "log.db")
    c = TestClient(create_app(Predictor(model), log))
    r = c.post("/generate", json={"prompt": "the ", "length": 25, "temperature": 0.8,
                                  "top_k": 5, "seed": 3})
    assert r.status_code == 200, r.text
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert run_command(["generate", str(path), "--prompt", "the ", "--length", "25",
                            "--temperature", "0.8", "--top-k", "5", "--seed", "3"]) == 0
    assert "the " + r.json()["text"] == buf.getvalue().rstrip("\n")
    assert r.json()["tokens"] == 25
    log.close()
    con = sqlite3.connect(tmp_path / "log.db")
    inputs, output = con.execute("SELECT inputs, output FROM predictions").fetchone()
    con.close()
    assert json.loads(inputs)["prompt"] == "the " and json.loads(output)["text"] == \
        r.json()["text"]


def test_model_description_and_predict_point_to_generate(gpt):
    pred = Predictor(gpt[0], Limits(max_tokens=40))
    c = TestClient(create_app(pred, None))
    schema = c.get("/model").json()
    assert schema["task"] == "language_model" and schema["limits"]["max_tokens"] == 40
    assert schema["inputs"][0]["name"] == "prompt" and schema["inputs"][0]["type"] == "text"
    assert schema["window"] == 12
    r = c.post("/predict", json={"prompt": "the "})
    assert r.status_code == 404 and "POST /generate" in r.json()["error"]
    assert "/generate" in pred.curl("http://h")


@pytest.mark.parametrize("body, text", [
    ({"length": 5}, "'prompt' is missing or not a text"),
    ({"prompt": 7}, "'prompt' is missing or not a text"),
    ({"prompt": "the ", "length": 41}, "'length' must be a whole number from 1 to 40"),
    ({"prompt": "the ", "length": 2.5}, "'length' must be a whole number"),
    ({"prompt": "the ", "temperature": 0}, "'temperature' must be a number from 0.01 to 10"),
    ({"prompt": "the ", "top_k": -1}, "'top_k' must be a whole number"),
    ({"prompt": "the ", "seed": "x"}, "'seed' must be a whole number"),
    ({"prompt": "the ", "colour": 1}, "unknown field(s) colour"),
    ({"prompt": "the \u20ac"}, "the prompt has character(s) the model never saw"),
    ({"prompt": "x" * 100_001}, "'prompt' has 100,001 characters; at most 100,000"),
])
def test_bad_generate_requests_are_422(gpt, body, text):
    c = TestClient(create_app(Predictor(gpt[0], Limits(max_tokens=40,
                                                       max_body_bytes=500_000)), None))
    r = c.post("/generate", json=body)
    assert r.status_code == 422 and text in r.json()["error"], r.text


def test_a_classifier_has_no_generate(tmp_path):
    from .media_models import train_text

    model = train_text(tmp_path)[0]
    r = TestClient(create_app(Predictor(model), None)).post("/generate", json={"prompt": "x"})
    assert r.status_code == 404 and "only a language model generates text" in r.json()["error"]
