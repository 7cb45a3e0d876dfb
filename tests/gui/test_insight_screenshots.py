"""Render the insight views after real runs, offscreen, into PNG files.

Each case trains a network on a built-in example with the real worker thread, then grabs one
view. The test checks that every view draws; with ``NNSTUDIO_SCREENSHOTS=<folder>`` the images
are written there (``docs/screenshots`` holds the ones in the documentation)::

    NNSTUDIO_SCREENSHOTS=docs/screenshots .venv/bin/pytest tests/gui/test_insight_screenshots.py
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.engine import Network
from nnstudio.core.insight.dataview import InsightData
from nnstudio.core.training import TrainingConfig
from nnstudio.gui.insight import InsightPanel
from nnstudio.gui.workers.training_worker import TrainingJob, TrainingRunner
from tests.core.insight import nets

pytestmark = pytest.mark.gui


def network(n_in: int, n_out: int, widths=(), act="Tanh", head=None, seed=0) -> Network:
    """A float32 MLP from the insight tests' builder (tests/core/insight/nets.py)."""
    return nets.mlp(widths, act, head, n_in, n_out, np.float32, seed)


#: name → (example, network kwargs, training settings, tab, what to set up on the view)
CASES = {
    "boundary-moons": ("moons", {"widths": (8, 8), "head": "Softmax"},
                       {"loss": "cross_entropy", "epochs": 60,
                        "optimizer": {"type": "adam", "learning_rate": 0.03}}, "boundary", None),
    "boundary-blobs": ("blobs", {"widths": (6,), "head": "Softmax"},
                       {"loss": "cross_entropy", "epochs": 40,
                        "optimizer": {"type": "adam", "learning_rate": 0.03}}, "boundary", None),
    "fit-salary": ("salary", {}, {"loss": "mse", "epochs": 4, "batch_size": 8,
                                  "optimizer": {"type": "sgd", "learning_rate": 0.05}},
                   "boundary", None),
    "neurons-salary": ("salary", {}, {"loss": "mse", "epochs": 4, "batch_size": 8,
                                      "optimizer": {"type": "sgd", "learning_rate": 0.05}},
                       "neurons", None),
    "neurons-moons": ("moons", {"widths": (8, 8), "head": "Softmax"},
                      {"loss": "cross_entropy", "epochs": 60,
                       "optimizer": {"type": "adam", "learning_rate": 0.03}}, "neurons",
                      lambda p: p.neurons.select("h2", 3)),
    "stats-dead-relu": ("circles", {"widths": (16, 16, 16), "act": "ReLU", "head": "Softmax"},
                        {"loss": "cross_entropy", "epochs": 30,
                         "optimizer": {"type": "sgd", "learning_rate": 3.0}}, "stats", None),
    "stats-sigmoid": ("spirals", {"widths": (12,) * 6, "act": "Sigmoid", "head": "Softmax"},
                      {"loss": "cross_entropy", "epochs": 40,
                       "optimizer": {"type": "adam", "learning_rate": 0.01}}, "stats", None),
    "landscape-salary": ("salary", {}, {"loss": "mse", "epochs": 30, "batch_size": 40,
                                        "optimizer": {"type": "sgd", "learning_rate": 0.1}},
                         "landscape", "step"),
    "landscape-moons": ("moons", {"widths": (8,), "head": "Softmax"},
                        {"loss": "cross_entropy", "epochs": 60,
                         "optimizer": {"type": "adam", "learning_rate": 0.03}}, "landscape",
                        lambda p: p.landscape.mode_combo.setCurrentIndex(2)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_render_view_after_a_real_run(qtbot, name, tmp_path):
    example, net_kw, train_kw, tab, setup = CASES[name]
    prepared = build_dataset(DatasetSpec(example=example))
    data = InsightData.from_prepared(prepared)
    panel = InsightPanel()
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_view(tab)
    runner = TrainingRunner()
    try:
        panel.source.set_data(data)
        panel.source.attach_runner(runner)
        n_out = prepared.output_size if prepared.task == "classification" else 1
        net = network(prepared.input_shape[0], n_out, **net_kw)
        cfg = TrainingConfig(**{"batch_size": 32, "seed": 0, **train_kw})
        job = TrainingJob(net, cfg, (prepared.x_train, prepared.y_train),
                          (prepared.x_val, prepared.y_val))
        if setup == "step":  # step mode: one epoch at a time, every step on the path
            src = panel.source
            panel.steps.start_handler = lambda: (runner.start(job), True)[1]
            for _ in range(12):
                panel.steps.one_epoch()
                qtbot.waitUntil(lambda: src.training and not src.stepping and src.paused,
                                timeout=30_000)
        else:
            with qtbot.waitSignal(runner.finished, timeout=120_000):
                runner.start(job)
            if setup is not None:
                setup(panel)
        view = getattr(panel, tab)
        view.settings_changed()
        qtbot.waitUntil(lambda: view.last_result is not None and panel.source.compute.idle(),
                        timeout=60_000)
        qtbot.wait(100)
        qtbot.waitUntil(panel.source.compute.idle, timeout=60_000)
        assert view.message == ""
        image = panel.grab()
        out = Path(os.environ.get("NNSTUDIO_SCREENSHOTS") or tmp_path)
        out.mkdir(parents=True, exist_ok=True)
        assert image.save(str(out / f"insight-{name}.png"))
    finally:
        runner.shutdown()
        panel.shutdown()


def test_render_the_dock_in_the_main_window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from nnstudio.core.graph import ReplaceAll
    from nnstudio.gui.main_window import MainWindow

    monkeypatch.setattr(QMessageBox, "question", staticmethod(
        lambda *a, **k: QMessageBox.StandardButton.Discard))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, recovery_dir=tmp_path / "recovery")
    w.interactive = False
    qtbot.addWidget(w)
    w.resize(1500, 900)
    w.show()
    try:
        network_doc = {
            "nodes": [{"id": "in", "type": "Input"}, {"id": "h1", "type": "Dense", "units": 8},
                      {"id": "a1", "type": "Tanh"}, {"id": "h2", "type": "Dense", "units": 8},
                      {"id": "a2", "type": "Tanh"}, {"id": "out", "type": "Dense", "units": 2},
                      {"id": "p", "type": "Softmax"}],
            "edges": [["in", "h1"], ["h1", "a1"], ["a1", "h2"], ["h2", "a2"], ["a2", "out"],
                      ["out", "p"]],
        }
        w.undo_stack.push_command(ReplaceAll(w.document, network_doc))
        ds = DatasetSpec(example="moons")
        w.workflow.adopt_dataset(ds, build_dataset(ds))
        w.insight_dock.show()
        w.insight_dock.raise_()
        w.workflow.training.epochs.setValue(60)
        w.workflow.training.learning_rate.setValue(0.03)
        with qtbot.waitSignal(w.session.training_finished, timeout=120_000):
            assert w.workflow.training.start()
        src = w.insight_panel.source
        qtbot.waitUntil(lambda: src.network is w.session.network, timeout=10_000)
        qtbot.wait(300)
        qtbot.waitUntil(src.compute.idle, timeout=30_000)
        qtbot.wait(100)
        assert w.insight_panel.boundary.last_result is not None
        out = Path(os.environ.get("NNSTUDIO_SCREENSHOTS") or tmp_path)
        out.mkdir(parents=True, exist_ok=True)
        assert w.grab().save(str(out / "insight-main-window.png"))
    finally:
        w.workflow.shutdown()
        w.insight_panel.shutdown()
