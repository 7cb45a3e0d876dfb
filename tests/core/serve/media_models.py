"""Small text, image and sound classifiers the serve/monitor tests train on data they write.

* text: the spam/ham messages of ``tests/core/text/corpora.py`` (a TF-IDF ``message`` column
  next to a numeric ``hour``);
* images: RGB PNG/JPEG files of two classes, mostly red or mostly blue noise, at two sizes
  (so decoding resizes); ``brighter`` lifts every pixel (a drifted batch);
* sounds: WAV tones, low (~300 Hz) or high (~2500 Hz), at two rates (so decoding resamples);
  ``gain`` makes them louder (a drifted batch).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from tests.core.text.corpora import write_messages_csv


def _mlp(hidden: int, classes: int = 2, flatten: bool = False) -> dict:
    nodes = [{"id": "in", "type": "Input"}]
    if flatten:
        nodes.append({"id": "f", "type": "Flatten"})
    nodes += [{"id": "h", "type": "Dense", "units": hidden}, {"id": "r", "type": "ReLU"},
              {"id": "o", "type": "Dense", "units": classes}, {"id": "s", "type": "Softmax"}]
    return {"nodes": nodes, "edges": [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]}


def _train(folder: Path, dataset: dict, network: dict, epochs: int, name: str):
    from nnstudio.core.io.model_file import save_model
    from nnstudio.core.io.pipeline import load_data, run_training
    from nnstudio.core.io.project import Project

    d = {"format": "nnstudio.project", "version": 1, "dataset": dataset, "network": network,
         "training": {"loss": "cross_entropy", "optimizer": {"type": "adam",
                                                             "learning_rate": 0.003},
                      "batch_size": 32, "epochs": epochs, "seed": 0}}
    project = Project.from_dict(d, base_dir=folder, where=f"{name} project")
    model = run_training(project, load_data(project))
    path = folder / f"{name}.npz"
    save_model(model, path)
    return model, path


def train_text(folder: Path, n: int = 400):
    """``(model, path, csv)``: TF-IDF spam/ham classifier with a numeric ``hour`` column."""
    csv = folder / "sms.csv"
    write_messages_csv(csv, n, seed=0, with_length=True)
    model, path = _train(folder, {"source": str(csv), "target": "label",
                                  "text": {"encoding": "tfidf"}}, _mlp(16), 6, "sms")
    return model, path, csv


def write_images(root: Path, n: int, seed: int, brighter: int = 0) -> list[Path]:
    """``root/red|blue/<i>.png|.jpg``: RGB noise, mostly red or mostly blue."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cls = ("red", "blue")[i % 2]
        size = 20 if i % 3 == 0 else 16
        img = rng.integers(0, 90, (size, size, 3)).astype(np.int32)
        img[..., 0 if cls == "red" else 2] += rng.integers(90, 160)
        img = np.clip(img + brighter, 0, 255).astype(np.uint8)
        folder = root / cls
        folder.mkdir(parents=True, exist_ok=True)
        ext = ".jpg" if i % 5 == 4 else ".png"
        path = folder / f"{seed}_{i:04d}{ext}"
        Image.fromarray(img, "RGB").save(path, **({"quality": 95} if ext == ".jpg" else {}))
        out.append(path)
    return out


def train_images(folder: Path, n: int = 120):
    """``(model, path, root)``: an MLP on 16×16 RGB images (red vs blue)."""
    root = folder / "colours"
    write_images(root, n, seed=0)
    model, path = _train(folder, {"source": str(root), "images": {"size": [16, 16]}},
                         _mlp(16, flatten=True), 5, "colours")
    return model, path, root


def write_sounds(root: Path, n: int, seed: int, gain: float = 1.0) -> list[Path]:
    """``root/low|high/<i>.wav``: 0.5 s tones with a little noise at 16 or 22.05 kHz."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cls = ("low", "high")[i % 2]
        rate = 16000 if i % 3 else 22050
        t = np.arange(int(rate * rng.uniform(0.4, 0.6))) / rate
        f = (300.0 if cls == "low" else 2500.0) * (1 + 0.03 * rng.standard_normal())
        amp = rng.uniform(0.05, 0.15) * gain
        x = amp * np.sin(2 * np.pi * f * t) + 0.005 * rng.standard_normal(t.size)
        folder = root / cls
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{seed}_{i:04d}.wav"
        sf.write(path, np.clip(x, -1, 1), rate)
        out.append(path)
    return out


def train_sounds(folder: Path, n: int = 80):
    """``(model, path, root)``: an MLP on 0.5 s log-mel spectrograms (low vs high tones)."""
    root = folder / "tones"
    write_sounds(root, n, seed=0)
    model, path = _train(folder, {"source": str(root), "sound": {"duration": 0.5}},
                         _mlp(16, flatten=True), 5, "tones")
    return model, path, root
