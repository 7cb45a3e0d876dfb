"""Bidirectional recurrent layer: one LSTM/GRU/SimpleRNN reads the sequence forwards, a
second one reads it backwards, and their outputs are joined (``concat``) or added (``sum``).

Input ``(N, T, F)``; output ``(N, 2H)`` / ``(N, H)`` — the forward layer's last state and the
backward layer's last state (the one after reading step 0) — or, with ``return_sequences``,
``(N, T, 2H)`` / ``(N, T, H)`` with both directions aligned to the input's steps (Keras's
``Bidirectional``, PyTorch's ``bidirectional=True``, ONNX's ``direction="bidirectional"``).

Parameters are ONNX's bidirectional layout, the two directions stacked on a leading axis:
``W (2, G·H, F)``, ``R (2, G·H, H)``, ``b (2, 2·G·H)``, index 0 forwards. Each direction is an
ordinary :mod:`~nnstudio.core.engine.recurrent` layer working on views of them.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.engine.recurrent import GRU, LSTM, SimpleRNN
from nnstudio.core.errors import ShapeError

KINDS = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}


@register
class Bidirectional(Layer):
    """Two recurrent layers over the sequence, one per direction (see the module docstring)."""

    type_name = "Bidirectional"
    category = "Recurrent"
    summary = "an LSTM/GRU reading forwards and another reading backwards, outputs joined"
    settings = (
        Setting("layer", "choice", "LSTM", choices=tuple(KINDS), help="the recurrent cell"),
        Setting("units", "int", 32, minimum=1, maximum=100_000,
                help="hidden state size H of each direction"),
        Setting("return_sequences", "bool", False,
                help="output every step instead of the last states"),
        Setting("merge_mode", "choice", "concat", choices=("concat", "sum"),
                help="join the two directions side by side (2H) or add them (H)"),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        cls = KINDS[self.config["layer"]]
        sub = {"units": self.config["units"],
               "return_sequences": self.config["return_sequences"]}
        self.directions = (cls(f"{name}/forward", **sub), cls(f"{name}/backward", **sub))
        self._buf = Buffers()
        #: Set by the network when no input gradient is needed (the layer reads the Input).
        self.skip_input_grad = False

    def describe(self) -> str:
        c = self.config
        label = f"Bidirectional {c['layer']} {c['units']}"
        if c["return_sequences"]:
            label += " seq"
        return label + (" sum" if c["merge_mode"] == "sum" else "")

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        try:
            inner = self.directions[0].output_shape(input_shapes)
        except ShapeError as e:  # named after this layer, not its hidden forward half
            raise ShapeError(e.message, self.where) from None
        if self.config["merge_mode"] == "concat":
            return (*inner[:-1], 2 * inner[-1])
        return inner

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        self.output_shape(input_shapes)
        return {k: (2, *s) for k, s in self.directions[0].param_shapes(input_shapes).items()}

    def _bind(self) -> None:
        """Point each direction at its half of the parameters and gradients."""
        for d, layer in enumerate(self.directions):
            layer.params = {k: v[d] for k, v in self.params.items()}
            layer.grads = {k: v[d] for k, v in self.grads.items()}
            layer.dtype = self.dtype
            layer.skip_input_grad = self.skip_input_grad

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        self._bind()
        for layer in self.directions:
            layer.init_params(input_shapes, rng)

    def _forward(self, inputs, training):
        x = inputs[0]
        self._bind()
        fw, bw = self.directions
        yf = fw.forward([x], training)
        yb = bw.forward([x[:, ::-1]], training)
        seq = self.config["return_sequences"]
        if seq:
            yb = yb[:, ::-1]  # align the backward outputs with the input's steps
        h = self.config["units"]
        if self.config["merge_mode"] == "concat":
            y = self._buf.get("y", (*yf.shape[:-1], 2 * h), self.dtype)
            np.copyto(y[..., :h], yf)
            np.copyto(y[..., h:], yb)
        else:
            y = self._buf.get("y", yf.shape, self.dtype)
            np.add(yf, yb, out=y)
        return y

    def _backward(self, grad):
        fw, bw = self.directions
        h = self.config["units"]
        if self.config["merge_mode"] == "concat":
            gf, gb = grad[..., :h], grad[..., h:]
        else:
            gf = gb = grad
        if self.config["return_sequences"]:
            gb = gb[:, ::-1]
        (dxf,) = fw.backward(gf)
        (dxb,) = bw.backward(gb)
        if self.skip_input_grad:
            return [None]
        dx = self._buf.get("dx", dxf.shape, self.dtype)
        np.add(dxf, dxb[:, ::-1], out=dx)
        return [dx]
