"""Metrics against values computed by hand."""

import numpy as np
import pytest

from nnstudio.core.engine import metrics as m


def test_confusion_matrix_and_per_class_scores():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    y_pred = np.array([0, 1, 0, 1, 1, 2, 0, 2, 1])
    cm = m.confusion_matrix(y_true, y_pred, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 2, 0], [1, 1, 2]]
    s = m.precision_recall_f1(cm)
    # class 0: tp 2, predicted 3, actual 3; class 1: tp 2, predicted 4, actual 2;
    # class 2: tp 2, predicted 2, actual 4.
    np.testing.assert_allclose(s["precision"], [2 / 3, 2 / 4, 2 / 2])
    np.testing.assert_allclose(s["recall"], [2 / 3, 2 / 2, 2 / 4])
    np.testing.assert_allclose(s["f1"], [2 / 3, 2 / 3, 2 / 3])
    assert s["support"].tolist() == [3, 2, 4]
    assert m.accuracy(y_true, y_pred) == pytest.approx(6 / 9)


def test_a_class_never_predicted_scores_zero_not_nan():
    cm = m.confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 0]), 2)
    s = m.precision_recall_f1(cm)
    assert s["precision"].tolist() == [pytest.approx(1 / 3), 0.0]
    assert s["f1"][1] == 0.0


def test_predicted_classes_from_softmax_and_sigmoid_outputs():
    assert m.predicted_classes(np.array([[0.1, 0.9], [0.8, 0.2]])).tolist() == [1, 0]
    assert m.predicted_classes(np.array([[0.7], [0.3], [0.5]])).tolist() == [1, 0, 1]


def test_regression_metrics():
    y = np.array([3.0, -0.5, 2.0, 7.0])
    p = np.array([2.5, 0.0, 2.0, 8.0])
    assert m.mae(y, p) == pytest.approx(0.5)
    assert m.rmse(y, p) == pytest.approx(np.sqrt(0.375))
    # SS_res = 1.5, SS_tot = 29.1875
    assert m.r2(y, p) == pytest.approx(1 - 1.5 / 29.1875)
    assert m.r2(y, y) == 1.0


def test_multi_output_r2_is_the_mean_over_outputs():
    y = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    p = np.array([[1.0, 12.0], [2.0, 20.0], [3.0, 28.0]])
    assert m.r2(y, p) == pytest.approx((1.0 + (1 - 8 / 200)) / 2)
