"""Input and Dense: where data enters and the fully connected layer."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.initializers import INITIALIZERS, fans, initialize
from nnstudio.core.engine.layer import FilledBuffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


@register
class Input(Layer):
    """Where samples enter the network.

    ``shape`` is optional: by default the input takes the per-sample shape of the data
    (``(F,)`` for a table of F prepared features, ``(28, 28)`` for IDX images).
    """

    type_name = "Input"
    category = "Input/Output"
    summary = "x — the prepared features of one sample enter here"
    n_inputs = 0
    settings = (
        Setting("shape", "shape", None, help="per-sample shape; empty = from the data"),
        Setting("columns", "names", [],
                help="the table columns this Input takes; empty = every feature column not "
                     "taken by another Input (a network may have several Inputs)"),
    )

    def describe(self) -> str:
        shape, columns = self.config["shape"], self.config["columns"]
        text = "Input" if not shape else "Input " + "x".join(map(str, shape))
        if columns:
            text += ": " + (", ".join(columns) if len(columns) <= 3
                            else f"{', '.join(columns[:2])} +{len(columns) - 2}")
        return text

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        # The network passes the data's shape as the single "input shape" of its Input node.
        data_shape = tuple(input_shapes[0]) if input_shapes else None
        declared = tuple(self.config["shape"]) if self.config["shape"] else None
        if declared and data_shape and declared != data_shape:
            raise ShapeError(
                f"declares shape {_fmt(declared)} but the data has {_fmt(data_shape)}", self.where
            )
        shape = declared or data_shape
        if shape is None:
            raise ShapeError("shape unknown: load data or set the input shape", self.where)
        return shape

    def _forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        return inputs[0]

    def _backward(self, grad: np.ndarray) -> list[np.ndarray]:
        return [grad]


@register
class Dense(Layer):
    """Fully connected layer: ``y = x @ W + b``.

    Input ``(N, F)``, output ``(N, units)``; ``W`` is ``(F, units)`` and ``b`` ``(units,)``.
    A sequence ``(N, T, F)`` is transformed position by position on its last axis (the same
    ``W`` at every step, as Keras' Dense and PyTorch's Linear do): output ``(N, T, units)``.
    """

    type_name = "Dense"
    category = "Core"
    summary = "y = x·W + b — every output unit sees every input (fully connected)"
    settings = (
        Setting("units", "int", 16, minimum=1, maximum=1_000_000, help="number of output units"),
        Setting("use_bias", "bool", True, help="add a learned bias b"),
        Setting("kernel_initializer", "choice", "glorot_uniform", choices=INITIALIZERS),
        Setting("bias_initializer", "choice", "zeros", choices=INITIALIZERS),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = FilledBuffers()
        #: Set by the network when no input gradient is needed (the layer reads the Input).
        self.skip_input_grad = False

    def describe(self) -> str:
        return f"Dense {self.config['units']}"

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) not in (1, 2):
            raise ShapeError(
                f"needs features (F,) or a sequence (T, F) but gets {_fmt(shape)}: add a "
                "Flatten layer before it",
                self.where,
            )
        return (*shape[:-1], self.config["units"])

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        (shape,) = input_shapes
        units = self.config["units"]
        out = {"W": (shape[-1], units)}
        if self.config["use_bias"]:
            out["b"] = (units,)
        return out

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        W = self.params["W"]
        fi, fo = fans(W.shape)
        initialize(W, self.config["kernel_initializer"], rng, fi, fo)
        if "b" in self.params:
            initialize(self.params["b"], self.config["bias_initializer"], rng, fi, fo)

    def _forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        x = inputs[0]
        if x.ndim == 3:  # a sequence: every position through the same W, as one GEMM
            return self._forward_sequence(x, training)
        out = self._buf.get("y", (x.shape[0], self.config["units"]), self.dtype)
        # np.dot: the same BLAS call as np.matmul for 2-D arrays, ≈ 0.5 µs less per call.
        np.dot(x, self.params["W"], out=out)
        b = self.params.get("b")
        if b is not None:
            np.add(out, b, out=out)  # ufunc calls, not `+=`: less overhead on tiny batches
        if training:
            self._x = x
        return out

    def _forward_sequence(self, x: np.ndarray, training: bool) -> np.ndarray:
        n, t, f = x.shape
        out = self._buf.get("y3", (n, t, self.config["units"]), self.dtype)
        x2 = x.reshape(n * t, f)
        np.dot(x2, self.params["W"], out=out.reshape(n * t, -1))
        b = self.params.get("b")
        if b is not None:
            np.add(out, b, out=out)
        if training:
            self._x = x2
            self._seq = (n, t, f)
        return out

    def _backward(self, grad: np.ndarray) -> list[np.ndarray]:
        seq = None
        if grad.ndim == 3:  # the (N·T, F) view kept by _forward_sequence
            seq = self._seq
            grad = grad.reshape(-1, grad.shape[-1])
        x = self._x
        np.dot(x.T, grad, out=self.grads["W"])
        gb = self.grads.get("b")
        if gb is not None:
            # Σ over the batch as ones·grad: a BLAS call, half the overhead of np.sum on tiny
            # batches (the compiled chain step computes it the same way).
            np.dot(self._buf.get("ones", (x.shape[0],), self.dtype, 1.0), grad, out=gb)
        if self.skip_input_grad:
            return [None]
        dx = self._buf.get("dx", x.shape, self.dtype)
        np.dot(grad, self.params["W"].T, out=dx)
        return [dx if seq is None else dx.reshape(seq)]


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
