"""Every optimizer against a step computed by hand from its documented update rule."""

import math

import numpy as np
import pytest

from nnstudio.core.engine.optimizers import make_optimizer
from nnstudio.core.engine.schedules import Schedule
from nnstudio.core.errors import ConfigError

P0 = np.array([0.5, -1.0, 2.0, 0.25])
G1 = np.array([0.1, -0.2, 0.3, -0.4])
G2 = np.array([-0.05, 0.4, 0.1, 0.2])


def run(config, steps=(G1, G2), n_decay=None, **extra):
    p = P0.copy()
    g = np.zeros_like(p)
    opt = make_optimizer(config, p, g, n_decay, **extra)
    for step in steps:
        g[...] = step
        opt.step()
    return p


def test_plain_sgd():
    lr = 0.1
    expected = P0 - lr * G1 - lr * G2
    np.testing.assert_allclose(run({"type": "sgd", "learning_rate": lr}), expected)


def test_sgd_momentum_and_nesterov():
    lr, mu = 0.1, 0.9
    v1 = G1
    p1 = P0 - lr * v1
    v2 = mu * v1 + G2
    np.testing.assert_allclose(
        run({"type": "sgd", "learning_rate": lr, "momentum": mu}), p1 - lr * v2
    )
    # Nesterov: p ← p − lr·(g + μ·v)
    p1n = P0 - lr * (G1 + mu * v1)
    p2n = p1n - lr * (G2 + mu * v2)
    np.testing.assert_allclose(
        run({"type": "sgd", "learning_rate": lr, "momentum": mu, "nesterov": True}), p2n
    )


def test_rmsprop():
    lr, rho, eps = 0.01, 0.9, 1e-7
    s = np.zeros(4)
    p = P0.copy()
    for g in (G1, G2):
        s = rho * s + (1 - rho) * g * g
        p = p - lr * g / (np.sqrt(s) + eps)
    np.testing.assert_allclose(run({"type": "rmsprop", "learning_rate": lr}), p, rtol=1e-12)


def adam_reference(p, grads, lr, b1=0.9, b2=0.999, eps=1e-7, decoupled=0.0):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        p = p * (1 - lr * decoupled)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1**t)
        vhat = v / (1 - b2**t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def test_adam():
    np.testing.assert_allclose(
        run({"type": "adam", "learning_rate": 0.01}), adam_reference(P0, [G1, G2], 0.01),
        rtol=1e-12,
    )


def test_adamw_decays_only_kernels():
    wd = 0.1
    got = run({"type": "adamw", "learning_rate": 0.01, "weight_decay": wd}, n_decay=2)
    ref_k = adam_reference(P0[:2], [G1[:2], G2[:2]], 0.01, decoupled=wd)
    ref_b = adam_reference(P0[2:], [G1[2:], G2[2:]], 0.01)
    np.testing.assert_allclose(got, np.concatenate([ref_k, ref_b]), rtol=1e-12)


def test_l2_weight_decay_adds_to_gradient_of_kernels_only():
    lr, wd = 0.1, 0.5
    got = run({"type": "sgd", "learning_rate": lr}, steps=(G1,), n_decay=2, weight_decay=wd)
    decay = np.array([wd * P0[0], wd * P0[1], 0.0, 0.0])
    np.testing.assert_allclose(got, P0 - lr * (G1 + decay))


def test_clip_norm_rescales_the_global_gradient():
    lr = 1.0
    norm = math.sqrt(float(G1 @ G1))
    got = run({"type": "sgd", "learning_rate": lr}, steps=(G1,), clip_norm=norm / 2)
    np.testing.assert_allclose(got, P0 - G1 / 2)


def test_clip_value():
    got = run({"type": "sgd", "learning_rate": 1.0}, steps=(G1,), clip_value=0.15)
    np.testing.assert_allclose(got, P0 - np.clip(G1, -0.15, 0.15))


def test_float32_buffers_stay_float32():
    p = P0.astype(np.float32)
    g = G1.astype(np.float32)
    opt = make_optimizer({"type": "adam"}, p, g)
    opt.step()
    assert p.dtype == np.float32 and opt.m.dtype == np.float32


@pytest.mark.parametrize(
    "config, words",
    [
        ({"type": "adagrad"}, "unknown optimizer 'adagrad'"),
        ({"type": "sgd", "momentun": 0.9}, "momentun"),
        ({"type": "adam", "learning_rate": -1}, "learning_rate must be > 0"),
    ],
)
def test_bad_optimizer_configs_are_named(config, words):
    with pytest.raises(ConfigError, match=words):
        run(config)


def test_schedules():
    step = Schedule({"type": "step", "step_size": 2, "gamma": 0.5}, 0.1)
    assert [step(e) for e in range(5)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    exp = Schedule({"type": "exponential", "gamma": 0.9}, 1.0)
    assert exp(3) == pytest.approx(0.729)
    cos = Schedule({"type": "cosine", "epochs": 10, "min_lr": 0.0}, 1.0)
    assert cos(0) == pytest.approx(1.0)
    assert cos(5) == pytest.approx(0.5)
    assert cos(10) == pytest.approx(0.0) and cos(20) == pytest.approx(0.0)
    with pytest.raises(ConfigError, match="unknown schedule"):
        Schedule({"type": "warmup"}, 0.1)
