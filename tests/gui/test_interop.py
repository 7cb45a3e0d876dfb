"""File ▸ Export as a PyTorch project, File ▸ Import ONNX… and Import Run… in the window."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from .test_export import REGRESSOR, trained

pytestmark = pytest.mark.gui
torch = pytest.importorskip("torch")


@pytest.fixture
def window(workflow_window):
    return workflow_window


def test_export_dialog_writes_a_pytorch_project_that_trains(qtbot, window, tmp_path):
    dialog = trained(qtbot, window, "house_price", REGRESSOR, epochs=2)
    session = window.workflow.session
    dialog.set_format("pytorch")
    folder = tmp_path / "torch-project"
    dialog.path.setText(str(folder))
    assert dialog.export(), dialog.error.text()
    assert "train.py" in dialog.banner.text()
    info = json.loads((folder / "export.json").read_text())
    assert info["project"] == (str(session.project.path.resolve()) if session.project.path
                               else None)
    assert {"model.py", "train.py", "data.py", "weights.npz", "split.npz"} <= \
        {p.name for p in folder.iterdir()}
    # the split is the session's: the same test rows
    with np.load(folder / "split.npz") as z:
        np.testing.assert_array_equal(z["test"], session.prepared.indices["test"])
    # the exported weights are the trained model's
    with np.load(folder / "weights.npz") as z:
        np.testing.assert_array_equal(z["h/W"], session.model.network.state_dict()["h/W"])
    run = subprocess.run([sys.executable, str(folder / "train.py"), "--epochs", "1",
                          "--threads", "1"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": ""})
    assert run.returncode == 0, run.stderr[-2000:]

    # File ▸ Import Run… brings it back as the current model, with its curve
    window.interop.start_run(folder / "run")
    qtbot.waitUntil(lambda: "Imported a run" in getattr(window.interop, "last_message", ""),
                    timeout=30_000)
    model = session.model
    assert session.current_run.kind == "import" and len(session.runs) == 2
    assert model.summary["trained_with"] == "pytorch"
    assert len(model.history["loss"]) == 1
    metrics = json.loads((folder / "run" / "metrics.json").read_text())
    assert model.history["loss"] == metrics["history"]["loss"]


def test_import_onnx_opens_the_network_on_the_canvas(qtbot, window, tmp_path):
    trained(qtbot, window, "house_price", REGRESSOR, epochs=1).close()  # data (4,) loaded
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.ReLU(),
                                 torch.nn.Linear(6, 2)).eval()
    path = tmp_path / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(1, 5),), str(path), dynamo=False,
                          input_names=["x"])
    target = tmp_path / "net.nnsproj"
    window.interop.start_onnx(path, target)
    qtbot.waitUntil(lambda: "Imported" in getattr(window.interop, "last_message", ""),
                    timeout=30_000)
    types = [window.document.node(n).type for n in window.document.node_ids]
    assert types == ["Input", "Dense", "ReLU", "Dense"]
    assert window.document.report.ok  # no leftover input shape of the old data
    assert target.is_file()
    # the weights are the opened project's current run: the window's model
    session = window.workflow.session
    assert [r.kind for r in session.runs] == ["import"]
    qtbot.waitUntil(lambda: session.model is not None, timeout=30_000)
    x = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(session.model.output(x), want, rtol=1e-5, atol=1e-6)


def test_import_of_a_broken_file_is_one_message(qtbot, window, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"nothing")
    errors = []
    window.show_error = lambda title, text: errors.append(text)
    window.interop.start_onnx(bad, tmp_path / "bad.nnsproj")
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert "is not a valid ONNX model" in errors[0]
    assert not (tmp_path / "bad.nnsproj").exists()
