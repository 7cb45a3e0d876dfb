"""Element-wise activations and Softmax.

All work on any input shape ``(N, ...)`` and keep it; Softmax normalizes over the last axis.
Each writes into its own reusable buffers, so the steady state allocates nothing.

The arithmetic lives in the module-level ``*_forward``/``*_backward`` functions, shared by
the layers below and by the compiled Dense-chain step (:mod:`nnstudio.core.engine.chain`),
so both compute bit-identical values. Every function writes into arrays it is given: ``out``
has the shape of ``z``; ``mask`` is a bool array of that shape; ``red`` is ``z.shape[:-1] +
(1,)``. ``out`` may be ``z`` itself (in place) for the forward functions.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Buffers, Layer, Setting, register

#: Softmax inputs of at least this many values take the one-shift path (``Softmax``).
LARGE_SOFTMAX = 1 << 14
#: Whether they do (benchmarks compare the two).
ONE_SHIFT = True
#: A row's Σ e^(z − shift) below this has underflowed (too far below the shift).
_TINY_SUM = {np.float32: 1e-30, np.float64: 1e-290}


def tanh_forward(z: np.ndarray, out: np.ndarray) -> None:
    np.tanh(z, out)


def tanh_backward(y: np.ndarray, grad: np.ndarray, out: np.ndarray, mask: np.ndarray) -> None:
    """``(1 − y²)·grad`` from the output ``y``."""
    np.multiply(y, y, out)
    np.subtract(1.0, out, out)
    np.multiply(out, grad, out)


def tanh_backward_inplace(y: np.ndarray, grad: np.ndarray, scratch: np.ndarray) -> None:
    """``grad ← (1 − y²)·grad`` (recurrent cells, whose gradients live in gate slices)."""
    np.multiply(y, y, scratch)
    np.subtract(1.0, scratch, scratch)
    np.multiply(grad, scratch, grad)


def sigmoid_backward_inplace(y: np.ndarray, grad: np.ndarray, scratch: np.ndarray) -> None:
    """``grad ← (1 − y)·y·grad``."""
    np.subtract(1.0, y, scratch)
    np.multiply(scratch, y, scratch)
    np.multiply(grad, scratch, grad)


def relu_forward(z: np.ndarray, out: np.ndarray) -> None:
    np.maximum(z, 0, out=out)


def relu_backward(y: np.ndarray, grad: np.ndarray, out: np.ndarray, mask: np.ndarray) -> None:
    """``grad`` where the output ``y`` is positive, else 0: ``(y > 0)·grad``.

    The comparison is written straight into the float buffer ``out`` (1.0 or 0.0), then
    multiplied: ``np.sign`` was 1.3–2× slower than the comparison, and multiplying by a bool
    array makes NumPy cast it through a hidden buffer of up to 32 KB on every call.
    """
    np.greater(y, 0, out=out)
    np.multiply(out, grad, out)


def sigmoid_forward(z: np.ndarray, out: np.ndarray) -> None:
    """``1 / (1 + e^−z)``; a large −z overflows e^−z to inf, which gives the right 0 (the
    caller decides whether NumPy warns about it)."""
    np.negative(z, out)
    np.exp(out, out)
    np.add(out, 1.0, out)
    np.reciprocal(out, out)


def sigmoid_backward(y: np.ndarray, grad: np.ndarray, out: np.ndarray, mask: np.ndarray) -> None:
    """``(1 − y)·y·grad`` from the output ``y``."""
    np.subtract(1.0, y, out)
    np.multiply(out, y, out)
    np.multiply(out, grad, out)


def leaky_relu_forward(z: np.ndarray, alpha: float, out: np.ndarray, scratch: np.ndarray) -> None:
    """``max(z, α·z)``: for 0 ≤ α ≤ 1, z on the positive side and α·z on the negative one."""
    np.multiply(z, alpha, scratch)
    np.maximum(z, scratch, out=out)


def leaky_relu_backward(
    y: np.ndarray, grad: np.ndarray, alpha: float, out: np.ndarray, mask: np.ndarray
) -> None:
    """Slope 1 where ``y`` (input or output: same sign for α ≥ 0) is positive, α elsewhere."""
    np.greater(y, 0, mask)
    out.fill(alpha)
    np.copyto(out, 1.0, where=mask)
    np.multiply(grad, out, out)


def softmax_forward(z: np.ndarray, out: np.ndarray, red: np.ndarray) -> None:
    """Softmax over the last axis, shifted by the row maximum for stability."""
    np.max(z, axis=-1, keepdims=True, out=red)
    np.subtract(z, red, out)
    np.exp(out, out)
    np.sum(out, axis=-1, keepdims=True, out=red)
    out /= red


class _Activation(Layer):
    category = "Activations"

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def _out(self, key: str, like: np.ndarray) -> np.ndarray:
        return self._buf.get(key, like.shape, self.dtype)


@register
class Linear(_Activation):
    """Identity: ``y = x`` (the output of a regression)."""

    type_name = "Linear"
    summary = "y = z — identity, the output of a regression"

    def _forward(self, inputs, training):
        return inputs[0]

    def _backward(self, grad):
        return [grad]


class _FromOutput(_Activation):
    """An element-wise activation differentiated from its own output ``y``.

    Subclasses name their kernels: ``_kernel(z, out)`` and ``_kernel_grad(y, grad, out,
    mask)``; ``_masked`` says whether the gradient needs a bool scratch array.
    """

    _masked = False

    def _kernel(self, z: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    def _kernel_grad(self, y, grad, out, mask) -> None:
        raise NotImplementedError

    def _forward(self, inputs, training):
        z = inputs[0]
        y = self._out("y", z)
        self._kernel(z, y)
        self._y = y
        return y

    def _backward(self, grad):
        y = self._y
        dz = self._out("dz", y)
        mask = self._buf.get("mask", y.shape, np.dtype(bool)) if self._masked else None
        self._kernel_grad(y, grad, dz, mask)
        return [dz]


@register
class Sigmoid(_FromOutput):
    """Logistic function ``σ(z) = 1 / (1 + e^−z)``, output in (0, 1)."""

    type_name = "Sigmoid"
    summary = "σ(z) = 1 / (1 + e^−z) — squashes to (0, 1), a probability"

    def _kernel(self, z, out):
        with np.errstate(over="ignore"):  # e^(large) = inf gives σ = 0, which is right
            sigmoid_forward(z, out)

    _kernel_grad = staticmethod(sigmoid_backward)


@register
class Tanh(_FromOutput):
    """Hyperbolic tangent, output in (−1, 1)."""

    type_name = "Tanh"
    summary = "tanh(z) = (e^z − e^−z) / (e^z + e^−z) — squashes to (−1, 1)"
    _kernel = staticmethod(tanh_forward)
    _kernel_grad = staticmethod(tanh_backward)


@register
class ReLU(_FromOutput):
    """Rectified linear unit ``max(0, z)``."""

    type_name = "ReLU"
    summary = "ReLU(z) = max(0, z) — passes positives, zeroes negatives"
    _kernel = staticmethod(relu_forward)
    _kernel_grad = staticmethod(relu_backward)


@register
class LeakyReLU(_Activation):
    """``z`` for positive ``z``, ``alpha·z`` otherwise (``0 ≤ alpha ≤ 1``)."""

    type_name = "LeakyReLU"
    summary = "LeakyReLU(z) = z if z > 0 else α·z — a small slope keeps units alive"
    settings = (Setting("alpha", "float", 0.01, minimum=0.0, maximum=1.0, help="negative slope"),)

    def describe(self):
        return f"LeakyReLU {self.config['alpha']:g}"

    def _forward(self, inputs, training):
        z = inputs[0]
        y = self._out("y", z)
        leaky_relu_forward(z, self.config["alpha"], y, y)
        self._z = z
        return y

    def _backward(self, grad):
        z = self._z
        slope = self._out("slope", z)
        mask = self._buf.get("mask", z.shape, np.dtype(bool))
        leaky_relu_backward(z, grad, self.config["alpha"], slope, mask)
        return [slope]


@register
class Softmax(_Activation):
    """``softmax(z)_i = e^{z_i} / Σ_j e^{z_j}`` over the last axis: class probabilities.

    Followed by the cross-entropy loss, the trainer fuses both into the stable
    ``softmax(z) − y`` gradient and never calls this layer's backward.
    """

    type_name = "Softmax"
    category = "Input/Output"
    summary = "softmax(z)ᵢ = e^zᵢ / Σⱼ e^zⱼ — class probabilities that sum to 1"

    def _forward(self, inputs, training):
        z = inputs[0]
        y = self._out("y", z)
        if z.size >= LARGE_SOFTMAX and ONE_SHIFT:
            self._one_shift(z, y)
        else:
            softmax_forward(z, y, self._buf.get("red", z.shape[:-1] + (1,), self.dtype))
        self._y = y
        return y

    def _one_shift(self, z: np.ndarray, y: np.ndarray) -> None:
        """Softmax of a large ``z`` (a distribution at every position of a batch of
        sequences) shifted by its one largest value instead of each row's maximum, with the
        row sums as one matrix-vector product: NumPy's reductions along short rows cost
        several times more. A row whose exponentials then underflow (its values far below
        the largest) is redone with its own maximum. In float32 a row ``δ`` below the shift
        gets a relative error of about ``δ·6e-8`` (the rounding of ``z − shift``), 1e-6 for
        logits 20 apart: as the fused loss (:mod:`sequence_loss`) already does."""
        v = z.shape[-1]
        z2, y2 = z.reshape(-1, v), y.reshape(-1, v)
        np.subtract(z2, z2.max(), out=y2)
        np.exp(y2, out=y2)
        ones = self._buf.get("ones", (v,), self.dtype)
        ones.fill(1.0)
        s = self._buf.get("sums", (len(y2), 1), self.dtype)
        np.dot(y2, ones, out=s.reshape(-1))
        # Also NaN sums: a NaN (or +inf) anywhere makes the shift NaN for every row.
        low = np.flatnonzero(~(s >= _TINY_SUM[self.dtype.type]))
        if len(low):
            zl = z2[low]
            out = np.empty_like(zl)
            softmax_forward(zl, out, np.empty((len(low), 1), self.dtype))
            y2[low] = out
            s[low] = 1.0  # those rows are normalized already
        np.divide(1.0, s, out=s)
        np.multiply(y2, s, out=y2)

    def _backward(self, grad):
        y = self._y
        dz = self._out("dz", y)
        red = self._buf.get("red_b", y.shape[:-1] + (1,), self.dtype)
        np.multiply(grad, y, out=dz)
        np.sum(dz, axis=-1, keepdims=True, out=red)
        np.subtract(grad, red, out=dz)
        dz *= y
        return [dz]
