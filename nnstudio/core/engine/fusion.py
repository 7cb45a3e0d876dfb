"""Exact rewrites of a built network's execution plan (the user's graph never changes).

:func:`execution_plan` looks at a built :class:`~nnstudio.core.engine.network.Network` and
returns, per node, the object that runs it (its layer, or a stand-in doing the same math in
a cheaper order) and the nodes whose outputs are computed only when someone reads them.

**ReLU → MaxPool2D becomes MaxPool2D → ReLU.** ReLU is monotone, so the maximum of a
window of ``max(z, 0)`` is ``max(max z, 0)``: the pooled map is the same, bit for bit, and
the ReLU runs on the pooled (a quarter-size, for 2×2) map instead of the full one, forward
and backward. The gradients are the same too, ties included: where a window's largest ``z``
is positive, both orders send the gradient to its first maximum (the positive values are
unchanged by the ReLU, and no non-positive value can tie with them); where it is ≤ 0, the
ReLU's gradient (``y > 0``) is zero in both orders. Padding (``same``) pads max pooling with
−∞, and every window holds at least one real pixel, so that changes nothing either.

The rewrite applies when the ReLU's only consumer is the MaxPool2D (its full-size output is
then needed by nobody during training). The ReLU node's own output, which Inside the network
may show (``net.values[relu]``), is computed from its input when it is read
(:class:`NodeValues`).

Only ReLU: ``tanh``, ``sigmoid`` or ``α·z`` are monotone too, but float rounding can make two
different inputs equal after them, which would move the gradient of a tie.

**Conv2D [→ ReLU] → MaxPool2D 2×2 runs as one step** (:mod:`~nnstudio.core.engine.convpool`)
when the convolution has a deep window and feeds only the pool (or such a ReLU): the
convolution's outputs come out grouped by window place, so pooling reads whole slabs. Its
results equal the layer-by-layer ones up to the order in which the matrix product sums (the
same tie rule); its full output is computed when read, as the ReLU's.

**LayerNorm → Dense (or MultiHeadAttention) folds γ and β into the consumer's weights.** The
normalization outputs ``y = x̂·γ + β``, and the consumer computes ``y·W + b`` (its ``Wqkv``,
``bqkv`` for attention) ``= x̂·(γ ⊙ W) + (β·W + b)``: the LayerNorm then runs without its
two affine passes over ``(N, T, F)``, the consumer's GEMM uses ``W' = diag(γ)·W`` (``F ×
units``, recomputed every call: the parameters stay the user's), and its backward GEMM gives
``d loss / d x̂ = g·W'ᵀ`` directly. With ``M = x̂ᵀ·g`` (what the consumer computes as its
weight gradient) and ``s = Σ g`` over rows (its bias gradient): ``dW = diag(γ)·M + β ⊗ s``,
``dγ_i = Σ_j W_ij·M_ij``, ``dβ = W·s`` — products of ``F × units`` matrices. The backward
GEMM uses ``W'`` minus its mean over the ``F`` rows, which gives ``dx̂`` minus its row mean,
the normalization backward's first step, for free. Equal to the layer-by-layer results up to
float rounding. Applies when the LayerNorm's only consumer is such a layer with a bias; the
LayerNorm's true output (Inside the network) is computed when read.

**Dense → ReLU runs the ReLU on the Dense's output buffer**, in place, while it is in the
cache (one (N, T, units) array fewer to stream through memory; measured 2–3 % of a
Transformer's step; keeping a 0/1 mask from the forward pass instead was 2–3 % slower). The
same values; the Dense node's own output (before the ReLU) is computed when read. Applies
when the ReLU is the Dense's only consumer.

``ENABLED``, ``CONV_POOL``, ``FOLD_NORM`` and ``DENSE_RELU`` switch the rewrites off for
networks built afterwards (tests and benchmarks compare).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np

from nnstudio.core.engine import convpool

#: Rewrites apply to networks built while this is true (tests turn it off to compare).
ENABLED = True
#: Whether a Conv2D [→ ReLU] → MaxPool2D 2×2 runs as one :class:`convpool.ConvPool`.
CONV_POOL = True
#: Whether a LayerNorm's γ and β fold into the Dense / MultiHeadAttention that reads it.
FOLD_NORM = True
#: Whether a Dense's only-consumer ReLU runs in place on its output (see above).
DENSE_RELU = True
#: The layers a LayerNorm folds into: type name → (weight, bias) parameter names.
_FOLDS_INTO = {"Dense": ("W", "b"), "MultiHeadAttention": ("Wqkv", "bqkv")}


class NodeValues(Mapping):
    """``{node id: output}`` of the last forward pass, where some outputs are computed only
    when read: ``lazy[node](values)`` gives that node's output from the others (and is kept,
    so reading twice computes once)."""

    __slots__ = ("_lazy", "_values")

    def __init__(self, values: dict[str, np.ndarray],
                 lazy: dict[str, Callable[[Mapping], np.ndarray]]):
        self._values = values
        self._lazy = dict(lazy)

    def __getitem__(self, node: str) -> np.ndarray:
        fn = self._lazy.pop(node, None)
        if fn is not None:
            self._values[node] = fn(self)
        return self._values[node]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class _PassThrough:
    """Runs a ReLU node whose work moved after its MaxPool2D: hands its input on, both ways.

    Its ``forward`` output is *not* the node's value (see :class:`NodeValues`)."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        return inputs[0]

    def backward(self, grad: np.ndarray) -> list[np.ndarray]:
        return [grad]


