"""One neuron up close: its weights and bias, ``z = w·x + b`` and its activation for a sample.

A *unit* is one output of a Dense layer: column ``unit`` of ``W (in, units)`` and entry
``unit`` of ``b``. Its activation is the output of the element-wise activation layer right
after the Dense layer (ReLU, Sigmoid, ...), or ``z`` itself when there is none. A Softmax
after the layer is not element-wise: each unit's output is its share ``e^zᵢ / Σₖ e^zₖ`` of
the whole vector of logits, and the formula says so.

One index convention everywhere: units count from 0 (the unit selector, the headings, the
engine), so the inputs of a hidden unit are ``a₀ … a_{F−1}``, ``aₖ`` being unit ``k`` of the
layer before; unnamed features are ``x₀ …`` likewise. A one-hot input column
``island=Dream`` is written ``[island is Dream]``: 1 when the sample's island is Dream, else 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnstudio.core.engine.network import Network
from nnstudio.core.insight.boundary import grid_predictions
from nnstudio.core.insight.common import activation_of, num, signed_term, sub, unit_layers

#: How the formula names each activation function.
_FN = {
    "Sigmoid": "σ",
    "Tanh": "tanh",
    "ReLU": "ReLU",
    "LeakyReLU": "LeakyReLU",
    "Softmax": "softmax",
    "Linear": "",
}


@dataclass
class NeuronReport:
    """One unit of a Dense layer for one sample.

    Attributes
    ----------
    weights:
        ``(F,)`` the unit's incoming weights ``W[:, unit]``.
    bias:
        ``b[unit]`` (0 without a bias).
    inputs:
        ``(F,)`` what the layer received for the sample (features, or the previous layer's
        activations).
    z:
        The pre-activation ``w·x + b`` as the engine computed it.
    activation:
        The unit's output after its activation function.
    """

    node_id: str
    unit: int
    weights: np.ndarray
    bias: float
    inputs: np.ndarray
    z: float
    activation: float
    activation_name: str
    input_names: list[str]
    #: ``(units,)`` every unit's z of this layer (the logits a Softmax normalizes together).
    logits: np.ndarray | None = None

    def formula(self, max_terms: int = 6) -> list[str]:
        """The computation with the numbers, one step per line.

        ``["z = 0.42·x₀ − 1.3·x₁ + 0.1", "  = 0.42·1 − 1.3·2 + 0.1", "  = −2.08",
        "a = σ(−2.08) = 0.111"]``. With more than ``max_terms`` inputs the largest weights
        are written out and ``…`` stands for the sum of the others (a last line says so).
        """
        names = [readable_input(n) for n in self.input_names]
        order = np.argsort(-np.abs(self.weights), kind="stable")
        shown = sorted(order[:max_terms]) if len(order) > max_terms else list(range(len(order)))
        rest = len(self.weights) - len(shown)
        terms = [signed_term(self.weights[k], names[k], i == 0) for i, k in enumerate(shown)]
        with_x = [signed_term(self.weights[k], _value(self.inputs[k]), i == 0)
                  for i, k in enumerate(shown)]
        b = f"{'−' if self.bias < 0 else '+'} {num(abs(self.bias))}"
        if rest:
            hidden = np.setdiff1d(np.arange(len(self.weights)), shown)
            remainder = float(self.weights[hidden] @ self.inputs[hidden])
            terms.append("+ …")
            with_x.append(f"{'−' if remainder < 0 else '+'} {num(abs(remainder))}")
        lines = [
            "z = " + " ".join([*terms, b]),
            "  = " + " ".join([*with_x, b]),
            f"  = {num(self.z)}",
        ]
        fn = _FN.get(self.activation_name, self.activation_name)
        if self.activation_name == "Softmax" and self.logits is not None:
            lines += self._softmax_lines()
        elif fn:
            lines.append(f"a = {fn}({num(self.z)}) = {num(self.activation)}")
        else:
            lines.append(f"a = z = {num(self.activation)}  (no activation: linear output)")
        if rest:
            lines.append(f"(… is the sum of the other {rest} terms, the smaller weights)")
        onehot = [readable_input(n) for n in self.input_names if "=" in n]
        if onehot:
            lines.append(f"({onehot[0]} is 1 when it holds for the sample, else 0: a one-hot "
                         "input)")
        return lines

    def _softmax_lines(self, max_terms: int = 4) -> list[str]:
        """``a = softmax(z)₂ = e^z₂ / Σₖ e^zₖ = e^6.89 / (e^0.2 + e^−1.5 + e^6.89) = 0.998``."""
        z = np.asarray(self.logits, np.float64)
        u = self.unit
        k = len(z)
        if k <= max_terms:
            denom = " + ".join(f"e^{num(v)}" for v in z)
        else:
            denom = f"e^{num(z[0])} + … + e^{num(z[-1])}  ({k} terms)"
        shares = np.exp(z - z.max())
        shares /= shares.sum()
        return [
            f"a = softmax(z){sub(u)} = e^z{sub(u)} / Σₖ e^zₖ over the {k} units of this layer",
            f"  = e^{num(z[u])} / ({denom})",
            f"  = {num(self.activation)}  (this unit's share of the {k} outputs; they sum to "
            f"1, the largest is unit {int(np.argmax(shares))})",
        ]


def readable_input(name: str) -> str:
    """``island=Dream`` (a one-hot column) → ``[island is Dream]``; other names unchanged."""
    if "=" in name:
        col, _, cat = name.partition("=")
        return f"[{col} is {cat}]"
    return name


def _value(v: float) -> str:
    """An input value in a product: negatives in brackets, ``0.5·(−1.2)``."""
    return f"({num(v)})" if v < 0 else num(v)


def input_names(
    net: Network, node_id: str, feature_names: Sequence[str] | None = None
) -> list[str]:
    """Names of a unit layer's inputs: ``x₀ … x_{F−1}`` (or the feature names) for the first
    layer, ``a₀ … a_{F−1}`` of the layer before it otherwise (``aₖ`` is its unit ``k``)."""
    (src,) = net.preds[node_id]
    width = net.layers[node_id].params["W"].shape[0]
    if src == net.input_id:
        if feature_names is not None and len(feature_names) == width:
            return [str(n) for n in feature_names]
        return [f"x{sub(i)}" for i in range(width)]
    return [f"a{sub(i)}" for i in range(width)]


def _sample(net: Network, sample: np.ndarray) -> np.ndarray:
    x = np.asarray(sample, dtype=net.dtype)
    if x.shape == tuple(net.input_shape):
        x = x[None]
    if x.shape[1:] != tuple(net.input_shape) or x.shape[0] != 1:
        raise ValueError(f"a sample must have shape {net.input_shape}, not {x.shape}")
    return x


def neuron_report(
    net: Network,
    node_id: str,
    unit: int,
    sample: np.ndarray,
    feature_names: Sequence[str] | None = None,
) -> NeuronReport:
    """Weights, bias, ``z`` and activation of one Dense unit for one sample.

    Parameters
    ----------
    net:
        The network (a twin when another thread is training the original).
    node_id:
        A Dense node.
    unit:
        ``0 ≤ unit < units``.
    sample:
        One network input, ``input_shape`` or ``(1, *input_shape)``.
    """
    layer = net.layers[node_id]
    if layer.type_name != "Dense":
        raise ValueError(f"{layer.where} is not a Dense layer")
    units = layer.params["W"].shape[1]
    if not 0 <= unit < units:
        raise ValueError(f"{layer.where} has units 0…{units - 1}, not {unit}")
    net.forward(_sample(net, sample), training=False)
    (src,) = net.preds[node_id]
    act_id, act_name = activation_of(net, node_id)
    z = float(net.values[node_id][0, unit])
    a = float(net.values[act_id][0, unit]) if act_id else z
    bias = float(layer.params["b"][unit]) if "b" in layer.params else 0.0
    return NeuronReport(
        node_id=node_id,
        unit=int(unit),
        weights=layer.params["W"][:, unit].astype(np.float64),
        bias=bias,
        inputs=np.asarray(net.values[src][0], np.float64).reshape(-1).copy(),
        z=z,
        activation=a,
        activation_name=act_name,
        input_names=input_names(net, node_id, feature_names),
        logits=np.asarray(net.values[node_id][0], np.float64).reshape(-1).copy(),
    )


def unit_activations(net: Network, sample: np.ndarray) -> dict[str, np.ndarray]:
    """Every Dense layer's unit activations for one sample, ``{node_id: (units,)}``."""
    net.forward(_sample(net, sample), training=False)
    out = {}
    for node_id in unit_layers(net):
        act_id, _ = activation_of(net, node_id)
        out[node_id] = np.asarray(net.values[act_id or node_id][0], np.float64).copy()
    return out


