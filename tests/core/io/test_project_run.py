"""A project keeps its runs: JSON in the project, each run's weights and start in files of
the runs folder beside it (no pickle); version-1 files (a ``run`` record and
``<name>.run.npz``) migrate; broken runs are one readable problem and the design still
loads; saving is atomic, a kill during Save leaves the previous project readable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.errors import ProjectError
from nnstudio.core.insight import RunRecord
from nnstudio.core.io import open_trained
from nnstudio.core.io.model_file import save_model
from nnstudio.core.io.pipeline import build_network, load_data, run_training, split_arrays
from nnstudio.core.io.project import (
    PROJECT_VERSION,
    V1_RUN_ID,
    Project,
    _arrays_fingerprint,
    load_project,
    run_arrays_path,
    save_project,
)
from nnstudio.core.io.runs import RunHistory, run_from_model, runs_dir
from nnstudio.core.training import EpochEnd, train
from nnstudio.resources import resource_path

XOR = resource_path("examples", "xor.nnsproj")
REPO = Path(__file__).resolve().parents[3]


def losses(events) -> list[tuple[float, float]]:
    return [(e.loss, e.val_loss) for e in events if isinstance(e, EpochEnd)]


def _record(project, prepared, net):
    splits = split_arrays(prepared)
    return RunRecord.capture(
        net, project.training, split=project.dataset.split.to_dict(),
        split_indices=prepared.indices, train_data=splits["train"],
        val_data=splits["validation"])


def _train_run(project, prepared, epochs=3, lr=None):
    """A trained run of ``project`` (not added)."""
    if lr is not None:
        project.training.optimizer["learning_rate"] = lr
    net = build_network(project, prepared)
    record = _record(project, prepared, net)
    model = run_training(project, prepared, epochs=epochs, network=net)
    return run_from_model(project.runs, model, record=record, data_fp=record.data_fingerprint,
                          network=project.network)


@pytest.fixture
def xor(tmp_path):
    shutil.copy(XOR, tmp_path / "xor.nnsproj")
    project = load_project(tmp_path / "xor.nnsproj")
    return project, load_data(project)


# -- version 1 ------------------------------------------------------------------------------------


def _write_v1(tmp_path, project, prepared, epochs=4):
    """A version-1 project file with a ``run`` record, written as nnstudio 0.1 wrote it."""
    project.training.epochs = epochs
    net = build_network(project, prepared)
    record = _record(project, prepared, net)
    splits = split_arrays(prepared)
    curves = losses(train(net, project.training, splits["train"], splits["validation"]))
    d = project.to_dict(base_dir=tmp_path)
    d["version"] = 1
    arrays = record.arrays()
    npz = tmp_path / "xor.run.npz"
    np.savez(npz, **arrays)
    d["run"] = {**record.to_dict(), "arrays": npz.name,
                "arrays_fingerprint": _arrays_fingerprint(arrays)}
    (tmp_path / "xor.nnsproj").write_text(json.dumps(d))
    return record, curves


def test_a_version_1_record_becomes_the_first_run_and_replays(xor, tmp_path):
    project, prepared = xor
    record, curves = _write_v1(tmp_path, project, prepared)
    loaded = load_project(tmp_path / "xor.nnsproj")
    assert loaded.run_problem is None
    (run,) = loaded.runs.runs
    assert run.id == V1_RUN_ID and run.reason == "recorded" and not run.has_weights
    assert loaded.runs.current is None  # version 1 never kept trained weights
    rec = loaded.replay_record()
    assert rec.data_fingerprint == record.data_fingerprint != ""
    np.testing.assert_array_equal(rec.initial_params, record.initial_params)
    splits = split_arrays(load_data(loaded))
    assert losses(rec.replay(rec.start_network(), splits["train"], splits["validation"])) \
        == curves
    # Saved again: version 2, the start moved into the runs folder, the old npz removed.
    save_project(loaded, tmp_path / "xor.nnsproj")
    d = json.loads((tmp_path / "xor.nnsproj").read_text())
    assert d["version"] == PROJECT_VERSION and "run" not in d
    assert d["runs"]["items"][0]["start"]["arrays"].startswith("xor.runs/")
    assert not run_arrays_path(tmp_path / "xor.nnsproj").exists()
    again = load_project(tmp_path / "xor.nnsproj")
    np.testing.assert_array_equal(again.replay_record().initial_params, record.initial_params)


def _bad_seed(d):
    d["run"]["seed"] = "eleven"


def _not_an_object(d):
    d["run"] = [1, 2]


def _newer(d):
    d["run"]["version"] = 99


def _escaping_arrays(d):
    d["run"]["arrays"] = "../elsewhere/x.npz"


def _bad_training(d):
    d["run"]["training"]["batch_size"] = 0


def _bad_rng(d):
    d["run"]["rng_states"] = {"d1": {"bit_generator": "Nope"}}


@pytest.mark.parametrize("change, expected", [
    (_bad_seed, ".seed: must be a whole number"),
    (_not_an_object, "start: must be an object"),
    (_newer, "newer than this nnstudio reads"),
    (_escaping_arrays, "must be a file beside the project"),
    (_bad_training, ".training.batch_size"),
    (_bad_rng, ".rng_states.d1: is not a random generator state"),
])
def test_a_malformed_version_1_record_is_one_problem_and_the_project_loads(
        xor, tmp_path, change, expected):
    project, prepared = xor
    _write_v1(tmp_path, project, prepared, epochs=2)
    path = tmp_path / "xor.nnsproj"
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))
    loaded = load_project(path)
    assert loaded.replay_record() is None
    message = str(loaded.run_problem)
    assert expected in message and str(path) in message, message
    assert "\n" not in message and "Traceback" not in message
    assert loaded.dataset.example == "xor" and loaded.network_spec().nodes


def _shipped_example_versions() -> list[tuple[str, str]]:
    """Every version of every example project the repository has ever shipped."""
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "log", "HEAD", "--format=%H", "--name-only", "--",
             "resources/examples"], capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    found, sha = [], None
    for line in out.stdout.splitlines():
        if len(line) == 40 and all(c in "0123456789abcdef" for c in line):
            sha = line
        elif line.endswith(".nnsproj") and sha:
            found.append((sha, line))
    return found


def test_every_project_file_ever_shipped_opens():
    versions = _shipped_example_versions()
    if not versions:
        pytest.skip("no git history here")
    opened = 0
    for sha, path in versions:
        show = subprocess.run(["git", "-C", str(REPO), "show", f"{sha}:{path}"],
                              capture_output=True, text=True)
        if show.returncode:  # deleted in that commit
            continue
        d = json.loads(show.stdout)
        assert d.get("version", 0) <= 2
        project = Project.from_dict(d, base_dir=REPO / "resources" / "examples",
                                    where=f"{sha[:8]}:{path}")
        assert project.network_spec().nodes and project.run_problem is None
        opened += 1
    assert opened >= 4


# -- version 2: runs with weights ---------------------------------------------------------------


def test_trained_runs_round_trip_with_their_weights(xor, tmp_path):
    project, prepared = xor
    a = _train_run(project, prepared, epochs=3)
    project.runs.add(a)
    b = _train_run(project, prepared, epochs=5, lr=0.05)
    b.note = "faster"
    project.runs.add(b)
    assert project.runs.current_id == b.id
    path = tmp_path / "xor.nnsproj"
    save_project(project, path)
    files = sorted(p.name for p in runs_dir(path).iterdir())
    assert files == sorted([f"{a.id}.model.npz", f"{a.id}.start.npz",
                            f"{b.id}.model.npz", f"{b.id}.start.npz"])

    loaded = load_project(path)
    assert [r.id for r in loaded.runs] == [a.id, b.id]
    assert loaded.runs.current_id == b.id
    rb = loaded.runs.get(b.id)
    assert rb.model is None  # lazily read
    assert rb.note == "faster" and rb.epochs == 5 and rb.settings == b.settings
    assert rb.history["loss"] == pytest.approx(b.history["loss"])
    assert rb.metrics.keys() == b.metrics.keys()
    for split, row in b.metrics.items():
        assert rb.metrics[split] == pytest.approx(row)
    model = loaded.trained_model()
    x = split_arrays(prepared)["test"][0]
    np.testing.assert_array_equal(model.output(x), b.model.output(x))
    assert model.architecture == project.network  # canvas positions come back
    # The CLI and servers read the same: a project is as good as a model file.
    np.testing.assert_array_equal(open_trained(path).output(x), b.model.output(x))


def test_save_as_copies_the_runs_and_leaves_the_original(xor, tmp_path):
    project, prepared = xor
    project.runs.add(_train_run(project, prepared))
    first = tmp_path / "a" / "xor.nnsproj"
    first.parent.mkdir()
    save_project(project, first)
    loaded = load_project(first)
    second = tmp_path / "b" / "copy.nnsproj"
    second.parent.mkdir()
    save_project(loaded, second)  # weights never read into memory: copied file to file
    assert loaded.runs.current.model is None
    assert sorted(p.name for p in runs_dir(second).iterdir()) == \
        sorted(p.name for p in runs_dir(first).iterdir())
    x = split_arrays(prepared)["test"][0]
    np.testing.assert_array_equal(open_trained(second).output(x),
                                  open_trained(first).output(x))


def test_deleted_and_pruned_runs_leave_no_files_and_foreign_files_stay(xor, tmp_path):
    project, prepared = xor
    runs = [_train_run(project, prepared, epochs=2) for _ in range(3)]
    for r in runs:
        project.runs.add(r)
    path = tmp_path / "xor.nnsproj"
    save_project(project, path)
    folder = runs_dir(path)
    (folder / "my notes.txt").write_text("mine")
    (folder / f".{runs[0].id}.model.npz.abc123.tmp").write_bytes(b"half")  # a killed save
    project.runs.remove(runs[0].id)
    project.runs.keep_weights = 1
    dropped = project.runs.prune()
    assert [r.id for r in dropped] == [runs[1].id]
    save_project(project, path)
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(["my notes.txt", f"{runs[2].id}.model.npz",
                            f"{runs[2].id}.start.npz"])
    loaded = load_project(path)
    assert [r.id for r in loaded.runs] == [runs[1].id, runs[2].id]
    kept = loaded.runs.get(runs[1].id)
    assert not kept.has_weights and kept.history["loss"]  # curves and metrics stay
    with pytest.raises(ProjectError, match="were not kept"):
        loaded.runs.load_model(kept)


def test_a_missing_or_foreign_weights_file_is_one_sentence_and_the_design_opens(
        xor, tmp_path):
    project, prepared = xor
    project.runs.add(_train_run(project, prepared))
    other = _train_run(project, prepared, epochs=1)
    path = tmp_path / "xor.nnsproj"
    save_project(project, path)
    weights = runs_dir(path) / f"{project.runs.current_id}.model.npz"
    save_model(other.model, weights)  # another run's weights under this name
    loaded = load_project(path)
    with pytest.raises(ProjectError, match="holds other weights than the project's run"):
        loaded.trained_model()
    weights.unlink()
    loaded = load_project(path)
    assert loaded.network_spec().nodes and loaded.runs.current is not None
    with pytest.raises(ProjectError) as e:
        loaded.trained_model()
    assert str(weights) in str(e.value) and "is missing" in str(e.value)
    assert "\n" not in str(e.value)
    assert loaded.runs.current.problem


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["runs"].update(current="r9999-abcdef"), "runs.current: names no run"),
    (lambda d: d["runs"]["items"][0].update(epochs=-1), "runs.items[0].epochs"),
    (lambda d: d["runs"]["items"][0].update(weights="/etc/passwd"),
     "runs.items[0].weights: must be a file beside the project"),
    (lambda d: d["runs"]["items"][0].update(id="../x"), "runs.items[0].id"),
    (lambda d: d["runs"]["items"][0].update(history={"loss": ["a"]}), "history.loss"),
])
def test_a_malformed_runs_section_is_one_problem_and_the_design_opens(
        xor, tmp_path, change, expected):
    project, prepared = xor
    project.runs.add(_train_run(project, prepared, epochs=1))
    path = tmp_path / "xor.nnsproj"
    save_project(project, path)
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))
    loaded = load_project(path)
    assert expected in str(loaded.run_problem) and str(path) in str(loaded.run_problem)
    assert len(loaded.runs) == 0 and loaded.network_spec().nodes


def test_open_trained_says_what_a_file_is(xor, tmp_path):
    project, _ = xor
    save_project(project, tmp_path / "untrained.nnsproj")
    with pytest.raises(ProjectError, match="has no trained model yet"):
        open_trained(tmp_path / "untrained.nnsproj")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ProjectError, match="not an nnstudio model file"):
        open_trained(tmp_path / "notes.txt")


def test_the_history_decides_the_current_model():
    h = RunHistory()

    class M:  # the least a model needs to make a run of
        summary = {"reason": "completed", "epochs": 1}
        history, training_config, input_shape = {"loss": [1.0]}, {}, (2,)

        @staticmethod
        def architecture_dict():
            return {"nodes": [], "edges": []}

    good = run_from_model(h, M())
    h.add(good)
    assert h.current_id == good.id and good.name == "Run 1"
    bad_model = M()
    bad_model.summary = {"reason": "diverged"}
    bad = run_from_model(h, bad_model)
    h.add(bad)
    assert h.current_id == good.id and bad.diverged  # kept, marked, not current
    stopped_model = M()
    stopped_model.summary = {"reason": "stopped"}
    stopped = run_from_model(h, stopped_model)
    h.add(stopped)
    assert h.current_id == stopped.id
    h.remove(stopped.id)
    assert h.current_id is None and [r.number for r in h] == [1, 2]
    assert run_from_model(h, M()).number == 3  # numbers are never reused


# -- atomicity ---------------------------------------------------------------------------------

_SAVER = r"""
import sys
from nnstudio.core.io.pipeline import load_data, run_training, build_network
from nnstudio.core.io.project import load_project, save_project
from nnstudio.core.io.runs import run_from_model
path = sys.argv[1]
project = load_project(path)
prepared = load_data(project)
print("ready", flush=True)
while True:
    model = run_training(project, prepared, epochs=1)
    project.runs.add(run_from_model(project.runs, model))
    save_project(project, path)
