"""``nnstudio train|evaluate|predict|export`` on image folders, CSVs of paths and recordings.

The real-data tests write MNIST test-set digits as PNG/JPEG files (mixed sizes, some RGB) and
synthesise spoken words with espeak-ng; one voice is held out and only used to evaluate.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.graph.templates import build_template
from tests.core.media.test_images import save, shapes
from tests.media_data import VOICES, mnist_arrays, mnist_folders, spoken_words

from .test_cli import assert_bad_input, nnstudio, read_csv


def project(path: Path, dataset: dict, template: str, input_shape, n_classes: int,
            **training) -> Path:
    train = {"loss": "cross_entropy", "optimizer": {"type": "adam", "learning_rate": 0.002},
             "batch_size": 32, "epochs": 4, "seed": 0}
    train.update(training)
    d = {"format": "nnstudio.project", "version": 1, "dataset": dataset,
         "network": build_template(template, input_shape, n_classes), "training": train}
    path.write_text(json.dumps(d, indent=2))
    return path


def train_json(proj: Path, out: Path, cwd: Path, timeout=900) -> dict:
    r = nnstudio("train", proj, "--out", out, "--json", cwd=cwd, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_small_image_model_through_train_predict_and_both_exports(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    shapes(tmp_path / "data", n=12)
    (tmp_path / "data" / "dark" / "broken.png").write_text("text")
    proj = project(tmp_path / "p.nnsproj", {"source": "data"}, "image_cnn", (1, 16, 16), 2,
                   epochs=6)
    r = nnstudio("train", proj, "--out", tmp_path / "m.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stderr and "broken.png: not an image" in r.stderr
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        prep = json.loads(str(z["preparation"]))
    assert prep["media"] == {"kind": "image", "size": [16, 16], "color": "gray",
                             "filter": "bilinear"}
    # New files: a folder, one file and a CSV of paths.
    new = tmp_path / "new"
    rng = np.random.default_rng(9)
    save(new / "a.png", rng.integers(180, 256, (20, 20), dtype=np.uint8))
    save(new / "b.jpg", rng.integers(0, 60, (16, 16, 3), dtype=np.uint8))
    (new / "c.png").write_bytes(b"")
    r = nnstudio("predict", tmp_path / "m.npz", "--data", new, "--out", tmp_path / "p.csv",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "c.png: zero-byte file" in r.stderr
    rows = read_csv(tmp_path / "p.csv")
    assert rows[0][:2] == ["file", "prediction"]
    got = {Path(row[0]).name: row[1] for row in rows[1:]}
    assert got == {"a.png": "bright", "b.jpg": "dark"}
    (tmp_path / "list.csv").write_text("image\nnew/a.png\nnew/b.jpg\n")
    r = nnstudio("predict", tmp_path / "m.npz", "--data", "list.csv", "--out", "q.csv",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [row[1] for row in read_csv(tmp_path / "q.csv")[1:]] == ["bright", "dark"]
    r = nnstudio("predict", tmp_path / "m.npz", "--data", new / "a.png", "--out", "one.csv",
                 cwd=tmp_path)
    ours = read_csv(tmp_path / "one.csv")[1]
    # The standalone predict.py gives the same rows.
    assert nnstudio("export", tmp_path / "m.npz", "--format", "numpy", "--out", "exp",
                    cwd=tmp_path).returncode == 0
    s = subprocess.run([sys.executable, str(tmp_path / "exp" / "predict.py"), str(new / "a.png")],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert s.returncode == 0, s.stderr
    theirs = list(__import__("csv").reader(s.stdout.splitlines()))[1]
    assert theirs[1] == ours[1]
    np.testing.assert_allclose([float(v) for v in theirs[2:]], [float(v) for v in ours[2:]],
                               rtol=1e-5, atol=1e-7)
    # ONNX takes the decoded pixels (C, H, W), 0-255, as float: the documented recipe.
    assert nnstudio("export", tmp_path / "m.npz", "--format", "onnx", "--out", "m.onnx",
                    cwd=tmp_path).returncode == 0
    from PIL import Image

    img = Image.open(new / "a.png").convert("L").resize((16, 16), Image.Resampling.BILINEAR)
    x = np.asarray(img, np.float32)[None, None]
    sess = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    label, probs = sess.run(None, {"x": x})
    assert label[0] == ours[1]
    np.testing.assert_allclose(probs[0], [float(v) for v in ours[2:]], rtol=1e-4, atol=1e-6)
    meta = sess.get_modelmeta().custom_metadata_map
    assert json.loads(meta["media"])["size"] == [16, 16]


def test_bad_image_input_is_one_clear_message(tmp_path):
    shapes(tmp_path / "data", n=3)
    shutil.rmtree(tmp_path / "data" / "dark")
    proj = project(tmp_path / "p.nnsproj", {"source": "data"}, "image_cnn", (1, 16, 16), 2)
    r = nnstudio("train", proj, "--out", tmp_path / "m.npz", cwd=tmp_path)
    assert_bad_input(r, "only one class folder", "'bright'")
    assert not (tmp_path / "m.npz").exists()
    (tmp_path / "list.csv").write_text("path,label\nnowhere/a.png,x\n/etc/passwd.png,y\n")
    proj = project(tmp_path / "q.nnsproj", {"source": "list.csv", "images": {}}, "image_cnn",
                   (1, 16, 16), 2)
    r = nnstudio("train", proj, "--out", tmp_path / "m.npz", cwd=tmp_path)
    assert_bad_input(r, "list.csv", "none of its 2 rows points at a readable image file")


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_mnist_digits_from_folders_and_from_a_csv_reach_97_percent(tmp_path, datasets):
    x, y = mnist_arrays(datasets)
    rels = mnist_folders(tmp_path / "digits", x, y)
    names = {Path(r).suffix for r in rels}
    assert names == {".png", ".jpg"}
    split = {"train": 0.8, "validation": 0.05, "test": 0.15, "seed": 0}
    dataset = {"source": "digits", "images": {"color": "gray"}, "split": split}
    proj = project(tmp_path / "f.nnsproj", dataset, "image_cnn", (1, 28, 28), 10, epochs=4,
                   batch_size=64)
    result = train_json(proj, tmp_path / "f.npz", tmp_path)
    assert result["metrics"]["test"]["accuracy"] >= 0.97, result
    # The same images listed in a CSV (paths relative to it), labels in a column.
    # Listed in the folder's order, so the cache decoded above is reused (same files, same
    # options); a CSV in another order would decode again into its own cache.
    pairs = sorted(zip(rels, y, strict=True), key=lambda p: (str(int(p[1])), p[0]))
    lines = ["file,digit"] + [f"digits/{r},{int(lbl)}" for r, lbl in pairs]
    (tmp_path / "digits.csv").write_text("\n".join(lines) + "\n")
    dataset = {"source": "digits.csv", "target": "digit", "images": {"color": "gray"},
               "split": split}
    proj = project(tmp_path / "c.nnsproj", dataset, "image_cnn", (1, 28, 28), 10, epochs=4,
                   batch_size=64)
    result = train_json(proj, tmp_path / "c.npz", tmp_path)
    assert result["metrics"]["test"]["accuracy"] >= 0.97, result


@pytest.mark.slow
def test_spoken_words_reach_90_percent_on_a_held_out_voice(tmp_path):
    per_voice = spoken_words(tmp_path / "words")
    held = VOICES[-1]
    for f in per_voice[held]:
        dest = tmp_path / "held_out" / f.parent.name / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(f, dest)
    sound = {"duration": 1.0, "hop_ms": 20, "mels": 32}
    dataset = {"source": "words", "sound": sound,
               "split": {"train": 0.85, "validation": 0.15, "test": 0.0, "seed": 0}}
    proj = project(tmp_path / "w.nnsproj", dataset, "spectrogram_cnn", (1, 49, 32), 6,
                   epochs=25, batch_size=16, optimizer={"type": "adam", "learning_rate": 0.001},
                   early_stopping={"patience": 6})
    train_json(proj, tmp_path / "w.npz", tmp_path)
    r = nnstudio("evaluate", tmp_path / "w.npz", "--data", "held_out", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["samples"] == len(per_voice[held]) == 36
    assert out["metrics"]["accuracy"] >= 0.9, out
    # predict.py reads the recordings the same way.
    assert nnstudio("export", tmp_path / "w.npz", "--format", "numpy", "--out", "exp",
                    cwd=tmp_path).returncode == 0
    one = next((tmp_path / "held_out" / "yes").iterdir())
    s = subprocess.run([sys.executable, str(tmp_path / "exp" / "predict.py"), str(one)],
                       capture_output=True, text=True, timeout=120)
    r = nnstudio("predict", tmp_path / "w.npz", "--data", one, "--out", "p.csv", cwd=tmp_path)
    ours = read_csv(tmp_path / "p.csv")[1]
    theirs = s.stdout.splitlines()[1].split(",")
    assert theirs[1] == ours[1]
    np.testing.assert_allclose([float(v) for v in theirs[2:]], [float(v) for v in ours[2:]],
                               rtol=1e-4, atol=1e-6)


def test_sound_model_onnx_takes_the_documented_spectrogram(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    import soundfile as sf

    from nnstudio.core.data.spectrogram import mel_filterbank

    rng = np.random.default_rng(3)
    t = np.arange(11025) / 22050
    for cls, f in (("low", 250.0), ("high", 2000.0)):
        (tmp_path / "tones" / cls).mkdir(parents=True)
        for i in range(6):
            x = 0.3 * np.sin(2 * np.pi * f * (1 + 0.03 * rng.standard_normal()) * t)
            sf.write(tmp_path / "tones" / cls / f"{i}.wav", x, 22050)
    sound = {"rate": 16000, "duration": 0.5, "window_ms": 25, "hop_ms": 20, "mels": 24}
    proj = project(tmp_path / "t.nnsproj", {"source": "tones", "sound": sound},
                   "spectrogram_cnn", (1, 24, 24), 2, epochs=2)
    r = nnstudio("train", proj, "--out", tmp_path / "t.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    one = tmp_path / "tones" / "high" / "0.wav"
    assert nnstudio("predict", tmp_path / "t.npz", "--data", one, "--out", "p.csv",
                    cwd=tmp_path).returncode == 0
    ours = read_csv(tmp_path / "p.csv")[1]
    assert nnstudio("export", tmp_path / "t.npz", "--format", "onnx", "--out", "t.onnx",
                    cwd=tmp_path).returncode == 0
    # The recipe of docs/files-and-cli.md, step by step.
    from scipy.signal import resample_poly

    x, rate = sf.read(one, dtype="float64", always_2d=True)
    assert rate == 22050  # → 16000: up 320, down 441
    x = resample_poly(x.mean(axis=1), 320, 441)[:8000]
    x = np.pad(x, (0, 8000 - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, 400)[::320]
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    spec = np.fft.rfft(frames * hann, n=512)
    power = spec.real ** 2 + spec.imag ** 2
    logmel = 10 * np.log10(power @ mel_filterbank(16000, 512, 24, 20.0, 8000.0) + 1e-10)
    tensor = logmel.astype(np.float32)[None, None]  # (1, 1, frames, mels)
    sess = onnxruntime.InferenceSession(str(tmp_path / "t.onnx"))
    label, probs = sess.run(None, {"x": tensor})
    assert label[0] == ours[1]
    np.testing.assert_allclose(probs[0], [float(v) for v in ours[2:]], rtol=1e-3, atol=1e-5)
