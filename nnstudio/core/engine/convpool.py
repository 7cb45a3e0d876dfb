"""Conv2D [→ ReLU] → MaxPool2D 2×2 in one step, the convolution's outputs grouped by their
place in the pooling window.

A 2×2 max pool with stride 2 reads every second float of its input; NumPy's loops over such
views run without SIMD and, for the short rows of a CNN's later maps, mostly run loop
overhead. But a convolution's outputs come out of a matrix product in whatever order its
columns are built, so here they are built grouped by window place: ``z[k]``, ``k = 2·dy +
dx``, holds the outputs at rows ``2a + dy`` and columns ``2b + dx``. The pool is then three
``maximum`` calls over whole slabs and its gradient four multiply/subtracts into them, and
the bias rides in the product (a row of ones under the columns).

The columns come from *phase images* of the (padded) input, ``q[r, s] = x[:, :, r::2sh,
s::2sw]`` (``4·sh·sw`` strided copies of the input, 1–16× smaller than the columns); each
(kernel tap, window place) then copies a run of whole rows of one phase image, over the
phase image's full width ``wq`` (the ``wq − Wo/2`` extra columns are thrown away, as in
Conv2D's "wide" rows). The layout is positions-major with the batch and then the filters
innermost: ``cols (K + 1, 4·L·N)``, ``L = Ho/2 · wq``, and one product ``colsᵀ @ Wᵀ`` (the
orientation OpenBLAS runs fastest on these skinny shapes) whose four slabs ``(L·N, F)`` are
contiguous. Compared with Conv2D's channel-major path plus MaxPool2D, this drops the bias
pass, the full-size layout changes of the output and of its gradient (only the pooled,
quarter-size map changes layout) and the strided pooling passes.

The tournament is ``max(a, b)``, ``max(c, d)``, then top against bottom, earlier ones winning
ties: each window's gradient goes to its first maximum in row-major order, as
:class:`~nnstudio.core.engine.pooling.MaxPool2D` does. A ReLU between the two runs on the
pooled map (exact: see :mod:`~nnstudio.core.engine.fusion`). An odd last output row or
column (outside every window) is not computed: nothing downstream reads it in training. The
convolution's full output, which Inside the network may show, is computed when read
(:meth:`ConvPool.conv_value`).

Used for a one-group convolution with a deep window (``C·kh·kw ≥
Conv2D.transposed_from_k``: the second convolution of a CNN) whose only consumer is the pool
(or a ReLU whose only consumer is the pool), with the pool 2×2, stride 2, ``valid``. A
shallow window (the first layer on images) runs as the layer does, batch-major: fused, in
this layout or in a batch-major one (slabs ``(N, F, L)``), it measured no faster (0.98–1.02×
on the CNNs of ``benchmarks/engine_vs_peers.py``).
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
    if conv.config["groups"] != 1 or in_shape[0] * kh * kw < conv.transposed_from_k:
        return False  # a shallow window: measured no faster fused (see the docstring)
    return out_shape[1] >= 2 and out_shape[2] >= 2


class _Runner:
    """What the network calls for one node: two bound functions."""

    def __init__(self, layer, forward, backward):
        self.layer, self.forward, self.backward = layer, forward, backward


class ConvPool:
    """The fused Conv2D [→ ReLU] → MaxPool2D 2×2 (see the module docstring).

    ``conv_runner`` runs the Conv2D node (its output is the slabs ``z (4, ...)``, not the
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

    # -- geometry ----------------------------------------------------------------------
    def _phases(self) -> tuple[int, int, int, int, int, int]:
        """``(rh, rw, hq, wq, ho2, wo2)``: phase steps, phase image size, pooled size."""
        _, _, _, _, _, _, sh, sw, ho, wo, _, _, hp, wp = self._g
        rh, rw = 2 * sh, 2 * sw
        return rh, rw, -(-hp // rh), -(-wp // rw), ho // 2, wo // 2

    def _phase_blocks(self):
        """``(r, s, a0, b0, x rows, x columns, rows, columns)`` per phase image ``q[r, s]``:
        its block from ``(a0, b0)`` holds that strided block of the (unpadded) input; the
        rest of it is padding (zeros)."""
        _, _, h, w, _, _, _, _, _, _, top, left, _, _ = self._g
        rh, rw, hq, wq, _, _ = self._phases()
        for r in range(rh):
            a0 = max(0, -(-(top - r) // rh))
            x0 = r + rh * a0 - top
            rows = max(0, min(hq - a0, -(-(h - x0) // rh)))
            for s in range(rw):
                b0 = max(0, -(-(left - s) // rw))
                y0 = s + rw * b0 - left
                cols = max(0, min(wq - b0, -(-(w - y0) // rw)))
                if rows and cols:  # a phase image of padding only has no block
                    yield (r, s, a0, b0, slice(x0, x0 + rh * (rows - 1) + 1, rh),
                           slice(y0, y0 + rw * (cols - 1) + 1, rw), rows, cols)

    def _taps(self):
        """``(k, i, j, r, s, offset)`` for every window place ``k = 2·dy + dx`` and kernel
        tap ``(i, j)``: its columns start at flat position ``offset`` of ``q[r, s]``."""
        kh, kw, sh, sw = self._g[4:8]
        dh, dw = self.conv.config["dilation_rate"]
        rh, rw, _, wq, _, _ = self._phases()
        for dy in (0, 1):
            for dx in (0, 1):
                for i in range(kh):
                    for j in range(kw):
                        r, s = dy * sh + i * dh, dx * sw + j * dw
                        yield 2 * dy + dx, i, j, r % rh, s % rw, (r // rh) * wq + s // rw

    def _kernel_with_bias(self) -> np.ndarray:
        """``[W | b] (F, K + 1)``; the bias column stays 0 without a bias."""
        conv = self.conv
        f, K = conv.config["filters"], self._g[1] * self._g[4] * self._g[5]
        wb = self._zbuf.get("Wb", (f, K + 1), conv.dtype)
        np.copyto(wb[:, :K], conv.params["W"].reshape(f, K))
        if "b" in conv.params:
            np.copyto(wb[:, K], conv.params["b"])
        return wb

    def _store_grads(self, total: np.ndarray) -> None:
        """``total (F, K + 1)`` into the layer's ``W`` and ``b`` gradients."""
        conv = self.conv
        f, K = total.shape[0], total.shape[1] - 1
        np.copyto(conv.grads["W"].reshape(f, K), total[:, :K])
        if "b" in conv.grads:
            np.copyto(conv.grads["b"], total[:, K])

    # -- the convolution ---------------------------------------------------------------
    # Positions-major, batch then filters innermost:
    # q (rh, rw, C, (hq + 1)·wq·N), cols (K + 1, 4·L·N), z (4, L·N, F).
    def conv_forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        x = inputs[0]
        conv, dt = self.conv, self.conv.dtype
        self._g = conv._geometry(x)
        n, c, _, _, kh, kw = self._g[:6]
        rh, rw, hq, wq, ho2, _ = self._phases()
        # Flat phase images (C, hq, wq, N) with a spare row of zeros (the last window row
        # runs past); the padding stays zero.
        q = self._zbuf.get("q", (rh, rw, c, (hq + 1) * wq * n), dt)
        for r, s, a0, b0, xr, xc, rows, cols_ in self._phase_blocks():
            image = q[r, s, :, :hq * wq * n].reshape(c, hq, wq, n)
            np.copyto(image[:, a0:a0 + rows, b0:b0 + cols_], x[:, :, xr, xc].transpose(1, 2, 3, 0))
        K, ln = c * kh * kw, ho2 * wq * n
        cols = self._zbuf.get("cols", (K + 1, 4 * ln), dt, fill=1.0)  # row K: ones
        blocks = cols[:K].reshape(c, kh, kw, 4, ln)
        for k, i, j, r, s, o in self._taps():
            np.copyto(blocks[:, i, j, k], q[r, s, :, o * n:o * n + ln])
        wb = self._kernel_with_bias()
        f = conv.config["filters"]
        z = self._buf.get("z", (4, ln, f), dt)
        np.matmul(cols.T, wb.T, out=z.reshape(4 * ln, f))
        self._cols = cols
        return z

    def conv_backward(self, dz: np.ndarray) -> list:
        conv, dt = self.conv, self.conv.dtype
        n, c, h, w, kh, kw = self._g[:6]
        K, f = c * kh * kw, conv.config["filters"]
        cols = self._cols
        dz2 = dz.reshape(-1, f)
        # dWᵀ = cols @ dY: the orientation OpenBLAS runs fastest here (see Conv2D).
        gwt = self._buf.get("gWT", (K + 1, f), dt)
        np.matmul(cols, dz2, out=gwt)
        self._store_grads(gwt.T)
        if conv.skip_input_grad:
            return [None]
        ln = cols.shape[1] // 4
        dcols = self._buf.get("dcols", (K, 4 * ln), dt)
        np.matmul(conv.params["W"].reshape(f, K).T, dz2.T, out=dcols)
        rh, rw, hq, wq, _, _ = self._phases()
        dq = self._buf.get("dq", (rh, rw, c, (hq + 1) * wq * n), dt)
        dq.fill(0.0)
        blocks = dcols.reshape(c, kh, kw, 4, ln)
        for k, i, j, r, s, o in self._taps():
            dq[r, s, :, o * n:o * n + ln] += blocks[:, i, j, k]
        dx = self._buf.get("dx", (n, c, h, w), dt)
        for r, s, a0, b0, xr, xc, rows, cols_ in self._phase_blocks():
            image = dq[r, s, :, :hq * wq * n].reshape(c, hq, wq, n)
            np.copyto(dx[:, :, xr, xc].transpose(1, 2, 3, 0),
                      image[:, a0:a0 + rows, b0:b0 + cols_])
        return [dx]

    # -- the pool over the four slabs --------------------------------------------------
    def _pooled(self, top: np.ndarray) -> np.ndarray:
        """The ``(N, F, Ho/2, Wo/2)`` view of a slab-shaped array (without the extra
        columns)."""
        n, f = self._g[0], self.conv.config["filters"]
        _, _, _, wq, ho2, wo2 = self._phases()
        return top.reshape(ho2, wq, n, f)[:, :wo2].transpose(2, 3, 0, 1)

    def pool_forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        z = inputs[0]
        dt = z.dtype
        q = z.shape[1:]
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
        pooled = self._pooled(top)
        if self.relu is not None:  # its output buffer is the contiguous pooled map
            return self.relu.forward([pooled], training)
        y = self._buf.get("y", pooled.shape, dt)
        np.copyto(y, pooled)
        return y

    def pool_backward(self, grad: np.ndarray) -> list:
        if self.relu is not None:
            (grad,) = self.relu.backward(grad)
        dt = grad.dtype
        q = self._slab_shape()
        g = self._zbuf.get("g_wide", q, dt)  # the extra columns stay 0: no gradient
        np.copyto(self._pooled(g), grad)
        b = np.dtype(bool)
        w1, w2, wt = (self._buf.get(k, q, b) for k in ("w1", "w2", "wt"))
        top, bottom = self._buf.get("gt", q, dt), self._buf.get("gb", q, dt)
        dz = self._buf.get("dz", (4, *q), dt)
        np.multiply(g, wt, out=top)
        np.subtract(g, top, out=bottom)
        np.multiply(top, w1, out=dz[0])
        np.subtract(top, dz[0], out=dz[1])
        np.multiply(bottom, w2, out=dz[2])
        np.subtract(bottom, dz[2], out=dz[3])
        return [dz]

    def _slab_shape(self) -> tuple[int, ...]:
        n, f = self._g[0], self.conv.config["filters"]
        _, _, _, wq, ho2, _ = self._phases()
        return (ho2 * wq * n, f)

    # -- values for whoever reads them -------------------------------------------------
    def conv_value(self, x: np.ndarray) -> np.ndarray:
        """The convolution's full output ``(N, F, Ho, Wo)`` for its input ``x``, by a copy
        of the layer with its own buffers (the fused step's are left as they are)."""
        if self._twin is None:
            twin = copy.copy(self.conv)
            twin._buf, twin._zbuf = Buffers(), FilledBuffers()
            self._twin = twin
        return self._twin.forward([x], False).copy()
