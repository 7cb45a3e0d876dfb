"""Property-based robustness of the model server's requests (issue 14, point 4).

Fuzzed requests go to the real ASGI application (``create_app`` with a prediction log) through
Starlette's TestClient, in-process: JSON bodies mutated from a valid row or batch (wrong
types, missing or unknown fields, NaN, 5,000-digit numbers, deep nesting, lone surrogates,
huge batches), raw bytes, odd or missing content types, multipart bodies, request ids,
feedback — for a table and an array model; and for image and sound models multipart uploads
and base64 JSON of broken files (the strategies of :mod:`.media_strategies`), for a text
classifier rows of hostile text, for a tiny GPT ``/generate`` settings. Invariant: every
response is 2xx or 4xx — never 5xx — with a JSON body whose ``error`` (for a 4xx) is one
line; and the server keeps serving (``GET /health`` answers 200 after every request).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import media_strategies as ms
from . import strategies as fuzz
from .fuzzrun import STATS, report
from .media_seeds import examples, image_seeds, sound_seeds, text_seeds

starlette = pytest.importorskip("starlette")


def _client(model_path: Path, log_path: Path, max_body: int = 200_000):
    from nnstudio.core.io import load_model
    from nnstudio.core.serve.app import create_app
    from nnstudio.core.serve.log import PredictionLog
    from nnstudio.core.serve.predictor import Predictor
    from nnstudio.core.serve.validate import Limits

    predictor = Predictor(load_model(model_path), Limits(max_body_bytes=max_body, max_rows=50))
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


@pytest.fixture(scope="module")
def media_servers(tmp_path_factory):
    """Clients of an image, a sound and a text classifier and of a tiny GPT."""
    folder = tmp_path_factory.mktemp("serve-media-fuzz")
    image_seeds(folder)
    sound_seeds(folder)
    text_seeds(folder)
    out = {name: _client(folder / f"{name}.npz", folder / f"{name}.db", 2_000_000)
           for name in ("img", "snd", "txt", "gpt")}
    yield out
    for client, _ in out.values():
        client.close()


@st.composite
def multipart(draw, files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """``(body, content type)`` of a multipart upload of ``files``, sometimes broken."""
    boundary = draw(st.sampled_from(["b0undary", "x", "a" * 71]))
    parts = []
    for ext, data in files:
        field = draw(st.sampled_from(["file", "file", "image", "sound", "", "f\"o"]))
        name = draw(st.sampled_from([f"a{ext}", "", "../../etc/x.png", "é.png", "a" * 300]))
        head = f'Content-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        if draw(st.booleans()):
            head += "Content-Type: application/octet-stream\r\n"
        parts.append(f"--{boundary}\r\n{head}\r\n".encode("utf-8", "surrogatepass") + data
                     + b"\r\n")
    if draw(st.integers(0, 3)) == 0:  # a text field beside the files
        value = draw(ms.text_cell()).encode("utf-8", "surrogatepass")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
                     .encode() + value + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    if draw(st.integers(0, 4)) == 0:
        body = draw(fuzz.mutated_bytes(body))
    ctype = draw(st.sampled_from([f"multipart/form-data; boundary={boundary}"] * 4 + [
        "multipart/form-data", "multipart/form-data; boundary=", "multipart/mixed; boundary=x",
        "multipart/form-data; boundary=other"]))
    return body, ctype


@st.composite
def media_request(draw, kind: str) -> tuple[bytes, str | None]:
    """A body and content type for an image (``kind`` "image") or sound model."""
    import base64

    make = ms.image_bytes if kind == "image" else ms.sound_bytes
    files = [draw(make()) for _ in range(draw(st.integers(0, 3)))]
    how = draw(st.sampled_from(["multipart", "multipart", "json", "json", "raw"]))
    if how == "multipart":
        return draw(multipart(files))
    if how == "raw":
        return (files[0][1] if files else b""), draw(st.sampled_from(
            ["image/png", "audio/wav", "application/octet-stream", None]))
    encoded = [base64.b64encode(data).decode() for _, data in files]
    if encoded and draw(st.booleans()):
        encoded[0] = draw(st.sampled_from([f"data:image/png;base64,{encoded[0]}",
                                           encoded[0][:-3], "!!!", "", encoded[0] + "\n"]))
    rows = [{kind: e} for e in encoded]
    doc = rows[0] if len(rows) == 1 and draw(st.booleans()) else {"rows": rows}
    if draw(st.integers(0, 3)) == 0:
        doc = draw(fuzz.mutated_json(doc))
    return fuzz.json_bytes(doc), "application/json"


@settings(max_examples=examples(200))
@given(data=st.data())
def test_fuzzed_media_text_and_generate_requests(media_servers, data):
    name = data.draw(st.sampled_from(["img", "img", "snd", "snd", "txt", "gpt"]),
                     label="model")
    client = media_servers[name][0]
    endpoint = "/generate" if name == "gpt" else "/predict"
    if data.draw(st.integers(0, 9), label="other endpoint") == 0:
        endpoint = "/predict" if name == "gpt" else "/generate"
    if name in ("img", "snd"):
        body, ctype = data.draw(media_request("image" if name == "img" else "sound"),
                                label="request")
    elif name == "txt":
        rows = [{"message": data.draw(ms.text_cell(), label="text")}
                for _ in range(data.draw(st.integers(1, 3)))]
        doc = rows[0] if len(rows) == 1 else rows
        if data.draw(st.integers(0, 3), label="mutate") == 0:
            doc = data.draw(fuzz.mutated_json(doc))
        body, ctype = fuzz.json_bytes(doc), "application/json"
    else:
        seed = {"prompt": "the ", "length": 5, "temperature": 0.8, "top_k": 3, "seed": 1}
        doc = data.draw(fuzz.mutated_json(seed), label="settings") \
            if data.draw(st.integers(0, 3)) else seed
        body, ctype = fuzz.json_bytes(doc), "application/json"
    headers = {} if ctype is None else {"content-type": ctype}
    response = client.post(endpoint, content=body, headers=headers)
    _check(response, f"{name} POST {endpoint}")
    STATS[f"serve/{name} POST {endpoint}: {response.status_code}"] += 1
    assert client.get("/health").status_code == 200


def test_report_counts():
    """Not a check: prints how many requests the property test sent, by answer (``-s``)."""
    report("server requests", ("serve/",))
