"""Multi-head self-attention over a sequence, with optional causal and padding masks.

For an input ``x (N, T, D)``, ``h`` heads of key size ``k``:

* ``[Q | K | V] = x·Wqkv + bqkv`` with ``Wqkv (D, 3·h·k)``: the columns hold the queries of
  head 0, 1, …, then the keys, then the values (PyTorch's ``in_proj_weight`` transposed);
* per head ``S = Q·Kᵀ / sqrt(k)`` ``(T, T)``; masked scores (a later position under the
  causal mask, a padding token as key) are set to a large negative number, so their weight
  is 0; ``A = softmax(S)`` over the keys; dropout on ``A`` while training;
* ``O = A·V`` per head, heads side by side ``(T, h·k)``, then ``y = O·Wo + bo`` ``(N, T, D)``.

The padding mask comes from the Embedding upstream (:attr:`mask_from`, set by the network).

How it runs (each step measured against the previous one, one thread; see
``benchmarks/README.md``):

* no row maximum: the score GEMM itself subtracts an upper bound of each row,
  ``b_i = |q_i|·max_j |k_j|`` (Cauchy–Schwarz), through an extra column of Q and a row of
  ones under Kᵀ (the padding mask rides in the same way), so ``exp`` cannot overflow. When a
  row's exponentials underflow (its bound far above its largest score, or every key masked)
  the batch is redone the classic way, maximum first;
* ``A = r ⊙ E`` with ``E`` the exponentials and ``r`` the inverse row sums: ``r`` scales the
  ``(T, k)`` output, not the ``(T, T)`` weights; :attr:`weights` multiplies on demand;
* backward: the softmax's row term ``Σ_j dA_ij·A_ij`` is ``dO_i·O_i`` (a product over k), and
  ``r⊙dA − r⊙D`` is one GEMM ``[r⊙dO, −r⊙D]·[Vᵀ; 1]``;
* the ``(T, T)`` work runs on a few sequences at a time (≈ 256 KB of scores, in cache), and
  Q, K, V and their gradients are strided views of ``qkv`` / ``dqkv``: only Kᵀ and Vᵀ are
  copied (NumPy's batched matmul runs a transposed right operand slowly).
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.core.engine.initializers import initialize
from nnstudio.core.engine.layer import Buffers, FilledBuffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ConfigError, ShapeError

#: The score of a masked pair: exp(−1e9 − max) is exactly 0 in float32 and float64.
_MASKED = -1e9
#: A row sum of exponentials below this means they underflowed (see ``_forward``).
_TINY = {np.float32: 1e-15, np.float64: 1e-200}


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
        self._fbuf = FilledBuffers()
        self.rng = np.random.default_rng(0)
        #: The layer that publishes the padding mask ``(N, T)`` (an Embedding), or None.
        self.mask_from: Layer | None = None
        #: What :attr:`weights` is made of: ``(E, r)`` with ``A = r ⊙ E``, or ``(A, None)``.
        self._weights_src: tuple[np.ndarray, np.ndarray | None] | None = None
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
    def _masks(self, n: int, t: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(causal, pad)``: the additive causal mask ``(1, 1, T, T)`` (0 or a large negative
        number) and the padding keys' additive mask ``(N, 1, T)``; None where nothing is
        masked."""
        dt = self.dtype
        causal = None
        if self.config["causal"]:
            c = self._causal
            if c is None or c.shape[-1] != t or c.dtype != dt:
                c = self._causal = np.where(np.triu(np.ones((t, t), bool), 1), dt.type(_MASKED),
                                            dt.type(0))[None, None]
            causal = c
        src = self.mask_from.mask if self.mask_from is not None else None
        pad = None
        if src is not None and src.shape == (n, t) and not src.all():
            pad = self._buf.get("pad", (n, 1, t), dt)
            np.multiply(~src[:, None, :], dt.type(_MASKED), out=pad)
        return causal, pad

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
    @property
    def weights(self) -> np.ndarray | None:
        """Attention weights ``(N, h, T, T)`` of the last forward pass (rows sum to 1)."""
        src = self._weights_src
        if src is None:
            return None
        e, r = src
        if r is None:
            return e
        w = self._buf.get("weights", e.shape, e.dtype)
        np.multiply(e, r, out=w)
        return w

    @weights.setter
    def weights(self, value) -> None:
        self._weights_src = None if value is None else (value, None)

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
        causal, pad = self._masks(n, t)
        # Per (sequence, head) views of qkv as (N, h, T, k): rows of k contiguous, which
        # NumPy's batched matmul hands to BLAS as they are. Q gets extra columns and Kᵀ
        # (a transposed copy: BLAS would take a transposed right operand through NumPy's
        # slow loop) extra rows, so that the score GEMM also subtracts each row's bound and
        # adds the padding mask: S = [Q, −b, 1]·[Kᵀ; 1; m] (the ones are written once).
        q5 = qkv.reshape(n, t, 3, h, k)
        vv = q5[:, :, 2].transpose(0, 2, 1, 3)
        ka = k + 1 + (pad is not None)
        qa = self._fbuf.get("qa", (n, h, t, ka), dt, fill=1.0)
        kta = self._fbuf.get("kta", (n, h, ka, t), dt, fill=1.0)
        q, kt = qa[..., :k], kta[:, :, :k]
        np.multiply(q5[:, :, 0].transpose(0, 2, 1, 3), dt.type(1.0 / math.sqrt(k)), out=q)
        np.copyto(kt, q5[:, :, 1].transpose(0, 2, 3, 1))
        if pad is not None:
            kta[:, :, k + 1] = pad
        self._bound(qkv, n, t, h, k, qa[..., k])
        a = self._buf.get("a", (n, h, t, t), dt)
        red = self._buf.get("red", (n, h, t, 1), dt)
        # The heads' outputs side by side, (N, T, h, k), written by the GEMMs directly.
        o2 = self._buf.get("o2", (n, t, h, k), dt)
        o = o2.transpose(0, 2, 1, 3)
        ones = self._buf.get("ones_t", (t,), dt)
        ones.fill(1.0)
        # A few sequences at a time, so that the (T, T) scores stay in the cache from their
        # GEMM through the exponentials and the row sums to the product with V.
        c = self._chunk(h, t)
        for lo in range(0, n, c):
            ac, hi = a[lo:lo + c], min(lo + c, n)
            np.matmul(qa[lo:hi], kta[lo:hi], out=ac)  # scaled scores − bound, padding masked
            if causal is not None:
                np.add(ac, causal, out=ac)
            np.exp(ac, out=ac)  # every score ≤ its bound: no overflow
            np.dot(ac.reshape(-1, t), ones, out=red[lo:hi].reshape(-1))
            np.matmul(ac, vv[lo:hi], out=o[lo:hi])
        r: np.ndarray | None = red
        if red.min() < _TINY[dt.type]:
            # A bound far above a row's largest score (or a row with every key masked):
            # the exponentials underflow. Redo the scores the usual way, maximum first, with
            # the masks added after the product (as PyTorch and the exports do: a row with
            # every key masked then gets the same weights, to float rounding, as theirs).
            np.matmul(q, kt, out=a)
            if causal is not None:
                np.add(a, causal, out=a)
            if pad is not None:
                np.add(a, pad[:, :, None, :], out=a)
            self._rows(a, np.maximum, red)
            np.subtract(a, red, out=a)
            np.exp(a, out=a)
            self._rows(a, np.add, red)
            np.divide(1.0, red, out=red)
            np.multiply(a, red, out=a)
            np.matmul(a, vv, out=o)
            r = None
        else:
            np.divide(1.0, red, out=red)
        rate = self.config["dropout"]
        ad = a
        self._drop = None
        if training and rate > 0.0:
            if r is not None:  # dropout acts on the normalized weights
                np.multiply(a, r, out=a)
                r = None
            mask = self._buf.get("drop", a.shape, dt)
            self.rng.random(out=mask, dtype=dt.type)
            np.greater_equal(mask, rate, out=mask)
            mask *= 1.0 / (1.0 - rate)
            ad = self._buf.get("ad", a.shape, dt)
            np.multiply(a, mask, out=ad)
            self._drop = mask
            np.matmul(ad, vv, out=o)
        # A = r ⊙ E with E the exponentials and r = 1 / row sums: O = r ⊙ (E·V), the
        # normalization on the (T, k) product instead of the (T, T) weights.
        self._weights_src = (a, r)
        if r is not None:
            np.multiply(o, r, out=o)
        y = self._buf.get("y", (n, t, d), dt)
        o2f = o2.reshape(n * t, hk)
        np.dot(o2f, self.params["Wo"], out=y.reshape(n * t, d))
        if "bo" in self.params:
            np.add(y, self.params["bo"], out=y)
        if training:
            self._cache = (x2, ad, r, q, q5, o2f, (n, t, d, h, k))
        return y

    #: Bytes of (T, T) scores worked on at a time: cache-sized blocks of sequences.
    chunk_bytes = 1 << 18

    def _chunk(self, h: int, t: int) -> int:
        """Sequences per block of the (T, T) work (see :attr:`chunk_bytes`)."""
        return max(1, self.chunk_bytes // (h * t * t * self.dtype.itemsize))

    def _bound(self, qkv: np.ndarray, n: int, t: int, h: int, k: int, out: np.ndarray) -> None:
        """``out (N, h, T) = −|q_i|·max_j |k_j|``, from ``qkv (N·T, 3·h·k)`` before the scale:
        minus an upper bound of every score of row ``i`` (Cauchy–Schwarz), so that
        ``exp(score − bound) ≤ 1`` with no row maximum to find."""
        dt = self.dtype
        hk = h * k
        sq = self._buf.get("qksq", (n * t, 2 * hk), dt)
        np.square(qkv[:, :2 * hk], out=sq)
        # Σ over each head's k columns: rows of k summed by one matrix-vector product.
        ones = self._buf.get("ones_k", (k,), dt)
        ones.fill(1.0)
        norms = self._buf.get("norms", (n, t, 2, h), dt)
        np.dot(sq.reshape(-1, k), ones, out=norms.reshape(-1))
        km = self._buf.get("km", (n, 1, h), dt)
        np.maximum.reduce(norms[:, :, 1], axis=1, keepdims=True, out=km)
        b = self._buf.get("bnd", (n, t, h), dt)
        np.multiply(norms[:, :, 0], km, out=b)
        np.sqrt(b, out=b)
        np.multiply(b.transpose(0, 2, 1), dt.type(-1.0 / math.sqrt(k)), out=out)

    def _backward(self, grad):
        x2, ad, r, q, q5, o2f, (n, t, d, h, k) = self._cache
        hk = h * k
        dt = self.dtype
        a = self._weights_src[0]  # E (with r) or the normalized weights A (r is None)
        g2 = grad.reshape(n * t, d)
        np.dot(o2f.T, g2, out=self.grads["Wo"])
        if "bo" in self.grads:
            ones = self._buf.get("ones", (n * t,), dt)
            ones.fill(1.0)
            np.dot(ones, g2, out=self.grads["bo"])
        do2 = self._buf.get("do2", (n * t, hk), dt)
        np.dot(g2, self.params["Wo"].T, out=do2)
        do4 = do2.reshape(n, t, h, k)
        # Softmax backward: dS = A ⊙ (dA − D) with D_i = Σ_j dA_ij·A_ij = dO_i·O_i (O = A·V,
        # the heads' output before Wo): a product over k, not over the (T, T) weights.
        prod = self._buf.get("prod", (n, t, h, k), dt)
        np.multiply(do4, o2f.reshape(n, t, h, k), out=prod)
        ones = self._buf.get("ones_k", (k,), dt)
        ones.fill(1.0)
        dsum = self._buf.get("dsum", (n, t, h), dt)
        np.dot(prod.reshape(-1, k), ones, out=dsum.reshape(-1))
        # With A = r ⊙ E: dS = E ⊙ (r⊙dA − r⊙D) = E ⊙ ([r⊙dO, −r⊙D]·[Vᵀ; 1]), one GEMM.
        doa = self._fbuf.get("doa", (n, h, t, k + 1), dt)
        vta = self._fbuf.get("vta", (n, h, k + 1, t), dt, fill=1.0)
        do, col = doa[..., :k], doa[..., k]
        np.copyto(vta[:, :, :k], q5[:, :, 2].transpose(0, 2, 3, 1))
        if r is None:
            np.copyto(do, do4.transpose(0, 2, 1, 3))
        else:
            np.multiply(do4.transpose(0, 2, 1, 3), r, out=do)
        if self._drop is None:
            if r is None:
                np.negative(dsum.transpose(0, 2, 1), out=col)
            else:
                np.multiply(dsum.transpose(0, 2, 1), r[..., 0], out=col)
                np.negative(col, out=col)
        else:
            col.fill(0.0)
        # The gradients of Q, K and V go straight into their columns of dqkv (N, T, 3, h, k),
        # through (N, h, T, k) views: dQ = scale·dS·K, dK = dSᵀ·(scale·Q), dV = Aᵀ·dO.
        dqkv = self._buf.get("dqkv", (n, t, 3, h, k), dt)
        dq, dk, dv = (dqkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
        kk = q5[:, :, 1].transpose(0, 2, 1, 3)
        # Sequence blocks as in the forward pass: dS stays in the cache for its three GEMMs.
        c = min(self._chunk(h, t), n)
        da = self._buf.get("da", (c, h, t, t), dt)
        for lo in range(0, n, c):
            hi = min(lo + c, n)
            dac = da[:hi - lo]
            np.matmul(ad[lo:hi].transpose(0, 1, 3, 2), do[lo:hi], out=dv[lo:hi])
            np.matmul(doa[lo:hi], vta[lo:hi], out=dac)  # r⊙dA − r⊙D
            if self._drop is not None:  # dA = (dO·Vᵀ) ⊙ mask, then − D (A normalized)
                np.multiply(dac, self._drop[lo:hi], out=dac)
                np.subtract(dac, dsum[lo:hi].transpose(0, 2, 1)[..., None], out=dac)
            np.multiply(dac, a[lo:hi], out=dac)
            np.matmul(dac, kk[lo:hi], out=dq[lo:hi])
            np.matmul(dac.transpose(0, 1, 3, 2), q[lo:hi], out=dk[lo:hi])
        np.multiply(dqkv[:, :, 0], dt.type(1.0 / math.sqrt(k)), out=dqkv[:, :, 0])
        dq2 = dqkv.reshape(n * t, 3 * hk)
        np.dot(x2.T, dq2, out=self.grads["Wqkv"])
        if "bqkv" in self.grads:
            ones = self._buf.get("ones", (n * t,), dt)
            ones.fill(1.0)
            np.dot(ones, dq2, out=self.grads["bqkv"])
        dx = self._buf.get("dx", (n, t, d), dt)
        np.dot(dq2, self.params["Wqkv"].T, out=dx.reshape(n * t, d))
        return [dx]
