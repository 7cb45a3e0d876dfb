"""Layer normalization over the last axis (features, or each position of a sequence)."""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


@register
class LayerNorm(Layer):
    """``y = gamma·(x − mean)/sqrt(var + epsilon) + beta`` with mean and (biased) variance
    over the last axis of each sample (each position of a sequence): the same in training and
    inference, no running statistics.

    Input and output ``(N, F)`` or ``(N, T, F)``; ``gamma`` and ``beta`` are ``(F,)``.
    """

    type_name = "LayerNorm"
    category = "Normalization & regularization"
    summary = "y = γ·(x − μ)/σ + β over each sample's features — steadies deep networks"
    settings = (Setting("epsilon", "float", 1e-5, minimum=1e-12, maximum=1.0),)

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) not in (1, 2):
            raise ShapeError(
                f"works on features (F,) or sequences (T, F), not on {shape}", self.where
            )
        return tuple(shape)

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        (shape,) = input_shapes
        return {"gamma": (shape[-1],), "beta": (shape[-1],)}

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        self.params["gamma"].fill(1.0)
        self.params["beta"].fill(0.0)

    def _row_mean(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Mean of each row of ``a (m, f)`` into ``out (m, 1)`` as one matrix-vector product
        (NumPy's mean along short rows is several times slower)."""
        f = a.shape[1]
        w = self._buf.get("w", (f,), self.dtype)
        w.fill(1.0 / f)
        np.dot(a, w, out=out.reshape(-1))
        return out

    def _col_sum(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Σ over the rows of a tall ``a (m, f)`` as ``ones · a`` (a BLAS call)."""
        ones = self._buf.get("ones", (a.shape[0],), self.dtype)
        ones.fill(1.0)
        return np.dot(ones, a, out=out)

    def _normalize(self, x: np.ndarray) -> np.ndarray:
        """``x̂ (m, F) = (x − mean)·inv`` for ``x (..., F)`` seen as ``m`` rows, with
        ``inv (m, 1) = 1/sqrt(var + ε)``; both kept for the backward pass."""
        f = x.shape[-1]
        x2 = x.reshape(-1, f)
        m = x2.shape[0]
        dt = self.dtype
        mean = self._buf.get("mean", (m, 1), dt)
        xhat = self._buf.get("xhat", (m, f), dt)
        inv = self._buf.get("inv", (m, 1), dt)
        self._row_mean(x2, mean)
        np.subtract(x2, mean, out=xhat)
        # var = mean(xc²); inv = 1/sqrt(var + eps), computed in the (m, 1) buffers.
        sq = self._buf.get("sq", (m, f), dt)
        np.square(xhat, out=sq)
        self._row_mean(sq, inv)
        np.add(inv, self.config["epsilon"], out=inv)
        np.sqrt(inv, out=inv)
        np.divide(1.0, inv, out=inv)
        np.multiply(xhat, inv, out=xhat)
        self._shape = x.shape
        return xhat

    def _forward(self, inputs, training):
        x = inputs[0]
        xhat = self._normalize(x)
        y = self._buf.get("y", x.shape, self.dtype)
        y2 = y.reshape(xhat.shape)
        np.multiply(xhat, self.params["gamma"], out=y2)
        np.add(y2, self.params["beta"], out=y2)
        return y

    def forward_normalized(self, x: np.ndarray) -> np.ndarray:
        """``x̂`` shaped like ``x``, without ``γ`` and ``β`` (a consumer that folded them into
        its own weights runs after it: :mod:`~nnstudio.core.engine.fusion`)."""
        return self._normalize(x).reshape(x.shape)

    def backward_normalized(self, dxc: np.ndarray) -> np.ndarray:
        """``d loss / d x`` (after :meth:`forward_normalized`) from ``dxc = dx̂ − mean(dx̂)``,
        ``d loss / d x̂`` with its row mean already removed (the consumer's GEMM does it):
        ``inv·(dxc − x̂·mean(dxc ⊙ x̂))`` (the rows of ``x̂`` sum to 0, so the mean of
        ``dx̂ ⊙ x̂`` is that of ``dxc ⊙ x̂``). ``γ`` and ``β``'s gradients are the consumer's
        business."""
        g2, xhat, inv, sq = self._saved(dxc)
        m, f = g2.shape
        dt = self.dtype
        b = self._buf.get("b", (m, 1), dt)
        np.multiply(g2, xhat, out=sq)
        self._row_mean(sq, b)
        np.multiply(xhat, b, out=sq)
        dx = self._buf.get("dx", self._shape, dt)
        d2 = dx.reshape(m, f)
        np.subtract(g2, sq, out=d2)
        np.multiply(d2, inv, out=d2)
        return dx

    def _saved(self, grad: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(g (M, F), x̂ (M, F), inv (M, 1), scratch (M, F))``: the gradient as rows and what
        the last forward pass kept of them."""
        f = grad.shape[-1]
        g2 = grad.reshape(-1, f)
        m = g2.shape[0]
        dt = self.dtype
        return (g2, self._buf.get("xhat", (m, f), dt), self._buf.get("inv", (m, 1), dt),
                self._buf.get("sq", (m, f), dt))

    def _backward(self, grad):
        g2, xhat, inv, sq = self._saved(grad)
        m, f = g2.shape
        dt = self.dtype
        np.multiply(g2, xhat, out=sq)
        self._col_sum(sq, self.grads["gamma"])
        self._col_sum(g2, self.grads["beta"])
        # dxhat = g·γ; dx = inv·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)), where both
        # row means are matrix-vector products with γ/f: g·(γ/f) and (g ⊙ xhat)·(γ/f).
        gf = self._buf.get("gf", (f,), dt)
        np.multiply(self.params["gamma"], dt.type(1.0 / f), out=gf)
        a = self._buf.get("a", (m, 1), dt)
        b = self._buf.get("b", (m, 1), dt)
        np.dot(g2, gf, out=a.reshape(-1))
        np.dot(sq, gf, out=b.reshape(-1))
        dx = self._buf.get("dx", self._shape, dt)
        d2 = dx.reshape(m, f)
        np.multiply(g2, self.params["gamma"], out=d2)
        np.subtract(d2, a, out=d2)
        np.multiply(xhat, b, out=sq)
        np.subtract(d2, sq, out=d2)
        np.multiply(d2, inv, out=d2)
        return [dx]
