"""Accuracy on real data: the 10,000 MNIST test images, split 70/15/15 (stratified, seed 0).

A LeNet-like CNN must reach ≥ 0.97 test accuracy and an LSTM reading each image as 28 rows
of 28 pixels ≥ 0.95. Both train through the real trainer (Adam, cosine schedule, early
stopping on the validation split) in well under a minute each on two idle cores.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from nnstudio.core.data import load_idx, split_indices
from nnstudio.core.engine import Network
from nnstudio.core.training import EpochEnd, TrainingConfig, TrainingFinished, evaluate, train
from tests.core.engine.gradcheck import chain

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist(datasets):
    folder = datasets / "mnist-t10k"
    data = load_idx(folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz")
    x = data.x.astype(np.float32) / 255.0  # (10000, 28, 28), the shape of an IDX image
    y = data.y
    assert x.shape == (10_000, 28, 28) and y.shape == (10_000,)
    tr, va, te = split_indices(len(x), (0.7, 0.15, 0.15), seed=0, stratify=y)
    assert len(tr) == 7000 and abs(len(va) - 1500) <= 5 and len(tr) + len(va) + len(te) == 10_000
    return (x[tr], y[tr]), (x[va], y[va]), (x[te], y[te])


def fit(spec, mnist, **config):
    (x_tr, y_tr), val, (x_te, y_te) = mnist
    net = Network(spec, x_tr.shape[1:], seed=0)
    cfg = TrainingConfig(loss="cross_entropy", seed=0, schedule={"type": "cosine"},
                         early_stopping={"patience": 4}, **config)
    start = time.perf_counter()
    history = []
    for event in train(net, cfg, (x_tr, y_tr), val):
        if isinstance(event, EpochEnd):
            history.append(round(event.val_metrics["accuracy"], 4))
        elif isinstance(event, TrainingFinished):
            assert event.reason in ("completed", "early_stopping"), event.message
    accuracy = evaluate(net, x_te, y_te, "cross_entropy")["accuracy"]
    print(f"validation accuracy by epoch {history}; test accuracy {accuracy:.4f} "
          f"in {time.perf_counter() - start:.1f} s")
    return accuracy


def test_lenet_like_cnn_reaches_97_percent(mnist):
    spec = chain([
        {"type": "Reshape", "shape": [1, 28, 28]},  # an IDX image (28, 28) → (1, 28, 28)
        {"type": "Conv2D", "filters": 8, "kernel_size": 3, "kernel_initializer": "he_uniform"},
        {"type": "ReLU"},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Conv2D", "filters": 16, "kernel_size": 3, "kernel_initializer": "he_uniform"},
        {"type": "ReLU"},
        {"type": "MaxPool2D", "pool_size": 2},
        {"type": "Flatten"},
        {"type": "Dense", "units": 64, "kernel_initializer": "he_uniform"},
        {"type": "ReLU"},
        {"type": "Dense", "units": 10},
        {"type": "Softmax"},
    ])
    accuracy = fit(spec, mnist, optimizer={"type": "adam", "learning_rate": 0.002},
                   batch_size=32, epochs=8)
    assert accuracy >= 0.97


def test_lstm_reading_rows_reaches_95_percent(mnist):
    spec = chain([
        {"type": "LSTM", "units": 64},  # 28 steps of 28 pixels: the rows of the image
        {"type": "Dense", "units": 10},
        {"type": "Softmax"},
    ])
    accuracy = fit(spec, mnist, optimizer={"type": "adam", "learning_rate": 0.003},
                   batch_size=64, epochs=12, clip_norm=5.0)
    assert accuracy >= 0.95
