"""The trainer generator: events, reproducibility, early stopping, divergence, stop/pause."""

import threading

import numpy as np
import pytest

from nnstudio.core.engine import Network, NetworkSpec
from nnstudio.core.errors import ConfigError, ShapeError
from nnstudio.core.training import (
    BatchEnd,
    EpochEnd,
    TrainControl,
    TrainingConfig,
    TrainingFinished,
    train,
)
from tests.core.training.data import mlp, xor


def run(net, cfg, data, val=None, control=None):
    return list(train(net, cfg, data, val, control))


def test_events_per_batch_and_epoch_and_xor_is_learned():
    x, y = xor()
    net = Network(mlp(hidden=16), (2,), seed=0)
    cfg = TrainingConfig(
        loss="cross_entropy", optimizer={"type": "adam", "learning_rate": 0.03},
        batch_size=20, epochs=60,
    )
    events = run(net, cfg, (x, y), xor(100, seed=1))
    batches = [e for e in events if isinstance(e, BatchEnd)]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert len(batches) == 60 * 10 and len(epochs) == 60
    assert batches[0].n_batches == 10 and batches[-1].batch == 10
    assert isinstance(events[-1], TrainingFinished) and events[-1].reason == "completed"
    assert epochs[-1].val_metrics["accuracy"] >= 0.9
    assert epochs[-1].loss < epochs[0].loss / 3
    assert events[-1].history["loss"] == [e.loss for e in epochs]


def test_same_seed_gives_bit_identical_weights_and_losses():
    x, y = xor()
    cfg = TrainingConfig(loss="cross_entropy", batch_size=16, epochs=5, seed=7)
    runs = []
    for _ in range(2):
        net = Network(mlp(), (2,), seed=3)
        losses = [e.loss for e in run(net, cfg, (x, y)) if isinstance(e, BatchEnd)]
        runs.append((net.params.copy(), losses))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    other = Network(mlp(), (2,), seed=4)
    assert not np.array_equal(other.params, Network(mlp(), (2,), seed=3).params)


def test_float64_network_trains_in_float64():
    x, y = xor()
    net = Network(mlp(), (2,), dtype=np.float64)
    run(net, TrainingConfig(loss="cross_entropy", epochs=2), (x, y))
    assert net.params.dtype == np.float64 and net.forward(x).dtype == np.float64


def test_early_stopping_restores_the_best_weights():
    # Fit noise: the validation loss soon rises; the best epoch's weights must come back.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    y = rng.normal(size=(40, 1)).astype(np.float32)
    xv = rng.normal(size=(40, 2)).astype(np.float32)
    yv = rng.normal(size=(40, 1)).astype(np.float32)
    net = Network(mlp(n_out=1, hidden=64, head=None), (2,))
    cfg = TrainingConfig(
        loss="mse", optimizer={"type": "adam", "learning_rate": 0.05}, epochs=300,
        batch_size=8, early_stopping={"patience": 5},
    )
    events = run(net, cfg, (x, y), (xv, yv))
    done = events[-1]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert done.reason == "early_stopping"
    assert len(epochs) == done.best_epoch + 5 < 300
    best = min(e.val_loss for e in epochs)
    assert epochs[done.best_epoch - 1].val_loss == best
    from nnstudio.core.training import evaluate

    assert evaluate(net, xv, yv, "mse")["loss"] == pytest.approx(best, rel=1e-5)


def test_divergence_stops_with_a_named_reason_and_keeps_good_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32) * 100
    y = (x @ np.array([[3.0], [-2.0], [1.0]], np.float32)) * 100
    net = Network(mlp(n_in=3, n_out=1, head=None, act="ReLU"), (3,))
    cfg = TrainingConfig(
        loss="mse", optimizer={"type": "sgd", "learning_rate": 10.0}, epochs=50, batch_size=8
    )
    done = run(net, cfg, (x, y))[-1]
    assert done.reason == "diverged"
    assert "diverged at epoch" in done.message and "lower learning rate" in done.message
    assert np.all(np.isfinite(net.params))


def test_stop_from_another_thread_ends_within_a_batch():
    x, y = xor(2000)
    net = Network(mlp(), (2,))
    control = TrainControl()
    events = []
    for e in train(net, TrainingConfig(loss="cross_entropy", epochs=100, batch_size=10),
                   (x, y), control=control):
        events.append(e)
        if isinstance(e, BatchEnd) and e.batch == 5:
            threading.Thread(target=control.stop).start()
            threading.Event().wait(0.05)
    assert events[-1].reason == "stopped"
    assert sum(isinstance(e, BatchEnd) for e in events) <= 7


