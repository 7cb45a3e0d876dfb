"""Property-based robustness of the model server's requests (issue 14, point 4).

Fuzzed requests go to the real ASGI application (``create_app`` with a prediction log) through
Starlette's TestClient, in-process: JSON bodies mutated from a valid row or batch (wrong
types, missing or unknown fields, NaN, 5,000-digit numbers, deep nesting, lone surrogates,
huge batches), raw bytes, odd or missing content types, multipart bodies, request ids,
feedback. Invariant: every response is 2xx or 4xx — never 5xx — with a JSON body whose
``error`` (for a 4xx) is one line; and the server keeps serving (``GET /health`` answers 200
after every request).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import strategies as fuzz
from .fuzzrun import STATS, report
from .media_seeds import examples

starlette = pytest.importorskip("starlette")


def _client(model_path: Path, log_path: Path):
    from nnstudio.core.io import load_model
    from nnstudio.core.serve.app import create_app
    from nnstudio.core.serve.log import PredictionLog
    from nnstudio.core.serve.predictor import Predictor
    from nnstudio.core.serve.validate import Limits

    predictor = Predictor(load_model(model_path), Limits(max_body_bytes=200_000, max_rows=50))
    app = create_app(predictor, PredictionLog(log_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note that it prefers httpx2
        from starlette.testclient import TestClient

        client = TestClient(app, raise_server_exceptions=False)
    return client, predictor


@pytest.fixture(scope="module")
def servers(seed_dir, tmp_path_factory):
    """A client per seed model: the table classifier and the array (image) classifier."""
    folder = tmp_path_factory.mktemp("serve-fuzz")
    out = {name: _client(seed_dir / f"{name}.npz", folder / f"{name}.db")
           for name in ("p", "pi")}
    yield out
    for client, _ in out.values():
        client.close()


CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", None, "text/plain",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
                 "application/json; charset=latin-1", "application/JSON", "", "*/*",
                 "image/png", "application/octet-stream"]


@st.composite
def request_body(draw, example_row: dict) -> bytes:
    """A body: the valid row or batch mutated as JSON, or raw bytes."""
    kind = draw(st.sampled_from(["valid", "row", "row", "row", "batch", "batch", "wrapped",
                                 "bytes", "multipart", "huge"]))
    if kind == "valid":
        return fuzz.json_bytes(example_row)
    if kind == "row":
        return fuzz.json_bytes(draw(fuzz.mutated_json(example_row)))
    if kind == "batch":
        rows = [example_row] * draw(st.integers(0, 4))
        return fuzz.json_bytes(draw(fuzz.mutated_json(rows)) if rows else rows)
    if kind == "wrapped":  # {"rows": [...]} / {"inputs": ...} shapes of a batch
        key = draw(st.sampled_from(["rows", "inputs", "instances", "data", "row"]))
        doc = {key: [example_row, example_row]}
        return fuzz.json_bytes(draw(fuzz.mutated_json(doc)))
    if kind == "bytes":
        return draw(fuzz.mutated_bytes(fuzz.json_bytes(example_row)))
    if kind == "multipart":
        return (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n"
                b"Content-Type: image/png\r\n\r\n" + draw(st.binary(max_size=64))
                + b"\r\n--b--\r\n")
    n = draw(st.sampled_from([51, 1000, 100_000]))
    return json.dumps([example_row] * n).encode()[:300_000]


def _check(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"
    body = response.json()  # every answer is JSON
    if response.status_code >= 400:
        message = body.get("error")
        assert isinstance(message, str) and message and "\n" not in message, body
        assert "Traceback" not in message, body


@settings(max_examples=examples(250))
@given(data=st.data())
def test_fuzzed_requests(servers, data):
    name = data.draw(st.sampled_from(sorted(servers)), label="model")
    client, predictor = servers[name]
    endpoint = data.draw(st.sampled_from(["/predict"] * 6 + ["/feedback"] * 2 + [
        "/health", "/model", "/nosuch", "/openapi.json"]), label="endpoint")
    method = "GET" if endpoint in ("/health", "/model", "/openapi.json") else \
        data.draw(st.sampled_from(["POST"] * 6 + ["GET", "PUT"]), label="method")
    headers = {}
    ctype = data.draw(st.sampled_from(["application/json"] * 8 + CONTENT_TYPES),
                      label="content type")
    if ctype is not None:
        headers["content-type"] = ctype
    if data.draw(st.integers(0, 4), label="request id") == 0:
        headers["x-request-id"] = data.draw(st.sampled_from(
            ["r1", "r1", "", " ", "x" * 65, "a/b", "é", "ok-id.1:2"]))
    if endpoint == "/feedback":
        seed = {"request_id": "r1", "outcome": predictor.classes[0] if predictor.classes
                else 1.0, "row": 0}
        body = fuzz.json_bytes(data.draw(fuzz.mutated_json(seed), label="feedback"))
    else:
        body = data.draw(request_body(predictor.example_row()), label="body")
    try:
        response = client.request(method, endpoint, content=body, headers=headers)
    except UnicodeEncodeError:  # a header httpx cannot send (non-ASCII): not the server's
        return
    _check(response, f"{method} {endpoint}")
    STATS[f"serve/{name} {method} {endpoint}: {response.status_code}"] += 1
    health = client.get("/health")
    assert health.status_code == 200, health.text


def test_report_counts():
    """Not a check: prints how many requests the property test sent, by answer (``-s``)."""
    report("server requests", ("serve/",))
