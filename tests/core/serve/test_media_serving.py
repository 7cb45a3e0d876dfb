"""Text, image and sound models through the real ASGI app: what ``nnstudio predict`` says for
the same inputs, every bad upload a one-line 4xx, every served row in the log."""

from __future__ import annotations

import base64
import csv
import io
import json
import sqlite3
import warnings

import numpy as np
import pytest

from nnstudio.cli.commands import run_command
from nnstudio.core.serve import Limits, PredictionLog, Predictor, create_app

from .media_models import train_images, train_sounds, train_text

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx vs httpx2
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    return train_text(tmp_path_factory.mktemp("text"))


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    return train_images(tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def sound_model(tmp_path_factory):
    return train_sounds(tmp_path_factory.mktemp("sounds"))


def client(model, log=None, **limits) -> TestClient:
    return TestClient(create_app(Predictor(model, Limits(**limits) if limits else None), log))


def cli_predictions(model_path, data, tmp_path) -> list[dict]:
    """``nnstudio predict`` on ``data``: rows of the predictions CSV."""
    out = tmp_path / "pred.csv"
    assert run_command(["predict", str(model_path), "--data", str(data), "--out", str(out)]) == 0
    with open(out, newline="") as f:
        return list(csv.DictReader(f))


def same(answer: dict, row: dict) -> None:
    """A served prediction equals the CLI's row (class and probabilities)."""
    assert answer["class"] == row["prediction"]
    for c, p in answer["probabilities"].items():
        assert abs(p - float(row[f"p_{c}"])) < 1e-6


def logged(path) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT request_id, row, inputs, output, prediction FROM predictions "
                           "ORDER BY id").fetchall()
    finally:
        con.close()


# -- text --------------------------------------------------------------------------------------

