"""Two defects found by an independent check (issue 15), through the real command.

* A regression network whose output keeps more than one axis per sample (a Conv2D map
  ``(2, 6, 7)`` for 84 targets, a recurrent layer with ``return_sequences`` for ``T·H``
  targets) trains, evaluates and predicts: the k-th target is the k-th output value in
  row-major order. It used to pass the project check and die with "internal error" in the
  loss. A network whose output holds the wrong number of values is refused with a message.
* A model trained on an NPZ with ``x_key``/``y_key`` reads the same arrays again in
  ``predict``, ``evaluate`` and the standalone ``predict.py``.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from tests.cli.test_cli import assert_bad_input, nnstudio, read_csv


def _project(path, dataset, nodes, **training):
    edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
    train = {"loss": "mse", "optimizer": {"type": "adam", "learning_rate": 0.01},
             "batch_size": 12, "epochs": 3, "seed": 0}
    train.update(training)
    path.write_text(json.dumps({"format": "nnstudio.project", "version": 1, "dataset": dataset,
                                "network": {"nodes": nodes, "edges": edges},
                                "training": train}))
    return path


CONV = [{"id": "in", "type": "Input"},
        {"id": "c", "type": "Conv2D", "filters": 2, "kernel_size": [3, 3]}]
SEQ = [{"id": "in", "type": "Input"},
       {"id": "r", "type": "LSTM", "units": 4, "return_sequences": True}]


@pytest.mark.parametrize("case", ["conv", "sequence"])
def test_regression_with_a_multi_axis_output_trains_evaluates_and_predicts(tmp_path, case):
    rng = np.random.default_rng(0)
    if case == "conv":  # (1, 8, 9) → Conv2D 2 3x3 → (2, 6, 7): 84 values
        x, nodes = rng.normal(size=(80, 1, 8, 9)), CONV
        w = rng.normal(size=(72, 84)) / 9
        y = x.reshape(80, -1) @ w
    else:  # (5, 3) → LSTM 4 seq → (5, 4): 20 values
        x, nodes = rng.normal(size=(80, 5, 3)), SEQ
        y = np.tanh(np.repeat(x, 2, axis=2)[:, :, :4].reshape(80, -1))
    np.savez(tmp_path / "d.npz", x=x, y=y)
    project = _project(tmp_path / "p.nnsproj", {"source": "d.npz"}, nodes, epochs=40)
    r0 = nnstudio("train", project, "--epochs", "0", "--out", tmp_path / "m0.npz", cwd=tmp_path)
    assert r0.returncode == 0, r0.stderr
    r = nnstudio("train", project, "--out", tmp_path / "m.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    ev = [nnstudio("evaluate", tmp_path / m, "--data", "d.npz", cwd=tmp_path)
          for m in ("m0.npz", "m.npz")]
    assert all(e.returncode == 0 for e in ev), [e.stderr for e in ev]

    def r2(out: str) -> float:
        return float(out.split("r2")[1].split()[0])

    # It learned: the trained model explains the targets much better than the untrained one.
    assert r2(ev[1].stdout) > r2(ev[0].stdout) + 0.3, (ev[0].stdout, ev[1].stdout)
    p = nnstudio("predict", "m.npz", "--data", "d.npz", "--out", "p.csv", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    rows = read_csv(tmp_path / "p.csv")
    assert len(rows) == 81 and len(rows[0]) == y.shape[1]


def test_regression_output_with_the_wrong_number_of_values_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(40, 1, 8, 9)), y=rng.normal(size=(40, 80)))
    project = _project(tmp_path / "p.nnsproj", {"source": "d.npz"}, CONV)
    r = nnstudio("train", project, "--epochs", "0", "--out", "m.npz", cwd=tmp_path)
    assert_bad_input(r, "(2, 6, 7)", "80 target value(s)")
    assert "internal error" not in r.stderr


def test_npz_keys_are_remembered_by_predict_evaluate_and_predict_py(tmp_path):
    rng = np.random.default_rng(1)
    # The inputs are not the first array and neither name is a usual one (x, y, labels...).
    np.savez(tmp_path / "d.npz", aaa_noise=rng.normal(size=(90, 3)),
             feats=rng.normal(size=(90, 6)), resp=rng.normal(size=(90,)))
    nodes = [{"id": "in", "type": "Input"}, {"id": "o", "type": "Dense", "units": 1}]
    project = _project(tmp_path / "p.nnsproj",
                       {"source": "d.npz", "x_key": "feats", "y_key": "resp"}, nodes)
    assert nnstudio("train", project, "--out", "m.npz", cwd=tmp_path).returncode == 0
    ev = nnstudio("evaluate", "m.npz", "--data", "d.npz", cwd=tmp_path)
    assert ev.returncode == 0, ev.stderr
    assert "90 samples" in ev.stdout
    pr = nnstudio("predict", "m.npz", "--data", "d.npz", "--out", "p.csv", cwd=tmp_path)
    assert pr.returncode == 0, pr.stderr
    ex = nnstudio("export", "m.npz", "--format", "numpy", "--out", "exp", cwd=tmp_path)
    assert ex.returncode == 0, ex.stderr
    st = subprocess.run([sys.executable, "exp/predict.py", "d.npz", "--out", "p2.csv"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert st.returncode == 0, st.stderr
    assert read_csv(tmp_path / "p.csv") == read_csv(tmp_path / "p2.csv")
    # A file without the trained arrays and no usual name: predict.py says which it needs.
    np.savez(tmp_path / "other.npz", a=rng.normal(size=(5, 6)), b=rng.normal(size=(5, 6)))
    st = subprocess.run([sys.executable, "exp/predict.py", "other.npz"], cwd=tmp_path,
                        capture_output=True, text=True, timeout=60)
    assert st.returncode == 2 and "'feats'" in st.stderr, st.stderr
