"""The headless pipeline the CLI and the GUI share: events, stop, divergence, metrics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nnstudio.core.errors import DivergedError
from nnstudio.core.io.pipeline import (
    build_network,
    evaluate_splits,
    load_data,
    run_training,
    training_events,
)
from nnstudio.core.io.project import load_project
from nnstudio.core.training import BatchEnd, EpochEnd, TrainControl, TrainingFinished
from nnstudio.resources import resource_path


@pytest.fixture
def xor():
    project = load_project(resource_path("examples", "xor.nnsproj"))
    return project, load_data(project)


def test_events_and_model(xor):
    project, prepared = xor
    events = []
    model = run_training(project, prepared, on_event=events.append, epochs=5)
    kinds = [type(e) for e in events]
    assert kinds.count(EpochEnd) == 5 and kinds[-1] is TrainingFinished
    assert BatchEnd in kinds
    s = model.summary
    assert s["epochs"] == 5 and s["reason"] == "completed"
    assert set(s["metrics"]) == {"train", "validation", "test"}
    assert set(s["metrics"]["test"]) == {"loss", "accuracy"}
    assert s["samples"]["train"] == len(prepared.x_train)
    assert model.task == "classification" and model.class_names == ["0", "1"]
    assert len(model.history["loss"]) == 5


def test_generator_form_returns_the_model(xor):
    project, prepared = xor
    gen = training_events(project, prepared, epochs=2)
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            model = stop.value
            break
    assert isinstance(events[-1], TrainingFinished) and model.summary["epochs"] == 2


def test_stop_keeps_the_best_weights(xor):
    project, prepared = xor
    control = TrainControl()
    snapshots = {}

    def on_event(e):
        if isinstance(e, EpochEnd):
            snapshots[e.epoch] = (e.improved, e.best_epoch)
            if e.epoch == 6:
                control.stop()

    model = run_training(project, prepared, control, on_event, epochs=50)
    assert model.summary["reason"] == "stopped"
    best = max(k for k, (improved, _) in snapshots.items() if improved)
    # Re-train deterministically up to the best epoch: same weights.
    again = run_training(project, prepared, epochs=best)
    np.testing.assert_array_equal(model.network.params, again.network.params)


def test_divergence_raises():
    project = load_project(resource_path("examples", "salary.nnsproj"))
    project.training = dataclasses.replace(
        project.training, optimizer={"type": "sgd", "learning_rate": 1e6}
    )
    events = []
    with pytest.raises(DivergedError, match="diverged"):
        run_training(project, load_data(project), on_event=events.append, epochs=50)
    assert events[-1].reason == "diverged"


def test_regression_metrics_in_user_units():
    project = load_project(resource_path("examples", "house_price.nnsproj"))
    prepared = load_data(project)
    model = run_training(project, prepared, epochs=20)
    m = evaluate_splits(model, prepared)["test"]
    assert set(m) == {"loss", "mae", "rmse", "r2"}
    assert m["mae"] > 1000  # dollars, not standardized units
    assert m["r2"] > 0.5


def test_build_network_uses_training_seed(xor):
    project, prepared = xor
    a = build_network(project, prepared)
    b = build_network(project, prepared)
    np.testing.assert_array_equal(a.params, b.params)
