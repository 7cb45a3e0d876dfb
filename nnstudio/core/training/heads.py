"""Networks with several outputs: one loss per ``Output`` layer, weighted, summed.

Each ``Output`` layer (:mod:`nnstudio.core.engine.output_layer`) names a target column; the
data layer prepares the targets of all of them into one float32 matrix ``y (N, H)``, one
column per output in the order of :attr:`Preparation.heads` (a class index, or a number
scaled like a regression target). A :class:`Heads` pairs each Output node with its column,
its loss and its weight, and trains and scores the network on that matrix:

    total loss = Σ_h weight_h · loss_h(output_h, y[:, h])

The gradient of each head enters the network at its own node (at the logits before a final
Softmax/Sigmoid, fused with the loss as for one output) and the network sums what reaches a
shared layer. Metrics are reported per head as ``"<target>/<metric>"`` (``"price/mae"``,
``"kind/accuracy"``), beside ``"loss"``, the weighted total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnstudio.core.engine import metrics as m_
from nnstudio.core.engine.losses import Loss, get_loss
from nnstudio.core.engine.network import Network
from nnstudio.core.errors import ShapeError

CLASSIFICATION_LOSSES = ("cross_entropy", "binary_cross_entropy")


@dataclass
class Head:
    """One output of the network and the target it learns.

    ``column`` is its column in the packed targets ``y (N, H)``; ``at`` the node whose
    output are the logits when the final activation fuses with the loss (else None).
    """

    node: str
    target: str
    column: int
    loss_name: str
    loss: Loss
    weight: float
    task: str
    n_classes: int
    at: str | None

    def targets(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """This head's prepared targets from the packed ``y``: int64 class indices ``(N,)``
        for cross-entropy, floats ``(N, 1)`` otherwise."""
        col = np.asarray(y)[:, self.column]
        if self.loss_name == "cross_entropy":
            return col.astype(np.int64)
        return np.ascontiguousarray(col.reshape(-1, 1), dtype=dtype)


def head_loss_name(loss: str, task: str, n_out: int) -> str:
    """The loss an Output set to ``loss`` trains with ("auto": by the target's kind)."""
    if loss != "auto":
        return loss
    if task == "classification":
        return "binary_cross_entropy" if n_out == 1 else "cross_entropy"
    return "mse"


class Heads:
    """The outputs of a network with several targets (see the module docstring)."""

    def __init__(self, net: Network, heads: list[Head]):
        self.net = net
        self.heads = heads

    @classmethod
    def build(cls, net: Network, prep_heads: list[dict[str, Any]]) -> Heads:
        """Pair each ``Output`` node of ``net`` with its prepared target.

        ``prep_heads`` is :attr:`Preparation.heads`: ``{"target", "task", "class_names"}``
        per target, in column order. Raises :class:`ShapeError` naming the Output when a
        target is not prepared or its output cannot learn it.
        """
        column = {h["target"]: i for i, h in enumerate(prep_heads)}
        heads = []
        for node in net.output_ids:
            layer = net.layers[node]
            if layer.type_name != "Output":
                raise ShapeError("several targets need every branch to end in an Output "
                                 "layer naming its target", layer.where)
            target = layer.config["target"]
            if target not in column:
                raise ShapeError(f"its target {target!r} is not among the prepared targets "
                                 f"({', '.join(column)})", layer.where)
            info = prep_heads[column[target]]
            shape = tuple(net.shapes[node])
            n_classes = len(info.get("class_names") or [])
            name = head_loss_name(layer.config["loss"], info["task"], math.prod(shape))
            _check_head(layer.where, name, info["task"], shape, n_classes)
            (pred,) = net.preds[node]
            loss = get_loss(name)
            at = None
            if loss.fuses_with and net.layers[pred].type_name == loss.fuses_with:
                (logits,) = net.preds[pred]
                at = logits if logits not in net.input_ids else None
            heads.append(Head(node, target, column[target], name, loss,
                              float(layer.config["weight"]), info["task"], n_classes, at))
        return cls(net, heads)

    def by_node(self, out: Any) -> dict[str, np.ndarray]:
        """The network's output as ``{output id: values}``: a network with one Output
        naming its target returns an array, not a dict."""
        return out if isinstance(out, dict) else {self.net.output_id: out}

    # -- training --------------------------------------------------------------------
    def check_fit(self, y: np.ndarray, where: str) -> None:
        """The packed targets hold one column per head and class indices in range."""
        y = np.asarray(y)
        if y.ndim != 2 or y.shape[1] != len(self.heads):
            raise ShapeError(f"the network has {len(self.heads)} outputs but the targets "
                             f"have shape {tuple(y.shape)}", where)
        for h in self.heads:
            if h.task != "classification" or not len(y):
                continue
            col = y[:, h.column]
            top = int(np.nanmax(col))
            if top >= max(h.n_classes, 2) or np.nanmin(col) < 0:
                raise ShapeError(f"target {h.target!r} holds class {top}, the output "
                                 f"has {h.n_classes}", where)

    def step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Forward, the weighted losses and (when finite) backward into ``net.grads``.

        Returns ``(total loss, {output id: output})``; the outputs are the network's
        buffers, reused by the next call.
        """
        net = self.net
        preds = self.by_node(net.forward(x, training=True))
        total, grads = 0.0, {}
        for h in self.heads:
            yh = h.targets(y, net.dtype)
            pred = preds[h.node]
            if h.at is not None:
                value = h.loss.fused_value(net.values[h.at], yh)
                grad = h.loss.fused_grad(pred, yh)
                node = h.at
            else:
                value = h.loss.value(pred, yh)
                grad = h.loss.grad(pred, yh)
                node = h.node
            total += h.weight * value
            if h.weight != 1.0:
                grad = grad * h.weight
            grads[node] = grads[node] + grad if node in grads else grad
        if math.isfinite(total):
            net.backward_many(grads)
        return total, preds

    # -- scoring ---------------------------------------------------------------------
    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int | None = None
                 ) -> dict[str, float]:
        """``loss`` (the weighted total) and per head ``<target>/loss`` and
        ``<target>/accuracy`` or ``<target>/mae``, ``/rmse``, ``/r2`` — the regression
        scores in the trained (scaled) units; :meth:`TrainedModel.metrics` reports them in
        the user's units."""
        if len(x) == 0:
            return {"loss": math.nan}
        preds = self.net.predict(np.asarray(x, self.net.dtype), batch_size)
        return self.score(preds, y)

    def score(self, preds: dict[str, np.ndarray], y: np.ndarray,
              decode: Any = None) -> dict[str, float]:
        """Scores of outputs ``preds`` against packed targets ``y``; ``decode(head, values
        (N,))`` turns scaled regression values into the user's units for the metrics."""
        preds = self.by_node(preds)
        out: dict[str, float] = {"loss": 0.0}
        for h in self.heads:
            yh = h.targets(y, self.net.dtype)
            pred = preds[h.node]
            value = float(h.loss.value(pred, yh))
            out["loss"] += h.weight * value
            out[f"{h.target}/loss"] = value
            if h.task == "classification":
                truth = yh if yh.ndim == 1 else (yh[:, 0] >= 0.5).astype(np.int64)
                out[f"{h.target}/accuracy"] = m_.accuracy(truth, m_.predicted_classes(pred))
            else:
                p, t = pred.reshape(-1).astype(np.float64), yh.reshape(-1).astype(np.float64)
                if decode is not None:
                    p, t = decode(h, p), decode(h, t)
                for k, v in m_.regression_report(t[:, None], p[:, None]).items():
                    out[f"{h.target}/{k}"] = float(v)
        return out

    def trivial_loss(self, y: np.ndarray) -> float:
        """The weighted loss of the best constant guess per head (divergence checks)."""
        from nnstudio.core.training.divergence import trivial_loss

        return sum(h.weight * trivial_loss(h.targets(y, np.float64), h.loss_name)
                   for h in self.heads)


def check_output(where: str, loss: str, info: dict[str, Any], shape: tuple) -> None:
    """Raise the :class:`ShapeError` :meth:`Heads.build` would for an Output of ``shape``
    set to ``loss`` ("auto" resolved here) learning the prepared target ``info`` (a
    :attr:`Preparation.heads` entry): what a canvas shows before training."""
    n_classes = len(info.get("class_names") or [])
    name = head_loss_name(loss, info["task"], math.prod(shape))
    _check_head(where, name, info["task"], tuple(shape), n_classes)


def _check_head(where: str, loss: str, task: str, shape: tuple, n_classes: int) -> None:
    """One readable error when an output cannot learn its target with its loss."""
    if task == "classification" and loss not in CLASSIFICATION_LOSSES:
        raise ShapeError(f"{loss!r} is a regression loss but the target is a class "
                         f"({n_classes} classes): use cross_entropy or auto", where)
    if task == "regression" and loss in CLASSIFICATION_LOSSES:
        raise ShapeError(f"{loss!r} is a classification loss but the target is a number: "
                         "use mse, mae or auto", where)
    if loss == "cross_entropy" and shape != (n_classes,):
        raise ShapeError(f"receives {shape} but its target has {n_classes} classes: end the "
                         f"branch with Dense {n_classes} + Softmax", where)
    if loss == "binary_cross_entropy" and (shape != (1,) or n_classes != 2):
        raise ShapeError(f"binary cross-entropy needs one output (Dense 1 + Sigmoid) and two "
                         f"classes; it receives {shape} for {n_classes} classes", where)
    if task == "regression" and math.prod(shape) != 1:
        raise ShapeError(f"receives {shape} but its target is one number: end the branch "
                         "with Dense 1", where)