class _PoolThenReLU:
    """Runs a MaxPool2D node fed by a ReLU as pool, then ReLU on the pooled map: its output
    is the pooling node's true output (see the module docstring)."""

    def __init__(self, pool, relu):
        self.pool, self.relu = pool, relu

    def forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        return self.relu.forward([self.pool.forward(inputs, training)], training)

    def backward(self, grad: np.ndarray) -> list[np.ndarray]:
        return self.pool.backward(self.relu.backward(grad)[0])


def _relu_of(values: Mapping, source: str) -> np.ndarray:
    return np.maximum(values[source], 0)


class _Normalized:
    """Runs a LayerNorm node whose ``γ``, ``β`` moved into its consumer: outputs ``x̂``.

    Its ``forward`` output is *not* the node's value (see :class:`NodeValues`)."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        return self.layer.forward_normalized(inputs[0])

    def backward(self, grad: np.ndarray) -> list[np.ndarray]:
        return [self.layer.backward_normalized(grad)]


class _AffineFolded:
    """Runs a Dense / MultiHeadAttention node fed ``x̂`` by a :class:`_Normalized` LayerNorm:
    the layer itself, with ``W' = diag(γ)·W`` and ``b' = β·W + b`` in place of its weight and
    bias during the call; the backward pass turns the layer's gradients into those of ``W``,
    ``b``, ``γ`` and ``β`` (see the module docstring)."""

    def __init__(self, layer, norm):
        self.layer, self.norm = layer, norm
        self.wkey, self.bkey = _FOLDS_INTO[layer.type_name]

    @contextmanager
    def _folded(self, centered: bool = False):
        """The layer with ``W'``, ``b'`` in place of its weight and bias; ``centered``:
        ``W'`` minus its mean over the input features (for the backward pass, see
        :meth:`backward`)."""
        layer, params = self.layer, self.layer.params
        w, b = params[self.wkey], params[self.bkey]
        gamma, beta = self.norm.params["gamma"], self.norm.params["beta"]
        buf = self.norm._buf
        w2 = buf.get("fold_w", w.shape, w.dtype)
        np.multiply(w, gamma[:, None], out=w2)
        if centered:
            mean = buf.get("fold_mean", w.shape[1:], w.dtype)
            np.divide(np.sum(w2, axis=0, out=mean), w.shape[0], out=mean)
            np.subtract(w2, mean, out=w2)
        b2 = buf.get("fold_b", b.shape, b.dtype)
        np.dot(beta, w, out=b2)
        np.add(b2, b, out=b2)
        params[self.wkey], params[self.bkey] = w2, b2
        try:
            yield layer
        finally:
            params[self.wkey], params[self.bkey] = w, b

    def forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        with self._folded() as layer:
            return layer.forward(inputs, training)

    def backward(self, grad: np.ndarray) -> list[np.ndarray]:
        # The layer's input gradient through W' centered over its rows is g·W'ᵀ minus its
        # row mean: the first step of the normalization's backward pass, done by the GEMM
        # (LayerNorm.backward_normalized goes on from there). The layer's weight gradients
        # do not read W'.
        with self._folded(centered=True) as layer:
            out = layer.backward(grad)
        w = self.layer.params[self.wkey]
        m, s = self.layer.grads[self.wkey], self.layer.grads[self.bkey]  # x̂ᵀ·g and Σ g
        norm = self.norm
        gamma, beta = norm.params["gamma"], norm.params["beta"]
        scratch = norm._buf.get("fold_scratch", m.shape, m.dtype)
        np.multiply(w, m, out=scratch)
        ones = norm._buf.get("fold_ones", s.shape, s.dtype)
        ones.fill(1.0)
        np.dot(scratch, ones, out=norm.grads["gamma"])
        np.dot(w, s, out=norm.grads["beta"])
        np.multiply(m, gamma[:, None], out=m)
        np.multiply(beta[:, None], s, out=scratch)
        np.add(m, scratch, out=m)
        return out


class _ReLUInside:
    """Runs a Dense node (through ``runner``, the layer or its stand-in) and then its ReLU
    in place on the output. Its output is the ReLU node's true value, not the Dense node's
    (see :class:`NodeValues`)."""

    def __init__(self, runner, relu):
        self.runner, self.relu = runner, relu
        self.layer = getattr(runner, "layer", runner)

    def forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        y = self.runner.forward(inputs, training)
        np.maximum(y, 0, out=y)
        self.relu._y = y
        return y

    def backward(self, grad: np.ndarray) -> list[np.ndarray]:
        return self.runner.backward(grad)


class _AppliedReLU:
    """Runs a ReLU node whose forward work :class:`_ReLUInside` did: hands the value on;
    backward, the gradient where that value is positive."""

    def __init__(self, layer):
        self.layer = layer

    def forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        return inputs[0]

    def backward(self, grad: np.ndarray) -> list[np.ndarray]:
        y = self.layer._y
        dz = self.layer._buf.get("dz", y.shape, y.dtype)
        np.greater(y, 0, out=dz)
        np.multiply(dz, grad, out=dz)
        return [dz]


class ExecutionPlan:
    """What runs each node (``runners``) and the outputs computed when read (``lazy``)."""

    def __init__(self, runners: dict, lazy: dict[str, Callable[[Mapping], np.ndarray]]):
        self.runners = runners
        self.lazy = lazy

    def expose(self, values: dict[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        """The values the network shows for a forward pass's ``values``."""
        return NodeValues(values, self.lazy) if self.lazy else values


