"""The real ``nnstudio`` command (``python -m nnstudio``) on real data, in subprocesses.

Exit status 0 on success, 2 on bad input (``error: <file>: <place>: ...`` on stderr, no
traceback, no output file), 1 for internal faults, 130 after Ctrl-C (best model saved).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.io.model_file import load_model

REPO = Path(__file__).resolve().parents[2]


def nnstudio(*args, cwd, timeout=180) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "nnstudio", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_bad_input(r, *fragments, after_progress=False):
    """Exit 2, one ``error:`` message (the only output, unless training had started)."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    if after_progress:
        assert r.stderr.splitlines()[-1].startswith("error: "), r.stderr
    else:
        assert r.stderr.startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    for f in fragments:
        assert str(f) in r.stderr, (f, r.stderr)


def write_project(path: Path, dataset: dict, nodes: list, edges: list, **training) -> Path:
    train = {"loss": "mse", "optimizer": {"type": "adam", "learning_rate": 0.01},
             "batch_size": 32, "epochs": 20, "seed": 0}
    train.update(training)
    d = {"format": "nnstudio.project", "version": 2, "dataset": dataset,
         "network": {"nodes": nodes, "edges": edges}, "training": train}
    path.write_text(json.dumps(d, indent=2))
    return path


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


LINEAR = ([{"id": "in", "type": "Input"}, {"id": "out", "type": "Dense", "units": 1}],
          [["in", "out"]])


@pytest.fixture
def salary_project(datasets, tmp_path) -> Path:
    """A project beside no data: the CSV is found relative to the project file."""
    folder = tmp_path / "proj"
    folder.mkdir()
    source = os.path.relpath(datasets / "salary" / "Salary_Data.csv", folder)
    return write_project(folder / "salary.nnsproj", {"source": source, "target": "Salary"},
                         *LINEAR, epochs=30, batch_size=8)


