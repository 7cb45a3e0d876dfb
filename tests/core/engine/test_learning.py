"""The engine learns real things: XOR, the salary line (vs least squares) and MNIST digits."""

import numpy as np
import pytest

from nnstudio.core.data import load_idx, load_table, split_indices
from nnstudio.core.engine import Network
from nnstudio.core.training import TrainingConfig, evaluate, train
from tests.core.engine.gradcheck import chain


def fit(net, cfg, data, val=None):
    events = list(train(net, cfg, data, val))
    return events[-1]


def test_xor_with_relu_mlp_trained_by_sgd_momentum():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([0, 1, 1, 0])
    net = Network(chain([{"type": "Dense", "units": 8}, {"type": "ReLU"},
                        {"type": "Dense", "units": 2}, {"type": "Softmax"}]), (2,), seed=2)
    cfg = TrainingConfig(loss="cross_entropy", epochs=400, batch_size=4,
                         optimizer={"type": "sgd", "learning_rate": 0.1, "momentum": 0.9})
    fit(net, cfg, (x, y))
    assert evaluate(net, x, y, "cross_entropy")["accuracy"] == 1.0


def test_salary_gradient_descent_lands_on_the_least_squares_line(datasets):
    table = load_table(datasets / "salary" / "Salary_Data.csv")
    years = table["YearsExperience"].values
    salary = table["Salary"].values
    # shared/datasets/README.md says 30 rows; the file holds 31 (its last row is repeated).
    assert len(years) == 31 and np.isfinite(salary).all()
    # Least squares on the raw data: salary = w·years + b.
    A = np.c_[years, np.ones_like(years)]
    (w_ls, b_ls), *_ = np.linalg.lstsq(A, salary, rcond=None)
    # Gradient descent on ŷ = w·x + b with standardized x and y, as the app prepares data.
    mx, sx, my, sy = years.mean(), years.std(), salary.mean(), salary.std()
    x = ((years - mx) / sx)[:, None]
    y = ((salary - my) / sy)[:, None]
    net = Network(chain([{"type": "Dense", "units": 1}]), (1,), dtype=np.float64, seed=0)
    cfg = TrainingConfig(loss="mse", epochs=500, batch_size=len(x), shuffle=False,
                         optimizer={"type": "sgd", "learning_rate": 0.1})
    fit(net, cfg, (x, y))
    w = net.param_views["n0"]["W"][0, 0] * sy / sx
    b = my + sy * net.param_views["n0"]["b"][0] - w * mx
    assert w == pytest.approx(w_ls, rel=1e-6)
    assert b == pytest.approx(b_ls, rel=1e-6)


@pytest.mark.slow
def test_mnist_mlp_reaches_95_percent_on_held_out_digits(datasets):
    data = load_idx(datasets / "mnist-t10k" / "t10k-images-idx3-ubyte.gz",
                    datasets / "mnist-t10k" / "t10k-labels-idx1-ubyte.gz")
    x = (data.x.reshape(len(data.x), -1) / 255.0).astype(np.float32)
    y = data.y.astype(np.int64)
    tr, va, te = split_indices(len(x), (0.7, 0.15, 0.15), seed=0, stratify=y)
    net = Network(chain([{"type": "Dense", "units": 256}, {"type": "ReLU"},
                        {"type": "Dropout", "rate": 0.2},
                        {"type": "Dense", "units": 128}, {"type": "ReLU"},
                        {"type": "Dense", "units": 10}, {"type": "Softmax"}]), (784,), seed=0)
    cfg = TrainingConfig(loss="cross_entropy", epochs=15, batch_size=64,
                         optimizer={"type": "adam", "learning_rate": 1e-3},
                         early_stopping={"patience": 3})
    done = fit(net, cfg, (x[tr], y[tr]), (x[va], y[va]))
    assert done.reason in ("completed", "early_stopping")
    test = evaluate(net, x[te], y[te], "cross_entropy", report=True)
    assert test["accuracy"] >= 0.95, test["accuracy"]
    cm = np.array(test["confusion_matrix"])
    assert cm.sum() == len(te) and np.trace(cm) / cm.sum() == pytest.approx(test["accuracy"])
