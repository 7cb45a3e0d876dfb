"""Shared helpers of the insight computations: twin networks, layer roles, number formatting.

The views never run the network that is training: its layers keep per-batch caches between
``forward`` and ``backward``, so a second caller on another thread would corrupt a step.
They run a *twin* instead (:func:`clone_network`): the same graph with its own buffers and a
copy of the weights, refreshed from a snapshot whenever a view wants fresh numbers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from nnstudio.core.engine.network import Network

#: Element-wise (or per-sample, for Softmax) activations: a unit of the layer before them
#: keeps its index through them.
ACTIVATIONS = ("Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax")

#: Layers whose output axis 1 are "units" a learner can click (Dense units, Conv2D filters).
UNIT_LAYERS = ("Dense",)


def clone_network(net: Network, dtype: Any = None) -> Network:
    """A separate network with the same graph and a copy of ``net``'s weights and state.

    Parameters
    ----------
    net:
        The network to copy; it is only read.
    dtype:
        ``None`` keeps ``net.dtype``; ``np.float64`` gives an exact twin for checks.
    """
    twin = Network(copy.deepcopy(net.spec), net.input_shape, dtype=dtype or net.dtype, seed=None)
    twin.params[...] = net.params
    twin.state[...] = net.state
    return twin


def same_graph(a: Network, b: Network) -> bool:
    """True when ``b`` can take ``a``'s weights: same layout of parameters and state."""
    return (
        a.params.size == b.params.size
        and a.state.size == b.state.size
        and a.input_shape == b.input_shape
        and a.param_slices.keys() == b.param_slices.keys()
        and all(a.param_slices[k] == b.param_slices[k] for k in a.param_slices)
    )


def activation_of(net: Network, node_id: str) -> tuple[str | None, str]:
    """The activation node right after ``node_id`` and its type name.

    Returns ``(activation_node_id, "ReLU")`` when ``node_id`` feeds exactly one element-wise
    activation, else ``(None, "Linear")`` (the unit's output is ``z`` itself).
    """
    succ = net.succ.get(node_id, [])
    if len(succ) == 1 and net.layers[succ[0]].type_name in ACTIVATIONS:
        return succ[0], net.layers[succ[0]].type_name
    return None, "Linear"


def unit_layers(net: Network) -> list[str]:
    """Node ids of the layers made of units (Dense), in topological order."""
    return [n for n in net.order if net.layers[n].type_name in UNIT_LAYERS]


def output_kind(net: Network, loss: str | None = None) -> str:
    """``"classification"`` when the network ends in Softmax/Sigmoid or the loss is a
    cross-entropy, else ``"regression"``."""
    if loss is not None:
        return "classification" if "cross_entropy" in loss else "regression"
    last = net.layers[net.output_id].type_name
    return "classification" if last in ("Softmax", "Sigmoid") else "regression"


def as_probabilities(pred: np.ndarray) -> np.ndarray:
    """Class probabilities ``(N, K)`` from a classifier's output.

    A single sigmoid output ``(N, 1)`` becomes ``[1 − p, p]`` ``(N, 2)``; ``(N, K)`` softmax
    outputs are returned as they are.
    """
    if pred.ndim == 2 and pred.shape[1] == 1:
        return np.concatenate([1.0 - pred, pred], axis=1)
    return pred


def input_transform(preparation: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """A function raw features ``(N, F_raw)`` → network inputs ``(N, F)``, or ``None``.

    ``preparation`` may be ``None`` (inputs are already what the network takes), a callable,
    or a fitted preparation with one of the methods ``transform_features``, ``transform_x``
    or ``transform``.
    """
    if preparation is None:
        return None
    if callable(preparation) and not hasattr(preparation, "transform_features"):
        return preparation
    for name in ("transform_features", "transform_x", "transform"):
        fn = getattr(preparation, name, None)
        if callable(fn):
            return fn
    raise TypeError(f"cannot turn raw features into network inputs with {preparation!r}")


def target_inverse(preparation: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """A function network outputs ``(N, K)`` → target units, or ``None`` when not scaled."""
    if preparation is None or getattr(preparation, "task", "regression") != "regression":
        return None
    for name in ("decode_target", "inverse_transform_target", "inverse_target"):
        fn = getattr(preparation, name, None)
        if callable(fn):
            return fn
    return None


# -- numbers as a learner reads them ----------------------------------------------------------
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def sub(n: int) -> str:
    """``12`` → ``"₁₂"`` (subscript digits for x₁, w₁₂)."""
    return str(n).translate(_SUB)


def num(v: float, digits: int = 3) -> str:
    """A compact number with a real minus sign: ``0.42``, ``−1.3``, ``1.2e−05``."""
    v = float(v)
    if not np.isfinite(v):
        return "NaN" if np.isnan(v) else ("∞" if v > 0 else "−∞")
    if v == 0:
        return "0"
    a = abs(v)
    if 1e5 <= a < 1e12:
        return ("−" if v < 0 else "") + f"{a:,.0f}"
    if 1e-3 <= a < 1e5:
        decimals = max(0, digits - 1 - int(np.floor(np.log10(a))))
        s = f"{a:.{decimals}f}"
        if "." in s:
            s = s.rstrip("0").rstrip(".")
    else:
        s = f"{a:.{max(0, digits - 1)}e}".replace("e-0", "e−").replace("e+0", "e").replace(
            "e-", "e−").replace("e+", "e")
    return ("−" if v < 0 else "") + s


def signed_term(coef: float, name: str, first: bool) -> str:
    """``0.42·x₁`` as the first term, ``+ 0.42·x₁`` / ``− 1.3·x₂`` after it."""
    if first:
        return f"{num(coef)}·{name}"
    return f"{'−' if coef < 0 else '+'} {num(abs(coef))}·{name}"
