"""Property-based robustness of ``nnstudio import`` (ONNX files) and ``nnstudio import-run``
(the output folder of an exported project's ``train.py``), issue 14 point 4.

Invariant (:mod:`.harness`): success, or exit 2 with one ``error:`` sentence — never
``internal error``, a warning, or a project/model file left behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import interop_strategies as ist
from .fuzzrun import Workdir, report, run_and_check
from .media_seeds import examples, interop_seeds

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def interop_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("interop-seeds")
    interop_seeds(folder)
    (folder / "cnn.onnx").write_bytes(ist.cnn_model())
    (folder / "reshape.onnx").write_bytes(ist.reshape_model())
    (folder / "m.onnx").write_bytes(ist.mlp_model())  # nnstudio's export holds ArgMax
    lstm = ist.lstm_model()
    if lstm is not None:
        (folder / "lstm.onnx").write_bytes(lstm)
    return folder


def _seeds(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.onnx"))


@pytest.fixture(scope="module")
def run_seed(interop_dir):
    with np.load(interop_dir / "torch" / "run" / "weights.npz", allow_pickle=False) as z:
        weights = {k: z[k] for k in z.files}
    return {"metrics": json.loads((interop_dir / "torch" / "run" / "metrics.json").read_text()),
            "export": json.loads((interop_dir / "torch" / "export.json").read_text()),
            "weights": weights}


def test_seed_onnx_models_import(interop_dir):
    """The seeds are valid: every mutation starts from a model that imports."""
    for name in _seeds(interop_dir):
        with Workdir(interop_dir) as d:
            out = run_and_check(d, "onnx/seed", "import", name, "--out", "o.nnsproj",
                                outputs=["o.nnsproj"])
            assert out.code == 0, out.describe()


@settings(max_examples=examples(300))
@given(data=st.data())
def test_mutated_onnx_files(interop_dir, data):
    name = data.draw(st.sampled_from(_seeds(interop_dir)), label="seed")
    content = data.draw(ist.onnx_file((interop_dir / name).read_bytes()), label="onnx")
    with Workdir(interop_dir) as d:
        (d / "f.onnx").write_bytes(content)
        run_and_check(d, "onnx/import", "import", "f.onnx", "--out", "o.nnsproj",
                      outputs=["o.nnsproj", "o.runs"])


@settings(max_examples=examples(200))
@given(data=st.data())
def test_mutated_pytorch_run_folders(interop_dir, run_seed, data):
    edits = data.draw(ist.run_folder(run_seed["metrics"], run_seed["weights"],
                                     run_seed["export"]), label="edits")
    with Workdir(interop_dir) as d:
        for rel, content in edits.items():
            p = d / "torch" / rel
            if content is None:
                p.unlink(missing_ok=True)
            else:
                p.write_bytes(content)
        if data.draw(st.booleans(), label="--out"):
            run_and_check(d, "import-run/out", "import-run", "torch", "--out", "o.npz",
                          outputs=["o.npz"])
        else:
            run_and_check(d, "import-run", "import-run", "torch",
                          outputs=["torch/run/model.npz"])


def test_report_counts():
    """Not a check: prints how many commands the property tests ran, by outcome (``-s``)."""
    report("ONNX import and import-run", ("onnx/", "import-run"))
