"""Seed files for the robustness tests: small valid projects, data files and trained models.

``make_seeds(folder)`` writes, in a few hundred milliseconds:

- ``d.csv`` (120 rows: numbers ``a``, ``b``, a date ``day``, a class ``label``) and
  ``p.nnsproj`` (an MLP classifier on it) → ``p.npz`` (trained);
- ``img.npz`` (60 4×4 uint8 images, 3 classes) and ``pi.nnsproj`` → ``pi.npz``;
- ``img-idx3-ubyte`` + ``lab-idx1-ubyte`` (the same images as IDX) and ``px.nnsproj``;
- ``r.csv`` (a regression table) and ``pr.nnsproj`` → ``pr.npz``;
- ``ps.nnsproj``: ``p.nnsproj`` saved with a trained run (``ps.runs/``).

The mutation strategies start from these bytes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import struct
from pathlib import Path

import numpy as np

from nnstudio.cli.commands import run_command
from nnstudio.core.io.model_file import save_model
from nnstudio.core.io.pipeline import load_data, run_training
from nnstudio.core.io.project import load_project

TRAINING = {"loss": "cross_entropy", "optimizer": {"type": "adam", "learning_rate": 0.01},
            "batch_size": 16, "epochs": 2, "seed": 0}


def chain_network(*nodes: dict) -> dict:
    return {"nodes": list(nodes),
            "edges": [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]}


def write_idx(path: Path, arr: np.ndarray) -> None:
    code = {np.dtype(np.uint8): 0x08, np.dtype(">f4"): 0x0D}[arr.dtype]
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, code, arr.ndim))
        f.write(struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(arr.tobytes())


def project_dict(dataset: dict, network: dict, **training) -> dict:
    return {"format": "nnstudio.project", "version": 1, "dataset": dataset,
            "network": network, "training": {**TRAINING, **training}}


def make_seeds(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    n = 120
    a, b = rng.normal(size=n), rng.normal(size=n)
    with open(folder / "d.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "day", "label"])
        for i in range(n):
            w.writerow([f"{a[i]:.3f}", f"{b[i]:.3f}", f"2020-01-{i % 28 + 1:02d}",
                        "yes" if a[i] + b[i] > 0 else "no"])
    with open(folder / "r.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x", "kind", "y"])
        for i in range(n):
            w.writerow([f"{a[i]:.3f}", "ab"[i % 2], f"{2 * a[i] + (i % 2):.3f}"])
    mlp = chain_network({"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 4},
                        {"id": "r", "type": "ReLU"}, {"id": "o", "type": "Dense", "units": 2},
                        {"id": "s", "type": "Softmax"})
    images = chain_network({"id": "in", "type": "Input"}, {"id": "f", "type": "Flatten"},
                           {"id": "o", "type": "Dense", "units": 3},
                           {"id": "s", "type": "Softmax"})
    reg = chain_network({"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 3},
                        {"id": "t", "type": "Tanh"}, {"id": "o", "type": "Dense", "units": 1})
    x = rng.integers(0, 255, size=(60, 4, 4)).astype(np.uint8)
    y = rng.integers(0, 3, size=60)
    np.savez(folder / "img.npz", x=x, y=y)
    write_idx(folder / "img-idx3-ubyte", x)
    write_idx(folder / "lab-idx1-ubyte", y.astype(np.uint8))
    projects = {
        "p": project_dict({"source": "d.csv", "target": "label"}, mlp),
        "pi": project_dict({"source": "img.npz"}, images, epochs=1),
        "px": project_dict({"source": "img-idx3-ubyte", "labels": "lab-idx1-ubyte"}, images,
                           epochs=1),
        "pr": project_dict({"source": "r.csv", "target": "y"}, reg, loss="mse"),
    }
    out = {}
    for name, d in projects.items():
        path = folder / f"{name}.nnsproj"
        path.write_text(json.dumps(d, indent=1))
        out[name] = path
        if name != "px":
            project = load_project(path)
            model = run_training(project, load_data(project))
            save_model(model, folder / f"{name}.npz")
            out[f"{name}_model"] = folder / f"{name}.npz"
    # A project holding a trained run (its weights in ps.runs/): the run-history reader.
    ps = folder / "ps.nnsproj"
    ps.write_text((folder / "p.nnsproj").read_text())
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        code = run_command(["train", str(ps), "--save", "--quiet"])
    assert code == 0, quiet.getvalue()
    out["ps"] = ps
    return out
