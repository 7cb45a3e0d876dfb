"""The exported project trains: train.py runs the same training as nnstudio, torchrun keeps
the processes identical, and import-run brings the result back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nnstudio.cli import main as cli_main
from nnstudio.core.errors import ProjectError
from nnstudio.core.io import load_model
from nnstudio.core.io.export_pytorch import export_pytorch
from nnstudio.core.io.pipeline import load_data, run_training
from nnstudio.core.io.run_import import read_run

from .conftest import chain, make_project
from .pytorch_helpers import exported_modules, rel_error

torch = pytest.importorskip("torch")

#: One thread per process: the machine is shared, and results must not depend on it.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}


def house_project(tmp_path, **training):
    return make_project(
        {"example": "house_price", "target": "price"},
        chain("Input", ("Dense", {"units": 8}), "ReLU", ("Dense", {"units": 8}), "Tanh",
              ("Dense", {"units": 1})),
        base_dir=tmp_path, batch_size=32,
        **{"optimizer": {"type": "adam", "learning_rate": 0.01}, **training})


def train_py(folder, *args, timeout=300):
    run = subprocess.run([sys.executable, str(folder / "train.py"), "--threads", "1", *args],
                         capture_output=True, text=True, timeout=timeout, env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_round_trip_export_train_import_run(tmp_path, capsys):
    project = house_project(tmp_path, early_stopping={"patience": 10},
                            schedule={"type": "cosine", "min_lr": 0.001})
    prepared = load_data(project)
    out = export_pytorch(tmp_path / "export", project=project, prepared=prepared)
    run = train_py(out, "--epochs", "3")
    assert "epoch 3/3" in run.stdout

    model = read_run(out / "run", prepared)
    assert len(model.history["loss"]) == 3
    assert model.summary["trained_with"] == "pytorch"
    # the imported run predicts what the PyTorch model predicts
    x = prepared.x_test
    with exported_modules(out) as m:
        net = m.model.Net().eval()
        m.nnstudio_layers.load_weights(net, out / "run" / "weights.npz")
        with torch.no_grad():
            want = net(torch.as_tensor(x)).numpy()
    assert rel_error(model.output(x), want) <= 1e-5
    # ... and the training itself was nnstudio's: same start, same batches, same steps
    ours = run_training(project, prepared, epochs=3)
    for key in ("loss", "val_loss", "learning_rate"):
        np.testing.assert_allclose(model.history[key], ours.history[key], rtol=1e-4,
                                   err_msg=key)
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    assert metrics["summary"]["reason"] == "completed"
    # train.py reports the test scores as nnstudio does (regression: in the target's units)
    for key, value in model.summary["metrics"]["test"].items():
        assert metrics["summary"]["metrics"]["test"][key] == pytest.approx(value, rel=1e-4)
    assert (out / "run" / "metrics.csv").read_text().splitlines()[0].startswith("epoch,loss")

    # the command line does the same and writes a model file nnstudio opens
    assert cli_main(["import-run", str(out / "run"), "--out", str(tmp_path / "m.npz")]) == 0
    again = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.output(x), model.output(x))
    assert again.history["val_loss"] == model.history["val_loss"]


def test_cli_export_project_then_classifier_trains(tmp_path, capsys):
    """A classifier with a fused Softmax, SGD with momentum and a step schedule."""
    project = make_project(
        {"example": "blobs"},
        chain("Input", ("Dense", {"units": 8}), "ReLU", ("Dense", {"units": 3}), "Softmax"),
        base_dir=tmp_path, loss="cross_entropy", batch_size=16,
        optimizer={"type": "sgd", "learning_rate": 0.1, "momentum": 0.9},
        schedule={"type": "step", "step_size": 1, "gamma": 0.5}, weight_decay=1e-3)
    path = tmp_path / "blobs.nnsproj"
    from nnstudio.core.io.project import save_project

    save_project(project, path)
    out = tmp_path / "blobs-torch"
    assert cli_main(["export", str(path), "--format", "pytorch", "--out", str(out)]) == 0
    train_py(out, "--epochs", "2")
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    ours = run_training(project, load_data(project), epochs=2)
    np.testing.assert_allclose(metrics["history"]["loss"], ours.history["loss"], rtol=1e-4)
    np.testing.assert_allclose(metrics["history"]["accuracy"], ours.history["accuracy"])
    assert metrics["history"]["learning_rate"] == [0.1, 0.05]


def test_resume_continues_the_same_run(tmp_path):
    """2 epochs, then --resume to 4: the curves of 4 epochs in one go (dropout included)."""
    project = make_project(
        {"example": "house_price", "target": "price"},
        chain("Input", ("Dense", {"units": 8}), "ReLU", ("Dropout", {"rate": 0.3}),
              ("Dense", {"units": 1})), base_dir=tmp_path, early_stopping={"patience": 5})
    out = export_pytorch(tmp_path / "export", project=project)
    train_py(out, "--epochs", "2")
    train_py(out, "--epochs", "4", "--resume")
    train_py(out, "--epochs", "4", "--out", str(tmp_path / "straight"))
    resumed = json.loads((out / "run" / "metrics.json").read_text())["history"]
    straight = json.loads((tmp_path / "straight" / "metrics.json").read_text())["history"]
    assert len(resumed["loss"]) == 4
    for key in straight:
        np.testing.assert_allclose(resumed[key], straight[key], rtol=1e-6, err_msg=key)


def test_import_run_adds_a_run_to_the_project(tmp_path, capsys):
    """nnstudio train --save, export the project (its trained weights go along), train with
    PyTorch, import-run: the project gets a new current run with its curves."""
    from nnstudio.core.io import open_trained
    from nnstudio.core.io.project import load_project, save_project

    path = tmp_path / "house.nnsproj"
    save_project(house_project(tmp_path), path)
    assert cli_main(["train", str(path), "--save", "--epochs", "1", "--quiet"]) == 0
    out = tmp_path / "torch"
    assert cli_main(["export", str(path), "--format", "pytorch", "--out", str(out)]) == 0
    np.testing.assert_array_equal(np.load(out / "weights.npz")["n1/W"],
                                  load_project(path).trained_model().network
                                  .state_dict()["n1/W"])
    train_py(out, "--epochs", "2", "--init", str(out / "weights.npz"))
    assert cli_main(["import-run", str(out)]) == 0
    assert "current run" in capsys.readouterr().err
    project = load_project(path)
    assert [r.kind for r in project.runs] == ["train", "import"]
    run = project.runs.current
    assert run.kind == "import" and run.epochs == 2 and len(run.history["loss"]) == 2
    assert run.data_fp == project.runs.runs[0].data_fp != ""  # the same data
    x = load_data(project).x_test
    with exported_modules(out) as m:
        net = m.model.Net().eval()
        m.nnstudio_layers.load_weights(net, out / "run" / "weights.npz")
        with torch.no_grad():
            want = net(torch.as_tensor(x)).numpy()
    assert rel_error(open_trained(path).output(x), want) <= 1e-5
    # a project whose network changed since is not given a run of another network
    project.network["nodes"][1]["units"] = 4
    save_project(project, path)
    assert cli_main(["import-run", str(out)]) == 2
    assert "not the project's" in capsys.readouterr().err


def test_cli_export_errors_are_one_line(tmp_path, capsys):
    project = house_project(tmp_path)
    from nnstudio.core.io.project import save_project

    save_project(project, tmp_path / "p.nnsproj")
    (tmp_path / "file").write_text("x")
    assert cli_main(["export", str(tmp_path / "p.nnsproj"), "--format", "pytorch",
                     "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert cli_main(["import-run", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "metrics.json" in err and "Traceback" not in err


def test_import_run_refuses_weights_that_do_not_fit(tmp_path):
    project = house_project(tmp_path)
    out = export_pytorch(tmp_path / "export", project=project)
    (out / "run").mkdir()
    (out / "run" / "metrics.json").write_text(json.dumps(
        {"format": "nnstudio.pytorch_run", "version": 1, "history": {}, "summary": {}}))
    np.savez(out / "run" / "weights.npz", **{"n1/W": np.zeros((2, 2), np.float32)})
    with pytest.raises(ProjectError, match="do not fit"):
        read_run(out / "run")


@pytest.mark.slow
def test_torchrun_two_processes_keep_identical_weights(tmp_path):
    """DistributedDataParallel on CPU (gloo), 2 processes, 2 epochs of the house prices:
    every process ends with the same weights, and they are nnstudio's training's."""
    project = house_project(tmp_path)
    prepared = load_data(project)
    out = export_pytorch(tmp_path / "export", project=project, prepared=prepared)
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
         "2", str(out / "train.py"), "--epochs", "2", "--threads", "1", "--weights-per-rank"],
        capture_output=True, text=True, timeout=600, env=ENV, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "on 2 process(es)" in run.stdout
    with np.load(out / "run" / "weights.rank0.npz") as a, \
            np.load(out / "run" / "weights.rank1.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        final = {k: a[k] for k in a.files}
    ours = run_training(project, prepared, epochs=2).network.state_dict()
    for k, v in ours.items():
        assert rel_error(final[k], v) <= 1e-3, k
