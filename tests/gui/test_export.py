"""Export from the GUI: .npz, ONNX (checked in onnxruntime), NumPy folder; failures."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.data import EXAMPLES, DatasetSpec, build_dataset
from nnstudio.core.graph import ReplaceAll
from nnstudio.core.io.model_file import load_model

pytestmark = pytest.mark.gui

REGRESSOR = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 16},
              {"id": "a", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 1}],
    "edges": [["in", "h"], ["h", "a"], ["a", "out"]],
}
CLASSIFIER = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 8},
              {"id": "a", "type": "Tanh"}, {"id": "out", "type": "Dense", "units": 3},
              {"id": "p", "type": "Softmax"}],
    "edges": [["in", "h"], ["h", "a"], ["a", "out"], ["out", "p"]],
}


@pytest.fixture
def window(workflow_window):
    return workflow_window


def trained(qtbot, window, example: str, network: dict, epochs: int = 10):
    window.undo_stack.push_command(ReplaceAll(window.document, network))
    spec = DatasetSpec(example=example)
    window.workflow.adopt_dataset(spec, build_dataset(spec))
    panel = window.workflow.training
    panel.epochs.setValue(epochs)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=60_000):
        panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    dialog = window.workflow.open_export_dialog()
    qtbot.addWidget(dialog)
    return dialog


def test_export_all_three_formats_from_the_dialog(qtbot, window, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from nnstudio.core.io.onnx_export import onnx_feeds

    dialog = trained(qtbot, window, "house_price", REGRESSOR)
    model = window.workflow.session.model
    table = EXAMPLES["house_price"].make(seed=0)
    expected = model.predict_raw(table).values

    dialog.set_format("npz")
    dialog.path.setText(str(tmp_path / "house"))
    assert dialog.export()
    assert dialog.path.text().endswith("house.npz")
    again = load_model(tmp_path / "house.npz")
    assert np.allclose(again.predict_raw(table).values, expected)
    assert again.architecture["nodes"][0]["pos"] is not None  # the canvas layout travels

    dialog.set_format("onnx")
    dialog.path.setText(str(tmp_path / "house.onnx"))
    assert dialog.export() and "Exported" in dialog.banner.text()
    sess = ort.InferenceSession(str(tmp_path / "house.onnx"),
                                providers=["CPUExecutionProvider"])
    (out,) = [o for o in sess.run(["prediction"], onnx_feeds(model, table))]
    assert np.allclose(out.reshape(-1), expected.reshape(-1), rtol=1e-4)

    dialog.set_format("numpy")
    folder = tmp_path / "standalone"
    dialog.path.setText(str(folder))
    assert dialog.export()
    assert (folder / "predict.py").is_file()
    src = tmp_path / "rows.csv"
    src.write_text("area_m2,location\n120,city\n")
    run = subprocess.run([sys.executable, str(folder / "predict.py"), str(src)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    got = float(run.stdout.strip().splitlines()[-1].split(",")[-1])
    want = model.predict_raw([{"area_m2": 120, "location": "city"}]).values[0, 0]
    assert got == pytest.approx(want, rel=1e-5)


def test_classifier_onnx_gives_the_same_classes(qtbot, window, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from nnstudio.core.io.onnx_export import onnx_feeds

    dialog = trained(qtbot, window, "blobs", CLASSIFIER, epochs=20)
    dialog.set_format("onnx")
    dialog.path.setText(str(tmp_path / "blobs.onnx"))
    assert dialog.export()
    model = window.workflow.session.model
    table = EXAMPLES["blobs"].make(seed=0)
    sess = ort.InferenceSession(str(tmp_path / "blobs.onnx"),
                                providers=["CPUExecutionProvider"])
    labels, probs = sess.run(["prediction", "probabilities"], onnx_feeds(model, table))
    core = model.predict_raw(table)
    assert list(labels) == list(core.values)
    assert np.allclose(probs, core.probabilities, atol=1e-5)


def test_unwritable_place_is_explained_and_leaves_nothing(qtbot, window, tmp_path):
    dialog = trained(qtbot, window, "salary", REGRESSOR, epochs=2)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dialog.set_format("onnx")
    dialog.path.setText(str(blocker / "model.onnx"))
    assert not dialog.export()
    assert "is a file, not a folder" in dialog.error.text() and not dialog.error.isHidden()
    dialog.set_format("numpy")
    dialog.path.setText(str(blocker))
    assert not dialog.export()
    assert "needs a folder name" in dialog.error.text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize("kind", ["npz", "onnx", "numpy"])
def test_disk_full_is_explained_and_leaves_no_partial_file(qtbot, window, tmp_path,
                                                            monkeypatch, kind):
    dialog = trained(qtbot, window, "salary", REGRESSOR, epochs=2)
    real_fsync = os.fsync

    def full(*args):  # the data never reaches the disk: ENOSPC at the flush
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    if kind == "numpy":  # the folder export writes plain files: fail half-way through one
        from nnstudio.core.io import numpy_export

        def half_written(model, path):
            path.write_bytes(b"PK\x03\x04 partial")
            full()

        monkeypatch.setattr(numpy_export, "write_weights", half_written)
    dialog.set_format(kind)
    target = tmp_path / {"npz": "m.npz", "onnx": "m.onnx", "numpy": "m-numpy"}[kind]
    dialog.path.setText(str(target))
    assert not dialog.export()
    monkeypatch.setattr(os, "fsync", real_fsync)
    text = dialog.error.text()
    assert "disk is full" in text or "No space left" in text, text
    assert list(tmp_path.iterdir()) == []


def test_export_needs_a_model(qtbot, window):
    errors = []
    window.show_error = lambda title, text: errors.append(text)
    assert window.workflow.open_export_dialog() is None
    assert errors and "Train" in errors[0]
    assert not window.workflow.actions["export"].isEnabled()


def test_the_dialog_keeps_the_projects_name_and_remembers_the_folder(qtbot, window,
                                                                     tmp_path):
    import stat

    project = tmp_path / "proj" / "house_price.nnsproj"
    project.parent.mkdir()
    window.project.path = str(project)
    dialog = trained(qtbot, window, "house_price", REGRESSOR, epochs=2)
    assert Path(dialog.path.text()).name == "house_price.npz"
    dialog.set_format("onnx")
    assert Path(dialog.path.text()).name == "house_price.onnx"  # not model.onnx
    dialog.set_format("numpy")
    assert Path(dialog.path.text()).name == "house_price-numpy"
    out = tmp_path / "exports"
    out.mkdir()
    dialog.path.setText(str(out / "house_price-numpy"))
    old = os.umask(0o022)
    try:
        assert dialog.export()
    finally:
        os.umask(old)
    mode = stat.S_IMODE((out / "house_price-numpy").stat().st_mode)
    assert mode == 0o755  # the umask's, not mkdtemp's 0700
    # A new dialog starts in the folder of the last export, with the project's name.
    again = window.workflow.open_export_dialog()
    qtbot.addWidget(again)
    assert Path(again.path.text()) == out / "house_price.npz"
    # Another project starts in its own folder, not where the first one was exported to;
    # the first still starts where it was.
    other = tmp_path / "other" / "salary.nnsproj"
    other.parent.mkdir()
    window.project.path = str(other)
    fresh = window.workflow.open_export_dialog()
    qtbot.addWidget(fresh)
    assert Path(fresh.path.text()) == other.parent / "salary.npz"
    window.project.path = str(project)
    back = window.workflow.open_export_dialog()
    qtbot.addWidget(back)
    assert Path(back.path.text()) == out / "house_price.npz"


def test_a_pytorch_export_is_written_off_the_gui_thread_and_cancel_writes_nothing(
        qtbot, window, tmp_path, monkeypatch):
    import threading

    from PySide6.QtCore import Qt, QTimer

    import nnstudio.core.io.export_pytorch as export_pytorch

    dialog = trained(qtbot, window, "salary", REGRESSOR, epochs=2)
    dialog.show()
    # The data step waits for the test (a large image set's arrays take this long), then
    # does its real work.
    entered, gate = threading.Event(), threading.Event()
    real = export_pytorch._data_files

    def slow(*args, **kwargs):
        entered.set()
        gate.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(export_pytorch, "_data_files", slow)
    out = tmp_path / "out"
    out.mkdir()
    dialog.set_format("pytorch")
    dialog.path.setText(str(out / "salary-pytorch"))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(entered.is_set, timeout=10_000)
    assert dialog.busy and dialog.cancel_button.isVisible() and dialog.progress.isVisible()
    assert not dialog.close_button.isEnabled() and not dialog.export_button.isEnabled()
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.wait(200)  # the GUI thread serves its events while the worker writes
    timer.stop()
    assert len(ticks) >= 5
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert "Cancelling" in dialog.banner.text() and not dialog.cancel_button.isEnabled()
    dialog.close()  # refused while the worker still writes
    assert dialog.isVisible() and dialog.busy
    gate.set()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=20_000)
    assert "Nothing was written" in dialog.banner.text()
    assert list(out.iterdir()) == []  # no folder, no temporary
    assert dialog.export_button.isEnabled() and dialog.close_button.isEnabled()
    # Not cancelled, the same export completes.
    assert dialog.export(), dialog.error.text()
    assert (out / "salary-pytorch" / "train.py").is_file()
    assert [p.name for p in out.iterdir()] == ["salary-pytorch"]
