"""Health of the layers: weight and activation histograms, gradient norms, and warnings.

:func:`layer_stats` runs one probe batch through a network (forward, and backward when
targets are given) and describes every layer with parameters. :class:`StatsHistory` keeps
the numbers over training so the views can plot gradient norms per layer against steps.
:meth:`NetworkStats.warnings` turns the numbers into one-line advice a learner can act on:

* **dead ReLU** — a share of ReLU units output 0 for every probe sample, so no gradient
  flows through them and they never recover;
* **saturated sigmoid/tanh** — outputs pinned near their limits, where the slope is ~0;
* **vanishing gradients** — early layers get gradients orders of magnitude smaller than
  late ones, so they barely learn;
* **exploding gradients** — gradients so large that steps overshoot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nnstudio.core.engine.losses import get_loss
from nnstudio.core.engine.network import Network
from nnstudio.core.insight.common import activation_of
from nnstudio.core.training.evaluate import prepare_targets
from nnstudio.core.training.trainer import fusion_point

#: A unit counts as saturated when its sigmoid output is within this of 0 or 1
#: (slope σ' < 0.01) or its tanh output within this (scaled) of ±1.
SATURATION_MARGIN = 0.01
#: Warn when at least this share of ReLU units is dead.
DEAD_WARN = 0.25
#: Warn when at least this share of sigmoid/tanh outputs is saturated.
SATURATED_WARN = 0.30
#: Warn of vanishing gradients when the first layer's gradient norm is this many times
#: smaller than the last layer's, or every gradient norm is below ``TINY_GRAD``.
VANISH_RATIO = 1e-3
TINY_GRAD = 1e-7
#: Warn of exploding gradients above this global norm.
EXPLODE_NORM = 1e3
#: Warn when a recurrent layer's last state differs across the probe samples by less than
#: this share of its size (sound clips padded with silence: about 1 %; a working LSTM on
#: MNIST rows or on the same clips with return_sequences and pooling: 50–70 %).
SAME_STATE_WARN = 0.05
#: Layers whose output without ``return_sequences`` is the state after the last step.
RECURRENT = ("SimpleRNN", "LSTM", "GRU", "Bidirectional")


@dataclass
class Histogram:
    """``counts (B,)`` over ``edges (B + 1,)``."""

    counts: np.ndarray
    edges: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, bins: int) -> Histogram:
        v = np.asarray(values, np.float64).reshape(-1)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return cls(np.zeros(bins, np.int64), np.linspace(-1.0, 1.0, bins + 1))
        lo, hi = float(v.min()), float(v.max())
        if hi - lo < 1e-12:
            lo, hi = lo - 0.5, hi + 0.5
        counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
        return cls(counts, edges)


@dataclass
class LayerStats:
    """Numbers describing one layer with parameters (and its activation, if any).

    ``grad_norm`` is the L2 norm of the gradient of every parameter of the layer on the
    probe batch (``nan`` without targets). ``dead_share``/``saturated_share`` are ``None``
    when the activation is not a ReLU / a sigmoid or tanh. ``sample_spread`` (recurrent
    layers returning their last state only, else ``None``): how much that state differs
    from sample to sample — the mean over units of its standard deviation across the batch,
    over its mean absolute value.
    """

    node_id: str
    type_name: str
    activation: str
    n_units: int
    weights: Histogram
    activations: Histogram
    weight_mean: float
    weight_std: float
    weight_norm: float
    grad_norm: float
    dead_share: float | None = None
    dead_units: list[int] = field(default_factory=list)
    saturated_share: float | None = None
    sample_spread: float | None = None


@dataclass(frozen=True)
class Advice:
    """One warning: ``kind`` in dead_relu, saturated, vanishing, exploding; ``text`` is one
    line saying what is wrong, why it matters and what to try."""

    kind: str
    node_id: str
    text: str


@dataclass
class NetworkStats:
    """The per-layer stats of one probe, in topological order."""

    layers: list[LayerStats]

    def layer(self, node_id: str) -> LayerStats:
        return next(s for s in self.layers if s.node_id == node_id)

    def warnings(self) -> list[Advice]:
        """One-line explanations of problems a learner can act on, worst first."""
        out: list[Advice] = []
        dead = [s for s in self.layers if s.dead_share is not None and s.dead_share >= DEAD_WARN]
        if dead:
            where = ", ".join(f"{len(s.dead_units)} of {s.n_units} units in {s.node_id}"
                              + (f" ({s.dead_share:.0%})" if len(dead) == 1 else "")
                              for s in dead)
            out.append(Advice(
                "dead_relu", dead[0].node_id,
                f"Dead ReLUs: {where} output 0 for every sample, so no gradient reaches them "
                "and they stop learning — try a lower learning rate, LeakyReLU or He "
                "initialization.",
            ))
        saturated = [s for s in self.layers
                     if s.saturated_share is not None and s.saturated_share >= SATURATED_WARN]
        if saturated:
            kinds = sorted({s.activation for s in saturated})
            lim = "0 or 1" if kinds == ["Sigmoid"] else ("−1 or 1" if kinds == ["Tanh"]
                                                         else "their limits")
            where = ", ".join(f"{s.saturated_share:.0%} of the outputs of {s.node_id}"
                              for s in saturated)
            out.append(Advice(
                "saturated", saturated[0].node_id,
                f"Saturated {'/'.join(k.lower() for k in kinds)}: {where} are pinned near "
                f"{lim}, where the slope is almost 0, so these units barely learn — scale the "
                "inputs, use smaller initial weights or try ReLU.",
            ))
        for s in self.layers:
            if s.sample_spread is not None and s.sample_spread < SAME_STATE_WARN:
                out.append(Advice(
                    "same_state", s.node_id,
                    f"Same last state: {s.node_id} ({s.type_name}) ends in nearly the same "
                    f"state for every sample (they differ by {_share(s.sample_spread)} of "
                    "its size), so the layers after it cannot tell the samples apart — the "
                    "sequences probably end alike (sound clips padded with silence, texts "
                    "with padding) and the last state has forgotten what came before: turn "
                    "on return_sequences and add GlobalAvgPool1D after it, or shorten the "
                    "padding.",
                ))
        norms = [(s.node_id, s.grad_norm) for s in self.layers if math.isfinite(s.grad_norm)]
        if norms:
            biggest = max(g for _, g in norms)
            if biggest > EXPLODE_NORM:
                node = max(norms, key=lambda t: t[1])[0]
                out.append(Advice(
                    "exploding", node,
                    f"Exploding gradients: the gradient norm of {node} is {biggest:.3g}, so "
                    "each step jumps far and the loss can blow up — lower the learning rate, "
                    "clip gradients (clip_norm) or scale the inputs.",
                ))
            first_id, first = norms[0]
            last = norms[-1][1]
            if biggest < TINY_GRAD:
                out.append(Advice(
                    "vanishing", first_id,
                    "Vanishing gradients: every layer's gradient is below "
                    f"{TINY_GRAD:g}, so the weights hardly move — check the learning signal "
                    "(labels, loss) and avoid saturated activations.",
                ))
            elif first == 0 and dead:
                pass  # no gradient because the units are dead: said above
            elif len(norms) > 1 and last > 0 and first < VANISH_RATIO * last:
                ratio = last / first if first > 0 else math.inf
                size = ("no gradient at all" if first == 0 else
                        f"a gradient {ratio:,.0f}× smaller than the last layer's" if ratio < 1e7
                        else "a gradient millions of times smaller than the last layer's")
                out.append(Advice(
                    "vanishing", first_id,
                    f"Vanishing gradients: {first_id} gets {size}, so the early layers barely "
                    "learn — use ReLU instead of sigmoid/tanh, fewer layers or batch "
                    "normalization.",
                ))
        return out


def _share(x: float) -> str:
    return f"{x:.1%}" if x >= 0.001 else "less than 0.1%"


def layer_stats(
    net: Network,
    x_batch: np.ndarray,
    y_batch: np.ndarray | None = None,
    loss: str | None = None,
    bins: int = 30,
    heads: list[dict] | None = None,
) -> NetworkStats:
    """Describe every layer with parameters on a probe batch.

    Parameters
    ----------
    net:
        The network; its forward caches and gradient buffer are overwritten (use a twin
        while another thread trains).
    x_batch:
        ``(N, *input_shape)`` probe inputs (a few hundred training samples).
    y_batch, loss:
        Targets and loss name; with them the gradients are computed (one backward pass,
        as training does, without an optimizer step) and ``grad_norm`` is filled.
    bins:
        Histogram bins.
    heads:
        For a network with several outputs (``y_batch`` packed ``(N, H)``): the
        preparation's heads; the gradients are then those of the weighted sum of the
        outputs' losses, as training takes them (``loss`` is not used).
    """
    x = np.ascontiguousarray(x_batch, dtype=net.dtype)
    grad_norms: dict[str, float] = {}
    if y_batch is not None and heads is not None:
        from nnstudio.core.training.heads import Heads

        Heads.build(net, heads).step(x, np.asarray(y_batch))  # forward and backward
        _collect_grad_norms(net, grad_norms)
    elif y_batch is not None and loss is not None:
        fn = get_loss(loss)
        y = prepare_targets(y_batch, loss, net.dtype)
        pred = net.forward(x, training=True)
        at = fusion_point(net, fn)
        grad = fn.fused_grad(pred, y) if at is not None else fn.grad(pred, y)
        net.backward(grad, at=at)
        _collect_grad_norms(net, grad_norms)
        # Inference-mode values for the histograms (dropout off, running statistics).
    net.forward(x, training=False)
    layers = []
    for node_id in net.order:
        layer = net.layers[node_id]
        if not layer.params:
            continue
        kernel = layer.params.get("W")
        if kernel is None:
            kernel = next(iter(layer.params.values()))
        act_id, act = activation_of(net, node_id)
        if act_id is None and layer.type_name in RECURRENT:
            act = "hidden state"  # not a linear output: the state h the layer computes
        out = np.asarray(net.values[act_id or node_id], np.float64)
        per_unit = out.reshape(out.shape[0], out.shape[1], -1) if out.ndim > 1 else out[:, None]
        n_units = per_unit.shape[1]
        dead_share, dead_units, saturated = None, [], None
        if act == "ReLU":
            alive = (per_unit > 0).any(axis=(0, 2))
            dead_units = [int(i) for i in np.flatnonzero(~alive)]
            dead_share = len(dead_units) / n_units
        elif act == "Sigmoid":
            saturated = float(np.mean((out < SATURATION_MARGIN) | (out > 1 - SATURATION_MARGIN)))
        elif act == "Tanh":
            saturated = float(np.mean(np.abs(out) > 1 - 2 * SATURATION_MARGIN))
        spread = None
        if (layer.type_name in RECURRENT and not layer.config.get("return_sequences")
                and out.ndim == 2 and out.shape[0] >= 2):
            spread = float(out.std(axis=0).mean() / max(np.abs(out).mean(), 1e-12))
        k = np.asarray(kernel, np.float64).reshape(-1)
        layers.append(LayerStats(
            node_id=node_id,
            type_name=layer.type_name,
            activation=act,
            n_units=n_units,
            weights=Histogram.of(k, bins),
            activations=Histogram.of(out, bins),
            weight_mean=float(k.mean()),
            weight_std=float(k.std()),
            weight_norm=float(np.linalg.norm(k)),
            grad_norm=grad_norms.get(node_id, math.nan),
            dead_share=dead_share,
            dead_units=dead_units,
            saturated_share=saturated,
            sample_spread=spread,
        ))
    return NetworkStats(layers)


def _collect_grad_norms(net: Network, out: dict[str, float]) -> None:
    """The L2 norm of each layer's gradient after a backward pass, into ``out``."""
    for node_id in net.order:
        layer = net.layers[node_id]
        if layer.grads:
            sq = sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in layer.grads.values())
            out[node_id] = math.sqrt(sq)


