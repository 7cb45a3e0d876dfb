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
        self._causal: np.ndarray | None = None

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
    def _mask(self, n: int, t: int) -> list[np.ndarray]:
        """Additive masks (0 or a large negative number) to add to the scores ``(N, h, T, T)``:
        ``(1, 1, T, T)`` causal, ``(N, 1, 1, T)`` padding keys; empty when nothing is masked."""
        out = []
        dt = self.dtype
        if self.config["causal"]:
            c = self._causal
            if c is None or c.shape[-1] != t or c.dtype != dt:
                c = self._causal = np.where(np.triu(np.ones((t, t), bool), 1), dt.type(_MASKED),
                                            dt.type(0))[None, None]
            out.append(c)
        src = self.mask_from.mask if self.mask_from is not None else None
        if src is not None and src.shape == (n, t) and not src.all():
            pad = self._buf.get("pad", (n, 1, 1, t), dt)
            np.multiply(~src[:, None, None, :], dt.type(_MASKED), out=pad)
            out.append(pad)
        return out

    def _rows(self, a: np.ndarray, op, out: np.ndarray) -> np.ndarray:
        """``op``-reduce (np.maximum / np.add) over the last axis into ``out`` (…, 1).

        NumPy's reductions along a short contiguous axis cost ~3 ns an element. A sum is one
        matrix-vector product with ones (BLAS, ~50× faster); a maximum halves the rows with
        whole-array ufunc calls (log2 T of them).
        """
        if op is np.add:
            t = a.shape[-1]
            ones = self._buf.get("ones_t", (t,), a.dtype)
            ones.fill(1.0)
            np.dot(a.reshape(-1, t), ones, out=out.reshape(-1))
            return out
        cur = a
        while cur.shape[-1] > 1 and cur.shape[-1] % 2 == 0:
            half = cur.shape[-1] // 2
            nxt = out if half == 1 else self._buf.get(f"half{half}", (*a.shape[:-1], half),
                                                      a.dtype)
            op(cur[..., :half], cur[..., half:], out=nxt)
            cur = nxt
        if cur is not out:
            op.reduce(cur, axis=-1, keepdims=True, out=out)
        return out

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
        # Batched GEMMs need C-contiguous operands (a transposed view takes NumPy's slow
        # loop): Q and V as (N, h, T, k), K already transposed as (N, h, k, T).
        q5 = qkv.reshape(n, t, 3, h, k)
        q = self._buf.get("q", (n, h, t, k), dt)
        kt = self._buf.get("kt", (n, h, k, t), dt)
        v = self._buf.get("v", (n, h, t, k), dt)
        np.multiply(q5[:, :, 0].transpose(0, 2, 1, 3), dt.type(1.0 / math.sqrt(k)), out=q)
        np.copyto(kt, q5[:, :, 1].transpose(0, 2, 3, 1))
        np.copyto(v, q5[:, :, 2].transpose(0, 2, 1, 3))
        a = self._buf.get("a", (n, h, t, t), dt)
        np.matmul(q, kt, out=a)  # scores, already scaled by 1/sqrt(k) through q
        for m in self._mask(n, t):
            np.add(a, m, out=a)
        red = self._buf.get("red", (n, h, t, 1), dt)
        self._rows(a, np.maximum, red)
        np.subtract(a, red, out=a)
        np.exp(a, out=a)
        self._rows(a, np.add, red)
        np.divide(1.0, red, out=red)
        np.multiply(a, red, out=a)
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
        scale = dt.type(1.0 / math.sqrt(k))
        q, kt, v = (self._buf.get(name, shape, dt) for name, shape in
                    (("q", (n, h, t, k)), ("kt", (n, h, k, t)), ("v", (n, h, t, k))))
        a = self._buf.get("a", (n, h, t, t), dt)
        g2 = grad.reshape(n * t, d)
        np.dot(o2f.T, g2, out=self.grads["Wo"])
        if "bo" in self.grads:
            ones = self._buf.get("ones", (n * t,), dt)
            ones.fill(1.0)
            np.dot(ones, g2, out=self.grads["bo"])
        do2 = self._buf.get("do2", (n * t, hk), dt)
        np.dot(g2, self.params["Wo"].T, out=do2)
        # dO transposed (N, h, k, T), contiguous: dVᵀ = dOᵀ·A and, below, dKᵀ = Qᵀ·dS.
        dot_ = self._buf.get("doT", (n, h, k, t), dt)
        np.copyto(dot_, do2.reshape(n, t, h, k).transpose(0, 2, 3, 1))
        dvt = self._buf.get("dvt", (n, h, k, t), dt)
        np.matmul(dot_, ad, out=dvt)
        # dA = dO·Vᵀ with Vᵀ contiguous.
        do = self._buf.get("do", (n, h, t, k), dt)
        np.copyto(do, do2.reshape(n, t, h, k).transpose(0, 2, 1, 3))
        vt = self._buf.get("vt", (n, h, k, t), dt)
        np.copyto(vt, v.transpose(0, 1, 3, 2))
        da = self._buf.get("da", (n, h, t, t), dt)
        np.matmul(do, vt, out=da)
        if self._drop is not None:
            np.multiply(da, self._drop, out=da)
        # Softmax backward: dS = A ⊙ (dA − Σ_j dA·A).
        red = self._buf.get("red", (n, h, t, 1), dt)
        tmp = self._buf.get("tmp", (n, h, t, t), dt)
        np.multiply(da, a, out=tmp)
        self._rows(tmp, np.add, red)
        np.subtract(da, red, out=da)
        np.multiply(da, a, out=da)
        # Scores were (scale·Q)·Kᵀ: dQ = scale·dS·K, dKᵀ = (scale·Q)ᵀ·dS.
        kk = self._buf.get("k", (n, h, t, k), dt)
        np.copyto(kk, kt.transpose(0, 1, 3, 2))
        dq = self._buf.get("dq", (n, h, t, k), dt)
        np.matmul(da, kk, out=dq)
        np.multiply(dq, scale, out=dq)
        qt = self._buf.get("qt", (n, h, k, t), dt)
        np.copyto(qt, q.transpose(0, 1, 3, 2))
        dkt = self._buf.get("dkt", (n, h, k, t), dt)
        np.matmul(qt, da, out=dkt)
        dqkv = self._buf.get("dqkv", (n, t, 3, h, k), dt)
        np.copyto(dqkv[:, :, 0], dq.transpose(0, 2, 1, 3))
        np.copyto(dqkv[:, :, 1], dkt.transpose(0, 3, 1, 2))
        np.copyto(dqkv[:, :, 2], dvt.transpose(0, 3, 1, 2))
        dq2 = dqkv.reshape(n * t, 3 * hk)
        np.dot(x2.T, dq2, out=self.grads["Wqkv"])
        if "bqkv" in self.grads:
            ones = self._buf.get("ones", (n * t,), dt)
            ones.fill(1.0)
            np.dot(ones, dq2, out=self.grads["bqkv"])
        dx = self._buf.get("dx", (n, t, d), dt)
        np.dot(dq2, self.params["Wqkv"].T, out=dx.reshape(n * t, d))
        return [dx]
