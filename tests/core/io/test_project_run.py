"""The run record in a project file: JSON in the project, arrays in ``<name>.run.npz`` beside
it (no pickle); a project without one loads as before; a broken one is one readable problem
and the rest of the project still loads."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from nnstudio.core.insight import RunRecord
from nnstudio.core.io.pipeline import build_network, load_data, split_arrays
from nnstudio.core.io.project import load_project, run_arrays_path, save_project
from nnstudio.core.training import EpochEnd, train
from nnstudio.resources import resource_path

XOR = resource_path("examples", "xor.nnsproj")


def losses(events) -> list[tuple[float, float]]:
    return [(e.loss, e.val_loss) for e in events if isinstance(e, EpochEnd)]


@pytest.fixture
def trained(tmp_path):
    """The xor example, trained 4 epochs, its record kept in the project; saved to tmp."""
    shutil.copy(XOR, tmp_path / "xor.nnsproj")
    project = load_project(tmp_path / "xor.nnsproj")
    project.training.epochs = 4
    prepared = load_data(project)
    splits = split_arrays(prepared)
    net = build_network(project, prepared)
    record = RunRecord.capture(
        net, project.training, split=project.dataset.split.to_dict(),
        split_indices=prepared.indices, train_data=splits["train"],
        val_data=splits["validation"])
    curves = losses(train(net, project.training, splits["train"], splits["validation"]))
    project.run = record
    save_project(project, tmp_path / "xor.nnsproj")
    return project, prepared, record, curves


def test_record_round_trips_and_replays_the_same_curves(trained, tmp_path):
    project, prepared, record, curves = trained
    npz = tmp_path / "xor.run.npz"
    assert run_arrays_path(project.path) == npz and npz.is_file()
    d = json.loads((tmp_path / "xor.nnsproj").read_text())
    assert d["run"]["arrays"] == "xor.run.npz" and d["run"]["seed"] == record.seed
    with np.load(npz, allow_pickle=False) as z:
        np.testing.assert_array_equal(z["initial_params"], record.initial_params)
        np.testing.assert_array_equal(z["split_train"], prepared.indices["train"])

    loaded = load_project(tmp_path / "xor.nnsproj")
    assert loaded.run_problem is None
    run = loaded.run
    assert run.data_fingerprint == record.data_fingerprint != ""
    assert run.network == record.network and run.input_shape == (2,)
    assert run.config() == record.config()
    np.testing.assert_array_equal(run.initial_params, record.initial_params)
    assert run.network_changes(loaded.network_spec(), (2,)) == []
    splits = split_arrays(load_data(loaded))  # the data rebuilt from the file: same data
    net = run.start_network()
    assert losses(run.replay(net, splits["train"], splits["validation"])) == curves
    assert len(curves) == 4


def test_a_project_without_a_record_loads_and_saves_no_arrays(tmp_path):
    shutil.copy(XOR, tmp_path / "xor.nnsproj")
    project = load_project(tmp_path / "xor.nnsproj")
    assert project.run is None and project.run_problem is None
    save_project(project, tmp_path / "again.nnsproj")
    assert "run" not in json.loads((tmp_path / "again.nnsproj").read_text())
    assert not (tmp_path / "again.run.npz").exists()


def _edit_json(path, change) -> None:
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))


def _bad_seed(d):
    d["run"]["seed"] = "eleven"


def _not_an_object(d):
    d["run"] = [1, 2]


def _newer(d):
    d["run"]["version"] = 99


def _no_arrays_name(d):
    d["run"]["arrays"] = "../elsewhere/x.npz"


def _bad_training(d):
    d["run"]["training"]["batch_size"] = 0


def _bad_rng(d):
    d["run"]["rng_states"] = {"d1": {"bit_generator": "Nope"}}


@pytest.mark.parametrize("change, expected", [
    (_bad_seed, "run.seed: must be a whole number"),
    (_not_an_object, "run: must be an object"),
    (_newer, "newer than this nnstudio reads"),
    (_no_arrays_name, "run.arrays: must name the .npz file"),
    (_bad_training, "run.training.batch_size"),
    (_bad_rng, "run.rng_states.d1: is not a random generator state"),
])
def test_a_malformed_record_is_one_readable_problem_and_the_project_loads(
        trained, tmp_path, change, expected):
    path = tmp_path / "xor.nnsproj"
    _edit_json(path, change)
    loaded = load_project(path)
    assert loaded.run is None
    message = str(loaded.run_problem)
    assert expected in message and str(path) in message
    assert "\n" not in message and "Traceback" not in message
    # The rest of the project is there.
    assert loaded.dataset.example == "xor" and loaded.network_spec().nodes


def test_arrays_that_are_missing_foreign_pickled_or_misshapen_are_named(trained, tmp_path):
    path, npz = tmp_path / "xor.nnsproj", tmp_path / "xor.run.npz"
    good = npz.read_bytes()

    npz.unlink()
    problem = load_project(path).run_problem
    assert str(npz) in str(problem) and "is missing" in str(problem)

    npz.write_bytes(b"not a zip at all")
    assert "not a readable .npz" in str(load_project(path).run_problem)

    np.savez(npz, initial_params=np.zeros(3, np.float32), initial_state=np.zeros(0))
    problem = str(load_project(path).run_problem)
    assert "holds other arrays than the project's run record" in problem

    objects = np.empty(2, dtype=object)
    with open(npz, "wb") as f:
        np.savez(f, initial_params=objects, initial_state=np.zeros(0))
    assert "holds Python objects, which nnstudio never loads" in str(
        load_project(path).run_problem)

    # Arrays that match the JSON's fingerprint but not the network: the record is refused.
    npz.write_bytes(good)
    d = json.loads(path.read_text())
    d["run"].pop("arrays_fingerprint")
    path.write_text(json.dumps(d))
    np.savez(npz, initial_params=np.zeros(5, np.float32), initial_state=np.zeros(0, np.float32))
    problem = str(load_project(path).run_problem)
    assert "run:" in problem and "network changed" in problem


def test_network_changes_are_described():
    from nnstudio.core.engine import Network, NetworkSpec, NodeSpec

    def net(units, act="Tanh"):
        nodes = [NodeSpec("in", "Input"), NodeSpec("h", "Dense", {"units": units}),
                 NodeSpec("a", act), NodeSpec("out", "Dense", {"units": 2})]
        return Network(NetworkSpec(nodes, [("in", "h"), ("h", "a"), ("a", "out")]), (2,))

    from nnstudio.core.training import TrainingConfig

    record = RunRecord.capture(net(8), TrainingConfig())
    assert record.network_changes(net(8).spec, (2,)) == []
    assert record.network_changes(net(16).spec, (2,)) == ["layer 'h' has units 16, it was 8"]
    assert record.network_changes(net(8, "ReLU").spec) == ["layer 'a' is a ReLU, it was a Tanh"]
    assert record.network_changes(net(8).spec, (3,))[0].startswith("the input shape is (3,)")
