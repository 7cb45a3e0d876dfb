"""A model trained on arrays (NPZ, IDX) is served too: a row holds the sample as nested lists."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.serve import Predictor, RequestError


@pytest.fixture(scope="module")
def array_model(tmp_path_factory):
    from nnstudio.core.io.pipeline import load_data, run_training
    from nnstudio.core.io.project import Project

    folder = tmp_path_factory.mktemp("arrays")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3, 4)).astype(np.float32)
    y = (x[:, 0, 0] > 0).astype(np.int64)
    np.savez(folder / "toy.npz", x=x, y=y)
    d = {"format": "nnstudio.project", "version": 1,
         "dataset": {"source": "toy.npz", "task": "classification"},
         "network": {"nodes": [{"id": "in", "type": "Input"}, {"id": "f", "type": "Flatten"},
                               {"id": "o", "type": "Dense", "units": 2},
                               {"id": "s", "type": "Softmax"}],
                     "edges": [["in", "f"], ["f", "o"], ["o", "s"]]},
         "training": {"loss": "cross_entropy", "epochs": 3, "seed": 0}}
    project = Project.from_dict(d, base_dir=folder, where="toy")
    return run_training(project, load_data(project)), x


def test_an_array_row_is_predicted_like_the_model_does(array_model):
    model, x = array_model
    pred = Predictor(model)
    schema = pred.schema()
    assert schema["inputs"][0]["type"] == "array" and schema["inputs"][0]["shape"] == [3, 4]
    out = pred.predict_rows([{"x": x[0].tolist()}, {"x": x[1].tolist()}])
    expected = model.predict_prepared(model.prepare(x[:2]))
    assert [o["class"] for o in out] == expected.values.tolist()


@pytest.mark.parametrize("row, text", [
    ({"x": [[1, 2, 3, 4]]}, "shape (1, 4), the model expects (3, 4)"),
    ({"x": "pixels"}, "wrong type, expected nested lists of numbers of shape (3, 4)"),
    ({"x": [[1, 2, 3, None]] * 3}, "not a finite number"),
    ({"y": 1}, "column 'x': the column is missing"),
])
def test_a_bad_array_row_is_a_422_naming_it(array_model, row, text):
    pred = Predictor(array_model[0])
    with pytest.raises(RequestError) as e:
        pred.predict_rows([row])
    assert e.value.status == 422 and text in e.value.message