def execution_plan(net) -> ExecutionPlan:
    """The plan for a built network: its layers, with the exact rewrites above applied."""
    runners = dict(net.layers)
    lazy: dict[str, Callable[[Mapping], np.ndarray]] = {}
    if not ENABLED:
        return ExecutionPlan(runners, lazy)
    for pool in net.order:
        if net.layers[pool].type_name != "MaxPool2D":
            continue
        (node,) = net.preds[pool]
        relu = node if _only_consumer(net, node, pool, "ReLU") else None
        source = net.preds[relu][0] if relu else node
        if CONV_POOL and _fuses_conv(net, source, relu or pool, pool):
            fused = convpool.ConvPool(net.layers[source], relu and net.layers[relu],
                                      net.layers[pool])
            runners[source], runners[pool] = fused.conv_runner, fused.pool_runner
            src = net.preds[source][0]
            lazy[source] = lambda values, f=fused, s=src: f.conv_value(values[s])
        elif relu is None:
            continue
        else:
            runners[pool] = _PoolThenReLU(net.layers[pool], net.layers[relu])
        if relu:
            runners[relu] = _PassThrough(net.layers[relu])
            lazy[relu] = lambda values, s=source: _relu_of(values, s)
    if FOLD_NORM:
        for node in net.order:
            consumer = _norm_folds_into(net, node)
            if consumer is None or runners[consumer] is not net.layers[consumer]:
                continue
            norm = net.layers[node]
            runners[node] = _Normalized(norm)
            runners[consumer] = _AffineFolded(net.layers[consumer], norm)
            lazy[node] = lambda values, n=node, ln=norm: _affine_of(values, n, ln)
    if DENSE_RELU:
        for node in net.order:
            if (net.layers[node].type_name != "Dense" or node == net.output_id
                    or len(net.succ[node]) != 1):
                continue
            (relu,) = net.succ[node]
            if net.layers[relu].type_name != "ReLU" or runners[relu] is not net.layers[relu]:
                continue
            runners[node] = _ReLUInside(runners[node], net.layers[relu])
            runners[relu] = _AppliedReLU(net.layers[relu])
            lazy[node] = lambda values, n=node, d=net.layers[node]: _dense_of(
                values, net.preds[n][0], d)
    return ExecutionPlan(runners, lazy)


def _dense_of(values: Mapping, source: str, dense) -> np.ndarray:
    """A Dense node's output ``x·W + b`` from its input's value."""
    y = np.matmul(values[source], dense.params["W"])
    return y + dense.params["b"] if "b" in dense.params else y


def _norm_folds_into(net, node: str) -> str | None:
    """The consumer a LayerNorm ``node``'s ``γ``, ``β`` fold into, or None."""
    layer = net.layers[node]
    if layer.type_name != "LayerNorm" or node == net.output_id or len(net.succ[node]) != 1:
        return None
    (consumer,) = net.succ[node]
    keys = _FOLDS_INTO.get(net.layers[consumer].type_name)
    if keys is None or keys[1] not in net.layers[consumer].params:
        return None
    return consumer


def _affine_of(values: Mapping, node: str, norm) -> np.ndarray:
    """A folded LayerNorm's true output ``x̂·γ + β`` from its value ``x̂``."""
    return values[node] * norm.params["gamma"] + norm.params["beta"]


def _only_consumer(net, node: str, consumer: str, type_name: str) -> bool:
    """Whether ``node`` is a ``type_name`` layer read by ``consumer`` alone."""
    return (net.layers[node].type_name == type_name and node != net.output_id
            and net.succ[node] == [consumer])


def _fuses_conv(net, conv: str, consumer: str, pool: str) -> bool:
    """Whether ``conv`` → [ReLU →] ``pool`` runs as one :class:`convpool.ConvPool`."""
    if conv == net.input_id or net.succ[conv] != [consumer] or conv == net.output_id:
        return False
    (src,) = net.preds[conv]
    return convpool.applies(net.layers[conv], net.layers[pool], net.shapes[src],
                            net.shapes[conv])
