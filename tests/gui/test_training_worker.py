"""The training worker thread: real runs, coalesced progress, pause/resume/stop, shutdown."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnstudio.core.engine import Network, NetworkSpec
from nnstudio.core.training import TrainingConfig
from nnstudio.gui.plots.training_plots import TrainingPlots
from nnstudio.gui.workers.training_worker import TrainingJob, TrainingRunner
from tests.core.training.data import mlp, xor

pytestmark = pytest.mark.gui




def job(epochs=8, batch_size=16, lr=0.05, after=None, n=200):
    x, y = xor(n)
    net = Network(mlp(), (2,), seed=0)
    cfg = TrainingConfig(
        loss="cross_entropy", optimizer={"type": "adam", "learning_rate": lr},
        batch_size=batch_size, epochs=epochs, early_stopping=None,  # every epoch runs
    )
    return TrainingJob(net, cfg, (x[:150], y[:150]), (x[150:], y[150:]), after=after)


@pytest.fixture
def runner(qtbot):
    r = TrainingRunner()
    yield r
    r.shutdown()


def test_real_run_fills_the_plots_one_point_per_epoch(qtbot, runner):
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.reset("accuracy")
    runner.epoch_finished.connect(plots.add_epoch)
    runner.progressed.connect(plots.add_progress)
    epochs_seen = []
    runner.epoch_finished.connect(lambda e: epochs_seen.append(e.epoch))
    with qtbot.waitSignal(runner.finished, timeout=30_000) as blocker:
        runner.start(job(epochs=12, after=lambda net, fin: "metrics"))
    outcome = blocker.args[0]
    plots.flush()
    assert outcome.finished.reason == "completed"
    assert outcome.results == "metrics"
    assert epochs_seen == list(range(1, 13))
    for name in ("loss", "val_loss", "metric", "val_metric", "learning_rate"):
        assert plots.points(name) == 12, name
    assert plots.points("batch_loss") >= 12
    assert np.all(np.isfinite(plots.history.series("loss")))
    text = plots.show_epoch(3)
    assert "Epoch 3" in text and "loss" in text and "accuracy" in text and " / " in text
    qtbot.waitUntil(lambda: not runner._old, timeout=5000)


def test_progress_is_coalesced(qtbot, runner):
    progress = []
    runner.progressed.connect(progress.append)
    # 2000 epochs of 10 batches: ~20k batches in well under a few seconds.
    j = job(epochs=400, batch_size=16, lr=0.01)
    with qtbot.waitSignal(runner.finished, timeout=60_000) as blocker:
        runner.start(j)
    fin = blocker.args[0].finished
    batches = 400 * math.ceil(150 / 16)
    # at most one message per 100 ms (epoch ends do not add any), and the last one
    assert len(progress) <= fin.elapsed / 0.1 + 2
    assert len(progress) < batches
    last = progress[-1]
    assert last.epoch == 400 and last.fraction == pytest.approx(1.0)


def test_pause_resume_stop(qtbot, runner):
    paused_states = []
    runner.pause_changed.connect(paused_states.append)
    epochs = []
    runner.epoch_finished.connect(epochs.append)
    runner.start(job(epochs=100_000, n=2000))
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=10_000)
    runner.pause()
    assert runner.paused
    qtbot.wait(150)  # let queued events land
    seen = len(epochs)
    qtbot.wait(300)
    assert len(epochs) <= seen + 1  # at most the epoch in flight when pausing
    runner.resume()
    assert not runner.paused
    qtbot.waitUntil(lambda: len(epochs) >= seen + 2, timeout=10_000)
    assert paused_states == [True, False]
    with qtbot.waitSignal(runner.finished, timeout=10_000) as blocker:
        runner.stop()
    assert blocker.args[0].finished.reason == "stopped"
    assert not runner.running


def test_stop_while_paused(qtbot, runner):
    epochs = []
    runner.epoch_finished.connect(epochs.append)
    runner.start(job(epochs=100_000, n=2000))
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=10_000)
    runner.pause()
    with qtbot.waitSignal(runner.finished, timeout=10_000) as blocker:
        runner.stop()
    assert blocker.args[0].finished.reason == "stopped"


def test_shutdown_mid_run_leaves_no_thread(qtbot):
    runner = TrainingRunner()
    epochs = []
    runner.epoch_finished.connect(epochs.append)
    runner.start(job(epochs=100_000, n=2000, after=lambda net, fin: 1 / 0))
    thread = runner.thread
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=10_000)
    runner.shutdown()
    assert thread.isFinished()
    assert not runner.running


def test_failure_is_a_message(qtbot, runner):
    x, y = xor()
    net = Network(mlp(), (2,), seed=0)
    bad = TrainingJob(net, TrainingConfig(loss="cross_entropy", epochs=2), (x[:, :1], y))
    with qtbot.waitSignal(runner.failed, timeout=10_000) as blocker:
        runner.start(bad)
    assert "Input" in blocker.args[0]
    assert "Traceback" not in blocker.args[0]
    qtbot.waitUntil(lambda: not runner._old, timeout=5000)


def test_diverging_run_keeps_finite_weights(qtbot, runner):
    x = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32) * 1e3
    y = (x @ np.array([[3.0], [-2.0]], np.float32)) * 1e3
    nodes = [{"id": "in", "type": "Input"}, {"id": "o", "type": "Dense", "units": 1}]
    net = Network(NetworkSpec.from_dict({"nodes": nodes, "edges": [["in", "o"]]}), (2,))
    cfg = TrainingConfig(
        loss="mse", optimizer={"type": "sgd", "learning_rate": 1e3}, batch_size=20, epochs=50
    )
    with qtbot.waitSignal(runner.finished, timeout=10_000) as blocker:
        runner.start(TrainingJob(net, cfg, (x, y)))
    fin = blocker.args[0].finished
    assert fin.reason == "diverged"
    assert "learning rate" in fin.message
    assert np.all(np.isfinite(net.params))


def global_batch(p) -> int:
    """Batches done since the start of the run, from a BatchProgress."""
    return (p.epoch - 1) * p.n_batches + p.batch


def test_started_is_emitted_before_the_first_step(qtbot, runner):
    j = job(epochs=3)
    initial = j.network.params.copy()
    seen = []

    def on_started():
        # the thread is not running yet: the weights are the initial ones
        seen.append((runner.thread.isRunning(), np.array_equal(runner.worker.job.network.params,
                                                               initial)))

    runner.started.connect(on_started)
    with qtbot.waitSignal(runner.finished, timeout=30_000):
        runner.start(j)
    assert seen == [(False, True)]
    assert not np.array_equal(j.network.params, initial)  # and then it trained


def test_a_stop_in_a_started_slot_ends_the_run_before_any_batch(qtbot, runner):
    j = job(epochs=3)
    initial = j.network.params.copy()
    runner.started.connect(runner.stop)
    progress = []
    runner.progressed.connect(progress.append)
    with qtbot.waitSignal(runner.finished, timeout=30_000) as blocker:
        runner.start(j)
    assert blocker.args[0].finished.reason == "stopped"
    assert progress == []
    assert np.array_equal(j.network.params, initial)


def test_pause_and_steps_flush_the_held_back_progress(qtbot):
    # An interval of an hour: after the first batch the coalescing sends nothing by itself,
    # so every later message is a flush of a waiting trainer.
    runner = TrainingRunner(interval=3600.0)
    progress = []
    runner.progressed.connect(progress.append)
    runner.started.connect(runner.pause)  # waits before its first batch
    try:
        runner.start(job(epochs=100_000))
        n = math.ceil(150 / 16)  # batches per epoch
        # one step of 5 batches: the first is sent at once, the last when the trainer waits
        runner.control.step_batches(5)
        qtbot.waitUntil(lambda: bool(progress) and global_batch(progress[-1]) == 5, timeout=10_000)
        last = progress[-1]
        assert (last.epoch, last.batch, last.n_batches) == (1, 5, n)
        assert last.points_x[-1] == pytest.approx(5 / n)  # the batch curve ends there too
        assert last.fraction == pytest.approx(5 / (100_000 * n))
        # a step across an epoch's end
        runner.control.step_batches(n)
        qtbot.waitUntil(lambda: global_batch(progress[-1]) == 5 + n, timeout=10_000)
        assert (progress[-1].epoch, progress[-1].batch) == (2, 5)
        # a real pause of a running trainer: the message after it says where it waits ...
        runner.resume()
        epochs = []
        runner.epoch_finished.connect(epochs.append)
        qtbot.waitUntil(lambda: len(epochs) >= 2, timeout=20_000)
        count = len(progress)
        runner.pause()
        qtbot.waitUntil(lambda: len(progress) > count, timeout=10_000)
        where = global_batch(progress[-1])
        assert where > 5 + n
        # ... exactly: one more batch from there is the next message
        runner.control.step_batches(1)
        qtbot.waitUntil(lambda: global_batch(progress[-1]) != where, timeout=10_000)
        assert global_batch(progress[-1]) == where + 1
        assert runner.paused
        with qtbot.waitSignal(runner.finished, timeout=10_000) as blocker:
            runner.stop()
        assert blocker.args[0].finished.reason == "stopped"
    finally:
        runner.shutdown()


def test_a_stop_sends_the_last_batch(qtbot):
    runner = TrainingRunner(interval=3600.0)
    progress = []
    runner.progressed.connect(progress.append)
    runner.started.connect(runner.pause)
    try:
        runner.start(job(epochs=10))
        runner.control.step_batches(7)
        qtbot.waitUntil(lambda: bool(progress) and global_batch(progress[-1]) == 7, timeout=10_000)
        with qtbot.waitSignal(runner.finished, timeout=10_000):
            runner.stop()
        assert global_batch(progress[-1]) == 7
    finally:
        runner.shutdown()