"""


@pytest.mark.slow
def test_kill_9_during_save_leaves_a_readable_project(xor, tmp_path):
    project, prepared = xor
    project.runs.add(_train_run(project, prepared, epochs=1))
    path = tmp_path / "xor.nnsproj"
    save_project(project, path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    rng = np.random.default_rng(0)
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(path)], env=env,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.6)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        loaded = load_project(path)  # never half-written
        assert loaded.run_problem is None
        model = loaded.trained_model()  # the files it names are all there
        assert model.output(split_arrays(prepared)["test"][0]).shape[0] > 0
    # The next save cleans up what the killed ones left behind.
    save_project(loaded, path)
    used = {Path(p).name for r in loaded.runs for p in (r.weights_path, r.start_path) if p}
    assert {p.name for p in runs_dir(path).iterdir()} == used


def test_a_version_1_dataset_keeps_reading_dates_as_days():
    d = {"format": "nnstudio.project", "version": 1,
         "dataset": {"source": "w.csv", "target": "rain"},
         "network": {"nodes": [{"id": "in", "type": "Input"}], "edges": []}}
    assert Project.from_dict(d).dataset.date_features == ["days"]
    d2 = dict(d, version=2)
    assert Project.from_dict(d2).dataset.date_features is None  # the new default


def test_early_stopping_off_survives_a_round_trip_and_version_1_keeps_it_off(tmp_path):
    from nnstudio.core.training import TrainingConfig

    d = {"format": "nnstudio.project", "version": 1,
         "network": {"nodes": [{"id": "in", "type": "Input"}], "edges": []},
         "training": {"epochs": 5}}
    assert Project.from_dict(d).training.early_stopping is None  # as version 1 trained
    assert TrainingConfig().early_stopping  # new projects stop early by default
    project = Project(training=TrainingConfig(early_stopping=None))
    save_project(project, tmp_path / "p.nnsproj")
    assert load_project(tmp_path / "p.nnsproj").training.early_stopping is None
