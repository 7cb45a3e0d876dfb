"""The course's worked example on the user's own one-neuron model.

For a network ``Input (1,) → Dense 1 [→ activation]`` and one sample ``(x, y)``:
``z = w·x + b``, ``ŷ = f(z)``, ``C = loss(ŷ, y)``, the chain rule
``∂C/∂w = ∂C/∂ŷ · ∂ŷ/∂z · ∂z/∂w`` with ``∂z/∂w = x`` and ``∂z/∂b = 1``, and one update
``w ← w − α·∂C/∂w``. Every number comes from the engine itself — the same forward, backward
and optimizer step as training, on a float64 copy of the network — and the chain-rule pieces
are shown beside them so a learner can check the product by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnstudio.core.engine.losses import get_loss
from nnstudio.core.engine.network import Network
from nnstudio.core.engine.optimizers import make_optimizer
from nnstudio.core.insight.common import activation_of, clone_network, num
from nnstudio.core.training.evaluate import prepare_targets
from nnstudio.core.training.trainer import fusion_point

_FN = {"Linear": "", "Sigmoid": "σ", "Tanh": "tanh", "ReLU": "ReLU", "LeakyReLU": "LeakyReLU"}
_LOSS_FORMULA = {
    "mse": "C = (y − ŷ)²",
    "mae": "C = |ŷ − y|",
    "binary_cross_entropy": "C = −[y·log ŷ + (1 − y)·log(1 − ŷ)]",
}


def single_neuron(net: Network) -> tuple[str, str | None] | None:
    """``(dense_id, activation_id)`` when ``net`` is one input → one Dense unit → an optional
    element-wise activation, else ``None``."""
    dense = [n for n in net.order if net.layers[n].type_name == "Dense"]
    if len(dense) != 1 or tuple(net.input_shape) != (1,):
        return None
    (d,) = dense
    if net.preds[d] != [net.input_id] or net.layers[d].params["W"].shape != (1, 1):
        return None
    act_id, act = activation_of(net, d)
    if act not in _FN:
        return None
    end = act_id or d
    if net.output_id != end or len(net.order) != (3 if act_id else 2):
        return None
    return d, act_id


@dataclass
class WorkedExample:
    """One gradient-descent step of a one-neuron model on one sample, number by number.

    ``dc_dw`` and ``dc_db`` are the engine's gradients; ``dc_dyhat``·``dyhat_dz``·``x`` is
    the chain rule by hand (they agree). ``w_new``/``b_new`` come from the optimizer's step.
    """

    x: float
    y: float
    w: float
    b: float
    z: float
    y_hat: float
    activation: str
    loss_name: str
    loss: float
    dc_dyhat: float
    dyhat_dz: float
    dc_dw: float
    dc_db: float
    learning_rate: float
    optimizer: str
    w_new: float
    b_new: float
    has_bias: bool = True

    def lines(self) -> list[str]:
        """The worked example as the course writes it, with this model's numbers."""
        fn = _FN[self.activation]
        w, x, b = num(self.w), _paren(self.x), num(abs(self.b))
        sign = "−" if self.b < 0 else "+"
        if fn:
            first = (
                f"ŷ = {fn}(w·x + b) = {fn}({w}·{x} {sign} {b}) = {fn}({num(self.z)}) "
                f"= {num(self.y_hat)}"
            )
        else:
            first = f"ŷ = w·x + b = {w}·{x} {sign} {b} = {num(self.y_hat)}"
        out = [
            first,
            f"{_LOSS_FORMULA.get(self.loss_name, 'C = loss(ŷ, y)')} with y = {num(self.y)}: "
            f"C = {num(self.loss)}",
        ]
        out += self._chain_lines(fn)
        a = num(self.learning_rate)
        if self.optimizer == "sgd":
            out.append(
                f"w ← w − α·∂C/∂w = {num(self.w)} − {a}·{_paren(self.dc_dw)} = {num(self.w_new)}"
            )
            if self.has_bias:
                out.append(
                    f"b ← b − α·∂C/∂b = {num(self.b)} − {a}·{_paren(self.dc_db)} = "
                    f"{num(self.b_new)}"
                )
        else:
            out.append(
                f"{self.optimizer} step (α = {a}): w → {num(self.w_new)}"
                + (f", b → {num(self.b_new)}" if self.has_bias else "")
            )
        return out


    def _chain_lines(self, fn: str) -> list[str]:
        """The course's chain: ∂C/∂ŷ with its formula and numbers, ∂ŷ/∂w, their product."""
        y, yh, dc = num(self.y), _paren(self.y_hat), _paren(self.dc_dyhat)
        if self.loss_name == "mse":
            first = f"∂C/∂ŷ = −2(y − ŷ) = −2·({y} − {yh}) = {num(self.dc_dyhat)}"
        elif self.loss_name == "mae":
            first = f"∂C/∂ŷ = sign(ŷ − y) = sign({num(self.y_hat)} − {_paren(self.y)}) = " \
                    f"{num(self.dc_dyhat)}"
        else:
            first = f"∂C/∂ŷ = (ŷ − y) / (ŷ·(1 − ŷ)) = {num(self.dc_dyhat)}"
        out = [first]
        if fn:
            dyw = self.dyhat_dz * self.x
            out.append(f"∂ŷ/∂z = {fn}′(z) = {num(self.dyhat_dz)}, ∂z/∂w = x = {num(self.x)}")
            out.append(f"∂ŷ/∂w = ∂ŷ/∂z · ∂z/∂w = {num(self.dyhat_dz)}·{_paren(self.x)} = "
                       f"{num(dyw)}")
            dyb, dyb_text = self.dyhat_dz, f"∂ŷ/∂b = ∂ŷ/∂z · 1 = {num(self.dyhat_dz)}"
        else:
            dyw = self.x
            out.append(f"∂ŷ/∂w = x = {num(self.x)}")
            dyb, dyb_text = 1.0, "∂ŷ/∂b = 1"
        out.append(f"∂C/∂w = ∂C/∂ŷ · ∂ŷ/∂w = {dc}·{_paren(dyw)} = {num(self.dc_dw)}")
        if self.has_bias:
            out.append(f"{dyb_text}, so ∂C/∂b = ∂C/∂ŷ · ∂ŷ/∂b = {dc}·{_paren(dyb)} = "
                       f"{num(self.dc_db)}")
        return out


