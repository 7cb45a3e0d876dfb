"""1-D convolution over sequences ``(N, T, F)``, features last (Keras's ``Conv1D``).

A window of ``kernel_size`` steps, ``dilation_rate`` steps apart, slides along ``T`` with
``strides``; each of ``filters`` outputs is a weighted sum over the window's steps and
features. Padding: ``valid`` (none), ``same`` (``To = ceil(T / stride)``, the extra zero
after, as in :mod:`~nnstudio.core.engine.conv`) or ``causal`` (``d·(k − 1)`` zeros before:
step ``t`` sees only steps ≤ ``t``). ``groups`` splits the features into groups convolved
separately (``groups = F`` with ``filters = F`` is a depthwise convolution).

Parameters use ONNX's 1-D ``Conv`` layout: ``W (filters, F / groups, k)``, ``b (filters,)``;
an export transposes ``(N, T, F)`` to ONNX's ``(N, F, T)`` and back.

How it runs: the input is copied once into a zero-padded buffer; ``k`` strided slice copies
build the columns, group-major ``(g, N·To, k·F/g)``; one (batched) matmul with the kernel
``(g, k·F/g, filters/g)`` gives every output. The backward pass mirrors it.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.initializers import INITIALIZERS, fans, initialize
from nnstudio.core.engine.layer import Buffers, FilledBuffers, Layer, Setting, Shape, register
from nnstudio.core.engine.pooling_seq import seq_plan
from nnstudio.core.errors import ShapeError


@register
class Conv1D(Layer):
    """1-D convolution: ``(N, T, F)`` → ``(N, To, filters)`` (see the module docstring)."""

    type_name = "Conv1D"
    category = "Convolution & pooling"
    summary = "y_t = Σ W·x[t…t+k] + b — learned filters slid along a sequence"
    settings = (
        Setting("filters", "int", 16, minimum=1, maximum=100_000, help="number of outputs"),
        Setting("kernel_size", "int", 3, minimum=1, maximum=100_000, help="window length"),
        Setting("strides", "int", 1, minimum=1, maximum=100_000, help="step between windows"),
        Setting("padding", "choice", "valid", choices=("valid", "same", "causal"),
                help="valid: none; same: out = ceil(T / stride); causal: step t sees steps ≤ t"),
        Setting("dilation_rate", "int", 1, minimum=1, maximum=100_000,
                help="spacing between the window's steps"),
        Setting("groups", "int", 1, minimum=1, maximum=100_000,
                help="split features into groups convolved separately (divides both)"),
        Setting("use_bias", "bool", True, help="add a learned bias per filter"),
        Setting("kernel_initializer", "choice", "glorot_uniform", choices=INITIALIZERS),
        Setting("bias_initializer", "choice", "zeros", choices=INITIALIZERS),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        self._zbuf = FilledBuffers()
        #: Set by the network when no input gradient is needed (the layer reads the Input).
        self.skip_input_grad = False

    def describe(self) -> str:
        c = self.config
        label = f"Conv1D {c['filters']} k{c['kernel_size']}"
        if c["strides"] != 1:
            label += f" stride {c['strides']}"
        if c["padding"] != "valid":
            label += f" {c['padding']}"
        if c["dilation_rate"] != 1:
            label += f" dilation {c['dilation_rate']}"
        if c["groups"] != 1:
            label += f" groups {c['groups']}"
        return label

    def plan(self, shape: Shape) -> tuple[int, int, int]:
        """``(To, before, after)``: output length and zero padding of the time axis."""
        c = self.config
        k, s, d = c["kernel_size"], c["strides"], c["dilation_rate"]
        if c["padding"] == "causal":
            seq_plan(self, tuple(shape), 1, s, "valid", "kernel")  # checks (T, F)
            before = d * (k - 1)  # the window spans before + 1 steps: To = ceil(T / s)
            return (shape[0] - 1) // s + 1, before, 0
        return seq_plan(self, tuple(shape), k, s, c["padding"], "kernel", d)

    def _groups(self, shape: Shape) -> int:
        g = self.config["groups"]
        if shape[-1] % g or self.config["filters"] % g:
            raise ShapeError(
                f"groups {g} must divide both the {shape[-1]} input features and the "
                f"{self.config['filters']} filters", self.where,
            )
        return g

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        to = self.plan(shape)[0]
        self._groups(shape)
        return (to, self.config["filters"])

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        (shape,) = input_shapes
        self.output_shape(input_shapes)
        f = self.config["filters"]
        out = {"W": (f, shape[-1] // self._groups(shape), self.config["kernel_size"])}
        if self.config["use_bias"]:
            out["b"] = (f,)
        return out

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        W = self.params["W"]
        fi, fo = fans(W.shape, "conv")
        initialize(W, self.config["kernel_initializer"], rng, fi, fo)
        if "b" in self.params:
            initialize(self.params["b"], self.config["bias_initializer"], rng, fi, fo)

    # -- running -------------------------------------------------------------------------
    def _kernel(self, g: int, fg: int, fo: int) -> np.ndarray:
        """``W (filters, F/g, k)`` as ``(g, k·F/g, filters/g)``, rows ordered (step, feature)."""
        k = self.config["kernel_size"]
        wk = self._buf.get("wk", (g, k * fg, fo), self.dtype)
        np.copyto(wk.reshape(g, k, fg, fo),
                  self.params["W"].reshape(g, fo, fg, k).transpose(0, 3, 2, 1))
        return wk

    def _forward(self, inputs, training):
        x = inputs[0]
        n, t, feats = x.shape
        c = self.config
        k, s, d = c["kernel_size"], c["strides"], c["dilation_rate"]
        g, filters = c["groups"], c["filters"]
        fg, fo = feats // g, filters // g
        to, before, after = self.plan((t, feats))
        dt = self.dtype
        if before or after:
            xp = self._zbuf.get("xp", (n, t + before + after, feats), dt)
            xp[:, before:before + t] = x
        else:
            xp = x
        m = n * to
        cols = self._buf.get("cols", (g, n, to, k, fg), dt)
        for i in range(k):
            a = i * d
            src = xp[:, a:a + s * (to - 1) + 1:s]  # (N, To, F)
            np.copyto(cols[:, :, :, i], src.reshape(n, to, g, fg).transpose(2, 0, 1, 3))
        cols3 = cols.reshape(g, m, k * fg)
        wk = self._kernel(g, fg, fo)
        z = self._buf.get("z", (g, m, fo), dt)
        np.matmul(cols3, wk, out=z)
        if g == 1:
            y = z.reshape(n, to, filters)
        else:
            y = self._buf.get("y", (n, to, filters), dt)
            np.copyto(y.reshape(m, g, fo), z.transpose(1, 0, 2))
        if "b" in self.params:
            np.add(y, self.params["b"], out=y)
        if training:
            self._cache = (x.shape, cols3, wk, to, before)
        return y

    def _backward(self, grad):
        (n, t, feats), cols3, wk, to, before = self._cache
        c = self.config
        k, s, d = c["kernel_size"], c["strides"], c["dilation_rate"]
        g, filters = c["groups"], c["filters"]
        fg, fo = feats // g, filters // g
        m = n * to
        dt = self.dtype
        g2 = grad.reshape(m, filters)
        if g == 1:
            dz = g2.reshape(1, m, filters)
        else:
            dz = self._buf.get("dz", (g, m, fo), dt)
            np.copyto(dz, g2.reshape(m, g, fo).transpose(1, 0, 2))
        dwk = self._buf.get("dwk", (g, k * fg, fo), dt)
        np.matmul(cols3.transpose(0, 2, 1), dz, out=dwk)
        np.copyto(self.grads["W"].reshape(g, fo, fg, k),
                  dwk.reshape(g, k, fg, fo).transpose(0, 3, 2, 1))
        if "b" in self.grads:
            ones = self._zbuf.get("ones", (m,), dt, fill=1.0)
            np.matmul(ones, g2, out=self.grads["b"])
        if self.skip_input_grad:
            return [None]
        dcols = self._buf.get("dcols", (g, m, k * fg), dt)
        np.matmul(dz, wk.transpose(0, 2, 1), out=dcols)
        dc = dcols.reshape(g, n, to, k, fg)
        dxp = self._buf.get("dxp", (n, t + before + self._after(t, feats), feats), dt)
        dxp.fill(0.0)
        for i in range(k):
            a = i * d
            dxp[:, a:a + s * (to - 1) + 1:s] += dc[:, :, :, i].transpose(1, 2, 0, 3).reshape(
                n, to, feats)
        dx = self._buf.get("dx", (n, t, feats), dt)
        np.copyto(dx, dxp[:, before:before + t])
        return [dx]

    def _after(self, t: int, feats: int) -> int:
        return self.plan((t, feats))[2]
