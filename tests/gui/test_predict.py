"""The predict panel: a form per feature, the prediction equal to the core model's."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.graph import ReplaceAll

pytestmark = pytest.mark.gui

REGRESSOR = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 16},
              {"id": "a", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 1}],
    "edges": [["in", "h"], ["h", "a"], ["a", "out"]],
}


@pytest.fixture
def window(workflow_window):
    return workflow_window


def train(qtbot, window, spec: DatasetSpec, network: dict, epochs: int = 20):
    window.undo_stack.push_command(ReplaceAll(window.document, network))
    prepared = build_dataset(spec)
    window.workflow.adopt_dataset(spec, prepared)
    panel = window.workflow.training
    panel.epochs.setValue(epochs)
    panel.learning_rate.setValue(0.01)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=120_000):
        panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    return prepared


def test_new_location_and_area_give_the_core_models_price(qtbot, window, datasets):
    """The course's "new location, area → price ??" on the real King County data."""
    spec = DatasetSpec(source=str(datasets / "house" / "kc_house_data.csv"), target="price",
                       features=["sqft_living", "zipcode"], categorical=["zipcode"])
    train(qtbot, window, spec, REGRESSOR, epochs=5)
    panel = window.workflow.predict
    assert isinstance(panel.fields["sqft_living"], QLineEdit)
    location = panel.fields["zipcode"]
    assert isinstance(location, QComboBox) and location.count() == 70
    assert panel.predict_button.isEnabled()
    panel.set_value("sqft_living", "2100")
    panel.set_value("zipcode", "98103")
    with qtbot.waitSignal(panel.predicted, timeout=5000) as blocker:
        pass  # typing schedules a prediction
    shown = blocker.args[0]
    core = window.workflow.session.model.predict_raw([{"sqft_living": 2100,
                                                       "zipcode": "98103"}])
    assert shown.values[0, 0] == pytest.approx(core.values[0, 0], rel=1e-9)
    assert panel.result.text() == f"{core.values[0, 0]:,.0f}"
    assert panel.result_title.text() == "Predicted price"
    # another location, another price
    panel.set_value("zipcode", "98039")
    other = panel.predict()
    assert other.values[0, 0] != pytest.approx(core.values[0, 0])


def test_a_bad_value_is_shown_at_its_field(qtbot, window):
    train(qtbot, window, DatasetSpec(example="house_price"), REGRESSOR, epochs=5)
    panel = window.workflow.predict
    panel.set_value("area_m2", "big")
    assert panel.predict() is None
    assert "not a number" in panel.error.text() and "area_m2" in panel.error.text()
    assert panel.fields["area_m2"].property("invalid") == "true"
    panel.set_value("area_m2", "95")
    assert panel.predict() is not None and not panel.error.isVisible()


def test_classifier_shows_class_probabilities(qtbot, window):
    net = {"nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 8},
                     {"id": "a", "type": "Tanh"}, {"id": "out", "type": "Dense", "units": 3},
                     {"id": "p", "type": "Softmax"}],
           "edges": [["in", "h"], ["h", "a"], ["a", "out"], ["out", "p"]]}
    prepared = train(qtbot, window, DatasetSpec(example="blobs"), net, epochs=30)
    panel = window.workflow.predict
    panel.set_value("x1", "0")
    panel.set_value("x2", "1")
    pred = panel.predict()
    assert list(panel.bars) == prepared.class_names
    total = sum(b.value() for b in panel.bars.values())
    assert total == pytest.approx(1000, abs=3)
    assert panel.result.text() == str(pred.values[0])
    assert "%" in panel.result_detail.text()


def test_predict_a_file_writes_a_csv(qtbot, window, tmp_path):
    train(qtbot, window, DatasetSpec(example="house_price"), REGRESSOR, epochs=5)
    src = tmp_path / "new.csv"
    src.write_text("area_m2,location\n80,city\n150,village\n200,suburb\n")
    dest = tmp_path / "out.csv"
    n = window.workflow.predict.predict_file(src, dest)
    assert n == 3
    rows = list(csv.DictReader(dest.open()))
    assert [r["location"] for r in rows] == ["city", "village", "suburb"]
    core = window.workflow.session.model.predict_raw(
        [{"area_m2": 80, "location": "city"}, {"area_m2": 150, "location": "village"},
         {"area_m2": 200, "location": "suburb"}])
    assert np.allclose([float(r["prediction"]) for r in rows], core.values[:, 0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "out.csv"]


def test_panel_waits_for_a_model(qtbot, window):
    panel = window.workflow.predict
    assert not panel.fields and not panel.predict_button.isEnabled()
    spec = DatasetSpec(example="house_price")
    window.workflow.adopt_dataset(spec, build_dataset(spec))
    assert set(panel.fields) == {"area_m2", "location"}
    assert not panel.predict_button.isEnabled()
    assert "Train" in panel.hint.text()
