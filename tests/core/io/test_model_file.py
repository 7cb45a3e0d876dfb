"""Model files: no pickle, identical predictions after a round trip, every bad file refused
with a ProjectError naming it (never a crash), atomic writes."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from nnstudio.core.data import EXAMPLES, load_table
from nnstudio.core.engine.network import Network
from nnstudio.core.errors import ProjectError
from nnstudio.core.io import atomic
from nnstudio.core.io.model_file import (
    MODEL_VERSION,
    load_model,
    model_arrays,
    save_model,
)
from nnstudio.core.io.pipeline import load_data, run_training
from nnstudio.core.io.project import load_project
from nnstudio.resources import resource_path


def test_keys_and_layout(kc_model, tmp_path):
    model, _ = kc_model
    save_model(model, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        files = set(z.files)
        assert {"format", "architecture", "preparation", "training"} <= files
        assert z["n1/W"].shape == (model.network.shapes["n0"][0], 32)  # (inputs, units)
        assert z["n1/b"].shape == (32,)
        arch = json.loads(str(z["architecture"]))
        prep = json.loads(str(z["preparation"]))
        info = json.loads(str(z["training"]))
        fmt = json.loads(str(z["format"]))
        assert all(z[k].dtype != object for k in files)
    assert fmt["format"] == "nnstudio.model" and fmt["version"] == MODEL_VERSION
    assert arch["edges"][0] == ["n0", "n1"]
    assert arch["input_shape"] == list(model.input_shape) and arch["dtype"] == "float32"
    zip_feature = next(f for f in prep["features"] if f["name"] == "zipcode")
    assert "98178" in zip_feature["categories"]
    assert info["task"] == "regression" and info["loss"] == "mse"
    assert set(info["summary"]["metrics"]) == {"train", "validation", "test"}
    assert len(info["history"]["loss"]) == 1


def test_round_trip_gives_identical_predictions(kc_model, datasets, tmp_path):
    model, prepared = kc_model
    save_model(model, tmp_path / "kc.npz")
    again = load_model(tmp_path / "kc.npz")
    for split in (prepared.x_train, prepared.x_test):
        np.testing.assert_array_equal(model.output(split), again.output(split))
    table = load_table(datasets / "house" / "kc_house_data.csv").take(np.arange(50))
    np.testing.assert_array_equal(model.predict_raw(table).values,
                                  again.predict_raw(table).values)
    assert again.summary == json.loads(json.dumps(model.summary))
    assert again.architecture == model.architecture_dict()
    assert again.feature_names == model.feature_names


def test_round_trip_of_images_and_classes(mnist_conv, tmp_path):
    model, prepared = mnist_conv
    save_model(model, tmp_path / "c.npz")
    again = load_model(tmp_path / "c.npz")
    np.testing.assert_array_equal(model.output(prepared.x_test), again.output(prepared.x_test))
    assert again.class_names == [str(i) for i in range(10)]
    # BatchNorm running statistics are saved too.
    np.testing.assert_array_equal(again.network.layers["bn"].state["running_var"],
                                  model.network.layers["bn"].state["running_var"])


def test_zero_epochs_writes_the_initialized_model(tmp_path):
    project = load_project(resource_path("examples", "xor.nnsproj"))
    prepared = load_data(project)
    model = run_training(project, prepared, epochs=0)
    assert model.summary["epochs"] == 0
    save_model(model, tmp_path / "init.npz")
    fresh = Network(project.network_spec(), prepared.input_shape, seed=project.training.seed)
    np.testing.assert_array_equal(load_model(tmp_path / "init.npz").network.params, fresh.params)


def test_predict_raw_accepts_typed_rows(tmp_path):
    project = load_project(resource_path("examples", "house_price.nnsproj"))
    model = run_training(project, load_data(project), epochs=3)
    table = EXAMPLES["house_price"].make(seed=0).take(np.arange(4))
    rows = [{"area_m2": str(a), "location": loc}
            for a, loc in zip(table["area_m2"].values, table["location"].values, strict=True)]
    a = model.predict_raw(rows)
    b = model.predict_raw(table)
    np.testing.assert_allclose(a.values, b.values)
    one = model.predict_raw({"area_m2": 120, "location": "city"})
    assert one.values.shape == (1, 1) and one.probabilities is None
    assert one.target_names == ["price"]


def test_classification_predictions(mnist_mlp):
    model, prepared = mnist_mlp
    p = model.predict_prepared(prepared.x_test[:20])
    assert p.values.dtype.kind == "U" and set(p.values) <= set(model.class_names)
    assert p.probabilities.shape == (20, 10)
    np.testing.assert_allclose(p.probabilities.sum(axis=1), 1, rtol=1e-5)


# -- bad files ------------------------------------------------------------------------------------


def _rewrite(src, dst, change):
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    np.savez(dst, **arrays)


def _err(path) -> str:
    with pytest.raises(ProjectError) as info:
        load_model(path)
    assert str(info.value).startswith(str(path))
    return str(info.value)


@pytest.fixture
def good(salary_model, tmp_path):
    save_model(salary_model[0], tmp_path / "good.npz")
    return tmp_path / "good.npz"


def test_object_arrays_are_never_unpickled(good, tmp_path):
    bad = tmp_path / "evil.npz"
    _rewrite(good, bad, lambda a: a.__setitem__("n1/W", np.array([object()], dtype=object)))
    assert "object array under 'n1/W'" in _err(bad)
    _rewrite(good, bad, lambda a: a.__setitem__("training", np.array([{"a": 1}], dtype=object)))
    assert "object array under 'training'" in _err(bad)


def test_pickle_file_is_refused(tmp_path):
    import pickle

    (tmp_path / "p.npz").write_bytes(pickle.dumps({"x": 1}))
    assert "not an nnstudio model file" in _err(tmp_path / "p.npz")


@pytest.mark.parametrize("change, expected", [
    (lambda a: a.pop("n1/b"), "no array 'n1/b'"),
    (lambda a: a.pop("preparation"), "the entry 'preparation' is missing"),
    (lambda a: a.pop("format"), "no 'format' entry"),
    (lambda a: a.__setitem__("n1/W", np.zeros((3, 3), np.float32)), "has shape (3, 3)"),
    (lambda a: a.__setitem__("format", np.array(json.dumps(
        {"format": "nnstudio.model", "version": 7}))),
     "was written by a newer nnstudio (model format version 7; this version reads up to 1): "
     "update nnstudio"),
    (lambda a: a.__setitem__("format", np.array('{"format": "other"}')), "wrong 'format'"),
    (lambda a: a.__setitem__("architecture", np.array("{not json")), "'architecture' is not valid"),
    (lambda a: a.__setitem__("architecture", np.array("[]")), "malformed"),
    (lambda a: a.__setitem__("training", np.array(3.0)), "'training' is not JSON text"),
    (lambda a: a.__setitem__("n1/W", np.array([["a"]])), "not numbers"),
    (lambda a: a.__setitem__("preparation", np.array('{"version": 99}')), "preparation"),
])
def test_damaged_model_files(good, tmp_path, change, expected):
    bad = tmp_path / "bad.npz"
    _rewrite(good, bad, change)
    assert expected in _err(bad)


def test_not_a_model_file(tmp_path, good):
    (tmp_path / "t.npz").write_text("hello")
    assert "not an nnstudio model file" in _err(tmp_path / "t.npz")
    np.save(tmp_path / "a.npy", np.zeros(3))
    assert "single .npy array" in _err(tmp_path / "a.npy")
    assert "no such file" in _err(tmp_path / "none.npz")
    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    assert "model file" in _err(truncated) or "damaged" in _err(truncated)
    assert "is a folder" in _err(tmp_path)


def test_corrupted_member(good, tmp_path):
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("n1/W.npy")
    start = info.header_offset + 30 + len(info.filename) + 80  # inside the array data
    data[start:start + 4] = b"\xde\xad\xbe\xef"
    (tmp_path / "crc.npz").write_bytes(bytes(data))
    assert "damaged" in _err(tmp_path / "crc.npz")


def test_failed_write_keeps_the_old_file(salary_model, tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    save_model(salary_model[0], path)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(ProjectError, match="Input/output error"):
        save_model(salary_model[0], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_write_interrupted_mid_file(salary_model, tmp_path, monkeypatch):
    path = tmp_path / "new.npz"

    def savez_then_crash(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", savez_then_crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(salary_model[0], path)
    assert list(tmp_path.iterdir()) == []


def test_model_arrays_never_clash(salary_model):
    arrays = model_arrays(salary_model[0])
    assert all("/" in k for k in arrays if k not in
               ("format", "architecture", "preparation", "training", "reference"))
