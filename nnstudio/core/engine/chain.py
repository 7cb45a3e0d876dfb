"""A compiled training step for plain chains: Input → (Dense → activation?)+ → loss.

Most networks drawn in nnstudio — the Playground nets, the house-price regressor, the MNIST
MLP — are a straight chain of Dense layers, each followed by at most one element-wise
activation. For a tiny one (2-8-8-1 at batch 10) walking the graph costs more than the
arithmetic: each of the step's ≈ 40 NumPy calls takes about a microsecond, and the per-layer
dispatch of :meth:`Network.forward`/:meth:`Network.backward` (input lists, buffer lookups,
gradient bookkeeping at fan-out) as much again.

:class:`ChainStep` runs the same arithmetic with none of that: per batch size it prepares
one workspace (every Dense output, every gradient, every mask), applies each activation in
place on its Dense output, and loops over plain tuples. It uses the very formulas, in the
same order, as the layers and losses it replaces, so a step gives **bit-identical** gradients
and losses to the general path (the tests assert exact equality). The trainer uses it when
:meth:`ChainStep.build` accepts the network and falls back to the graph walk otherwise
(merges, Dropout, BatchNorm, convolutions, recurrent layers, activations before the first
Dense or two in a row).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from nnstudio.core.engine import activations as act
from nnstudio.core.engine.losses import Loss
from nnstudio.core.engine.network import Network


def _leaky_forward(alpha: float, z: np.ndarray, scratch: np.ndarray) -> None:
    act.leaky_relu_forward(z, alpha, z, scratch)


def _leaky_backward(alpha: float, y, grad, out, mask) -> None:
    act.leaky_relu_backward(y, grad, alpha, out, mask)


def _activation(layer) -> tuple | None:
    """``(forward(z, scratch) in place, backward(y, grad, out, mask))`` of an element-wise
    activation layer, ``(None, None)`` for Linear, ``None`` if it is not one."""
    t = layer.type_name
    if t == "Linear":
        return None, None
    if t == "Tanh":
        return (lambda z, _s: act.tanh_forward(z, z)), act.tanh_backward
    if t == "ReLU":
        return (lambda z, _s: act.relu_forward(z, z)), act.relu_backward
    if t == "Sigmoid":
        return (lambda z, _s: act.sigmoid_forward(z, z)), act.sigmoid_backward
    if t == "LeakyReLU":
        alpha = float(layer.config["alpha"])
        return partial(_leaky_forward, alpha), partial(_leaky_backward, alpha)
    return None


class ChainStep:
    """Forward, loss and backward of a Dense chain in one call, into ``net.grads``.

    Build it with :meth:`build`, which returns ``None`` for networks it does not cover.
    The caller decides how NumPy reports overflow (the trainer runs each step under
    ``np.errstate``), as the layers' own forward passes would otherwise do per call.

    Attributes
    ----------
    pred:
        After :meth:`step`, the network's output for the batch, ``(m, K)``: what
        ``net.forward(x)`` returns (probabilities when a Softmax/Sigmoid is fused with the
        loss). A workspace buffer, overwritten by the next step.
    """

    def __init__(self, net: Network, loss: Loss, stages: list[tuple], final: str | None):
        self.net, self.loss = net, loss
        # One stage per Dense: (W (F, U), W.T, b (U,) or None, gW, gb or None, fwd, bwd)
        self._stages = stages
        self._final = final  # "Softmax"/"Sigmoid" fused with the loss, else None
        self._dtype = net.dtype
        self._spaces: dict[int, tuple] = {}
        self.pred: np.ndarray | None = None
        #: The batch arrives with the Input's shape and is viewed as (m, F) (see build).
        self._flatten = False

    @classmethod
    def build(cls, net: Network, loss: Loss) -> ChainStep | None:
        """A step for ``net`` trained with ``loss``, or ``None`` when the network is not a
        plain chain Input → [Flatten/Reshape to a vector]* → (Dense → activation?)+ [→ the
        activation fused with the loss].

        Leading Flatten/Reshape layers (an MNIST MLP reads ``(28, 28)`` images) only view the
        batch as ``(m, F)``: the step does that itself, as the same row-major reshape."""
        layers = []
        node = net.input_id
        while net.succ[node]:
            succ = net.succ[node]
            if len(succ) != 1 or len(net.preds[succ[0]]) != 1:
                return None
            node = succ[0]
            layers.append(net.layers[node])
        flatten = 0
        while flatten < len(layers) and layers[flatten].type_name in ("Flatten", "Reshape"):
            flatten += 1
        in_shape = net.shapes[layers[flatten - 1].name] if flatten else net.input_shape
        if len(in_shape) != 1:
            return None
        layers = layers[flatten:]
        stages: list[list] = []
        final = None
        after_dense = False
        for i, layer in enumerate(layers):
            t = layer.type_name
            if t == "Dense":
                W = layer.params["W"]
                stages.append([W, W.T, layer.params.get("b"), layer.grads["W"],
                               layer.grads.get("b"), None, None])
                after_dense = True
                continue
            if not after_dense:
                return None  # an activation first, or two in a row: the graph walk does it
            after_dense = False
            if i == len(layers) - 1 and loss.fuses_with == t:
                final = t
                continue
            pair = _activation(layer)
            if pair is None:
                return None
            stages[-1][5], stages[-1][6] = pair
        if not stages:
            return None
        step = cls(net, loss, [tuple(s) for s in stages], final)
        step._flatten = bool(flatten)
        return step

    def _space(self, m: int) -> tuple:
        """Buffers for a batch of ``m``: per stage ``(A (m, U) the output, A.T, D (m, U)
        scratch and activation gradient, mask (m, U) bool, G (m, F) the gradient w.r.t. the
        stage's input or None for the first)``, the ones ``(m,)`` that sum a batch, and the
        fused output ``(m, K)`` with its row scratch ``(m, 1)``."""
        space = self._spaces.get(m)
        if space is None:
            if len(self._spaces) > 8:  # many batch sizes: start over
                self._spaces.clear()
            dt = self._dtype
            stages = []
            for i, (W, *_rest) in enumerate(self._stages):
                f, u = W.shape
                a = np.empty((m, u), dt)
                stages.append((a, a.T, np.empty((m, u), dt), np.empty((m, u), bool),
                               np.empty((m, f), dt) if i else None))
            k = self._stages[-1][0].shape[1]
            space = self._spaces[m] = (stages, np.ones(m, dt), np.empty((m, k), dt),
                                       np.empty((m, 1), dt))
        return space

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One batch: ``x`` (m, F) in the network's dtype, ``y`` prepared targets.

        Returns the mean loss; when it is finite, ``net.grads`` holds its gradient, equal to
        what ``net.forward`` + the trainer's loss + ``net.backward`` give. ``self.pred`` holds
        the output.
        """
        dot, add = np.dot, np.add
        if self._flatten:
            x = x.reshape(x.shape[0], -1)
        stages = self._stages
        work, ones, out, red = self._space(x.shape[0])
        h = x
        for (W, _WT, b, _gW, _gb, fwd, _bwd), (A, _AT, D, _M, _G) in zip(stages, work, strict=True):
            dot(h, W, A)
            if b is not None:
                add(A, b, A)
            if fwd is not None:
                fwd(A, D)
            h = A
        loss = self.loss
        if self._final is None:
            pred = h
            value = loss.value(pred, y)
            g = loss.grad(pred, y)
        else:
            pred = out
            if self._final == "Sigmoid":
                act.sigmoid_forward(h, out)
            else:
                act.softmax_forward(h, out, red)
            value = loss.fused_value(h, y)
            g = loss.fused_grad(pred, y)
        self.pred = pred
        if not math.isfinite(value):
            return value
        for i in range(len(stages) - 1, -1, -1):
            _W, WT, _b, gW, gb, _fwd, bwd = stages[i]
            A, _AT, D, M, G = work[i]
            if bwd is not None:
                bwd(A, g, D, M)
                g = D
            dot(work[i - 1][1] if i else x.T, g, gW)
            if gb is not None:
                dot(ones, g, gb)
            if i:
                dot(g, WT, G)
                g = G
        return value