def worked_example(
    net: Network,
    x: float,
    y: float,
    loss: str = "mse",
    lr: float = 0.01,
    optimizer: dict[str, Any] | None = None,
) -> WorkedExample:
    """One step of gradient descent on one sample, computed by the engine on a copy.

    Parameters
    ----------
    net:
        A one-neuron network (see :func:`single_neuron`); it is not changed.
    x, y:
        The sample, in network units (after any scaling of the data).
    loss:
        ``mse`` (the course's ``(y − ŷ)²``), ``mae`` or ``binary_cross_entropy``.
    lr:
        The learning rate α.
    optimizer:
        An optimizer config (``{"type": "adam", ...}``); default plain SGD, the course's
        ``w ← w − α·∂C/∂w``. Other optimizers show the step they really take (a first
        step, with fresh optimizer state).
    """
    found = single_neuron(net)
    if found is None:
        raise ValueError("the worked example needs a model Input (1) → Dense 1 [→ activation]")
    dense_id, act_id = found
    twin = clone_network(net, np.float64)
    layer = twin.layers[dense_id]
    w, b_arr = layer.params["W"], layer.params.get("b")
    w0 = float(w[0, 0])
    b0 = float(b_arr[0]) if b_arr is not None else 0.0
    fn_loss = get_loss(loss)
    xs = np.array([[float(x)]])
    ys = prepare_targets(np.array([float(y)]), loss, np.dtype(np.float64))
    if ys.ndim == 1:  # cross-entropy on one unit makes no sense here
        raise ValueError("the worked example supports mse, mae and binary_cross_entropy")
    pred = twin.forward(xs, training=True)
    y_hat = float(pred[0, 0])
    z = float(twin.values[dense_id][0, 0])
    at = fusion_point(twin, fn_loss)
    if at is not None:
        value = fn_loss.fused_value(twin.values[at], ys)
        grad = fn_loss.fused_grad(pred, ys).copy()
    else:
        value = fn_loss.value(pred, ys)
        grad = fn_loss.grad(pred, ys).copy()
    # The chain-rule pieces by formula, to show beside the engine's product.
    dc_dyhat = float(fn_loss.grad(pred.copy(), ys)[0, 0])
    act = twin.layers[act_id].type_name if act_id else "Linear"
    dyhat_dz = _slope(act, z, y_hat, twin.layers[act_id].config if act_id else {})
    twin.backward(grad, at=at)
    dc_dw = float(layer.grads["W"][0, 0])
    dc_db = float(layer.grads["b"][0]) if b_arr is not None else 0.0
    cfg = dict(optimizer or {"type": "sgd"})
    cfg["learning_rate"] = float(lr)
    kind = str(cfg.get("type", "sgd")).lower()
    make_optimizer(cfg, twin.params, twin.grads, twin.n_decay).step()
    return WorkedExample(
        x=float(x), y=float(ys[0, 0]), w=w0, b=b0, z=z, y_hat=y_hat, activation=act,
        loss_name=loss, loss=float(value), dc_dyhat=dc_dyhat, dyhat_dz=dyhat_dz,
        dc_dw=dc_dw, dc_db=dc_db, learning_rate=float(lr), optimizer=kind,
        w_new=float(w[0, 0]), b_new=float(b_arr[0]) if b_arr is not None else 0.0,
        has_bias=b_arr is not None,
    )


def _paren(v: float) -> str:
    return f"({num(v)})" if v < 0 else num(v)


def _slope(act: str, z: float, a: float, config: dict) -> float:
    """``dŷ/dz`` of an activation at ``z`` (output ``a``), by its textbook formula."""
    if act == "Sigmoid":
        return a * (1.0 - a)
    if act == "Tanh":
        return 1.0 - a * a
    if act == "ReLU":
        return 1.0 if z > 0 else 0.0
    if act == "LeakyReLU":
        return 1.0 if z > 0 else float(config.get("alpha", 0.01))
    return 1.0
