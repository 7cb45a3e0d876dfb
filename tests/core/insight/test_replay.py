"""Replay: seed, split and initial weights reproduce a run bit for bit."""

import io
import json

import numpy as np
import pytest

from nnstudio.core.errors import ProjectError
from nnstudio.core.insight import RunRecord, fingerprint
from nnstudio.core.training import EpochEnd, TrainingConfig, train
from tests.core.insight.nets import mlp, xor_data


def curves(events):
    return [(e.loss, e.val_loss) for e in events if isinstance(e, EpochEnd)]


@pytest.mark.parametrize("dropout", [None, 0.3])
def test_two_replays_give_identical_curves(dropout):
    x, y = xor_data(120)
    tr, va = (x[:90], y[:90]), (x[90:], y[90:])
    net = mlp(widths=(8, 8), dtype=np.float32, dropout=dropout, seed=5)
    cfg = TrainingConfig(loss="cross_entropy", optimizer={"type": "adam", "learning_rate": 0.02},
                         batch_size=16, epochs=6, seed=11)
    indices = {"train": np.arange(90), "validation": np.arange(90, 120)}
    record = RunRecord.capture(net, cfg, split={"seed": 0, "validation": 0.25},
                               split_indices=indices, train_data=tr, val_data=va)
    first = curves(train(net, cfg, tr, va))
    end_weights = net.params.copy()
    net.initialize(99)  # the user trains on or re-initializes: the record still holds
    second = curves(record.replay(net, tr, va))
    np.testing.assert_array_equal(net.params, end_weights)
    other = mlp(widths=(8, 8), dtype=np.float32, dropout=dropout, seed=123)
    third = curves(record.replay(other, tr, va))
    assert first == second == third
    assert len(first) == 6


def test_record_round_trips_through_json_and_npz():
    x, y = xor_data(60)
    net = mlp(widths=(4,), dtype=np.float32, dropout=0.2)
    cfg = TrainingConfig(loss="cross_entropy", epochs=3, batch_size=8, seed=4)
    record = RunRecord.capture(net, cfg, split={"seed": 1}, split_indices={"train": np.arange(60)},
                               train_data=(x, y))
    text = json.dumps(record.to_dict())
    buf = io.BytesIO()
    np.savez(buf, **record.arrays())
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        loaded = RunRecord.from_dict(json.loads(text), dict(z))
    assert loaded.seed == 4 and loaded.split == {"seed": 1}
    np.testing.assert_array_equal(loaded.split_indices["train"], np.arange(60))
    a = curves(record.replay(mlp(widths=(4,), dtype=np.float32, dropout=0.2), (x, y)))
    b = curves(loaded.replay(mlp(widths=(4,), dtype=np.float32, dropout=0.2), (x, y)))
    # The record alone rebuilds the network: architecture and initial weights.
    start = loaded.start_network()
    np.testing.assert_array_equal(start.params, record.initial_params)
    assert start.dtype == np.float32 and start.input_shape == (2,)
    c = curves(loaded.replay(start, (x, y)))
    assert a == b == c


def test_replay_refuses_other_data_or_network():
    x, y = xor_data(40)
    net = mlp(widths=(4,))
    record = RunRecord.capture(net, TrainingConfig(loss="cross_entropy"), train_data=(x, y))
    with pytest.raises(ProjectError, match="training data differ"):
        record.replay(net, (x[:-1], y[:-1]))
    with pytest.raises(ProjectError, match="network changed"):
        record.restore(mlp(widths=(5,)))
    with pytest.raises(ProjectError, match="newer"):
        RunRecord.from_dict({**record.to_dict(), "version": 99}, record.arrays())
    assert fingerprint(x, y) == fingerprint(x.copy(), y.copy()) != fingerprint(y, x)
