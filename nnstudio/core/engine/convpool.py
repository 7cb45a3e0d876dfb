"""Conv2D [→ ReLU] → MaxPool2D 2×2 in one step, with the convolution's output in *phase*
layout, so pooling never reads or writes memory two floats apart.

A 2×2 max pool with stride 2 reads every second float of its input; NumPy's loops over such
strided views run without SIMD, and the first layer of an image CNN spends more time pooling
its maps than convolving them (≈ 0.4 ns per float for any strided copy, against ≈ 0.1–0.2 for
a contiguous one). But the convolution's output positions come out of one matrix product in
whatever order its columns are built, so here they are built grouped by their place in the
pooling window: ``z (N, F, 4, Ho/2·Wo/2)``, slab ``2·dy + dx`` holding the outputs at rows
``2a + dy`` and columns ``2b + dx``. The pool is then three ``maximum`` calls over contiguous
slabs, and the gradient four multiply/subtracts into them; no layout change is needed
either way (the pooled map ``(N, F, Ho/2, Wo/2)`` is the maximum slab as it is).

The columns come from *phase images* of the (padded) input: ``q[r, s] = x[:, :, r::2sh,
s::2sw]`` (``4·sh·sw`` strided copies of the input, which is 1–16× smaller than the
columns); each (kernel tap, window place) then copies a block whose rows are contiguous.

The tournament is ``max(a, b)``, ``max(c, d)``, then top against bottom, earlier ones winning
ties: each window's gradient goes to its first maximum in row-major order, as
:class:`~nnstudio.core.engine.pooling.MaxPool2D` does. A ReLU between the two runs on the
pooled map (exact: see :mod:`~nnstudio.core.engine.fusion`). An odd last output row or
column (outside every window) is not computed at all: nothing downstream reads it in
training. The convolution's and the ReLU's full outputs, which Inside the network may show,
are computed when read (:func:`conv_value`).

Used for a convolution the layer would run batch-major (a shallow window ``C·kh·kw`` below
``Conv2D.transposed_from_k``, one group, not a 1×1 copy of the input) whose only consumer
is the pool (or a ReLU whose only consumer is the pool).
"""

from __future__ import annotations

import copy

import numpy as np

from nnstudio.core.engine.layer import Buffers, FilledBuffers