def test_pause_blocks_and_step_runs_exactly_n_batches():
    x, y = xor(100)
    net = Network(mlp(), (2,))
    control = TrainControl()
    control.pause()
    gen = train(net, TrainingConfig(loss="cross_entropy", epochs=3, batch_size=10), (x, y),
                control=control)
    seen = []

    def consume():
        for e in gen:
            seen.append(e)

    t = threading.Thread(target=consume)
    t.start()
    t.join(0.2)
    assert seen == [] and t.is_alive()  # paused before the first batch
    control.step_batches(3)
    deadline = threading.Event()
    for _ in range(100):
        if len(seen) >= 3:
            break
        deadline.wait(0.01)
    deadline.wait(0.1)
    assert [e.batch for e in seen] == [1, 2, 3]
    control.resume()
    t.join(10)
    assert not t.is_alive() and seen[-1].reason == "completed"


def test_mismatched_data_and_network_are_readable_errors():
    x, y = xor()
    net = Network(mlp(n_out=2), (2,))
    with pytest.raises(ShapeError, match="3 classes but the network's output is"):
        run(net, TrainingConfig(loss="cross_entropy"), (x, np.r_[y[:-1], 2]))
    with pytest.raises(ShapeError, match="samples have shape"):
        run(net, TrainingConfig(loss="cross_entropy"), (np.zeros((5, 3), np.float32), y[:5]))
    # 2-D targets that do not match the outputs, which would otherwise broadcast silently
    with pytest.raises(ShapeError, match=r"1 target value\(s\) per sample but the network "
                       r"outputs \(2,\)"):
        run(net, TrainingConfig(loss="cross_entropy"), (x, y[:, None].astype(np.float32)))
    with pytest.raises(ShapeError, match=r"3 target value\(s\) per sample"):
        run(Network(mlp(n_out=1, head="Sigmoid"), (2,)),
            TrainingConfig(loss="binary_cross_entropy"), (x, np.zeros((len(x), 3), np.float32)))
    with pytest.raises(ConfigError, match="unknown loss"):
        run(net, TrainingConfig(loss="hinge"), (x, y))
    with pytest.raises(ConfigError, match=r"training\.epochs"):
        TrainingConfig.from_dict({"epochs": -1})


def test_steady_state_epoch_allocates_only_batch_sized_temporaries():
    import tracemalloc

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2048, 64)).astype(np.float32)
    y = rng.integers(0, 10, 2048)
    s = NetworkSpec.from_dict({
        "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 128},
                  {"id": "r", "type": "ReLU"}, {"id": "o", "type": "Dense", "units": 10},
                  {"id": "p", "type": "Softmax"}],
        "edges": [["in", "h"], ["h", "r"], ["r", "o"], ["o", "p"]],
    })
    net = Network(s, (64,))
    gen = train(net, TrainingConfig(loss="cross_entropy", epochs=3, batch_size=64), (x, y))
    for e in gen:  # warm up the first epoch: buffers get allocated here
        if isinstance(e, EpochEnd):
            break
    tracemalloc.start()
    for e in gen:
        if isinstance(e, EpochEnd):
            break
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # One batch of activations is 64*128*4 = 32 KiB; the parameters alone are 35 KiB.
    # The steady state keeps its peak well under one extra copy of the parameters.
    assert peak < 64 * 1024, f"epoch peak allocation {peak} bytes"


def test_learning_rate_follows_the_schedule_each_epoch():
    x, y = xor(40)
    net = Network(mlp(), (2,))
    cfg = TrainingConfig(
        loss="cross_entropy", epochs=4, batch_size=40,
        optimizer={"type": "sgd", "learning_rate": 0.1},
        schedule={"type": "step", "step_size": 2, "gamma": 0.1},
    )
    epochs = [e for e in run(net, cfg, (x, y)) if isinstance(e, EpochEnd)]
    assert [e.learning_rate for e in epochs] == pytest.approx([0.1, 0.1, 0.01, 0.01])


def test_zero_epochs_leaves_the_initial_weights():
    x, y = xor(40)
    net = Network(mlp(), (2,), seed=5)
    before = net.params.copy()
    events = run(net, TrainingConfig(loss="cross_entropy", epochs=0), (x, y))
    assert len(events) == 1 and events[0].reason == "completed"
    assert np.array_equal(net.params, before)


@pytest.mark.parametrize(
    "training, place",
    [
        ({"optimizer": {"type": "sgd", "momentum": "x"}}, "training.optimizer.momentum"),
        ({"optimizer": {"type": "sgd", "momentum": -1}}, "training.optimizer.momentum"),
        ({"optimizer": {"type": "sgd", "nesterov": 1}}, "training.optimizer.nesterov"),
        ({"optimizer": {"type": "adam", "beta1": 0.9}}, "training.optimizer"),
        ({"shuffle": "yes"}, "training.shuffle"),
        ({"early_stopping": {"min_delta": "a"}}, "training.early_stopping.min_delta"),
        ({"early_stopping": {"restore_best": 1}}, "training.early_stopping.restore_best"),
        ({"schedule": "cosine"}, "training.schedule"),
        ({"schedule": {"type": "step", "gamma": "half"}}, "training.schedule.gamma"),
    ],
)
def test_every_bad_training_setting_is_a_config_error_with_its_place(training, place):
    with pytest.raises(ConfigError) as err:
        TrainingConfig.from_dict(training)
    assert err.value.where == place


