"""Training from the cache batch by batch, and augmentation of the training split."""

from __future__ import annotations

import numpy as np

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.data.augment import Augmenter, AugmentOptions
from nnstudio.core.engine.network import Network, NetworkSpec, NodeSpec
from nnstudio.core.training import TrainingConfig, train

from .test_images import shapes


def _net(input_shape, seed=0) -> Network:
    nodes = [NodeSpec("in", "Input", {}), NodeSpec("c", "Conv2D", {"filters": 4,
                                                                    "kernel_size": [3, 3]}),
             NodeSpec("r", "ReLU", {}), NodeSpec("f", "Flatten", {}),
             NodeSpec("d", "Dense", {"units": 2}), NodeSpec("s", "Softmax", {})]
    edges = [("in", "c"), ("c", "r"), ("r", "f"), ("f", "d"), ("d", "s")]
    return Network(NetworkSpec(nodes, edges), input_shape, seed=seed)


def _run(net, x, y, x_val, y_val):
    cfg = TrainingConfig(loss="cross_entropy", optimizer={"type": "adam", "learning_rate": 0.01},
                         batch_size=4, epochs=3, seed=5)
    events = list(train(net, cfg, (x, y), (x_val, y_val)))
    return events[-1]


def test_lazy_batches_train_exactly_like_the_arrays(tmp_path):
    shapes(tmp_path / "d", n=12)
    p = build_dataset(DatasetSpec(source=str(tmp_path / "d")))
    assert getattr(p.x_train, "lazy_batches", False)
    a, b = _net(p.input_shape), _net(p.input_shape)
    end_lazy = _run(a, p.x_train, p.y_train, p.x_val, p.y_val)
    end_full = _run(b, np.asarray(p.x_train), p.y_train, np.asarray(p.x_val), p.y_val)
    np.testing.assert_array_equal(a.params, b.params)
    assert end_lazy.history == end_full.history
    assert end_lazy.history["accuracy"][-1] > 0.9


def test_augmentation_is_seeded_train_only_and_recorded(tmp_path):
    shapes(tmp_path / "d", n=8)
    aug = {"flip": True, "shift": 0.1, "rotate": 15, "brightness": 0.1, "contrast": 0.2,
           "seed": 4}
    p = build_dataset(DatasetSpec(source=str(tmp_path / "d"), augment=aug))
    plain = build_dataset(DatasetSpec(source=str(tmp_path / "d")))
    assert p.preparation.media["augment"] == AugmentOptions.from_dict(aug).to_dict()
    idx = np.arange(len(p.x_train))
    out = np.empty(p.x_train.shape, np.float32)
    p.x_train.take_into(idx, out)
    assert not np.allclose(out, np.asarray(plain.x_train))  # augmented
    np.testing.assert_array_equal(np.asarray(p.x_val), np.asarray(plain.x_val))  # not
    q = build_dataset(DatasetSpec(source=str(tmp_path / "d"), augment=aug))
    out2 = np.empty_like(out)
    q.x_train.take_into(idx, out2)
    np.testing.assert_array_equal(out, out2)  # same seed, same transforms


def test_augmenter_operations():
    x = np.arange(2 * 1 * 5 * 5, dtype=np.float32).reshape(2, 1, 5, 5)
    flips = Augmenter(AugmentOptions(flip=True, seed=0))
    y = flips(x.copy())
    for i in range(2):
        assert np.array_equal(y[i], x[i]) or np.array_equal(y[i], x[i][..., ::-1])
    rot = Augmenter(AugmentOptions(rotate=90, seed=1))
    z = rot(x.copy())
    assert sorted(z[0].ravel()) != sorted(x[0].ravel()) or not np.array_equal(z, x)
    bright = Augmenter(AugmentOptions(brightness=0.5, seed=2), (0, 255))
    w = bright(np.full((3, 1, 2, 2), 100, np.float32))
    assert w.min() >= 0 and w.max() <= 255 and len(np.unique(w[:, 0, 0, 0])) == 3


def test_replaying_a_run_on_the_same_data_draws_the_same_augmentation(tmp_path):
    from nnstudio.core.insight.replay import data_fingerprint

    shapes(tmp_path / "d", n=8)
    p = build_dataset(DatasetSpec(source=str(tmp_path / "d"),
                                  augment={"rotate": 20, "brightness": 0.2, "seed": 1}))
    a, b = _net(p.input_shape), _net(p.input_shape)
    _run(a, p.x_train, p.y_train, p.x_val, p.y_val)
    _run(b, p.x_train, p.y_train, p.x_val, p.y_val)  # the same prepared object again
    np.testing.assert_array_equal(a.params, b.params)
    q = build_dataset(DatasetSpec(source=str(tmp_path / "d"),
                                  augment={"rotate": 20, "brightness": 0.2, "seed": 1}))
    fp = data_fingerprint((p.x_train, p.y_train), (p.x_val, p.y_val))
    assert fp == data_fingerprint((q.x_train, q.y_train), (q.x_val, q.y_val))
    plain = build_dataset(DatasetSpec(source=str(tmp_path / "d")))
    assert fp != data_fingerprint((plain.x_train, plain.y_train), (plain.x_val, plain.y_val))