class StatsHistory:
    """Per-layer numbers over training: ``steps`` and, per node, lists of the same length.

    ``series["grad_norm"][node_id]`` and ``series["weight_norm"][node_id]``,
    ``series["dead_share"]`` / ``series["saturated_share"]`` where they apply.
    Past ``max_points`` entries every other one is dropped, so memory stays bounded over
    long runs while the whole run remains visible.
    """

    KEYS = ("grad_norm", "weight_norm", "weight_std", "dead_share", "saturated_share")

    def __init__(self, max_points: int = 2000):
        self.max_points = max_points
        self.clear()

    def clear(self) -> None:
        self.steps: list[float] = []
        self.series: dict[str, dict[str, list[float]]] = {k: {} for k in self.KEYS}

    def append(self, step: float, stats: NetworkStats) -> None:
        self.steps.append(float(step))
        n = len(self.steps)
        for s in stats.layers:
            for key in self.KEYS:
                value = getattr(s, key)
                col = self.series[key].setdefault(s.node_id, [math.nan] * (n - 1))
                col.append(math.nan if value is None else float(value))
        for cols in self.series.values():
            for col in cols.values():
                if len(col) < n:
                    col.append(math.nan)
        if n > self.max_points:
            self.steps = self.steps[::2]
            for cols in self.series.values():
                for k in cols:
                    cols[k] = cols[k][::2]

    def arrays(self, key: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(steps (T,), {node_id: (T,)})`` for one series."""
        return np.asarray(self.steps), {k: np.asarray(v) for k, v in self.series[key].items()}
