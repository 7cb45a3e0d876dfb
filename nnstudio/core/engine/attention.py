"""Multi-head self-attention over a sequence, with optional causal and padding masks.

For an input ``x (N, T, D)``, ``h`` heads of key size ``k``:

* ``[Q | K | V] = x·Wqkv + bqkv`` with ``Wqkv (D, 3·h·k)``: the columns hold the queries of
  head 0, 1, …, then the keys, then the values (PyTorch's ``in_proj_weight`` transposed);
* per head ``S = Q·Kᵀ / sqrt(k)`` ``(T, T)``; masked scores (a later position under the
  causal mask, a padding token as key) are set to a large negative number, so their weight
  is 0; ``A = softmax(S)`` over the keys; dropout on ``A`` while training;
* ``O = A·V`` per head, heads side by side ``(T, h·k)``, then ``y = O·Wo + bo`` ``(N, T, D)``.

The padding mask comes from the Embedding upstream (:attr:`mask_from`, set by the network).
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.core.engine.initializers import initialize
from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ConfigError, ShapeError

#: The score of a masked pair: exp(−1e9 − max) is exactly 0 in float32 and float64.
_MASKED = -1e9


@register
class MultiHeadAttention(Layer):
    """Self-attention: every position looks at every (allowed) position of the same sequence.

    Input and output ``(N, T, D)``. Parameters ``Wqkv (D, 3·h·k)``, ``bqkv (3·h·k,)``,
    ``Wo (h·k, D)``, ``bo (D,)``. After a forward pass :attr:`weights` holds the attention
    weights ``(N, h, T, T)`` (row = query position, column = key position).
    """

    type_name = "MultiHeadAttention"
    category = "Core"
    summary = "each position mixes the positions it attends to — the Transformer's core"
    settings = (
        Setting("heads", "int", 4, minimum=1, maximum=256, help="number of attention heads"),
        Setting("key_dim", "int", 0, minimum=0, maximum=4096,
                help="size of each head's queries and keys; 0 = model width / heads"),
        Setting("causal", "bool", False,
                help="a position sees only itself and earlier ones (language models)"),
        Setting("dropout", "float", 0.0, minimum=0.0, maximum=0.95,
                help="share of attention weights dropped while training"),
        Setting("use_bias", "bool", True, help="learned biases on the projections"),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        self.rng = np.random.default_rng(0)
        #: The layer that publishes the padding mask ``(N, T)`` (an Embedding), or None.
        self.mask_from: Layer | None = None
        #: Attention weights ``(N, h, T, T)`` of the last forward pass.
        self.weights: np.ndarray | None = None

    def describe(self) -> str:
        return f"Attention ×{self.config['heads']}" + (" causal" if self.config["causal"] else "")

    def key_size(self, d: int) -> int:
        k = self.config["key_dim"]
        if k:
            return k
        h = self.config["heads"]
        if d % h:
            raise ConfigError(
                f"the model width {d} does not split into {h} heads: set key_dim, or use a "
                f"width that {h} divides",
                self.where,
            )
        return d // h

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) != 2:
            raise ShapeError(
                f"needs a sequence of vectors (T, D), e.g. after an Embedding, not {shape}",
                self.where,
            )
        self.key_size(shape[1])
        return tuple(shape)

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        (shape,) = input_shapes
        d = shape[1]
        hk = self.config["heads"] * self.key_size(d)
        out = {"Wqkv": (d, 3 * hk), "Wo": (hk, d)}
        if self.config["use_bias"]:
            out["bqkv"] = (3 * hk,)
            out["bo"] = (d,)
        return out

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        d = input_shapes[0][1]
        hk = self.params["Wo"].shape[0]
        # Each projection like a Dense (d → h·k) / (h·k → d) layer of its own.
        for i in range(3):
            initialize(self.params["Wqkv"][:, i * hk:(i + 1) * hk], "glorot_uniform", rng, d, hk)
        initialize(self.params["Wo"], "glorot_uniform", rng, hk, d)
        for b in ("bqkv", "bo"):
            if b in self.params:
                self.params[b].fill(0.0)

    # -- masks -----------------------------------------------------------------------------
    def _mask(self, n: int, t: int) -> np.ndarray | None:
        """``(N or 1, 1, T, T)`` bool, True where a query may not look at a key; or None."""
        blocked = None
        if self.config["causal"]:
            blocked = np.triu(np.ones((t, t), bool), 1)[None, None]
        src = self.mask_from.mask if self.mask_from is not None else None
        if src is not None and src.shape == (n, t) and not src.all():
            pad = ~src[:, None, None, :]
            blocked = pad if blocked is None else (blocked | pad)
        return blocked

    # -- running -------------------------------------------------------------------------
    def _forward(self, inputs, training):
        x = inputs[0]
        n, t, d = x.shape
        h = self.config["heads"]
        k = self.key_size(d)
        hk = h * k
        dt = self.dtype
        x2 = x.reshape(n * t, d)
        qkv = self._buf.get("qkv", (n * t, 3 * hk), dt)
        np.dot(x2, self.params["Wqkv"], out=qkv)
        if "bqkv" in self.params:
            np.add(qkv, self.params["bqkv"], out=qkv)
        # (N, T, 3, h, k) → (3, N, h, T, k): each head's rows contiguous for the batched GEMMs.
        heads = self._buf.get("heads", (3, n, h, t, k), dt)
        np.copyto(heads, qkv.reshape(n, t, 3, h, k).transpose(2, 0, 3, 1, 4))
        q, kk, v = heads[0], heads[1], heads[2]
        a = self._buf.get("a", (n, h, t, t), dt)
        np.matmul(q, kk.transpose(0, 1, 3, 2), out=a)
        np.multiply(a, 1.0 / math.sqrt(k), out=a)
        blocked = self._mask(n, t)
        if blocked is not None:
            np.copyto(a, _MASKED, where=np.broadcast_to(blocked, a.shape))
        red = self._buf.get("red", (n, h, t, 1), dt)
        np.max(a, axis=-1, keepdims=True, out=red)
        np.subtract(a, red, out=a)
        np.exp(a, out=a)
        np.sum(a, axis=-1, keepdims=True, out=red)
        np.divide(a, red, out=a)
        self.weights = a
        rate = self.config["dropout"]
        ad = a
        self._drop = None
        if training and rate > 0.0:
            mask = self._buf.get("drop", a.shape, dt)
            self.rng.random(out=mask, dtype=dt.type)
            np.greater_equal(mask, rate, out=mask)
            mask *= 1.0 / (1.0 - rate)
            ad = self._buf.get("ad", a.shape, dt)
            np.multiply(a, mask, out=ad)
            self._drop = mask
        o = self._buf.get("o", (n, h, t, k), dt)
        np.matmul(ad, v, out=o)
        o2 = self._buf.get("o2", (n, t, h, k), dt)
        np.copyto(o2, o.transpose(0, 2, 1, 3))
        y = self._buf.get("y", (n, t, d), dt)
        o2f = o2.reshape(n * t, hk)
        np.dot(o2f, self.params["Wo"], out=y.reshape(n * t, d))
        if "bo" in self.params:
            np.add(y, self.params["bo"], out=y)
        if training:
            self._cache = (x2, ad, o2f, (n, t, d, h, k))
        return y

    def _backward(self, grad):
        x2, ad, o2f, (n, t, d, h, k) = self._cache
        hk = h * k
        dt = self.dtype
        heads = self._buf.get("heads", (3, n, h, t, k), dt)
        q, kk, v = heads[0], heads[1], heads[2]
        a = self._buf.get("a", (n, h, t, t), dt)
        g2 = grad.reshape(n * t, d)
        np.dot(o2f.T, g2, out=self.grads["Wo"])
        if "bo" in self.grads:
            np.sum(g2, axis=0, out=self.grads["bo"])
        do2 = self._buf.get("do2", (n * t, hk), dt)
        np.dot(g2, self.params["Wo"].T, out=do2)
        do = self._buf.get("do", (n, h, t, k), dt)
        np.copyto(do, do2.reshape(n, t, h, k).transpose(0, 2, 1, 3))
        # Gradients of Q, K, V go straight into one (3, N, h, T, k) buffer.
        dheads = self._buf.get("dheads", (3, n, h, t, k), dt)
        np.matmul(ad.transpose(0, 1, 3, 2), do, out=dheads[2])  # dV = Aᵀ·dO
        da = self._buf.get("da", (n, h, t, t), dt)
        np.matmul(do, v.transpose(0, 1, 3, 2), out=da)  # dA = dO·Vᵀ
        if self._drop is not None:
            np.multiply(da, self._drop, out=da)
        # Softmax backward: dS = A ⊙ (dA − Σ_j dA·A), then the 1/sqrt(k) scale.
        red = self._buf.get("red", (n, h, t, 1), dt)
        tmp = self._buf.get("tmp", (n, h, t, t), dt)
        np.multiply(da, a, out=tmp)
        np.sum(tmp, axis=-1, keepdims=True, out=red)
        np.subtract(da, red, out=da)
        np.multiply(da, a, out=da)
        np.multiply(da, 1.0 / math.sqrt(k), out=da)
        np.matmul(da, kk, out=dheads[0])  # dQ = dS·K
        np.matmul(da.transpose(0, 1, 3, 2), q, out=dheads[1])  # dK = dSᵀ·Q
        dqkv = self._buf.get("dqkv", (n, t, 3, h, k), dt)
        np.copyto(dqkv, dheads.transpose(1, 3, 0, 2, 4))
        dq2 = dqkv.reshape(n * t, 3 * hk)
        np.dot(x2.T, dq2, out=self.grads["Wqkv"])
        if "bqkv" in self.grads:
            np.sum(dq2, axis=0, out=self.grads["bqkv"])
        dx = self._buf.get("dx", (n, t, d), dt)
        np.dot(dq2, self.params["Wqkv"].T, out=dx.reshape(n * t, d))
        return [dx]
