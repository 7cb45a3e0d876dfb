"""Monitoring text, image and sound models: the training reference holds their statistics,
an undrifted batch is stable and a drifted one (longer or out-of-vocabulary messages, brighter
images, louder sounds) is drifted — from a data file/folder and from the server's log."""

from __future__ import annotations

import base64
import csv
import io
import json
import warnings
from contextlib import redirect_stdout

import pytest

from nnstudio.cli.commands import run_command
from nnstudio.core.io.model_file import load_model
from nnstudio.core.monitor import from_log, html_report, monitor
from nnstudio.core.serve import PredictionLog, Predictor, create_app
from tests.core.serve.media_models import (
    train_images,
    train_sounds,
    train_text,
    write_images,
    write_sounds,
)
from tests.core.text.corpora import messages, write_messages_csv

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@pytest.fixture(scope="module")
def text_m(tmp_path_factory):
    return train_text(tmp_path_factory.mktemp("text_m"), 600)


@pytest.fixture(scope="module")
def image_m(tmp_path_factory):
    return train_images(tmp_path_factory.mktemp("image_m"), 500)


@pytest.fixture(scope="module")
def sound_m(tmp_path_factory):
    return train_sounds(tmp_path_factory.mktemp("sound_m"), 500)


def cli_monitor(*args: str) -> tuple[int, dict]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = run_command(["monitor", *args, "--json", "--fail-on", "drift"])
    return code, json.loads(buf.getvalue())


def verdicts(report: dict) -> dict[str, str]:
    return {e["name"]: e["verdict"] for e in report["features"]}


def test_references_hold_bounded_statistics_of_the_training_split(text_m, image_m, sound_m):
    for (_model, path, _), names in (
            (text_m, ["hour", "message: tokens", "message: unknown tokens",
                      "message: token distribution"]),
            (image_m, ["image: brightness", "image: contrast", "image: red", "image: green",
                       "image: blue", "image: width", "image: height"]),
            (sound_m, ["sound: duration", "sound: loudness", "sound: spectral centroid",
                       "sound: spectral level"])):
        ref = load_model(path).reference  # stored in the model file
        assert [f["name"] for f in ref["features"]] == names
        assert len(json.dumps(ref)) < 60_000
        assert ref["source"] == "training split" and ref["predictions"]["n"] > 0
    ref = text_m[0].reference
    tokens = ref["features"][1]
    assert 4 <= tokens["mean"] <= 15 and len(tokens["quantiles"]) == 256
    unknown = ref["features"][2]
    assert unknown["source"] == "validation split" and unknown["total"] > 0
    dist = ref["features"][3]["counts"]
    assert len(dist) == 51 and "(other)" in dist
    bright = image_m[0].reference["features"][0]
    assert 20 < bright["mean"] < 200 and bright["n"] == image_m[0].reference["rows"]
    width = image_m[0].reference["features"][5]
    assert (width["min"], width["max"]) == (16.0, 20.0)  # the files' own, before resizing


def test_text_data_files_stable_then_drifted(text_m, tmp_path):
    path = text_m[1]
    same = tmp_path / "same.csv"
    write_messages_csv(same, 300, seed=3, with_length=True)
    code, report = cli_monitor(str(path), "--data", str(same), "--labels", "label")
    assert code == 0 and set(verdicts(report).values()) == {"stable"}, verdicts(report)
    assert report["performance"]["value"] > 0.95
    odd = tmp_path / "odd.csv"
    with open(odd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["message", "hour", "label"])
        for i, (text, label) in enumerate(messages(300, seed=4)):
            w.writerow([f"{text} zorbly quantum flibbers gnarf the wibble", i % 24, label])
    code, report = cli_monitor(str(path), "--data", str(odd))
    v = verdicts(report)
    assert code == 3
    assert v["message: tokens"] == "drifted" and v["message: unknown tokens"] == "drifted"
    assert v["hour"] == "stable"
    unk = next(e for e in report["features"] if e["name"] == "message: unknown tokens")
    assert 0.3 < unk["unseen"] < 0.45 and unk["reference"]["rate"] < 0.01


def test_text_log_stable_then_drifted(text_m, tmp_path):
    model = text_m[0]
    for name, suffix, expect in (("same", "", "stable"),
                                 ("long", " and also please do read this", "drifted")):
        log = PredictionLog(tmp_path / f"{name}.db")
        c = TestClient(create_app(Predictor(model), log))
        rows = [{"message": t + suffix, "hour": i % 24}
                for i, (t, _) in enumerate(messages(300, seed=7))]
        for start in range(0, 300, 50):
            assert c.post("/predict", json={"rows": rows[start:start + 50]}).status_code == 200
        log.close()
        report = monitor(model, from_log(model, tmp_path / f"{name}.db"))
        assert report["rows"] == 300
        assert verdicts(report)["message: tokens"] == expect, verdicts(report)


def test_image_log_stable_and_a_brighter_folder_drifted(image_m, tmp_path):
    model, path, _ = image_m
    files = write_images(tmp_path / "new", 300, seed=3)
    log = PredictionLog(tmp_path / "log.db")
    c = TestClient(create_app(Predictor(model), log))
    for i, f in enumerate(files):
        if i % 2:
            r = c.post("/predict", files={"file": (f.name, f.read_bytes())})
        else:
            r = c.post("/predict", json={"image": base64.b64encode(f.read_bytes()).decode()})
        assert r.status_code == 200
    log.close()
    code, report = cli_monitor(str(path), "--log", str(tmp_path / "log.db"))
    assert code == 0 and set(verdicts(report).values()) == {"stable"}, verdicts(report)
    write_images(tmp_path / "bright", 300, seed=4, brighter=60)
    out = tmp_path / "report.html"
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = run_command(["monitor", str(path), "--data", str(tmp_path / "bright"),
                            "--labels", "class folders", "--report", str(out),
                            "--fail-on", "drift"])
    assert code == 3
    assert "image: brightness" in buf.getvalue() and "drifted" in buf.getvalue()
    html = out.read_text()
    assert "image: brightness" in html and "<svg" in html
    report = monitor(model, __import__("nnstudio.core.monitor", fromlist=["from_table"])
                     .from_table(model, tmp_path / "bright", "class folders"))
    v = verdicts(report)
    assert v["image: brightness"] == "drifted" and v["image: width"] == "stable"
    assert report["performance"]["rows_with_outcome"] == 300


def test_sound_folder_stable_and_louder_sounds_drifted(sound_m, tmp_path):
    model, path, _ = sound_m
    write_sounds(tmp_path / "same", 400, seed=3)
    code, report = cli_monitor(str(path), "--data", str(tmp_path / "same"))
    assert code == 0 and set(verdicts(report).values()) == {"stable"}, verdicts(report)
    loud = write_sounds(tmp_path / "loud", 120, seed=4, gain=4.0)
    log = PredictionLog(tmp_path / "log.db")
    c = TestClient(create_app(Predictor(model), log))
    for f in loud:
        assert c.post("/predict", files={"file": (f.name, f.read_bytes())}).status_code == 200
    log.close()
    report = monitor(model, from_log(model, tmp_path / "log.db"))
    v = verdicts(report)
    assert v["sound: loudness"] == "drifted" and v["sound: duration"] != "drifted", v
    assert report["drifted"]
    loudness = next(e for e in report["features"] if e["name"] == "sound: loudness")
    assert 10 < loudness["mean"] - loudness["reference"]["mean"] < 14  # ×4 is +12 dB
    assert "sound: loudness" in html_report(report)
