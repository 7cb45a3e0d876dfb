"""Seed files of the readers added after issue 14 (its point 4): images, sound, text, ONNX
and PyTorch runs. Each ``*_seeds(folder)`` writes small valid files and trains what the
property tests then run on, in about a second each:

- :func:`image_seeds`: ``imgs/<class>/<i>.png|jpg|bmp|gif`` (8×8, 2 classes), ``list.csv``
  (a CSV of paths and labels), ``pimg.nnsproj`` (a small MLP on the folder) → ``img.npz``;
- :func:`sound_seeds`: ``snd/<class>/<i>.wav|flac|ogg`` (tones of 0.25 s at 8 kHz),
  ``psnd.nnsproj`` → ``snd.npz``;
- :func:`text_seeds`: ``msgs.csv`` (a text column and a label), ``ptxt.nnsproj`` (a bag of
  words) → ``txt.npz``; ``story.txt`` and ``pgpt.nnsproj`` (a one-block tiny GPT) → ``gpt.npz``;
- :func:`interop_seeds`: ``torch/`` (an MLP exported for PyTorch, with a ``run/`` as
  ``train.py`` writes it); the ONNX seeds are in :mod:`.interop_strategies`.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import shutil
from pathlib import Path

import numpy as np

from nnstudio.cli.commands import run_command

TRAINING = {"loss": "cross_entropy", "optimizer": {"type": "adam", "learning_rate": 0.01},
            "batch_size": 16, "epochs": 1, "seed": 0}


def chain(*nodes: dict) -> dict:
    return {"nodes": list(nodes),
            "edges": [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]}


MLP = chain({"id": "in", "type": "Input"}, {"id": "f", "type": "Flatten"},
            {"id": "h", "type": "Dense", "units": 4}, {"id": "r", "type": "ReLU"},
            {"id": "o", "type": "Dense", "units": 2}, {"id": "s", "type": "Softmax"})


def write_project(path: Path, dataset: dict, network: dict = MLP, **training) -> Path:
    path.write_text(json.dumps({"format": "nnstudio.project", "version": 1,
                                "dataset": dataset, "network": network,
                                "training": {**TRAINING, **training}}, indent=1))
    return path


def cli(*argv) -> None:
    """Run ``nnstudio ARGV`` quietly; the seeds must build."""
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        code = run_command([str(a) for a in argv])
    assert code == 0, quiet.getvalue()


def image_seeds(folder: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = ["file,label"]
    for cls, lo in (("dark", 0), ("bright", 150)):
        (folder / "imgs" / cls).mkdir(parents=True)
        for i, ext in enumerate([".png", ".jpg", ".bmp", ".gif", ".png", ".png"]):
            arr = rng.integers(lo, lo + 100, (8, 8), dtype=np.uint8)
            im = Image.fromarray(arr, "L")
            if i == 4:
                im = im.convert("RGB")
            rel = f"imgs/{cls}/{i}{ext}"
            im.save(folder / rel)
            rows.append(f"{rel},{cls}")
    (folder / "list.csv").write_text("\n".join(rows) + "\n")
    write_project(folder / "pimg.nnsproj", {"source": "imgs", "images": {"size": [8, 8]}})
    write_project(folder / "pcsv.nnsproj", {"source": "list.csv", "images": {"size": [8, 8]}})
    cli("train", folder / "pimg.nnsproj", "--out", folder / "img.npz", "--quiet")


def sound_seeds(folder: Path) -> None:
    import soundfile as sf

    t = np.arange(2000) / 8000
    for cls, f in (("low", 300.0), ("high", 2000.0)):
        (folder / "snd" / cls).mkdir(parents=True)
        for i, ext in enumerate([".wav", ".flac", ".ogg", ".wav"]):
            x = 0.3 * np.sin(2 * np.pi * f * (1 + 0.05 * i) * t)
            sf.write(folder / "snd" / cls / f"{i}{ext}", x, 8000)
    sound = {"rate": 8000, "duration": 0.25, "mels": 16}
    write_project(folder / "psnd.nnsproj", {"source": "snd", "sound": sound})
    cli("train", folder / "psnd.nnsproj", "--out", folder / "snd.npz", "--quiet")


def text_seeds(folder: Path) -> None:
    from nnstudio.core.graph.text_templates import transformer_network
    from tests.core.text.corpora import corpus_text, write_messages_csv

    write_messages_csv(folder / "msgs.csv", 60)
    header = (folder / "msgs.csv").read_text(encoding="utf-8").splitlines()[0]
    text_col = header.split(",")[0]
    write_project(folder / "ptxt.nnsproj",
                  {"source": "msgs.csv", "target": "label",
                   "text": {"columns": [text_col], "encoding": "bag", "max_size": 50}},
                  chain({"id": "in", "type": "Input"}, {"id": "o", "type": "Dense", "units": 2},
                        {"id": "s", "type": "Softmax"}))
    cli("train", folder / "ptxt.nnsproj", "--out", folder / "txt.npz", "--quiet")
    (folder / "story.txt").write_text(corpus_text(60), encoding="utf-8")
    dataset = {"source": "story.txt", "corpus": {"tokens": "char", "window": 8, "stride": 8}}
    from nnstudio.core.data import DatasetSpec, build_dataset

    spec = DatasetSpec.from_dict({**dataset, "source": str(folder / "story.txt")})
    vocab = build_dataset(spec).output_size
    net = transformer_network("gpt", (8,), vocab, blocks=1, width=8, heads=2)
    write_project(folder / "pgpt.nnsproj", dataset, net, batch_size=32)
    cli("train", folder / "pgpt.nnsproj", "--out", folder / "gpt.npz", "--quiet")


def interop_seeds(folder: Path) -> None:
    """An MLP on a CSV, trained and exported for PyTorch, with a run folder."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=60), rng.normal(size=60)
    lines = ["a,b,label"] + [f"{a[i]:.3f},{b[i]:.3f},{'yes' if a[i] > b[i] else 'no'}"
                             for i in range(60)]
    (folder / "d.csv").write_text("\n".join(lines) + "\n")
    write_project(folder / "p.nnsproj", {"source": "d.csv", "target": "label"})
    cli("train", folder / "p.nnsproj", "--out", folder / "p.npz", "--quiet")
    cli("export", folder / "p.npz", "--format", "pytorch", "--out", folder / "torch")
    # The run folder train.py writes: its weights (nnstudio's layout) and metrics.json.
    from nnstudio.core.io import load_model

    run = folder / "torch" / "run"
    run.mkdir()
    weights = load_model(folder / "p.npz").network.state_dict()
    np.savez(run / "weights.npz", **weights)
    metrics = {"format": "nnstudio.pytorch_run", "version": 1,
               "export": "torch",  # relative: the copies of the property tests use theirs
               "history": {"loss": [0.7, 0.6], "val_loss": [0.71, 0.65]},
               "summary": {"reason": "completed", "epochs": 2, "world_size": 1,
                           "device": "cpu", "metrics": {"test": {"accuracy": 0.8}}}}
    (run / "metrics.json").write_text(json.dumps(metrics, indent=1))
    (run / "metrics.csv").write_text("epoch,loss,val_loss\n1,0.7,0.71\n2,0.6,0.65\n")
    cli("import-run", folder / "torch", "--out", folder / "check.npz")
    (folder / "check.npz").unlink()


def copy_tree(src: Path, dest: Path) -> None:
    for p in src.iterdir():
        if p.is_dir():
            shutil.copytree(p, dest / p.name, symlinks=True)
        else:
            shutil.copy(p, dest / p.name)


def examples(ci: int) -> int:
    """Examples of a property test: ``ci`` in the CI profile, 15 times more in ``long``."""
    import os

    return ci * 15 if os.environ.get("NNSTUDIO_HYPOTHESIS") == "long" else ci