@pytest.fixture(scope="module")
def salary_model(datasets, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("salary")
    project = write_project(folder / "s.nnsproj",
                            {"source": str(datasets / "salary" / "Salary_Data.csv"),
                             "target": "Salary"}, *LINEAR, epochs=30, batch_size=8)
    r = nnstudio("train", project, "--out", folder / "s.npz", cwd=folder)
    assert r.returncode == 0, r.stderr
    return folder / "s.npz"


# -- train -----------------------------------------------------------------------------------------


def test_train_json_summary(salary_project, tmp_path):
    out = tmp_path / "model.npz"
    r = nnstudio("train", salary_project, "--out", out, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["epochs"] == 30 and summary["seconds"] >= 0
    assert set(summary["metrics"]) == {"train", "validation", "test"}
    for split in summary["metrics"].values():
        assert set(split) == {"loss", "mae", "rmse", "r2"}
    assert summary["metrics"]["test"]["r2"] > 0.8
    assert load_model(out).summary["epochs"] == 30
    # Piped: plain epoch lines on stderr, never a redrawn bar.
    assert "\r" not in r.stderr and "epoch 1/30" in r.stderr and "epoch 30/30" in r.stderr


def test_train_human_output_and_epochs_override(salary_project, tmp_path):
    r = nnstudio("train", salary_project, "--out", tmp_path / "m.npz", "--epochs", "3",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "trained 3 epoch(s)" in r.stdout and f"saved {tmp_path / 'm.npz'}" in r.stdout
    assert "r2" in r.stdout


def test_zero_epochs_writes_the_initialized_model(salary_project, tmp_path):
    r = nnstudio("train", salary_project, "--out", tmp_path / "m.npz", "--epochs", "0",
                 "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["epochs"] == 0
    assert load_model(tmp_path / "m.npz").summary["epochs"] == 0


def test_mnist_idx_train_evaluate_predict(datasets, tmp_path):
    d = datasets / "mnist-t10k"
    images, labels = d / "t10k-images-idx3-ubyte.gz", d / "t10k-labels-idx1-ubyte.gz"
    nodes = [{"id": "in", "type": "Input"}, {"id": "f", "type": "Flatten"},
             {"id": "h", "type": "Dense", "units": 32}, {"id": "a", "type": "ReLU"},
             {"id": "out", "type": "Dense", "units": 10}, {"id": "p", "type": "Softmax"}]
    edges = [["in", "f"], ["f", "h"], ["h", "a"], ["a", "out"], ["out", "p"]]
    project = write_project(tmp_path / "mnist.nnsproj",
                            {"source": str(images), "labels": str(labels), "scaling": "minmax"},
                            nodes, edges, loss="cross_entropy", batch_size=128)
    r = nnstudio("train", project, "--out", tmp_path / "m.npz", "--epochs", "1", "--json",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.splitlines()[-1])
    assert summary["metrics"]["test"]["accuracy"] > 0.7
    r = nnstudio("evaluate", tmp_path / "m.npz", "--data", images, "--labels", labels, "--json",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout.splitlines()[-1])
    assert ev["samples"] == 10_000 and set(ev["metrics"]) == {"loss", "accuracy"}
    r = nnstudio("predict", tmp_path / "m.npz", "--data", images, "--out", tmp_path / "p.csv",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = read_csv(tmp_path / "p.csv")
    assert rows[0] == ["prediction"] + [f"p_{i}" for i in range(10)]
    assert len(rows) == 10_001
    assert rows[1][0] in {str(i) for i in range(10)}
    assert abs(sum(float(v) for v in rows[1][1:]) - 1) < 1e-5
    r = nnstudio("evaluate", tmp_path / "m.npz", "--data", images, cwd=tmp_path)
    assert_bad_input(r, images, "--labels")


def test_king_county_with_zipcode(datasets, tmp_path):
    csv_path = datasets / "house" / "kc_house_data.csv"
    nodes = [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 16},
             {"id": "a", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 1}]
    project = write_project(tmp_path / "kc.nnsproj",
                            {"source": str(csv_path), "target": "price", "ignore": ["id"],
                             "categorical": ["zipcode"]},
                            nodes, [["in", "h"], ["h", "a"], ["a", "out"]], batch_size=256)
    r = nnstudio("train", project, "--out", tmp_path / "kc.npz", "--epochs", "1", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = nnstudio("predict", tmp_path / "kc.npz", "--data", csv_path, "--out",
                 tmp_path / "p.csv", "--keep", "id", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = read_csv(tmp_path / "p.csv")
    assert rows[0] == ["id", "prediction"] and len(rows) == 21_614
    assert rows[1][0] == "7129300520" and float(rows[1][1]) > 10_000
    r = nnstudio("evaluate", tmp_path / "kc.npz", "--data", csv_path, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert set(json.loads(r.stdout)["metrics"]) == {"loss", "mae", "rmse", "r2"}
    r = nnstudio("export", tmp_path / "kc.npz", "--format", "onnx", "--out",
                 tmp_path / "kc.onnx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "zipcode string[N, 1]" in r.stderr


# -- evaluate / predict / export on the salary model ----------------------------------------------


def test_evaluate_predict_export(salary_model, datasets, tmp_path):
    data = datasets / "salary" / "Salary_Data.csv"
    r = nnstudio("evaluate", salary_model, "--data", data, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ev = json.loads(r.stdout.splitlines()[-1])
    assert ev["samples"] == 31 and ev["metrics"]["r2"] > 0.8
    r = nnstudio("evaluate", salary_model, "--data", data, cwd=tmp_path)
    assert r.returncode == 0 and "r2" in r.stdout
    r = nnstudio("predict", salary_model, "--data", data, "--out", tmp_path / "p.csv",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rows = read_csv(tmp_path / "p.csv")
    assert rows[0] == ["prediction"] and len(rows) == 32
    model = load_model(salary_model)
    from nnstudio.core.data import load_table

    ours = model.predict_raw(load_table(data)).values[:, 0]
    np.testing.assert_allclose([float(x[0]) for x in rows[1:]], ours, rtol=1e-9)
    r = nnstudio("export", salary_model, "--format", "onnx", "--out", tmp_path / "s.onnx",
                 cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "s.onnx").stat().st_size > 0
    r = nnstudio("export", salary_model, "--format", "numpy", "--out", tmp_path / "np",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-I", str(tmp_path / "np" / "predict.py"), str(data)],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    np.testing.assert_allclose([float(x) for x in r.stdout.split()[1:]], ours, rtol=1e-5)


# -- bad input -----------------------------------------------------------------------------------


def _edit(project: Path, change) -> Path:
    d = json.loads(project.read_text())
    change(d)
    project.write_text(json.dumps(d, indent=1))
    return project


@pytest.mark.parametrize("case, change, fragments", [
    ("units", lambda d: d["network"]["nodes"][1].update(units=0),
     ["network.nodes[1] 'out': Dense needs 'units' ≥ 1 (got 0)"]),
    ("newer", lambda d: d.update(version=99),
     ["was written by a newer nnstudio (format version 99; this version reads up to 3)"]),
    ("target", lambda d: d["dataset"].update(target="salary"),
     ["Salary_Data.csv", "no column named 'salary'", "did you mean 'Salary'"]),
    ("source", lambda d: d["dataset"].update(source="nowhere.csv"),
     ["nowhere.csv", "file not found"]),
    ("output", lambda d: d["network"]["nodes"][1].update(units=2),
     ["network.nodes[1] 'out': outputs (2,)"]),
    ("loss", lambda d: d["training"].update(loss="cross_entropy"),
     ["training.loss: 'cross_entropy' is a classification loss"]),
])
def test_bad_projects(salary_project, tmp_path, case, change, fragments):
    _edit(salary_project, change)
    out = tmp_path / "m.npz"
    r = nnstudio("train", salary_project, "--out", out, cwd=tmp_path)
    assert_bad_input(r, *fragments)
    assert not out.exists()
    assert r.stdout == ""


def test_corrupt_project_json(tmp_path):
    (tmp_path / "p.nnsproj").write_text('{"format": "nnstudio.project",\n "version": 1,,}')
    r = nnstudio("train", tmp_path / "p.nnsproj", "--out", tmp_path / "m.npz", cwd=tmp_path)
    assert_bad_input(r, "p.nnsproj", "line 2, column 15")


@pytest.mark.parametrize("args, fragments", [
    (["train", "missing.nnsproj", "--out", "m.npz"], ["missing.nnsproj: no such file"]),
    (["train", "x.nnsproj", "--out", "no/such/dir/m.npz"], ["--out", "does not exist"]),
    (["train", "x.nnsproj"], ["--out MODEL.npz and/or --save"]),
    (["train", "x.nnsproj", "--out", "m.npz", "--epochs", "-1"], ["--epochs"]),
    (["evaluate", "missing.npz", "--data", "d.csv"], ["missing.npz: no such file"]),
    (["predict", "junk.npz", "--data", "d.csv", "--out", "p.csv"],
     ["junk.npz: is not an nnstudio model file"]),
    (["export", "junk.npz", "--format", "onnx", "--out", "m.onnx"], ["junk.npz"]),
    (["export", "junk.npz", "--format", "tflite", "--out", "m"], ["invalid choice"]),
])
def test_bad_arguments_and_files(tmp_path, args, fragments, monkeypatch, capsys):
    """In-process (these fail before any work, so the interpreter start-up would dominate)."""
    from nnstudio.cli import main

    (tmp_path / "junk.npz").write_text("not a model")
    (tmp_path / "x.nnsproj").write_text("{}")
    monkeypatch.chdir(tmp_path)
    code = main(args)
    out, err = capsys.readouterr()
    assert_bad_input(subprocess.CompletedProcess(args, code, out, err), *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.npz", "x.nnsproj"]


def test_bad_data_files(salary_model, datasets, tmp_path):
    (tmp_path / "nocol.csv").write_text("Years,Salary\n1,2\n")
    (tmp_path / "notarget.csv").write_text("YearsExperience\n1\n")
    (tmp_path / "text.csv").write_text("YearsExperience,Salary\nabc,1\n2,3\n")
    (tmp_path / "p.csv").write_text("old predictions\n")
    r = nnstudio("predict", salary_model, "--data", tmp_path / "nocol.csv", "--out",
                 tmp_path / "p.csv", cwd=tmp_path)
    assert_bad_input(r, "nocol.csv", "'YearsExperience'")
    assert (tmp_path / "p.csv").read_text() == "old predictions\n"  # untouched
    r = nnstudio("evaluate", salary_model, "--data", tmp_path / "notarget.csv", cwd=tmp_path)
    assert_bad_input(r, "notarget.csv", "no target column 'Salary'")
    r = nnstudio("predict", salary_model, "--data", tmp_path / "text.csv", "--out",
                 tmp_path / "q.csv", cwd=tmp_path)
    assert_bad_input(r, "text.csv")
    assert not (tmp_path / "q.csv").exists()
    r = nnstudio("predict", salary_model, "--data", tmp_path / "nothere.csv", "--out",
                 tmp_path / "q.csv", cwd=tmp_path)
    assert_bad_input(r, "nothere.csv", "file not found")
    r = nnstudio("predict", salary_model, "--data", datasets / "salary" / "Salary_Data.csv",
                 "--out", tmp_path / "q.csv", "--keep", "nope", cwd=tmp_path)
    assert_bad_input(r, "--keep", "'nope'")
    (tmp_path / "afile").write_text("x")
    r = nnstudio("export", salary_model, "--format", "numpy", "--out", tmp_path / "afile",
                 cwd=tmp_path)
    assert_bad_input(r, "afile", "is a file")


def test_diverging_run_writes_no_model(salary_project, tmp_path):
    _edit(salary_project,
          lambda d: d["training"].update(optimizer={"type": "sgd", "learning_rate": 1e6}))
    r = nnstudio("train", salary_project, "--out", tmp_path / "m.npz", cwd=tmp_path)
    assert_bad_input(r, "diverged", "salary.nnsproj", after_progress=True)
    assert not (tmp_path / "m.npz").exists()


# -- Ctrl-C, internal faults, help, selftest ------------------------------------------------------


def test_ctrl_c_stops_and_saves_the_best_model(datasets, tmp_path):
    project = REPO / "resources" / "examples" / "spirals.nnsproj"
    out = tmp_path / "m.npz"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnstudio", "train", str(project), "--out", str(out), "--json",
         "--epochs", "100000"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "epoch 1/" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        assert "epoch 1/" in line
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = json.loads(stdout.splitlines()[-1])
    assert summary["reason"] == "stopped" and summary["epochs"] >= 1
    model = load_model(out)
    assert model.summary["reason"] == "stopped"


def test_internal_fault_exit_1(monkeypatch, capsys):
    from nnstudio.cli import commands

    def boom(args):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(commands, "cmd_selftest", boom)
    assert commands.run_command(["selftest"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError: oops")
    assert "please report" in err and "Traceback" not in err
    assert commands.run_command(["selftest", "--debug"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_help_and_version(tmp_path):
    r = nnstudio("train", "-h", cwd=tmp_path)
    assert r.returncode == 0 and "--epochs" in r.stdout
    r = nnstudio("--version", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("nnstudio ")


def test_selftest_is_fast_and_passes(tmp_path):
    t0 = time.perf_counter()
    r = nnstudio("selftest", cwd=tmp_path)
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert "selftest passed" in r.stdout
    for check in ("training", "model file", "onnx export", "onnxruntime", "numpy predictor"):
        assert f"ok   {check}:" in r.stdout
    assert seconds < 10, seconds


def test_commands_never_import_qt(tmp_path):
    code = (
        "import sys\n"
        "from nnstudio.cli import main\n"
        "assert main(['selftest', '--json']) == 0\n"
        "qt = ('PySide6', 'pyqtgraph', 'shiboken6')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in qt]\n"
        "print('QT:' + ','.join(bad))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "QT:", r.stdout
