"""Project files: the minimal form of the issue works, round trips are exact, every problem is
reported with its place, newer files are refused, older ones migrated, saving is atomic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnstudio.core.errors import ProjectError
from nnstudio.core.io import atomic
from nnstudio.core.io.pipeline import build_network, load_data, run_training
from nnstudio.core.io.project import (
    MIGRATIONS,
    PROJECT_VERSION,
    Project,
    load_project,
    save_project,
)
from nnstudio.resources import resource_path

#: The project file of the issue, verbatim.
MINIMAL = {
    "format": "nnstudio.project", "version": 1,
    "dataset": {"source": "iris.csv", "target": "species", "ignore": ["id"], "scaling": "standard",
                "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 0,
                          "stratify": True}},
    "network": {"nodes": [{"id": "in", "type": "Input"}, {"id": "h1", "type": "Dense", "units": 32},
                          {"id": "a1", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 3},
                          {"id": "p", "type": "Softmax"}],
                "edges": [["in", "h1"], ["h1", "a1"], ["a1", "out"], ["out", "p"]]},
    "training": {"loss": "cross_entropy", "optimizer": {"type": "adam", "learning_rate": 0.001},
                 "batch_size": 32, "epochs": 200, "seed": 0, "early_stopping": {"patience": 20}},
}
EXAMPLES = ("house_price", "xor", "salary", "spirals")


def write_iris_like(path) -> None:
    """150 flowers of three species (a synthetic stand-in for iris.csv)."""
    rng = np.random.default_rng(0)
    species = np.repeat(["setosa", "versicolor", "virginica"], 50)
    centers = {"setosa": (5.0, 3.4, 1.5, 0.2), "versicolor": (5.9, 2.8, 4.3, 1.3),
               "virginica": (6.6, 3.0, 5.6, 2.0)}
    lines = ["id,sepal_length,sepal_width,petal_length,petal_width,species"]
    for i, s in enumerate(species):
        v = np.array(centers[s]) + rng.normal(0, 0.25, 4)
        lines.append(f"{i + 1}," + ",".join(f"{x:.1f}" for x in v) + f",{s}")
    path.write_text("\n".join(lines) + "\n")


def write_project(path, d) -> None:
    path.write_text(json.dumps(d, indent=2))


def problems_of(d, tmp_path, name="p.nnsproj") -> str:
    write_project(tmp_path / name, d)
    with pytest.raises(ProjectError) as info:
        load_project(tmp_path / name)
    return str(info.value)


# -- the contract ------------------------------------------------------------------------------


def test_minimal_form_of_the_issue_loads_and_trains(tmp_path):
    write_iris_like(tmp_path / "iris.csv")
    write_project(tmp_path / "iris.nnsproj", MINIMAL)
    project = load_project(tmp_path / "iris.nnsproj")
    assert project.dataset.resolve_source() == tmp_path / "iris.csv"
    assert project.training.early_stopping == {"patience": 20}
    prepared = load_data(project)
    assert prepared.class_names == ["setosa", "versicolor", "virginica"]
    assert "id" not in prepared.feature_names
    model = run_training(project, prepared, epochs=30)
    assert model.summary["metrics"]["test"]["accuracy"] > 0.8


def test_source_is_relative_to_the_project_file(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "proj").mkdir()
    write_iris_like(tmp_path / "data" / "iris.csv")
    d = json.loads(json.dumps(MINIMAL))
    d["dataset"]["source"] = "../data/iris.csv"
    write_project(tmp_path / "proj" / "a.nnsproj", d)
    monkeypatch.chdir(tmp_path / "data")  # the working folder does not matter
    project = load_project(tmp_path / "proj" / "a.nnsproj")
    assert load_data(project).n_classes == 3
    # Saved elsewhere, the path is rewritten relative to the new place.
    save_project(project, tmp_path / "b.nnsproj")
    saved = json.loads((tmp_path / "b.nnsproj").read_text())
    assert saved["dataset"]["source"] == "data/iris.csv"
    assert load_project(tmp_path / "b.nnsproj").dataset.resolve_source() == \
        (tmp_path / "data" / "iris.csv")


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_projects_round_trip(name, tmp_path):
    project = load_project(resource_path("examples", f"{name}.nnsproj"))
    assert project.dataset.example == name
    assert project.meta["title"]
    assert all("pos" in n for n in project.network["nodes"])
    save_project(project, tmp_path / "copy.nnsproj")
    again = load_project(tmp_path / "copy.nnsproj")
    assert again.to_dict() == project.to_dict()
    assert again.network == project.network  # positions kept
    # A second save writes the same bytes.
    save_project(again, tmp_path / "copy2.nnsproj")
    assert (tmp_path / "copy.nnsproj").read_bytes() == (tmp_path / "copy2.nnsproj").read_bytes()


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_projects_build_on_their_data(name):
    project = load_project(resource_path("examples", f"{name}.nnsproj"))
    net = build_network(project, load_data(project))
    assert net.n_params > 0


def test_house_price_is_the_default_example():
    project = load_project(resource_path("examples", "house_price.nnsproj"))
    assert project.training.loss == "mse"
    assert load_data(project).task == "regression"


def test_meta_and_own_fields_are_kept(tmp_path):
    d = dict(MINIMAL, title="Iris", description="three species", gui={"zoom": 1.5},
             x_notes={"by": "me"})
    write_project(tmp_path / "p.nnsproj", d)
    project = load_project(tmp_path / "p.nnsproj")
    assert project.meta == {"title": "Iris", "description": "three species",
                            "gui": {"zoom": 1.5}, "x_notes": {"by": "me"}}
    assert project.title == "Iris"
    out = project.to_dict()
    assert out["x_notes"] == {"by": "me"} and out["gui"] == {"zoom": 1.5}


def test_project_without_dataset(tmp_path):
    d = {k: v for k, v in MINIMAL.items() if k != "dataset"}
    write_project(tmp_path / "p.nnsproj", d)
    project = load_project(tmp_path / "p.nnsproj")
    assert project.dataset is None
    with pytest.raises(ProjectError, match="no dataset section"):
        load_data(project)


def test_default_project_round_trips():
    p = Project()
    assert Project.from_dict(p.to_dict()).to_dict() == p.to_dict()


# -- problems, all of them, with their places -----------------------------------------------------


def test_every_problem_is_reported_with_its_place(tmp_path):
    d = json.loads(json.dumps(MINIMAL))
    d["network"]["nodes"][3]["units"] = 0
    d["network"]["nodes"][1]["activation"] = "relu"
    d["network"]["nodes"].append({"id": "x", "type": "Dense2"})
    d["network"]["edges"].append(["p", "nowhere"])
    d["training"]["loss"] = "hinge"
    d["training"]["batch_size"] = 0
    d["dataset"]["scaling"] = "log"
    msg = problems_of(d, tmp_path)
    assert msg.startswith(f"{tmp_path / 'p.nnsproj'}: 7 problems:")
    assert "network.nodes[3] 'out': Dense needs 'units' ≥ 1 (got 0)" in msg
    assert "network.nodes[1] 'h1': Dense has no setting 'activation'" in msg
    assert "network.nodes[5] 'x': unknown layer type 'Dense2'" in msg
    assert "network.edges[4]: no node with id 'nowhere'" in msg
    assert "training.loss: unknown loss 'hinge'" in msg
    assert "training.batch_size: must be a whole number ≥ 1 (got 0)" in msg
    assert "dataset.scaling: must be one of none, standard, minmax (got 'log')" in msg


def test_problems_are_listed_in_the_exception(tmp_path):
    d = json.loads(json.dumps(MINIMAL))
    d["network"]["nodes"][3]["units"] = -1
    write_project(tmp_path / "p.nnsproj", d)
    with pytest.raises(ProjectError) as info:
        load_project(tmp_path / "p.nnsproj")
    assert info.value.problems == [("network.nodes[3] 'out'", "Dense needs 'units' ≥ 1 (got -1)")]
    assert str(info.value) == \
        f"{tmp_path / 'p.nnsproj'}: network.nodes[3] 'out': Dense needs 'units' ≥ 1 (got -1)"


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["network"]["nodes"].append({"id": "in", "type": "ReLU"}),
     "network.nodes[5] 'in': has the same id as network.nodes[0] 'in'"),
    (lambda d: d["network"]["edges"].append(["p", "h1"]), "cycle"),
    (lambda d: d["network"]["edges"].append(["h1", "h1"]), "connects 'h1' to itself"),
    (lambda d: d["network"]["edges"].append(["in", "h1"]), "a second time"),
    (lambda d: d["network"]["edges"].append(["in"]), "network.edges[4]: must be a pair"),
    (lambda d: d["network"]["nodes"][0].update(pos=[1, "x"]), "'pos' must be [x, y]"),
    (lambda d: d["network"]["nodes"][1].pop("id"), "network.nodes[1]: needs an 'id'"),
    (lambda d: d["network"]["nodes"].append({"id": "in2", "type": "Input"}),
     "Input 'in2' is not connected"),
    (lambda d: d["network"]["nodes"].append({"id": "z", "type": "ReLU"}),
     "network.nodes[5] 'z': ReLU is not connected to an input"),
    (lambda d: d["network"].pop("nodes"), "network.nodes: must be a list"),
    (lambda d: d.pop("network"), "network: is missing"),
    (lambda d: d.update(trainig={}), "unknown field 'trainig'"),
    (lambda d: d["dataset"].update(sourc="x.csv"), "dataset: unknown field(s) sourc"),
    (lambda d: d["training"]["optimizer"].update(type="lbfgs"), "training.optimizer.type"),
    (lambda d: d["network"]["nodes"][2].update(type="LeakyReLU", alpha=2),
     "network.nodes[2] 'a1': LeakyReLU needs 'alpha' ≤ 1 (got 2)"),
    (lambda d: d["network"]["nodes"][4].update(type="Dropout", rate="half"),
     "'rate' must be a number (got 'half')"),
    (lambda d: d["network"].update(edges="abc"), "network.edges: must be a list"),
    (lambda d: d["dataset"].update(split="abc"), "dataset.split: must be an object"),
    (lambda d: d["training"]["early_stopping"].update(min_delta="x"),
     "training.early_stopping.min_delta: must be a number ≥ 0 (got 'x')"),
    (lambda d: d["training"].update(optimizer={"type": "sgd", "momentum": "x"}),
     "training.optimizer.momentum: must be a number ≥ 0 (got 'x')"),
    (lambda d: d["training"].update(optimizer={"type": "adam", "beta1": 0.9}),
     "training.optimizer: adam has no setting 'beta1'"),
    (lambda d: d["training"].update(schedule="cosine"), "training.schedule: must be an object"),
    (lambda d: d["training"].update(shuffle="yes"), "training.shuffle: must be true or false"),
])
def test_invalid_projects(change, expected, tmp_path):
    d = json.loads(json.dumps(MINIMAL))
    change(d)
    assert expected in problems_of(d, tmp_path)


def test_declared_input_shape_is_checked_at_load(tmp_path):
    d = json.loads(json.dumps(MINIMAL))
    d["network"]["nodes"][0]["shape"] = [1, 28, 28]
    msg = problems_of(d, tmp_path)
    assert "network.nodes[1] 'h1': Dense needs features (F,) or a sequence (T, F)" in msg


def test_shapes_checked_against_the_data(tmp_path):
    write_iris_like(tmp_path / "iris.csv")
    d = json.loads(json.dumps(MINIMAL))
    d["network"]["nodes"][1] = {"id": "h1", "type": "Conv2D", "filters": 4}
    write_project(tmp_path / "p.nnsproj", d)
    project = load_project(tmp_path / "p.nnsproj")  # the data's shape is unknown here
    with pytest.raises(ProjectError, match=r"network.nodes\[1\] 'h1': Conv2D needs images"):
        build_network(project, load_data(project))


@pytest.mark.parametrize("units, loss, expected", [
    (2, "cross_entropy", "network.nodes[3] 'out': outputs (2,) but the data has 3 classes"),
    (3, "mse", "training.loss: 'mse' is a regression loss"),
    (3, "binary_cross_entropy", "binary_cross_entropy needs 2 classes"),
])
def test_output_must_fit_the_data(units, loss, expected, tmp_path):
    write_iris_like(tmp_path / "iris.csv")
    d = json.loads(json.dumps(MINIMAL))
    d["network"]["nodes"][3]["units"] = units
    d["training"]["loss"] = loss
    write_project(tmp_path / "p.nnsproj", d)
    project = load_project(tmp_path / "p.nnsproj")
    with pytest.raises(ProjectError) as info:
        build_network(project, load_data(project))
    assert expected in str(info.value)


# -- files ----------------------------------------------------------------------------------------


def test_newer_version_is_refused(tmp_path):
    d = dict(MINIMAL, version=99)
    assert problems_of(d, tmp_path).endswith(
        "p.nnsproj: was written by a newer nnstudio (format version 99; this version reads up "
        "to 3): update nnstudio"
    )


def test_older_version_is_migrated(tmp_path):
    d = {k: v for k, v in MINIMAL.items() if k not in ("format", "training")}
    d["version"] = 0
    d["train"] = MINIMAL["training"]
    write_project(tmp_path / "old.nnsproj", d)
    project = load_project(tmp_path / "old.nnsproj")
    assert project.training.loss == "cross_entropy"
    assert project.to_dict()["version"] == PROJECT_VERSION
    assert set(MIGRATIONS) == set(range(PROJECT_VERSION))


def test_version_2_without_early_stopping_keeps_it_off(tmp_path):
    """Version 2 left the key out when early stopping was off; from version 3 it is on by
    default, so a version-2 project (and its runs' settings) must not switch it on."""
    d = json.loads(json.dumps(MINIMAL))
    d["version"] = 2
    del d["training"]["early_stopping"]
    settings = dict(d["training"])
    d["runs"] = {"current": None, "items": [{"id": "r0001-aaaaaa", "name": "Run 1",
                                             "kind": "train", "reason": "completed",
                                             "settings": settings}]}
    write_project(tmp_path / "v2.nnsproj", d)
    project = load_project(tmp_path / "v2.nnsproj")
    assert project.training.early_stopping is None
    assert next(iter(project.runs)).settings["early_stopping"] is None
    saved = project.to_dict()
    assert saved["version"] == 3 and saved["training"]["early_stopping"] is None
    d["version"] = 3  # written by this version: a missing key is the default, on
    write_project(tmp_path / "v3.nnsproj", d)
    assert load_project(tmp_path / "v3.nnsproj").training.early_stopping == {"patience": 20}


@pytest.mark.parametrize("text, expected", [
    ('{"format": "nnstudio.project",\n  "version": 1,\n  "network": {,}}',
     "is not valid JSON: Expecting property name enclosed in double quotes at line 3, column 15"),
    ("", "is not valid JSON: Expecting value at line 1, column 1"),
    ("[1, 2]", "is not an nnstudio project (the JSON is not an object)"),
    ('{"format": "keras", "version": 1}', "is not an nnstudio project (format 'keras'"),
    ('{"format": "nnstudio.project"}', "'version' must be a whole number (got None"),
])
def test_corrupt_files(text, expected, tmp_path):
    (tmp_path / "p.nnsproj").write_text(text)
    with pytest.raises(ProjectError) as info:
        load_project(tmp_path / "p.nnsproj")
    assert str(info.value).startswith(str(tmp_path / "p.nnsproj"))
    assert expected in str(info.value)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "none.nnsproj")
    (tmp_path / "b.nnsproj").write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ProjectError, match="not a text"):
        load_project(tmp_path / "b.nnsproj")
    with pytest.raises(ProjectError, match="is a folder"):
        load_project(tmp_path)


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "p.nnsproj"
    project = load_project(resource_path("examples", "xor.nnsproj"))
    save_project(project, path)
    before = path.read_bytes()
    project.meta["title"] = "changed"

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(ProjectError, match="No space left"):
        save_project(project, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.nnsproj"]


def test_saved_file_is_readable_json(tmp_path):
    project = load_project(resource_path("examples", "spirals.nnsproj"))
    save_project(project, tmp_path / "s.nnsproj")
    text = (tmp_path / "s.nnsproj").read_text()
    d = json.loads(text)
    assert d["format"] == "nnstudio.project" and d["version"] == PROJECT_VERSION == 3
    assert '["in", "h1"]' in text  # short lists stay on one line
    assert text.endswith("\n")
