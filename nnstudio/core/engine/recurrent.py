"""Recurrent layers over sequences ``(N, T, F)``: SimpleRNN, LSTM and GRU.

Each reads ``T`` steps of ``F`` features, starts from a zero state, and returns the last
hidden state ``(N, H)`` or, with ``return_sequences``, every step's ``(N, T, H)``.
Training is backpropagation through time over the whole sequence.

Parameters use ONNX's layouts for one direction (ONNX's leading ``num_directions = 1``
axis is dropped), so an export only adds that axis:

* ``W (G·H, F)`` input kernels, ``R (G·H, H)`` recurrent kernels, ``b (2·G·H,)`` the
  biases ``[Wb, Rb]``, gate blocks of ``H`` rows stacked in ONNX's order;
* ``SimpleRNN`` (ONNX ``RNN``, G = 1): ``h_t = tanh(x_t·Wᵀ + h_{t−1}·Rᵀ + Wb + Rb)``;
* ``LSTM`` (G = 4, gate order **i, o, f, c**, no peepholes, ONNX's default activations
  sigmoid/tanh/tanh)::

      i = σ(x·W_iᵀ + h·R_iᵀ + Wb_i + Rb_i)     o, f likewise
      c̃ = tanh(x·W_cᵀ + h·R_cᵀ + Wb_c + Rb_c)
      C_t = f ⊙ C_{t−1} + i ⊙ c̃ ;  h_t = o ⊙ tanh(C_t)

  The forget-gate input bias ``Wb_f`` starts at 1 (Keras's ``unit_forget_bias``).
* ``GRU`` (G = 3, gate order **z, r, h**) with ONNX's **``linear_before_reset = 1``** (the
  form PyTorch and cuDNN use; an ONNX export must set this attribute to 1)::

      z = σ(x·W_zᵀ + h·R_zᵀ + Wb_z + Rb_z)     r likewise
      ĥ = tanh(x·W_hᵀ + r ⊙ (h·R_hᵀ + Rb_h) + Wb_h)
      h_t = (1 − z) ⊙ ĥ + z ⊙ h_{t−1}

How it runs: internally every step works on transposed, gate-major blocks ``(G·H, N)`` so
each gate is one contiguous ``(H, N)`` slab and the three sigmoid gates of an LSTM (i, o, f)
are one contiguous slab. The input projection of all steps is one stacked matmul hoisted out
of the time loop, the input bias a column of it (a row of ones under ``x``); each step then
costs one fused gate product ``z += R @ h`` and about ten in-place ufunc calls. The sigmoid
gates' rows of ``W``, ``R`` and the bias are halved in this pass's copies, so one ``tanh``
call activates every gate: ``σ(z) = (1 + tanh(z/2)) / 2`` (NumPy's float32 tanh is one SIMD
call; ``1/(1 + e^−z)`` was four). Calls are written ``np.add(a, b, out=a)`` rather than
``a += b``, which costs about a microsecond more per call on these small slabs.

The step products go through :mod:`small_gemm`: cut into pieces that OpenBLAS's small-matrix
kernels take (an LSTM's ``(256, 64) @ (64, 64)`` as two halves: 2 × 7.2 µs against 18.5 µs)
and accumulated by BLAS itself (``beta = 1``), not by a separate add. The backward pass of
SimpleRNN and LSTM adds each step's share of ``dW``, ``db`` and ``dR`` inside the loop, while
that step's gate gradients are still in cache: one product with the step's row block
``[x_s | 1 | h_{s−1}]`` (padded to a multiple of 16 columns, which BLAS does faster); when no
input gradient is needed (the layer reads the Input) only the current step's gate gradients
are kept. The GRU, whose input-side and hidden-side gradients differ, stores every step's
and forms ``dW``, ``dR`` and the biases after the loop.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from nnstudio.core.engine import activations as act
from nnstudio.core.engine.conv import fmt_shape
from nnstudio.core.engine.initializers import fans, initialize
from nnstudio.core.engine.layer import Buffers, FilledBuffers, Layer, Setting, Shape, register
from nnstudio.core.engine.small_gemm import gemm_add, gemm_tn, row_pieces
from nnstudio.core.errors import ShapeError


def orthogonal_(out: np.ndarray, rng: np.random.Generator) -> None:
    """Fill a square matrix in place with a random orthogonal one (drawn in float64)."""
    q, r = np.linalg.qr(rng.normal(size=out.shape))
    out[...] = q * np.sign(np.diag(r))


class _Recurrent(Layer):
    category = "Recurrent"
    #: Gates per unit: 1 (SimpleRNN), 4 (LSTM), 3 (GRU).
    gates = 1
    settings = (
        Setting("units", "int", 32, minimum=1, maximum=100_000, help="hidden state size H"),
        Setting("return_sequences", "bool", False,
                help="output every step (T, H) instead of the last state (H,)"),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        self._zbuf = FilledBuffers()
        #: Set by the network when no input gradient is needed (the layer reads the Input).
        self.skip_input_grad = False

    def describe(self) -> str:
        label = f"{self.type_name} {self.config['units']}"
        return label + (" seq" if self.config["return_sequences"] else "")

    # -- shapes --------------------------------------------------------------------------
    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) != 2:
            hint = (
                f" (e.g. {fmt_shape((28, 28))} for 784 pixels read row by row)"
                if len(shape) == 1 else ""
            )
            raise ShapeError(
                f"needs sequences (T, F) but gets {fmt_shape(tuple(shape))}; add a Reshape "
                f"layer before it{hint}",
                self.where,
            )
        h = self.config["units"]
        return (shape[0], h) if self.config["return_sequences"] else (h,)

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        (shape,) = input_shapes
        if len(shape) != 2:
            self.output_shape(input_shapes)  # raises the readable error
        gh = self.gates * self.config["units"]
        return {"W": (gh, shape[-1]), "R": (gh, self.config["units"]), "b": (2 * gh,)}

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        W, R, b = self.params["W"], self.params["R"], self.params["b"]
        h = self.config["units"]
        fi, fo = fans(W.shape, "recurrent")
        initialize(W, "glorot_uniform", rng, fi, fo)
        for g in range(self.gates):
            orthogonal_(R[g * h:(g + 1) * h], rng)
        b[...] = 0.0

    # -- shared running code ---------------------------------------------------------------
    def _input_bias(self) -> np.ndarray:
        """The bias added to the input projection, as a column ``(G·H, 1)``."""
        gh = self.gates * self.config["units"]
        b = self.params["b"]
        col = self._buf.get("bias", (gh, 1), self.dtype)
        np.add(b[:gh], b[gh:], out=col[:, 0])
        return col

    #: Leading gate rows that go through a sigmoid (computed as ``(1 + tanh(z/2)) / 2``).
    sigmoid_rows = 0

    def _kernels(self, f: int) -> tuple[np.ndarray, np.ndarray]:
        """``(Wb (G·H, F + 1), R)`` for this pass: the input kernels with the input bias as
        a last column (the projection's GEMM adds it), and the sigmoid gates' rows of both
        halved, so that one ``tanh`` serves every gate: ``σ(z) = (1 + tanh(z/2)) / 2``."""
        gh = self.gates * self.config["units"]
        dt = self.dtype
        wb = self._buf.get("Wb", (gh, f + 1), dt)
        np.copyto(wb[:, :f], self.params["W"])
        np.copyto(wb[:, f:], self._input_bias())
        sg = self.sigmoid_rows * self.config["units"]
        R = self.params["R"]
        if sg:
            np.multiply(wb[:sg], dt.type(0.5), out=wb[:sg])
            rs = self._buf.get("Rs", R.shape, dt)
            np.multiply(R[:sg], dt.type(0.5), out=rs[:sg])
            np.copyto(rs[sg:], R[sg:])
            R = rs
        return wb, R

    def _project(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Input projection of every step, ``Z (T, G·H, N) = W @ x_tᵀ + bias`` (sigmoid rows
        halved, see :meth:`_kernels`), and the recurrent kernels to use with it."""
        n, t, f = x.shape
        gh = self.gates * self.config["units"]
        # x_tᵀ with a row of ones under it (written once) that multiplies the bias column.
        xT = self._zbuf.get("xT1", (t, f + 1, n), self.dtype, fill=1.0)
        np.copyto(xT[:, :f], x.transpose(1, 2, 0))
        wb, R = self._kernels(f)
        Z = self._buf.get("Z", (t, gh, n), self.dtype)
        np.matmul(wb, xT, out=Z)
        self._xT = xT
        return Z, R

    def _states(self, t: int, n: int) -> np.ndarray:
        """Hidden states ``(T + 1, H, N)``; index 0 is the zero initial state."""
        return self._zbuf.get("Hs", (t + 1, self.config["units"], n), self.dtype)

    def _output(self, Hs: np.ndarray) -> np.ndarray:
        t1, h, n = Hs.shape
        if self.config["return_sequences"]:
            y = self._buf.get("y", (n, t1 - 1, h), self.dtype)
            np.copyto(y, Hs[1:].transpose(2, 0, 1))
        else:
            y = self._buf.get("y", (n, h), self.dtype)
            np.copyto(y, Hs[-1].T)
        return y

    def _grad_steps(self, grad: np.ndarray) -> np.ndarray:
        """``d loss / d h_t`` from outside the layer, as ``(T, H, N)`` or last step ``(H, N)``."""
        if self.config["return_sequences"]:
            gT = self._buf.get("gT", (grad.shape[1], grad.shape[2], grad.shape[0]), self.dtype)
            np.copyto(gT, grad.transpose(1, 2, 0))
        else:
            gT = self._buf.get("gT", (grad.shape[1], grad.shape[0]), self.dtype)
            np.copyto(gT, grad.T)
        return gT

    def _steps_back(self, grad: np.ndarray, dh: np.ndarray, t: int) -> Iterator[int]:
        """Backpropagation through time over ``t`` steps: yields ``t − 1, …, 0``. When step ``s``
        is yielded, ``dh (H, N)`` holds ``d loss / d h_s``: the gradient from outside (every
        step with ``return_sequences``, else the last) plus what the caller left in ``dh``
        for it while handling step ``s + 1``."""
        gT = self._grad_steps(grad)
        seq = self.config["return_sequences"]
        for s in range(t - 1, -1, -1):
            if s == t - 1:
                np.copyto(dh, gT[s] if seq else gT)
            elif seq:
                np.add(dh, gT[s], out=dh)
            yield s

    def _param_grads(self, dZ: np.ndarray, dHR: np.ndarray, Hs: np.ndarray) -> list:
        """Fill ``dW``, ``dR``, ``db`` from the per-step gate gradients and return ``[dx]``
        (the GRU's way; SimpleRNN and LSTM accumulate them step by step, see
        :meth:`_step_grads`).

        ``dZ (T, G·H, N)``: gradient of the input-side pre-activations ``x·Wᵀ + Wb``;
        ``dHR (T, G·H, N)``: of the hidden-side ones ``h·Rᵀ + Rb``.
        """
        t, gh, n = dZ.shape
        h = self.config["units"]
        dt = self.dtype
        xT = self._xT  # (T, F + 1, N): the last row is ones, so gW's last column is Σ dZ
        f = xT.shape[1] - 1
        gWs = self._buf.get("gWs", (t, gh, f + 1), dt)
        np.matmul(dZ, xT.transpose(0, 2, 1), out=gWs)
        gWb = self._buf.get("gWb", (gh, f + 1), dt)
        np.sum(gWs, axis=0, out=gWb)
        np.copyto(self.grads["W"], gWb[:, :f])
        gb = self.grads["b"]
        np.copyto(gb[:gh], gWb[:, f])
        if t > 1:
            gR = self._buf.get("gRs", (t - 1, gh, h), dt)
            np.matmul(dHR[1:], Hs[1:t].transpose(0, 2, 1), out=gR)
            np.sum(gR, axis=0, out=self.grads["R"])
        else:
            self.grads["R"].fill(0.0)
        ones = self._zbuf.get("ones", (n,), dt, fill=1.0)
        per_step = self._buf.get("db", (t, gh), dt)
        np.matmul(dHR, ones, out=per_step)
        np.sum(per_step, axis=0, out=gb[gh:])
        return self._input_grad(dZ)

    def _step_grads(self) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
        """``(XH, acc, pieces)`` for accumulating the parameter gradients inside the backward
        loop, where a step's gate gradients ``dZ_s (G·H, N)`` are still in cache (layers whose
        input-side and hidden-side gradients are the same, SimpleRNN and LSTM):
        ``acc (G·H, K) += dZ_s @ XH[s]`` — ``XH (T, N, K)`` holds each step's
        ``[x_s | 1 | h_{s−1}]`` in its first ``F + 1 + H`` columns (``K`` rounds that up to a
        multiple of 16, the padding stays zero), so ``acc`` is ``[dW | db | dR | 0]`` — in
        products small enough for BLAS's small-matrix kernels (:mod:`small_gemm`).
        :meth:`_step_grads_done` files it.
        """
        xT, Hs = self._xT, self._Hs  # (T, F + 1, N) with its row of ones; (T + 1, H, N)
        t, f1, n = xT.shape
        h = self.config["units"]
        gh = self.gates * h
        k = -(-(f1 + h) // 16) * 16
        XH = self._zbuf.get("XH", (t, n, k), self.dtype)
        np.copyto(XH[:, :, :f1], xT.transpose(0, 2, 1))
        np.copyto(XH[:, :, f1:f1 + h], Hs[:t].transpose(0, 2, 1))
        acc = self._buf.get("gWR", (gh, k), self.dtype)
        acc.fill(0.0)
        return XH, acc, row_pieces(gh, n * k)

    def _step_grads_done(self, acc: np.ndarray, dZ: np.ndarray) -> list:
        """File ``acc = [dW | db | dR]`` (see :meth:`_step_grads`) and return ``[dx]``."""
        f = self._xT.shape[1] - 1
        gh = acc.shape[0]
        np.copyto(self.grads["W"], acc[:, :f])
        gb = self.grads["b"]
        np.copyto(gb[:gh], acc[:, f])
        np.copyto(gb[gh:], acc[:, f])
        np.copyto(self.grads["R"], acc[:, f + 1:f + 1 + self.config["units"]])
        return self._input_grad(dZ)

    def _input_grad(self, dZ: np.ndarray) -> list:
        """``[dx (N, T, F)]`` from the input-side gate gradients ``dZ (T, G·H, N)``, or
        ``[None]`` when the layer reads the network's Input."""
        if self.skip_input_grad:
            return [None]
        t, _, n = dZ.shape
        f = self._xT.shape[1] - 1
        dxT = self._buf.get("dxT", (t, f, n), self.dtype)
        np.matmul(self.params["W"].T, dZ, out=dxT)
        dx = self._buf.get("dx", (n, t, f), self.dtype)
        np.copyto(dx, dxT.transpose(2, 0, 1))
        return [dx]


@register
class SimpleRNN(_Recurrent):
    """Elman RNN: ``h_t = tanh(x_t·Wᵀ + h_{t−1}·Rᵀ + Wb + Rb)``. ``(N, T, F)`` → ``(N, H)``."""

    type_name = "SimpleRNN"
    summary = "h_t = tanh(W·x_t + R·h_{t−1} + b) — a state carried along the sequence"
    gates = 1

    def _forward(self, inputs, training):
        x = inputs[0]
        n, t, _ = x.shape
        Z, R = self._project(x)
        Hs = self._states(t, n)
        pieces = row_pieces(R.shape[0], R.shape[1] * n)
        for s in range(t):
            z = Z[s]
            if s:
                gemm_add(R, Hs[s], z, pieces)
            np.tanh(z, out=Hs[s + 1])
        self._Hs = Hs
        return self._output(Hs)

    def _backward(self, grad):
        Hs = self._Hs
        t, h, n = Hs.shape[0] - 1, Hs.shape[1], Hs.shape[2]
        dZ = self._buf.get("dZ", (t, h, n), self.dtype)
        dh = self._buf.get("dh", (h, n), self.dtype)
        R = self.params["R"]
        XH, acc, pieces = self._step_grads()
        for s in self._steps_back(grad, dh, t):
            act.tanh_backward(Hs[s + 1], dh, dZ[s], None)
            gemm_add(dZ[s], XH[s], acc, pieces)
            if s:
                np.matmul(R.T, dZ[s], out=dh)
        return self._step_grads_done(acc, dZ)


@register
class LSTM(_Recurrent):
    """Long short-term memory, ONNX gate order i, o, f, c (see the module docstring)."""

    type_name = "LSTM"
    summary = "gated memory cell: C = f⊙C + i⊙tanh(·), h = o⊙tanh(C) — learns long ranges"
    gates = 4
    sigmoid_rows = 3

    def init_params(self, input_shapes, rng):
        super().init_params(input_shapes, rng)
        h = self.config["units"]
        self.params["b"][2 * h:3 * h] = 1.0  # forget gate input bias (Wb_f)

    def _forward(self, inputs, training):
        x = inputs[0]
        n, t, _ = x.shape
        h = self.config["units"]
        dt = self.dtype
        Z, R = self._project(x)  # becomes the activated gates [i, o, f, c̃] of every step
        Hs = self._states(t, n)
        Cs = self._zbuf.get("Cs", (t + 1, h, n), dt)
        TC = self._buf.get("TC", (t, h, n), dt)
        tmpH = self._buf.get("tmpH", (h, n), dt)
        half = dt.type(0.5)
        pieces = row_pieces(4 * h, h * n)
        with np.errstate(over="ignore"):
            for s in range(t):
                z = Z[s]
                if s:
                    gemm_add(R, Hs[s], z, pieces)
                # One tanh over all four gates (i, o, f pre-activations are halved), then
                # σ = tanh/2 + 1/2 on the first three.
                np.tanh(z, out=z)
                sg = z[: 3 * h]
                np.multiply(sg, half, out=sg)
                np.add(sg, half, out=sg)
                cc = z[3 * h:]
                c = Cs[s + 1]
                np.multiply(z[2 * h:3 * h], Cs[s], out=c)
                np.multiply(z[:h], cc, out=tmpH)
                np.add(c, tmpH, out=c)
                np.tanh(c, out=TC[s])
                np.multiply(z[h:2 * h], TC[s], out=Hs[s + 1])
        self._Z, self._Hs, self._Cs, self._TC = Z, Hs, Cs, TC
        return self._output(Hs)

    def _backward(self, grad):
        Z, Hs, Cs, TC = self._Z, self._Hs, self._Cs, self._TC
        t, h, n = TC.shape
        dt = self.dtype
        dZ = None if self.skip_input_grad else self._buf.get("dZ", Z.shape, dt)
        dh = self._buf.get("dh", (h, n), dt)
        dc = self._buf.get("dc", (h, n), dt)
        tmpH = self._buf.get("tmpH", (h, n), dt)
        tmp4 = self._buf.get("tmp4", (4 * h, n), dt)
        R = self.params["R"]
        XH, acc, pieces = self._step_grads()
        k_pieces = row_pieces(4 * h, h * n)
        # Without an input gradient only the step at hand is needed: one slab stays in cache.
        one = self._buf.get("dZ1", Z.shape[1:], dt) if self.skip_input_grad else None
        for s in self._steps_back(grad, dh, t):
            z, d, tc = Z[s], (dZ[s] if one is None else one), TC[s]
            i, o, f, cc = z[:h], z[h:2 * h], z[2 * h:3 * h], z[3 * h:]
            di, do, df, dcc = d[:h], d[h:2 * h], d[2 * h:3 * h], d[3 * h:]
            np.multiply(dh, tc, out=do)
            # dC += dh ⊙ o ⊙ (1 − tanh²C) = dh ⊙ (o − h ⊙ tanh C)
            np.multiply(Hs[s + 1], tc, out=tmpH)
            np.subtract(o, tmpH, out=tmpH)
            if s == t - 1:
                np.multiply(tmpH, dh, out=dc)
            else:
                np.multiply(tmpH, dh, out=tmpH)
                np.add(dc, tmpH, out=dc)
            np.multiply(dc, cc, out=di)
            np.multiply(dc, Cs[s], out=df)
            np.multiply(dc, i, out=dcc)
            np.multiply(dc, f, out=dc)  # the cell gradient carried to step s − 1
            # Through the activations: σ' = s − s² on i, o, f; tanh' = 1 − c̃² on c̃ — the
            # squares of all four gates in one call.
            np.square(z, out=tmp4)
            np.subtract(z[: 3 * h], tmp4[: 3 * h], out=tmp4[: 3 * h])
            np.subtract(1.0, tmp4[3 * h:], out=tmp4[3 * h:])
            np.multiply(d, tmp4, out=d)
            gemm_add(d, XH[s], acc, pieces)
            if s:
                gemm_tn(R, d, dh, k_pieces)
        return self._step_grads_done(acc, dZ)


@register
class GRU(_Recurrent):
    """Gated recurrent unit, ONNX gate order z, r, h with ``linear_before_reset = 1``."""

    type_name = "GRU"
    summary = "gated state: h = (1−z)⊙tanh(·) + z⊙h — an LSTM with fewer gates"
    gates = 3
    sigmoid_rows = 2

    def _input_bias(self) -> np.ndarray:
        # Rb_h stays inside the reset product (linear_before_reset); Rb_z, Rb_r fold in.
        h = self.config["units"]
        b = self.params["b"]
        col = self._buf.get("bias", (3 * h, 1), self.dtype)
        np.copyto(col[:, 0], b[: 3 * h])
        col[: 2 * h, 0] += b[3 * h:5 * h]
        return col

    def _forward(self, inputs, training):
        x = inputs[0]
        n, t, _ = x.shape
        h = self.config["units"]
        dt = self.dtype
        Z, Rs = self._project(x)  # becomes the activated [z, r, ĥ] of every step
        Hs = self._states(t, n)
        HR = self._buf.get("HR", (t, h, n), dt)  # h_{t−1}·R_hᵀ + Rb_h
        tmp = self._buf.get("tmp", (3 * h, n), dt)
        tmpH = self._buf.get("tmpH", (h, n), dt)
        rbh = self.params["b"][5 * h:].reshape(h, 1)
        half = dt.type(0.5)
        with np.errstate(over="ignore"):
            for s in range(t):
                z = Z[s]
                if s:
                    np.matmul(Rs, Hs[s], out=tmp)
                    np.add(z[: 2 * h], tmp[: 2 * h], out=z[: 2 * h])
                    np.add(tmp[2 * h:], rbh, out=HR[s])
                else:
                    HR[s][...] = rbh
                sg = z[: 2 * h]  # σ = tanh(z/2)/2 + 1/2 (the pre-activations are halved)
                np.tanh(sg, out=sg)
                np.multiply(sg, half, out=sg)
                np.add(sg, half, out=sg)
                hh = z[2 * h:]
                np.multiply(z[h:2 * h], HR[s], out=tmpH)
                np.add(hh, tmpH, out=hh)
                np.tanh(hh, out=hh)
                hn = Hs[s + 1]
                np.subtract(Hs[s], hh, out=hn)  # h = ĥ + z ⊙ (h_prev − ĥ)
                np.multiply(hn, z[:h], out=hn)
                np.add(hn, hh, out=hn)
        self._Z, self._Hs, self._HR = Z, Hs, HR
        return self._output(Hs)

    def _backward(self, grad):
        Z, Hs, HR = self._Z, self._Hs, self._HR
        t, h, n = HR.shape
        dt = self.dtype
        dZ = self._buf.get("dZ", Z.shape, dt)  # input side: [dz, dr, dĥ] pre-activation
        dHR = self._buf.get("dHR", Z.shape, dt)  # hidden side: [dz, dr, dĥ ⊙ r]
        dh = self._buf.get("dh", (h, n), dt)
        tmpH = self._buf.get("tmpH", (h, n), dt)
        tmp2 = self._buf.get("tmp2", (2 * h, n), dt)
        R = self.params["R"]
        for s in self._steps_back(grad, dh, t):
            z, d, dr_ = Z[s], dZ[s], dHR[s]
            zg, rg, hh = z[:h], z[h:2 * h], z[2 * h:]
            dz, drr, dah = d[:h], d[h:2 * h], d[2 * h:]
            np.subtract(Hs[s], hh, out=tmpH)
            np.multiply(dh, tmpH, out=dz)  # ∂h/∂z = h_prev − ĥ
            np.subtract(1.0, zg, out=tmpH)
            np.multiply(tmpH, dh, out=tmpH)  # dĥ
            act.tanh_backward(hh, tmpH, dah, None)  # through tanh
            np.multiply(dah, HR[s], out=drr)
            act.sigmoid_backward_inplace(z[: 2 * h], d[: 2 * h], tmp2)  # through σ
            np.copyto(dr_[: 2 * h], d[: 2 * h])
            np.multiply(dah, rg, out=dr_[2 * h:])
            if s:
                np.multiply(dh, zg, out=dh)  # direct path h_prev → h
                np.matmul(R.T, dr_, out=tmpH)
                np.add(dh, tmpH, out=dh)
        return self._param_grads(dZ, dHR, Hs)