def neuron_map(
    net: Network,
    node_id: str,
    unit: int,
    preparation: Any,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    resolution: int = 50,
    features: Sequence[int] = (0, 1),
    fixed: Any = None,
    n_features: int | None = None,
) -> np.ndarray:
    """One unit's activation over the grid of two input features, ``(R, R)`` float64.

    Same grid as :func:`~nnstudio.core.insight.boundary.decision_grid`: ``map[i, j]`` is the
    activation at ``(xs[j], ys[i])``.
    """
    grid_predictions(net, preparation, x_range, y_range, resolution, features, fixed, n_features)
    act_id, _ = activation_of(net, node_id)
    r = int(resolution)
    return np.asarray(net.values[act_id or node_id][:, unit], np.float64).reshape(r, r).copy()


def all_neuron_maps(
    net: Network,
    preparation: Any,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    resolution: int = 24,
    features: Sequence[int] = (0, 1),
    fixed: Any = None,
    n_features: int | None = None,
) -> dict[str, np.ndarray]:
    """Every Dense unit's activation map from one forward pass: ``{node_id: (units, R, R)}``."""
    grid_predictions(net, preparation, x_range, y_range, resolution, features, fixed, n_features)
    r = int(resolution)
    out = {}
    for node_id in unit_layers(net):
        act_id, _ = activation_of(net, node_id)
        v = np.asarray(net.values[act_id or node_id], np.float64)
        out[node_id] = v.T.reshape(-1, r, r).copy()
    return out