def applies(conv, pool, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> bool:
    """Whether ``conv`` (input ``in_shape`` per sample) feeding ``pool`` can run fused."""
    if conv.type_name not in ("Conv2D", "DepthwiseConv2D") or pool.type_name != "MaxPool2D":
        return False
    if tuple(pool.config["pool_size"]) != (2, 2) or pool.strides != (2, 2):
        return False
    if pool.config["padding"] != "valid" or len(in_shape) != 3 or len(out_shape) != 3:
        return False
    kh, kw = conv.config["kernel_size"]
    if conv.config["groups"] != 1 or in_shape[0] * kh * kw >= conv.transposed_from_k:
        return False
    if kh == kw == 1 and tuple(conv.config["strides"]) == (1, 1):
        return False  # a 1×1 window: the layer reads the input itself as its columns
    return out_shape[1] >= 2 and out_shape[2] >= 2


class _Runner:
    """What the network calls for one node: two bound functions."""

    def __init__(self, layer, forward, backward):
        self.layer, self.forward, self.backward = layer, forward, backward


class ConvPool:
    """The fused Conv2D [→ ReLU] → MaxPool2D 2×2 (see the module docstring).

    ``conv_runner`` runs the Conv2D node (its output is the phase-layout ``z``, not the
    node's value), ``pool_runner`` the MaxPool2D node (its output is the pool's true
    output). Parameters and their gradients are the Conv2D layer's own views.
    """

    def __init__(self, conv, relu, pool):
        self.conv, self.relu, self.pool = conv, relu, pool
        self._buf = Buffers()
        self._zbuf = FilledBuffers()
        self.conv_runner = _Runner(conv, self.conv_forward, self.conv_backward)
        self.pool_runner = _Runner(pool, self.pool_forward, self.pool_backward)
        self._twin = None

    # -- the convolution into phase layout ------------------------------------------------
    def _phases(self) -> tuple[int, int, int, int, int, int]:
        """``(rh, rw, hq, wq, ho2, wo2)``: phase steps, phase image size, pooled size."""
        _, _, _, _, _, _, sh, sw, ho, wo, _, _, hp, wp = self._g
        rh, rw = 2 * sh, 2 * sw
        return rh, rw, -(-hp // rh), -(-wp // rw), ho // 2, wo // 2

    def _taps(self):
        """``(k, i, j, phase r, phase s, offset)`` for every window place ``k = 2·dy + dx``
        and kernel tap ``(i, j)``: its columns are ``q[r, s, :, :, offset:offset + L]``."""
        conv = self.conv
        kh, kw, sh, sw = self._g[4:8]
        dh, dw = conv.config["dilation_rate"]
        rh, rw, _, wq, _, _ = self._phases()
        for dy in (0, 1):
            for dx in (0, 1):
                for i in range(kh):
                    for j in range(kw):
                        r, s = dy * sh + i * dh, dx * sw + j * dw
                        yield 2 * dy + dx, i, j, r % rh, s % rw, (r // rh) * wq + s // rw

    def _columns(self, x: np.ndarray) -> np.ndarray:
        """``cols (4, N, K + 1, L)`` for ``x``, ``L = Ho/2 · wq``: per window place, the
        columns of every pooled position over the phase image's full width ``wq`` (the
        ``wq − Wo/2`` extra ones are thrown away, as Conv2D's "wide" rows); row ``K`` is
        ones (the bias)."""
        dt = self.conv.dtype
        n, c, h, w, kh, kw, _, _, _, _, top, left, hp, wp = self._g
        rh, rw, hq, wq, ho2, _ = self._phases()
        if hp != h or wp != w:
            xp = self._zbuf.get("xp", (n, c, hp, wp), dt)
            xp[:, :, top:top + h, left:left + w] = x
        else:
            xp = x
        # Flat phase images with a spare row of zeros (the last window row runs past).
        q = self._zbuf.get("q", (rh, rw, n, c, (hq + 1) * wq), dt)
        for r in range(rh):
            for s in range(rw):
                src = xp[:, :, r::rh, s::rw]
                image = q[r, s, :, :, :hq * wq].reshape(n, c, hq, wq)
                np.copyto(image[:, :, :src.shape[2], :src.shape[3]], src)
        K, L = c * kh * kw, ho2 * wq
        cols = self._zbuf.get("cols", (4, n, K + 1, L), dt, fill=1.0)
        blocks = cols[:, :, :K].reshape(4, n, c, kh, kw, L)
        for k, i, j, r, s, o in self._taps():
            np.copyto(blocks[k, :, :, i, j], q[r, s, :, :, o:o + L])
        return cols

    def conv_forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        x = inputs[0]
        conv = self.conv
        self._g = g = conv._geometry(x)
        n, c, kh, kw = g[0], g[1], g[4], g[5]
        K, f = c * kh * kw, conv.config["filters"]
        cols = self._columns(x)
        wb = self._zbuf.get("Wb", (f, K + 1), conv.dtype)  # bias column stays 0 without b
        np.copyto(wb[:, :K], conv.params["W"].reshape(f, K))
        if "b" in conv.params:
            np.copyto(wb[:, K], conv.params["b"])
        z = self._buf.get("z", (4, n, f, cols.shape[3]), conv.dtype)
        for k in range(4):  # each window place's slab is contiguous
            np.matmul(wb, cols[k], out=z[k])
        self._cols = cols
        return z

    def conv_backward(self, dz: np.ndarray) -> list:
        conv, dt = self.conv, self.conv.dtype
        n, c, h, w, kh, kw, _, _, _, _, top, left, hp, wp = self._g
        K, f = c * kh * kw, conv.config["filters"]
        cols = self._cols
        L = cols.shape[3]
        per = self._buf.get("gW", (4 * n, f, K + 1), dt)
        np.matmul(dz.reshape(4 * n, f, L), cols.reshape(4 * n, K + 1, L).transpose(0, 2, 1),
                  out=per)
        total = self._buf.get("gWb", (f, K + 1), dt)
        np.sum(per, axis=0, out=total)
        np.copyto(conv.grads["W"].reshape(f, K), total[:, :K])
        if "b" in conv.grads:
            np.copyto(conv.grads["b"], total[:, K])
        if conv.skip_input_grad:
            return [None]
        wt = self._buf.get("WT", (K, f), dt)
        np.copyto(wt, conv.params["W"].reshape(f, K).T)
        dcols = self._buf.get("dcols", (4, n, K, L), dt)
        np.matmul(wt, dz.reshape(4 * n, f, L), out=dcols.reshape(4 * n, K, L))
        rh, rw, hq, wq, _, _ = self._phases()
        dq = self._buf.get("dq", (rh, rw, n, c, (hq + 1) * wq), dt)
        dq.fill(0.0)
        blocks = dcols.reshape(4, n, c, kh, kw, L)
        for k, i, j, r, s, o in self._taps():
            dq[r, s, :, :, o:o + L] += blocks[k, :, :, i, j]
        padded = hp != h or wp != w
        dx_ = self._buf.get("dx", (n, c, h, w), dt)
        dxp = self._buf.get("dxp", (n, c, hp, wp), dt) if padded else dx_
        for r in range(rh):
            for s in range(rw):
                target = dxp[:, :, r::rh, s::rw]
                image = dq[r, s, :, :, :hq * wq].reshape(n, c, hq, wq)
                np.copyto(target, image[:, :, :target.shape[2], :target.shape[3]])
        if padded:
            np.copyto(dx_, dxp[:, :, top:top + h, left:left + w])
        return [dx_]

    # -- the pool over the four slabs -----------------------------------------------------
    def pool_forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        z = inputs[0]
        _, n, f, L = z.shape
        _, _, _, wq, ho2, wo2 = self._phases()
        dt = z.dtype
        q = (n, f, L)
        m1, m2, top = (self._buf.get(k, q, dt) for k in ("m1", "m2", "top"))
        np.maximum(z[0], z[1], out=m1)
        np.maximum(z[2], z[3], out=m2)
        np.maximum(m1, m2, out=top)
        if training:
            b = np.dtype(bool)
            w1, w2, wt = (self._buf.get(k, q, b) for k in ("w1", "w2", "wt"))
            np.greater_equal(z[0], z[1], out=w1)
            np.greater_equal(z[2], z[3], out=w2)
            np.greater_equal(m1, m2, out=wt)
        pooled = top.reshape(n, f, ho2, wq)[..., :wo2]
        if self.relu is not None:  # its output buffer is the contiguous pooled map
            return self.relu.forward([pooled], training)
        y = self._buf.get("y", (n, f, ho2, wo2), dt)
        np.copyto(y, pooled)
        return y

    def pool_backward(self, grad: np.ndarray) -> list:
        if self.relu is not None:
            (grad,) = self.relu.backward(grad)
        n, f, ho2, wo2 = grad.shape
        _, _, _, wq, _, _ = self._phases()
        dt = grad.dtype
        q = (n, f, ho2 * wq)
        g = self._zbuf.get("g_wide", q, dt)  # the extra columns stay 0: no gradient
        np.copyto(g.reshape(n, f, ho2, wq)[..., :wo2], grad)
        b = np.dtype(bool)
        w1, w2, wt = (self._buf.get(k, q, b) for k in ("w1", "w2", "wt"))
        top, bottom = self._buf.get("gt", q, dt), self._buf.get("gb", q, dt)
        dz = self._buf.get("dz", (4, n, f, ho2 * wq), dt)
        np.multiply(g, wt, out=top)
        np.subtract(g, top, out=bottom)
        np.multiply(top, w1, out=dz[0])
        np.subtract(top, dz[0], out=dz[1])
        np.multiply(bottom, w2, out=dz[2])
        np.subtract(bottom, dz[2], out=dz[3])
        return [dz]

    # -- values for whoever reads them ----------------------------------------------------
    def conv_value(self, x: np.ndarray) -> np.ndarray:
        """The convolution's full output ``(N, F, Ho, Wo)`` for its input ``x``, by a copy
        of the layer with its own buffers (the fused step's are left as they are)."""
        if self._twin is None:
            twin = copy.copy(self.conv)
            twin._buf, twin._zbuf = Buffers(), FilledBuffers()
            self._twin = twin
        return self._twin.forward([x], False).copy()
