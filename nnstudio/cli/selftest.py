"""``nnstudio selftest``: a fast, headless health check (also the frozen app's smoke test).

It trains a tiny network on the built-in XOR example, saves and reloads the model file,
exports ONNX and checks it with ``onnx.checker``, runs it in onnxruntime when that is
installed, and runs the standalone NumPy predictor's code on the same rows; every prediction
must agree. Each check prints one line; any failure makes the command exit 1.
"""

from __future__ import annotations

import csv
import importlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_NETWORK = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 8},
              {"id": "a", "type": "Tanh"}, {"id": "out", "type": "Dense", "units": 2},
              {"id": "p", "type": "Softmax"}],
    "edges": [["in", "h"], ["h", "a"], ["a", "out"], ["out", "p"]],
}
_PROJECT = {
    "format": "nnstudio.project", "version": 1,
    "dataset": {"example": "xor", "target": "label",
                "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 0}},
    "network": _NETWORK,
    "training": {"loss": "cross_entropy", "optimizer": {"type": "adam", "learning_rate": 0.05},
                 "batch_size": 32, "epochs": 40, "seed": 0},
}


class CheckFailedError(Exception):
    pass


def run_selftest(print_line: Callable[[str], None] | None = print) -> tuple[bool, list[dict]]:
    """Run every check; returns ``(all passed, [{"check", "ok", "detail", "seconds"}])``."""
    checks: list[dict[str, Any]] = []
    state: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="nnstudio-selftest-") as tmp:
        state["dir"] = Path(tmp)
        for name, fn in _CHECKS:
            t0 = time.perf_counter()
            try:
                detail = fn(state)
                ok = True
            except Exception as e:  # report every failure, keep going where possible
                detail, ok = f"{type(e).__name__}: {e}", False
            seconds = time.perf_counter() - t0
            checks.append({"check": name, "ok": ok, "detail": detail,
                           "seconds": round(seconds, 3)})
            if print_line:
                print_line(f"{'ok  ' if ok else 'FAIL'} {name}: {detail} ({seconds:.2f} s)")
            if not ok and name in _REQUIRED:
                break
    passed = all(c["ok"] for c in checks) and len(checks) == len(_CHECKS)
    if print_line:
        print_line("selftest passed" if passed else "selftest FAILED")
    return passed, checks


def _versions(state):
    import platform

    from nnstudio import __version__

    return f"nnstudio {__version__}, Python {platform.python_version()}, NumPy {np.__version__}"


def _examples(state):
    from nnstudio.resources import resource_path

    folder = resource_path("examples")
    found = sorted(p.name for p in folder.glob("*.nnsproj")) if folder.is_dir() else []
    if not found:
        raise CheckFailedError(f"no example projects in {folder}")
    from nnstudio.core.io.project import load_project

    for name in found:
        load_project(folder / name)
    return f"{len(found)} example projects load ({', '.join(found)})"


def _train(state):
    from nnstudio.core.io.pipeline import load_data, run_training
    from nnstudio.core.io.project import Project

    project = Project.from_dict(_PROJECT, where="selftest project")
    prepared = load_data(project)
    model = run_training(project, prepared)
    acc = model.summary["metrics"]["train"]["accuracy"]
    if acc < 0.8:
        raise CheckFailedError(f"XOR train accuracy {acc:.2f} < 0.80")
    state.update(model=model, prepared=prepared, x=prepared.x_test)
    return f"XOR 2-8-2, {model.summary['epochs']} epochs, train accuracy {acc:.3f}"


def _model_file(state):
    from nnstudio.core.io.model_file import load_model, save_model

    path = state["dir"] / "model.npz"
    save_model(state["model"], path)
    again = load_model(path)
    a = state["model"].output(state["x"])
    b = again.output(state["x"])
    if not np.array_equal(a, b):
        raise CheckFailedError("reloaded model predicts differently")
    state["reference"] = state["model"].predict_prepared(state["x"]).probabilities
    return f"saved and reloaded ({path.stat().st_size:,} bytes), identical predictions"


def _raw_rows(state):
    """The test rows as raw values, written to a CSV (for ONNX and the NumPy predictor)."""
    from nnstudio.core.data import EXAMPLES

    table = EXAMPLES["xor"].make(seed=0).take(state["prepared"].indices["test"])
    path = state["dir"] / "rows.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["x1", "x2"])
        w.writerows(zip(table["x1"].as_strings(), table["x2"].as_strings(), strict=True))
    state["rows"] = np.stack([table["x1"].values, table["x2"].values], axis=1)
    state["csv"] = path
    ours = state["model"].predict_raw(table).probabilities
    _close(ours, state["reference"], "raw-row predictions")
    return f"{len(table)} raw test rows prepared like training"


def _onnx(state):
    import onnx

    from nnstudio.core.io.onnx_export import export_onnx

    path = state["dir"] / "model.onnx"
    info = export_onnx(state["model"], path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    state["onnx"] = path
    return f"exported and checked (onnx {onnx.__version__}, opset {info.opset})"


def _onnxruntime(state):
    try:
        ort = importlib.import_module("onnxruntime")
    except ImportError:
        return "onnxruntime not installed: skipped (the NumPy predictor is checked instead)"
    sess = ort.InferenceSession(str(state["onnx"]), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    out = dict(zip(names, sess.run(None, {"features": state["rows"]}), strict=True))
    err = _close(out["probabilities"], state["reference"], "onnxruntime")
    return f"onnxruntime {ort.__version__} matches (max relative difference {err:.1e})"


def _numpy_predictor(state):
    from nnstudio.core.io import numpy_export

    folder = state["dir"] / "standalone"
    folder.mkdir()
    numpy_export.write_weights(state["model"], folder / "weights.npz")
    template = importlib.import_module("nnstudio.core.io.standalone_template")
    _, probs, _ = template.predict(state["csv"], folder)
    err = _close(probs, state["reference"], "standalone NumPy predictor")
    detail = f"standalone predictor code matches (max relative difference {err:.1e})"
    try:
        numpy_export.render_script(state["model"])
    except Exception as e:
        raise CheckFailedError(f"{detail}, but predict.py cannot be generated: {e}") from None
    return detail + "; predict.py generated"


def _close(a, b, what: str) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise CheckFailedError(f"{what}: shape {a.shape} != {b.shape}")
    err = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-6))) if a.size else 0.0
    if err > 1e-5:
        raise CheckFailedError(f"{what}: predictions differ (max relative difference {err:.1e})")
    return err


_CHECKS = [
    ("versions", _versions),
    ("example projects", _examples),
    ("training", _train),
    ("model file", _model_file),
    ("raw rows", _raw_rows),
    ("onnx export", _onnx),
    ("onnxruntime", _onnxruntime),
    ("numpy predictor", _numpy_predictor),
]
#: Checks the later ones depend on: stop after one of these fails.
_REQUIRED = {"training", "model file", "raw rows", "onnx export"}
