"""The insight views on real training runs: live updates, step mode, the main window.

Step mode is checked against the core trainer itself: after "One batch" the weights are
exactly those after one optimizer step of an identical run, after "One epoch" those at the
end of the epoch.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.engine import Network, NetworkSpec, NodeSpec
from nnstudio.core.graph import ReplaceAll
from nnstudio.core.insight import decision_grid
from nnstudio.core.insight.dataview import InsightData
from nnstudio.core.training import BatchEnd, TrainControl, TrainingConfig, train
from nnstudio.gui.insight import InsightPanel, install
from nnstudio.gui.workers import training_worker
from nnstudio.gui.workers.training_worker import TrainingJob, TrainingRunner
from tests.core.training.data import xor

pytestmark = pytest.mark.gui

N_TRAIN, BATCH = 150, 16  # 10 batches an epoch


def spec() -> NetworkSpec:
    nodes = [NodeSpec("in", "Input"), NodeSpec("h1", "Dense", {"units": 6}),
             NodeSpec("a1", "Tanh"), NodeSpec("out", "Dense", {"units": 2}),
             NodeSpec("p", "Softmax")]
    return NetworkSpec(nodes, [("in", "h1"), ("h1", "a1"), ("a1", "out"), ("out", "p")])



def make_job(epochs=30):
    x, y = xor()
    cfg = TrainingConfig(loss="cross_entropy", optimizer={"type": "adam", "learning_rate": 0.05},
                         batch_size=BATCH, epochs=epochs, seed=3,
                         early_stopping=None)  # every epoch runs: the tests step through them
    net = Network(spec(), (2,), seed=0)
    return TrainingJob(net, cfg, (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:]))


def reference_params(job, n_batches: int) -> list[np.ndarray]:
    """The weights after each of the first ``n_batches`` steps of an identical run."""
    net = Network(spec(), (2,), seed=0)
    out = []
    for ev in train(net, job.config, job.train_data, job.val_data):
        if isinstance(ev, BatchEnd):
            out.append(net.params.copy())
            if len(out) == n_batches:
                break
    return out


@pytest.fixture
def panel(qtbot):
    p = InsightPanel()
    qtbot.addWidget(p)
    p.resize(1000, 700)
    p.show()
    qtbot.waitExposed(p)
    x, y = xor()
    p.source.set_data(InsightData.from_arrays(x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:],
                                              y[N_TRAIN:], feature_names=["x1", "x2"]))
    yield p
    p.shutdown()


class PausedAtStart(TrainControl):
    """A control that holds the trainer before its first batch until a step is asked for.

    ``TrainingRunner.start`` starts the worker thread before it emits ``started``; under load
    the trainer can take a few batches before the GUI thread asks for the first step. A run
    started from a step button should start paused like this (see the report to the
    workflow owner); the tests install it so that exactness does not depend on the race.
    """

    def __init__(self) -> None:
        super().__init__()
        self._budget = 0


@pytest.fixture
def paused_start(monkeypatch):
    monkeypatch.setattr(training_worker, "TrainControl", PausedAtStart)


@pytest.fixture
def runner(qtbot):
    r = TrainingRunner()
    yield r
    r.shutdown()


def test_views_follow_a_real_run(qtbot, panel, runner):
    panel.source.attach_runner(runner)
    job = make_job(epochs=25)
    seen = []
    panel.source.snapshot_ready.connect(lambda s: seen.append((s.epoch, s.batch)))
    with qtbot.waitSignal(runner.finished, timeout=60_000):
        runner.start(job)
    qtbot.waitUntil(panel.source.compute.idle, timeout=10_000)
    qtbot.wait(50)
    qtbot.waitUntil(panel.source.compute.idle, timeout=10_000)
    src = panel.source
    assert not src.training and src.epoch == 25
    assert seen[-1] == (25, 10) and len(seen) >= 2
    assert len(src.path) >= 2
    np.testing.assert_array_equal(src.path.array()[-1], job.network.params)
    # The last map is the trained network's, on its grid.
    view = panel.boundary
    probs = view.last_result["probs"]
    expected = decision_grid(job.network, None, view.x_range, view.y_range, view.resolution,
                             fixed=src.data.means())
    np.testing.assert_array_equal(probs, expected)
    # Stats were gathered over the run even though their tab was hidden.
    steps, norms = src.history.arrays("grad_norm")
    assert len(steps) >= 1 and set(norms) == {"h1", "out"}
    assert "finished at epoch 25" in panel.steps.status.text()


def wait_paused(qtbot, src):
    qtbot.waitUntil(lambda: src.training and not src.stepping and src.paused, timeout=20_000)


def test_one_batch_and_one_epoch_advance_exactly(qtbot, panel, runner, paused_start):
    src = panel.source
    src.attach_runner(runner)
    job = make_job()
    ref = reference_params(job, 20)
    steps = panel.steps
    steps.start_handler = lambda: (runner.start(job), True)[1]
    steps.update_state()
    assert steps.one_batch_action.isEnabled()

    steps.one_batch_action.trigger()  # starts the run and stops it after one step
    wait_paused(qtbot, src)
    np.testing.assert_array_equal(job.network.params, ref[0])
    assert src.position_text() == "epoch 1 · batch 1/10"
    assert "paused at epoch 1 · batch 1/10" in steps.status.text()

    steps.one_batch_action.trigger()
    wait_paused(qtbot, src)
    np.testing.assert_array_equal(job.network.params, ref[1])

    steps.one_epoch_action.trigger()  # to the end of epoch 1
    wait_paused(qtbot, src)
    np.testing.assert_array_equal(job.network.params, ref[9])
    assert src.position_text() == "epoch 1 · batch 10/10"

    steps.one_epoch_action.trigger()  # a whole epoch
    wait_paused(qtbot, src)
    np.testing.assert_array_equal(job.network.params, ref[19])
    assert src.position_text() == "epoch 2 · batch 10/10"
    # Every view shows the paused weights: the newest snapshot is the network now.
    np.testing.assert_array_equal(src.latest.params, ref[19])
    qtbot.waitUntil(lambda: panel.boundary.last_result is not None
                    and np.array_equal(panel.boundary.last_result["probs"], decision_grid(
                        job.network, None, panel.boundary.x_range, panel.boundary.y_range,
                        panel.boundary.resolution, fixed=src.data.means())),
                    timeout=10_000)
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        runner.stop()
    assert steps.one_batch_action.isEnabled()  # a step would start a new run
    steps.start_handler = None
    steps.update_state()
    assert not steps.one_batch_action.isEnabled()  # no run and no way to start one


def test_step_while_running_pauses_after_the_step(qtbot, panel, runner):
    src = panel.source
    src.attach_runner(runner)
    job = make_job(epochs=2000)
    runner.start(job)
    qtbot.waitUntil(lambda: src.epoch >= 2, timeout=30_000)
    panel.steps.one_batch()
    wait_paused(qtbot, src)
    before = job.network.params.copy()
    qtbot.wait(100)
    np.testing.assert_array_equal(job.network.params, before)  # it stays paused
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        runner.stop()


# -- the main window ----------------------------------------------------------------------------
CLASSIFIER = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 8},
              {"id": "a", "type": "Tanh"}, {"id": "out", "type": "Dense", "units": 2},
              {"id": "p", "type": "Softmax"}],
    "edges": [["in", "h"], ["h", "a"], ["a", "out"], ["out", "p"]],
}


@pytest.fixture
def window(workflow_window):
    return workflow_window


def test_install_in_the_main_window_and_step_from_scratch(qtbot, window, paused_start):
    panel = getattr(window, "insight_panel", None) or install(window, window.session)
    assert window.insight_dock.windowTitle() == "Inside the network"
    assert panel.steps.start_handler is not None
    window.undo_stack.push_command(ReplaceAll(window.document, CLASSIFIER))
    ds = DatasetSpec(example="xor")
    window.workflow.adopt_dataset(ds, build_dataset(ds))
    src = panel.source
    assert src.data is not None and src.data.plot_names == ["x1", "x2"]
    assert src.network is not None  # the design, untrained, before any run
    # Selecting a Dense node on the canvas points the neuron inspector at it.
    window.scene.clearSelection()
    window.scene.node_items["out"].setSelected(True)
    assert panel.neurons.selected == ("out", 0)
    window.scene.clearSelection()
    window.scene.node_items["h"].setSelected(True)
    assert panel.neurons.selected == ("h", 0)
    window.workflow.training.epochs.setValue(50)
    panel.steps.one_batch_action.trigger()  # starts the run through the training panel
    wait_paused(qtbot, src)
    assert window.session.training and src.runner is window.workflow.training.runner
    assert src.position_text() == "epoch 1 · batch 1/" + str(src.n_batches)
    # Nobody pressed Pause, yet the run waits: the Training panel and the menu say so, and
    # the button resumes it; a step while it runs pauses it again, and they say that too.
    training, pause_action = window.workflow.training, window.workflow.actions["pause"]
    qtbot.waitUntil(lambda: training.pause_button.text() == "Resume", timeout=5_000)
    assert pause_action.text() == "&Resume"
    qtbot.mouseClick(training.pause_button, Qt.MouseButton.LeftButton)
    assert not training.runner.paused and training.pause_button.text() == "Pause"
    assert pause_action.text() == "&Pause"
    qtbot.waitUntil(lambda: src.epoch >= 2, timeout=30_000)
    panel.steps.one_batch()
    wait_paused(qtbot, src)
    qtbot.waitUntil(lambda: training.pause_button.text() == "Resume", timeout=5_000)
    assert "paused" in training.status.text()
    with qtbot.waitSignal(window.session.training_finished, timeout=60_000):
        window.workflow.training.stop()
    qtbot.waitUntil(lambda: src.network is window.session.network, timeout=10_000)