def test_a_user_stop_keeps_the_best_weights_so_far():
    x, y = xor(200)
    net = Network(mlp(), (2,))
    control = TrainControl()
    cfg = TrainingConfig(loss="cross_entropy", epochs=50, batch_size=20,
                         optimizer={"type": "adam", "learning_rate": 0.05})
    epochs = []
    events = []
    for e in train(net, cfg, (x, y), xor(100, seed=1), control=control):
        events.append(e)
        if isinstance(e, EpochEnd):
            epochs.append(e)
            if e.epoch == 6:
                control.stop()
    done = events[-1]
    assert done.reason == "stopped" and "epoch" in done.message
    from nnstudio.core.training import evaluate

    best = min(e.val_loss for e in epochs)
    after = evaluate(net, *xor(100, seed=1), "cross_entropy")["loss"]
    assert after == pytest.approx(best, rel=1e-5)


@pytest.mark.parametrize("head, loss, shuffle", [
    ("Softmax", "cross_entropy", True), (None, "mse", True), ("Softmax", "cross_entropy", False),
])
def test_the_chain_step_and_the_whole_epoch_shuffle_change_nothing_but_speed(
    monkeypatch, head, loss, shuffle
):
    """A plain chain trains through the compiled step and, being small, from a per-epoch
    shuffled copy; the graph walk with per-batch gathering must give the very same run."""
    from nnstudio.core.engine import chain as chain_module
    from nnstudio.core.training import trainer as trainer_module

    x, y = xor(203)  # 203 = 12 batches of 16 and a last batch of 11
    if loss == "mse":
        y = np.stack([y, 1 - y], 1).astype(np.float32)
    cfg = TrainingConfig(loss=loss, batch_size=16, epochs=3, seed=5, shuffle=shuffle,
                         optimizer={"type": "sgd", "learning_rate": 0.1, "momentum": 0.9})

    def one_run():
        net = Network(mlp(head=head), (2,), seed=1)
        events = run(net, cfg, (x, y), xor(50, seed=2))
        return [(type(e).__name__, getattr(e, "loss", None), getattr(e, "metrics", None))
                for e in events], net.params.copy()

    built = []
    real_build = chain_module.ChainStep.build

    def spy(cls, net, lo):
        built.append(real_build(net, lo))
        return built[-1]

    monkeypatch.setattr(chain_module.ChainStep, "build", classmethod(spy))
    fast_events, fast_params = one_run()
    assert built and built[0] is not None  # the run really took the compiled step
    monkeypatch.setattr(chain_module.ChainStep, "build", classmethod(lambda cls, n, lo: None))
    monkeypatch.setattr(trainer_module, "_WHOLE_EPOCH_BYTES", 0)
    slow_events, slow_params = one_run()
    assert fast_events == slow_events
    np.testing.assert_array_equal(fast_params, slow_params)


@pytest.mark.parametrize("whole_epoch", [True, False])
def test_training_accuracy_is_that_of_the_predictions_made_before_each_step(
    monkeypatch, whole_epoch
):
    from nnstudio.core.training import trainer as trainer_module

    if not whole_epoch:
        monkeypatch.setattr(trainer_module, "_WHOLE_EPOCH_BYTES", 0)
    x, y = xor(203)
    before = Network(mlp(), (2,), seed=6).predict(x)
    expected = float(np.mean(before.argmax(1) == y))
    net = Network(mlp(), (2,), seed=6)
    cfg = TrainingConfig(loss="cross_entropy", batch_size=203, epochs=1, seed=9)
    (epoch,) = [e for e in run(net, cfg, (x, y)) if isinstance(e, EpochEnd)]
    assert epoch.metrics["accuracy"] == expected
    assert 0.2 < expected < 0.8  # not a trivial all-right or all-wrong network


def test_before_wait_runs_in_the_trainer_thread_each_time_it_is_about_to_block():
    """The hook the GUI worker uses to send held-back progress when a run pauses."""
    x, y = xor(64)
    control = TrainControl()
    calls: list[tuple[int, str]] = []
    seen = []
    control.before_wait = lambda: calls.append(
        (sum(isinstance(e, BatchEnd) for e in seen), threading.current_thread().name))
    control.step_batches(3)  # three batches, then wait
    events = train(Network(mlp(), (2,), seed=0),
                   TrainingConfig(loss="cross_entropy", batch_size=16, epochs=2), (x, y),
                   control=control)
    worker = threading.Thread(target=lambda: seen.extend(events), name="trainer")
    worker.start()
    for _ in range(200):
        if calls:
            break
        threading.Event().wait(0.01)
    assert calls == [(3, "trainer")]  # once, after exactly three batches, in its thread
    control.step_batches(2)
    for _ in range(200):
        if len(calls) == 2:
            break
        threading.Event().wait(0.01)
    assert calls[1] == (5, "trainer")
    control.resume()  # running freely: no more waits
    worker.join(10)
    assert not worker.is_alive() and len(calls) == 2
    assert isinstance(seen[-1], TrainingFinished) and seen[-1].reason == "completed"