def test_text_rows_are_predicted_like_nnstudio_predict_and_logged(text_model, tmp_path):
    model, path, data = text_model
    with open(data, newline="") as f:
        rows = list(csv.DictReader(f))[:25]
    sample = tmp_path / "sample.csv"
    with open(sample, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    expected = cli_predictions(path, sample, tmp_path)
    log = PredictionLog(tmp_path / "log.db")
    c = client(model, log)
    sent = [{"message": r["message"], "hour": int(r["hour"])} for r in rows]
    r = c.post("/predict", json={"rows": sent})
    assert r.status_code == 200, r.text
    for answer, row in zip(r.json()["predictions"], expected, strict=True):
        same(answer, row)
    one = c.post("/predict", json=sent[0]).json()["prediction"]
    same(one, expected[0])
    log.close()
    rows_logged = logged(tmp_path / "log.db")
    assert len(rows_logged) == 26
    assert json.loads(rows_logged[0][2])["message"] == rows[0]["message"]


def test_get_model_describes_the_text_column(text_model):
    schema = client(text_model[0]).get("/model").json()
    text = next(i for i in schema["inputs"] if i["name"] == "message")
    assert text["type"] == "text" and text["encoding"] == "tfidf" and text["tokens"] == "word"
    assert text["max_length"] == 100_000 and text["vocabulary"] > 10
    assert [i["name"] for i in schema["inputs"]] == ["hour", "message"]
    spec = client(text_model[0]).get("/openapi.json").json()
    message = spec["components"]["schemas"]["Row"]["properties"]["message"]["anyOf"]
    assert message[0]["type"] == "string" and message[1]["type"] == "null"


@pytest.mark.parametrize("row, status, text", [
    ({"message": 42, "hour": 3}, 422, "column 'message': wrong type, a JSON number (42); "
                                      "expected a text"),
    ({"message": ["win"], "hour": 3}, 422, "expected a text (a JSON string)"),
    ({"message": "x" * 100_001, "hour": 3}, 422, "the text has 100,001 characters; at most "
                                                 "100,000"),
    ({"hour": 3}, 422, "column 'message': the column is missing"),
])
def test_bad_text_is_a_one_line_4xx(text_model, row, status, text):
    r = client(text_model[0], max_body_bytes=500_000).post("/predict", json=row)
    assert r.status_code == status and text in r.json()["error"]
    assert "\n" not in r.json()["error"]


def test_null_text_is_an_empty_message(text_model):
    model = text_model[0]
    r = client(model).post("/predict", json={"message": None, "hour": 5})
    assert r.status_code == 200
    expected = model.predict_raw([{"message": "", "hour": "5"}])
    assert r.json()["prediction"]["class"] == expected.values[0]


# -- images ------------------------------------------------------------------------------------

def test_image_uploads_are_predicted_like_nnstudio_predict(image_model, tmp_path):
    model, path, root = image_model
    files = sorted(root.rglob("*.*"))[::9][:12]
    folder = tmp_path / "some"
    folder.mkdir()
    for f in files:
        (folder / f.name).write_bytes(f.read_bytes())
    expected = {r["file"].rsplit("/", 1)[-1]: r for r in
                cli_predictions(path, folder, tmp_path)}
    log = PredictionLog(tmp_path / "log.db")
    c = client(model, log)
    for f in files[:6]:  # multipart, one file per request
        r = c.post("/predict", files={"file": (f.name, f.read_bytes(), "image/png")})
        assert r.status_code == 200, r.text
        same(r.json()["prediction"], expected[f.name])
    for f in files[6:8]:  # base64 in JSON (a data: URL too)
        b64 = base64.b64encode(f.read_bytes()).decode()
        r = c.post("/predict", json={"image": f"data:image/png;base64,{b64}", "id": f.name})
        assert r.status_code == 200, r.text
        same(r.json()["prediction"], expected[f.name])
    # A batch: several file fields, or {"rows": [...]}.
    r = c.post("/predict", files=[("file", (f.name, f.read_bytes())) for f in files[8:10]])
    assert r.status_code == 200
    for answer, f in zip(r.json()["predictions"], files[8:10], strict=True):
        same(answer, expected[f.name])
    r = c.post("/predict", json={"rows": [{"image": base64.b64encode(f.read_bytes()).decode()}
                                          for f in files[10:12]]})
    for answer, f in zip(r.json()["predictions"], files[10:12], strict=True):
        same(answer, expected[f.name])
    log.close()
    rows = logged(tmp_path / "log.db")
    assert len(rows) == 12
    first = json.loads(rows[0][2])["image"]
    import hashlib

    from PIL import Image

    with Image.open(files[0]) as im:
        size = im.size
    assert first["sha256"] == hashlib.sha256(files[0].read_bytes()).hexdigest()
    assert first["bytes"] == files[0].stat().st_size
    assert (first["width"], first["height"]) == size and first["shape"] == [3, 16, 16]
    assert 0 < first["brightness"] < 255 and first["contrast"] > 0
    assert json.loads(rows[6][2])["id"] == files[6].name  # other JSON keys are kept
    assert all(len(r[2]) < 600 for r in rows)  # a summary, not the pixels


def _bad_png(tmp_path) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()[:80]  # header and part of the data: truncated


@pytest.mark.parametrize("case, status, text", [
    ("text file", 415, "file 'notes.txt': not an image file"),
    ("truncated", 422, "file 'cut.png': corrupt or truncated image"),
    ("empty", 422, "the file is empty (0 bytes)"),
    ("no file", 422, "the form holds no file: send the image as a file field "
                     "(curl -F file=@cat.png)"),
    ("bad base64", 422, "'image': not valid base64"),
    ("no image key", 422, "'image': missing"),
    ("wrong type", 415, "content type 'text/plain' is not supported"),
    ("too large", 413, "this server takes at most 3,000"),
])
def test_bad_uploads_are_one_line_4xx(image_model, tmp_path, case, status, text):
    model, _, root = image_model
    log = PredictionLog(tmp_path / "log.db")
    c = client(model, log, max_body_bytes=3000)
    png = sorted(root.rglob("*.png"))[0].read_bytes()
    if case == "text file":
        r = c.post("/predict", files={"file": ("notes.txt", b"hello, not a picture")})
    elif case == "truncated":
        r = c.post("/predict", files={"file": ("cut.png", _bad_png(tmp_path))})
    elif case == "empty":
        r = c.post("/predict", files={"file": ("e.png", b"")})
    elif case == "no file":
        r = c.post("/predict", content=b"--b\r\nContent-Disposition: form-data; "
                   b"name=\"x\"\r\n\r\n1\r\n--b--\r\n",
                   headers={"Content-Type": "multipart/form-data; boundary=b"})
    elif case == "bad base64":
        r = c.post("/predict", json={"image": "###"})
    elif case == "no image key":
        r = c.post("/predict", json={"picture": base64.b64encode(png).decode()})
    elif case == "wrong type":
        r = c.post("/predict", content=png, headers={"Content-Type": "text/plain"})
    else:
        r = c.post("/predict", files={"file": ("big.png", png + b"\0" * 5000)})
    assert r.status_code == status, r.text
    message = r.json()["error"]
    assert text in message and "\n" not in message and "Traceback" not in message
    assert c.get("/health").json()["status"] == "ok"  # still serving
    log.close()
    con = sqlite3.connect(tmp_path / "log.db")
    assert con.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 0
    assert con.execute("SELECT status FROM rejected").fetchall() == [(status,)]
    con.close()


def test_get_model_and_the_curl_example_fit_an_image_model(image_model):
    pred = Predictor(image_model[0])
    schema = TestClient(create_app(pred, None)).get("/model").json()
    item = schema["inputs"][0]
    assert item["type"] == "image" and item["size"] == [16, 16] and item["color"] == "rgb"
    assert schema["limits"]["max_body_bytes"] == 20_000_000
    assert pred.curl("http://127.0.0.1:8000") == \
        "curl -s http://127.0.0.1:8000/predict -F file=@cat.png"


# -- sounds ------------------------------------------------------------------------------------

def test_sound_uploads_are_predicted_like_nnstudio_predict(sound_model, tmp_path):
    model, path, root = sound_model
    files = sorted(root.rglob("*.wav"))[::7][:8]
    folder = tmp_path / "some"
    folder.mkdir()
    for f in files:
        (folder / f.name).write_bytes(f.read_bytes())
    expected = {r["file"].rsplit("/", 1)[-1]: r for r in
                cli_predictions(path, folder, tmp_path)}
    log = PredictionLog(tmp_path / "log.db")
    c = client(model, log)
    for i, f in enumerate(files):
        if i % 2:
            r = c.post("/predict", json={"sound": base64.b64encode(f.read_bytes()).decode()})
        else:
            r = c.post("/predict", files={"file": (f.name, f.read_bytes(), "audio/wav")})
        assert r.status_code == 200, r.text
        same(r.json()["prediction"], expected[f.name])
    log.close()
    rows = logged(tmp_path / "log.db")
    assert len(rows) == len(files)
    s = json.loads(rows[0][2])["sound"]
    import soundfile as sf

    info = sf.info(str(files[0]))
    assert abs(s["duration"] - info.frames / info.samplerate) < 1e-3
    assert -40 < s["loudness"] < -10 and s["shape"] == [1, 48, 40]
    assert 100 < s["spectral centroid"] < 4000


def test_bad_recordings_are_one_line_4xx(sound_model, tmp_path):
    import soundfile as sf

    c = client(sound_model[0])
    r = c.post("/predict", files={"file": ("a.wav", b"RIFF....WAVEfmt nothing here")})
    assert r.status_code == 415 and "not a sound file soundfile can read" in r.json()["error"]
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(8000 * 61, np.int16), 8000, subtype="PCM_16")
    r = c.post("/predict", files={"file": ("long.wav", long.read_bytes())})
    assert r.status_code == 413 and "too long: 61 s (the limit is 60 s)" in r.json()["error"]
