"""InsightData from the data layer: features in their own units, targets decoded."""

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.insight.dataview import InsightData


def test_salary_plots_years_and_dollars():
    prepared = build_dataset(DatasetSpec(example="salary"))
    data = InsightData.from_prepared(prepared)
    assert data.task == "regression" and data.plot_names == ["YearsExperience"]
    assert data.target_names == ["Salary"]
    # Display units are the raw years; to_input gives back exactly the prepared inputs.
    assert data.plot_train.min() > 0 and data.plot_train.max() <= 12.5
    np.testing.assert_allclose(data.to_input(data.plot_train), prepared.x_train, atol=1e-5)
    dollars = data.targets_for_plot(prepared.y_train)
    np.testing.assert_allclose(dollars, prepared.preparation.decode_target(prepared.y_train))
    assert dollars.min() > 20_000
    x, y = data.probe(10)
    assert len(x) == 10 and len(y) == 10


def test_categorical_columns_held_at_the_most_frequent_category():
    prepared = build_dataset(DatasetSpec(example="house_price"))
    data = InsightData.from_prepared(prepared)
    assert data.plot_names == ["area_m2"]
    assert data.input_names == ["area_m2", "location=city", "location=suburb",
                                "location=village"]
    row = data.to_input(np.array([[100.0]]))[0]
    assert row[1:].tolist() == [0.0, 1.0, 0.0]  # suburb is the most frequent location
    area = prepared.preparation.features[0]
    assert row[0] == pytest.approx((100.0 - area["offset"]) / area["divisor"])


def test_classification_examples():
    prepared = build_dataset(DatasetSpec(example="blobs"))
    data = InsightData.from_prepared(prepared)
    assert data.task == "classification" and data.n_classes == 3
    assert data.plot_names == ["x1", "x2"] and data.tabular
    np.testing.assert_array_equal(data.classes_of(prepared.y_train), prepared.y_train)
    assert data.classes_of(np.array([[0.2], [0.7]])).tolist() == [0, 1]
    assert data.decode_target is None


def test_from_arrays_without_preparation():
    x = np.zeros((5, 2))
    data = InsightData.from_arrays(x, np.array([0, 1, 0, 1, 1]))
    assert data.task == "classification" and data.to_input is None
    assert data.plot_train is data.x_train and len(data.x_test) == 0
    img = InsightData(x_train=np.zeros((3, 1, 2, 2)), y_train=np.zeros(3, np.int64),
                      task="classification")
    assert not img.tabular
