"""Networks with several Inputs and several outputs in the real window: column editors,
live shapes per Input, data prepared for the Output layers (in the loader thread), a run in
the worker thread with per-output plots, per-output Results and Predict, Save and reopen."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.core.graph import SetConfig

pytestmark = pytest.mark.gui

FEATURES = ["a", "b", "c", "zone"]


def write_csv(path, n: int = 240, seed: int = 3) -> None:
    """Three numbers and a category → a number (``value``) and a class (``label``)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, n))
    zone = rng.choice(["north", "south", "east"], size=n)
    shift = np.select([zone == "north", zone == "south"], [4.0, -4.0], 0.0)
    value = 50 + 10 * a - 6 * b + 3 * shift + rng.normal(scale=0.5, size=n)
    label = np.where(a + c + 0.3 * shift > 0, "high", "low")
    lines = ["a,b,c,zone,value,label"]
    lines += [f"{a[i]:.4f},{b[i]:.4f},{c[i]:.4f},{zone[i]},{value[i]:.3f},{label[i]}"
              for i in range(n)]
    path.write_text("\n".join(lines) + "\n")


def two_by_two(dataset_target: str = "value") -> dict:
    """A project: Input 'nums' (a, b, c) and Input 'place' (the rest: zone) → shared trunk
    → Output 'value' (a number) and Output 'label' (two classes, weight 0.5)."""
    nodes = [
        {"id": "nums", "type": "Input", "columns": ["a", "b", "c"], "pos": [0, 0]},
        {"id": "place", "type": "Input", "pos": [0, 200]},
        {"id": "h1", "type": "Dense", "units": 16, "pos": [220, 0]},
        {"id": "r1", "type": "ReLU", "pos": [440, 0]},
        {"id": "h2", "type": "Dense", "units": 4, "pos": [220, 200]},
        {"id": "join", "type": "Concatenate", "pos": [660, 100]},
        {"id": "h3", "type": "Dense", "units": 16, "pos": [880, 100]},
        {"id": "r3", "type": "ReLU", "pos": [1100, 100]},
        {"id": "v", "type": "Dense", "units": 1, "pos": [1320, 0]},
        {"id": "value", "type": "Output", "target": "value", "pos": [1540, 0]},
        {"id": "l", "type": "Dense", "units": 2, "pos": [1320, 200]},
        {"id": "sm", "type": "Softmax", "pos": [1540, 200]},
        {"id": "label", "type": "Output", "target": "label", "weight": 0.5, "pos": [1760, 200]},
    ]
    edges = [["nums", "h1"], ["h1", "r1"], ["place", "h2"], ["r1", "join"], ["h2", "join"],
             ["join", "h3"], ["h3", "r3"], ["r3", "v"], ["v", "value"], ["r3", "l"],
             ["l", "sm"], ["sm", "label"]]
    return {"format": "nnstudio.project", "version": 3,
            "dataset": {"source": "multi.csv", "target": dataset_target},
            "network": {"nodes": nodes, "edges": edges},
            "training": {"epochs": 40, "batch_size": 16,
                         "optimizer": {"type": "adam", "learning_rate": 0.01}}}


@pytest.fixture
def project_file(tmp_path):
    write_csv(tmp_path / "multi.csv")
    path = tmp_path / "multi.nnsproj"
    path.write_text(json.dumps(two_by_two()))
    return path


@pytest.fixture
def window(workflow_window):
    return workflow_window


def open_project(qtbot, window, path) -> None:
    assert window.open_path(path, ask=False)
    session = window.workflow.session
    qtbot.waitUntil(lambda: session.prepared is not None and not window.workflow.data_loader.busy,
                    timeout=20_000)


def train(qtbot, window, epochs: int = 40):
    panel = window.workflow.training
    panel.epochs.setValue(epochs)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=120_000) as b:
        assert panel.start(), panel.banner.text()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    return b.args[0]


def test_opened_project_is_prepared_for_its_outputs_and_shapes_each_input(qtbot, window,
                                                                          project_file):
    open_project(qtbot, window, project_file)
    prepared = window.workflow.session.prepared
    assert prepared.task == "multi_output"
    assert [h["target"] for h in prepared.preparation.heads] == ["value", "label"]
    assert prepared.y_train.shape[1] == 2
    doc = window.document
    # a, b, c → 3 columns; zone (three places, one-hot) → 3 columns
    assert doc.node_shape("nums").shape == (3,)
    assert doc.node_shape("place").shape == (3,)
    assert doc.node_shape("join").shape == (20,)
    assert doc.problems == []
    status = window.workflow.training.status.text()
    assert "targets from the Output layers" in status and "value (number)" in status
    assert "label (2 classes)" in status
    loss = window.workflow.training.loss
    assert not loss.isEnabled() and loss.toolTip().startswith("each Output layer sets its loss")
