"""Property-based robustness of the CLI (issue 14): mutated project files, model files, CSVs,
NPZ and IDX files given to ``nnstudio train|evaluate|predict|export``.

Invariant for every input: the command succeeds (exit 0), or exits 2 with ``error:`` lines only
— never ``internal error``, never a Python warning, never an output file (or a temporary) left
behind. Commands run in-process (see :mod:`.harness`). The number of examples comes from the
Hypothesis profile (``ci`` by default; ``NNSTUDIO_HYPOTHESIS=long`` for a longer hunt).
Regressions they found are pinned as plain tests in ``test_issue_examples.py`` (the examples
here draw from seeds built at run time, which ``@example`` cannot name).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

from . import strategies as fuzz
from .harness import check_invariant, files_in, run_cli

#: Outcomes per test, printed at the end of the session (the closing note counts them).
STATS: Counter = Counter()

@pytest.fixture(scope="module")
def seeds(seed_dir):
    with np.load(seed_dir / "p.npz", allow_pickle=False) as z:
        model_entries = {k: z[k] for k in z.files}
    with np.load(seed_dir / "img.npz", allow_pickle=False) as z:
        x, y = z["x"], z["y"]
    return {
        "dir": seed_dir,
        "project": json.loads((seed_dir / "p.nnsproj").read_text()),
        "project_images": json.loads((seed_dir / "pi.nnsproj").read_text()),
        "project_with_run": json.loads((seed_dir / "ps.nnsproj").read_text()),
        "model": model_entries,
        "csv": (seed_dir / "d.csv").read_text(),
        "x": x, "y": y,
    }


class Workdir:
    """A fresh folder with the seed files, as the current folder, for one example."""

    def __init__(self, seed_dir: Path):
        self.seed_dir = seed_dir

    def __enter__(self) -> Path:
        self.tmp = tempfile.TemporaryDirectory(prefix="nnsfuzz")
        self.path = Path(self.tmp.name)
        for p in self.seed_dir.iterdir():
            if p.is_dir():
                shutil.copytree(p, self.path / p.name)
            else:
                shutil.copy(p, self.path / p.name)
        self.old = os.getcwd()
        os.chdir(self.path)
        return self.path

    def __exit__(self, *exc):
        os.chdir(self.old)
        self.tmp.cleanup()


@pytest.fixture(scope="module")
def workdir(seed_dir):
    """``with workdir() as folder:`` — a new folder per Hypothesis example."""
    return lambda: Workdir(seed_dir)


def run_and_check(folder: Path, name: str, *argv, outputs=()) -> int:
    """Run one command, assert the invariant, remove what a success wrote; the exit code."""
    before = files_in(folder)
    outcome = run_cli(*argv)
    check_invariant(outcome, [folder / o for o in outputs], folder, before)
    STATS[f"{name}: exit {outcome.code}"] += 1
    for o in outputs:
        p = folder / o
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    return outcome.code


# -- project files ----------------------------------------------------------------------------


@given(data=fuzz.st.data())
def test_mutated_project_files(seeds, workdir, data):
    seed = data.draw(fuzz.st.sampled_from([seeds["project"], seeds["project_images"]]))
    content = data.draw(fuzz.project_file(seed))
    with workdir() as d:
        (d / "f.nnsproj").write_bytes(content)
        run_and_check(d, "project/train", "train", "f.nnsproj", "--out", "o.npz", "--quiet",
                      "--epochs", "1", outputs=["o.npz"])


@given(data=fuzz.st.data())
def test_mutated_projects_with_a_trained_run(seeds, workdir, data):
    """The run history (``runs``, the files in ``ps.runs/``) read by evaluate/predict."""
    content = data.draw(fuzz.project_file(seeds["project_with_run"]))
    command = data.draw(fuzz.st.sampled_from(["evaluate", "predict", "numpy"]))
    with workdir() as d:
        (d / "ps.nnsproj").write_bytes(content)
        if command == "evaluate":
            run_and_check(d, "run/evaluate", "evaluate", "ps.nnsproj", "--data", "d.csv")
        elif command == "predict":
            run_and_check(d, "run/predict", "predict", "ps.nnsproj", "--data", "d.csv",
                          "--out", "o.csv", outputs=["o.csv"])
        else:
            run_and_check(d, "run/export-numpy", "export", "ps.nnsproj", "--format", "numpy",
                          "--out", "exp", outputs=["exp"])


# -- model files ------------------------------------------------------------------------------


@given(data=fuzz.st.data())
def test_mutated_model_files(seeds, workdir, data):
    content = data.draw(fuzz.model_file(seeds["model"]))
    command = data.draw(fuzz.st.sampled_from(["evaluate", "predict", "numpy", "onnx"]))
    with workdir() as d:
        (d / "m.npz").write_bytes(content)
        if command == "evaluate":
            run_and_check(d, "model/evaluate", "evaluate", "m.npz", "--data", "d.csv")
        elif command == "predict":
            run_and_check(d, "model/predict", "predict", "m.npz", "--data", "d.csv", "--out",
                          "o.csv", outputs=["o.csv"])
        else:
            out = "exp" if command == "numpy" else "o.onnx"
            run_and_check(d, f"model/export-{command}", "export", "m.npz", "--format", command,
                          "--out", out, outputs=[out])


# -- CSV files ------------------------------------------------------------------------------


@given(data=fuzz.st.data())
def test_mutated_csv_files(seeds, workdir, data):
    content = data.draw(fuzz.csv_file(seeds["csv"]))
    command = data.draw(fuzz.st.sampled_from(["evaluate", "predict", "train"]))
    with workdir() as d:
        (d / "d.csv").write_bytes(content)
        if command == "evaluate":
            run_and_check(d, "csv/evaluate", "evaluate", "p.npz", "--data", "d.csv")
        elif command == "predict":
            run_and_check(d, "csv/predict", "predict", "p.npz", "--data", "d.csv", "--out",
                          "o.csv", outputs=["o.csv"])
        else:
            run_and_check(d, "csv/train", "train", "p.nnsproj", "--out", "o.npz", "--quiet",
                          "--epochs", "1", outputs=["o.npz"])


# -- NPZ and IDX data ----------------------------------------------------------------------


@given(data=fuzz.st.data())
def test_mutated_npz_data(seeds, workdir, data):
    content = data.draw(fuzz.data_npz(seeds["x"], seeds["y"]))
    command = data.draw(fuzz.st.sampled_from(["evaluate", "predict", "train"]))
    with workdir() as d:
        (d / "img.npz").write_bytes(content)
        if command == "evaluate":
            run_and_check(d, "npz/evaluate", "evaluate", "pi.npz", "--data", "img.npz")
        elif command == "predict":
            run_and_check(d, "npz/predict", "predict", "pi.npz", "--data", "img.npz", "--out",
                          "o.csv", outputs=["o.csv"])
        else:
            run_and_check(d, "npz/train", "train", "pi.nnsproj", "--out", "o.npz", "--quiet",
                          "--epochs", "1", outputs=["o.npz"])


@given(data=fuzz.st.data())
def test_mutated_idx_files(seeds, workdir, data):
    which = data.draw(fuzz.st.sampled_from(["images", "labels"]))
    arr = seeds["x"] if which == "images" else seeds["y"].astype(np.uint8)
    content = data.draw(fuzz.idx_file(arr))
    command = data.draw(fuzz.st.sampled_from(["evaluate", "train"]))
    with workdir() as d:
        name = "img-idx3-ubyte" if which == "images" else "lab-idx1-ubyte"
        (d / name).write_bytes(content)
        if command == "evaluate":
            run_and_check(d, "idx/evaluate", "evaluate", "pi.npz", "--data", "img-idx3-ubyte",
                          "--labels", "lab-idx1-ubyte")
        else:
            run_and_check(d, "idx/train", "train", "px.nnsproj", "--out", "o.npz", "--quiet",
                          "--epochs", "1", outputs=["o.npz"])


def test_report_counts():
    """Not a check: prints how many commands the property tests ran, by outcome (``-s``)."""
    if STATS:
        print("\nrobustness examples run:", sum(STATS.values()))
        for key, n in sorted(STATS.items()):
            print(f"  {key}: {n}")
