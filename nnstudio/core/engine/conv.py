"""2-D convolution over channels-first images ``(N, C, H, W)`` (ONNX's layout).

Output size and padding (the same rules in :mod:`~nnstudio.core.engine.pooling`), per
spatial axis with input size ``n``, kernel ``k`` and stride ``s``:

* ``valid``: no padding, ``out = (n − k) // s + 1`` (needs ``k ≤ n``).
* ``same``: ``out = ceil(n / s)``; ``pad = max((out − 1)·s + k − n, 0)`` zeros in total,
  ``pad // 2`` before and ``pad − pad // 2`` after (the extra one, for an even kernel, goes
  after: TensorFlow's ``SAME`` and ONNX's ``auto_pad="SAME_UPPER"``). An ONNX export writes
  the explicit ``pads = [top, left, bottom, right]`` from :func:`same_padding`.

Parameters: ``W (filters, C / groups, kh, kw)`` and ``b (filters,)``, like ONNX ``Conv``.
``dilation_rate`` spreads the kernel taps ``d`` pixels apart (the window spans
``d·(k − 1) + 1`` pixels, which is the ``k`` of the size rules above); ``groups`` splits the
channels into ``g`` groups convolved separately (each filter sees ``C / g`` channels; ``g = C``
is a depthwise convolution, :class:`DepthwiseConv2D` sets it from the input).

How it runs (one BLAS matmul per pass, no ``np.add.at`` and no ``einsum``). A shallow window
(``C·kh·kw < 32``, the first layer on images) runs batch-major: ``cols (N, C·kh·kw, Ho·Wo)``
is copied from the input as it is and ``W @ cols[n]`` for all samples lands in the
``(N, F, Ho, Wo)`` output directly (see ``_forward_per_sample``). A deeper window: the input is
copied once, channel-major, into a zero-padded buffer ``(C, N, Hp, Wp)``; ``kh·kw`` strided
slice copies build the column matrix ``(C·kh·kw, N·Ho·Wrow)``; ``W (F, C·kh·kw) @ cols``
gives every output at once; the bias is added and the result copied back to ``(N, F, Ho, Wo)``.
With stride 1 the columns are taken from the *flattened* padded image, so each copy is a
long contiguous run and every output row is computed over the full padded width ``Wp``
(``Wrow = Wp``); the ``Wp − Wo`` extra columns are thrown away and their gradient is zero.
With a larger stride ``Wrow = Wo`` and the slices are strided in both axes. The backward
pass is the mirror image: ``dW = dY @ colsᵀ``, ``db = dY @ 1``, ``dcols = Wᵀ @ dY`` and
``kh·kw`` strided slice additions (col2im) into a padded gradient buffer.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.initializers import INITIALIZERS, fans, initialize
from nnstudio.core.engine.layer import Buffers, FilledBuffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError


def fmt_shape(shape: Shape) -> str:
    """``(1, 28, 28)``, ``(784,)``: how messages show a per-sample shape."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def output_size(n: int, k: int, s: int, padding: str) -> int:
    """Output length of one spatial axis (see the module docstring)."""
    if padding == "same":
        return -(-n // s)
    return (n - k) // s + 1


def same_padding(n: int, k: int, s: int) -> tuple[int, int]:
    """``(before, after)`` zero padding of one axis for ``padding="same"``."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def spatial_plan(layer: Layer, shape: Shape, kernel: tuple[int, int], strides: tuple[int, int],
                 padding: str, what: str, dilation: tuple[int, int] = (1, 1),
                 ) -> tuple[int, int, int, int, int, int]:
    """Check an image input and return ``(Ho, Wo, top, bottom, left, right)``.

    ``what`` names the window in messages (``"kernel"``, ``"pool"``); a ``dilation`` spreads
    the window to ``d·(k − 1) + 1`` pixels.
    """
    if len(shape) != 3:
        extra = (
            " (a single-channel image (H, W) needs a channel axis: Reshape to (1, H, W))"
            if len(shape) == 2 else ""
        )
        raise ShapeError(
            f"needs images (C, H, W) but gets {fmt_shape(shape)}{extra}; add a Reshape layer "
            "before it",
            layer.where,
        )
    _, h, w = shape
    kh, kw = dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1
    sh, sw = strides
    if padding == "valid" and (kh > h or kw > w):
        raise ShapeError(f"{what} {kh}x{kw} is larger than its {h}x{w} input", layer.where)
    ho, wo = output_size(h, kh, sh, padding), output_size(w, kw, sw, padding)
    if padding == "same":
        top, bottom = same_padding(h, kh, sh)
        left, right = same_padding(w, kw, sw)
    else:
        top = bottom = left = right = 0
    return ho, wo, top, bottom, left, right


@register
class Conv2D(Layer):
    """2-D convolution (cross-correlation, like every framework): ``y = W ⋆ x + b``.

    Input ``(N, C, H, W)``, output ``(N, filters, Ho, Wo)``; ``W`` is
    ``(filters, C, kh, kw)`` and ``b`` ``(filters,)``. See the module docstring for the
    output size and the ``same`` padding.
    """

    type_name = "Conv2D"
    category = "Convolution & pooling"
    summary = "y = W ⋆ x + b — slides small learned filters over the image, one map per filter"
    settings = (
        Setting("filters", "int", 16, minimum=1, maximum=100_000, help="number of output maps"),
        Setting("kernel_size", "pair", [3, 3], minimum=1, maximum=1000,
                help="filter height and width"),
        Setting("strides", "pair", [1, 1], minimum=1, maximum=1000, help="step between windows"),
        Setting("padding", "choice", "valid", choices=("valid", "same"),
                help="valid: no padding; same: zero-pad so that out = ceil(in / stride)"),
        Setting("use_bias", "bool", True, help="add a learned bias per filter"),
        Setting("kernel_initializer", "choice", "glorot_uniform", choices=INITIALIZERS),
        Setting("bias_initializer", "choice", "zeros", choices=INITIALIZERS),
        Setting("dilation_rate", "pair", [1, 1], minimum=1, maximum=1000,
                help="spacing between kernel taps (1 = an ordinary, dense kernel)"),
        Setting("groups", "int", 1, minimum=1, maximum=100_000,
                help="split channels into groups convolved separately (divides both)"),
    )

    #: Window depth ``C·kh·kw`` from which the forward product runs as ``colsᵀ @ Wᵀ``.
    transposed_from_k = 32

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        self._zbuf = FilledBuffers()
        self._per_sample = self._bias_row = False
        #: Set by the network when no input gradient is needed (the layer reads the Input).
        self.skip_input_grad = False

    def describe(self) -> str:
        kh, kw = self.config["kernel_size"]
        sh, sw = self.config["strides"]
        label = f"Conv2D {self.config['filters']} {kh}x{kw}"
        if (sh, sw) != (1, 1):
            label += f" stride {sh}" if sh == sw else f" stride {sh}x{sw}"
        if self.config["padding"] == "same":
            label += " same"
        dh, dw = self.config["dilation_rate"]
        if (dh, dw) != (1, 1):
            label += f" dilation {dh}" if dh == dw else f" dilation {dh}x{dw}"
        if self.config["groups"] != 1:
            label += f" groups {self.config['groups']}"
        return label

    def _plan(self, shape: Shape):
        return spatial_plan(
            self, tuple(shape), tuple(self.config["kernel_size"]), tuple(self.config["strides"]),
            self.config["padding"], "kernel", tuple(self.config["dilation_rate"]),
        )

    def _groups(self, shape: Shape) -> int:
        """The number of channel groups (checked: it divides channels and filters)."""
        g = self.config["groups"]
        if g != 1 and (shape[0] % g or self.config["filters"] % g):
            raise ShapeError(
                f"groups {g} must divide both the {shape[0]} input channels and the "
                f"{self.config['filters']} filters", self.where,
            )
        return g

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        ho, wo = self._plan(shape)[:2]
        self._groups(shape)
        return (self.config["filters"], ho, wo)

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        (shape,) = input_shapes
        if len(shape) != 3:
            self._plan(shape)  # raises the readable error
        kh, kw = self.config["kernel_size"]
        f = self.config["filters"]
        out = {"W": (f, shape[0] // self._groups(shape), kh, kw)}
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
    def _geometry(self, x: np.ndarray) -> tuple:
        n, c, h, w = x.shape
        kh, kw = self.config["kernel_size"]
        sh, sw = self.config["strides"]
        ho, wo, top, bottom, left, right = self._plan((c, h, w))
        hp, wp = h + top + bottom, w + left + right
        return n, c, h, w, kh, kw, sh, sw, ho, wo, top, left, hp, wp

    def _kernel2d(self, f: int, K: int) -> np.ndarray:
        """``W`` as the matmul operand: ``(F, K)``, or ``(g, F/g, K/g)`` with groups."""
        g = self.config["groups"]
        W = self.params["W"]
        return W.reshape(f, K) if g == 1 else W.reshape(g, f // g, K // g)

    def _forward(self, inputs, training):
        x = inputs[0]
        n, c, h, w, kh, kw, sh, sw, ho, wo, top, left, hp, wp = g = self._geometry(x)
        dh, dw = self.config["dilation_rate"]
        groups = self.config["groups"]
        dt = self.dtype
        f = self.config["filters"]
        K = c * kh * kw
        self._per_sample = groups == 1 and (self.transposed_from_k > K or self._pointwise(g))
        if self._per_sample:
            return self._forward_per_sample(x, g, training)
        wide = sh == 1 and sw == 1
        if wide:
            # Flat padded images with dw·(kw − 1) spare zeros at the end, so the last window
            # row may run past the image (into columns that are thrown away).
            xp = self._zbuf.get("xp", (c, n, hp * wp + dw * (kw - 1)), dt)
            xp[:, :, : hp * wp].reshape(c, n, hp, wp)[:, :, top:top + h, left:left + w] = (
                x.transpose(1, 0, 2, 3)
            )
            wrow = wp
            cols = self._buf.get("cols", (c, kh, kw, n, ho * wp), dt)
            span = ho * wp
            for i in range(kh):
                for j in range(kw):
                    o = i * dh * wp + j * dw
                    np.copyto(cols[:, i, j], xp[:, :, o:o + span])
        else:
            xp = self._zbuf.get("xp", (c, n, hp, wp), dt)
            xp[:, :, top:top + h, left:left + w] = x.transpose(1, 0, 2, 3)
            wrow = wo
            cols = self._buf.get("cols", (c, kh, kw, n, ho, wo), dt)
            for i in range(kh):
                for j in range(kw):
                    a, b = i * dh, j * dw
                    np.copyto(
                        cols[:, i, j],
                        xp[:, :, a:a + sh * (ho - 1) + 1:sh, b:b + sw * (wo - 1) + 1:sw],
                    )
        m = n * ho * wrow
        cols2 = cols.reshape(K, m)
        if groups == 1:
            # Yᵀ = colsᵀ @ Wᵀ, channels last: with a deep window (K = C·kh·kw ≥ 32; a shallow
            # one runs batch-major) OpenBLAS runs this orientation ≈ 1.4× faster than W @ cols.
            zt = self._buf.get("zt", (n, ho, wrow, f), dt)
            np.matmul(cols2.T, self.params["W"].reshape(f, K).T, out=zt.reshape(m, f))
            if "b" in self.params:
                np.add(zt, self.params["b"], out=zt)
            y = self._buf.get("y", (n, f, ho, wo), dt)
            np.copyto(y, zt[:, :, :wo].transpose(0, 3, 1, 2))
            if training:
                self._g, self._cols2, self._wrow = g, cols2, wrow
            return y
        # Groups: one product per group, (g, F/g, K/g) @ (g, K/g, M).
        z = self._buf.get("z", (f, n, ho, wrow), dt)
        cols2 = cols.reshape(groups, K // groups, m)
        np.matmul(self._kernel2d(f, K), cols2, out=z.reshape(groups, f // groups, m))
        if "b" in self.params:  # on the contiguous z: cheaper than during the transpose
            np.add(z, self.params["b"].reshape(f, 1, 1, 1), out=z)
        y = self._buf.get("y", (n, f, ho, wo), dt)
        np.copyto(y, z[:, :, :, :wo].transpose(1, 0, 2, 3))
        if training:
            self._g, self._cols2, self._wrow = g, cols2, wrow
        return y

    # -- a shallow window (K = C·kh·kw < 32: the first layer on images): batch-major ---------
    @staticmethod
    def _pointwise(g: tuple) -> bool:
        """A 1×1 window with stride 1 and no padding: ``cols`` would be a copy of the input."""
        _, _, h, w, kh, kw, sh, sw, _, _, _, _, hp, wp = g
        return kh == kw == sh == sw == 1 and hp == h and wp == w

    def _forward_per_sample(self, x: np.ndarray, g: tuple, training: bool) -> np.ndarray:
        """``Y[n] = W (F, K) @ cols[n] (K, Ho·Wo)`` for every sample in one batched product,
        with ``cols (N, C, kh, kw, Ho, Wo)`` copied from the (padded) input as it is: the
        product lands in the ``(N, F, Ho, Wo)`` output directly, and the backward pass reads
        ``dY`` as it comes. The channel-major path below needs a layout change of the input,
        of the output and of ``dY`` (three passes over maps of the batch); with a shallow
        window these cost more than the product (1.4–1.7× slower at MNIST / CIFAR sizes)."""
        n, c, h, w, kh, kw, sh, sw, ho, wo, top, left, hp, wp = g
        dh, dw = self.config["dilation_rate"]
        dt = self.dtype
        f = self.config["filters"]
        K = c * kh * kw
        # With a bias the columns get a last row of ones and W a last column b, so the
        # product adds the bias (and the backward product gives its gradient): no pass over
        # the output for it.
        self._bias_row = fold = "b" in self.params and not self._pointwise(g)
        if self._pointwise(g):  # a 1×1 window, stride 1: the columns are the input itself
            cols3 = x.reshape(n, c, h * w)
        else:
            if hp != h or wp != w:
                xp = self._zbuf.get("xp_s", (n, c, hp, wp), dt)
                xp[:, :, top:top + h, left:left + w] = x
            else:
                xp = x
            k1 = K + fold
            cols3 = self._zbuf.get("cols_s", (n, k1, ho * wo), dt, fill=1.0)  # row K stays 1
            cols = cols3[:, :K].reshape(n, c, kh, kw, ho, wo)
            for i in range(kh):
                for j in range(kw):
                    a, b = i * dh, j * dw
                    np.copyto(
                        cols[:, :, i, j],
                        xp[:, :, a:a + sh * (ho - 1) + 1:sh, b:b + sw * (wo - 1) + 1:sw],
                    )
        y = self._buf.get("y", (n, f, ho, wo), dt)
        if fold:
            wb = self._buf.get("Wb", (f, K + 1), dt)
            np.copyto(wb[:, :K], self.params["W"].reshape(f, K))
            np.copyto(wb[:, K], self.params["b"])
            np.matmul(wb, cols3, out=y.reshape(n, f, ho * wo))
        else:
            np.matmul(self.params["W"].reshape(f, K), cols3, out=y.reshape(n, f, ho * wo))
            if "b" in self.params:
                np.add(y, self.params["b"].reshape(f, 1, 1), out=y)
        if training:
            self._g, self._cols3 = g, cols3
        return y

    def _backward_per_sample(self, grad: np.ndarray) -> list:
        n, c, h, w, kh, kw, sh, sw, ho, wo, top, left, hp, wp = self._g
        dh, dw = self.config["dilation_rate"]
        dt = self.dtype
        f = self.config["filters"]
        K = c * kh * kw
        p = ho * wo
        dy = grad.reshape(n, f, p)
        # dW = Σ_n dY[n] @ cols[n]ᵀ: one batched product, then the sum over the batch (with
        # the row of ones, its last column is db).
        k1 = self._cols3.shape[1]
        per = self._buf.get("gW_s", (n, f, k1), dt)
        np.matmul(dy, self._cols3.transpose(0, 2, 1), out=per)
        if self._bias_row:
            total = self._buf.get("gWb", (f, k1), dt)
            np.sum(per, axis=0, out=total)
            np.copyto(self.grads["W"].reshape(f, K), total[:, :K])
            np.copyto(self.grads["b"], total[:, K])
        else:
            np.sum(per, axis=0, out=self.grads["W"].reshape(f, K))
        if "b" in self.grads and not self._bias_row:  # Σ over positions, then the batch
            ones_p = self._zbuf.get("ones_p", (p,), dt, fill=1.0)
            rows = self._buf.get("b_rows", (n, f), dt)
            np.matmul(dy, ones_p, out=rows)
            np.matmul(self._zbuf.get("ones_n", (n,), dt, fill=1.0), rows, out=self.grads["b"])
        if self.skip_input_grad:
            return [None]
        wt = self._buf.get("WT", (K, f), dt)
        np.copyto(wt, self.params["W"].reshape(f, K).T)  # a contiguous Wᵀ keeps it in BLAS
        if self._pointwise(self._g):
            dx = self._buf.get("dx", (n, c, h, w), dt)
            np.matmul(wt, dy, out=dx.reshape(n, c, h * w))
            return [dx]
        dcols = self._buf.get("dcols_s", (n, c, kh, kw, ho, wo), dt)
        np.matmul(wt, dy, out=dcols.reshape(n, K, p))
        padded = hp != h or wp != w
        dx = self._buf.get("dx", (n, c, h, w), dt)
        dxp = self._buf.get("dxp_s", (n, c, hp, wp), dt) if padded else dx
        dxp.fill(0.0)
        for i in range(kh):
            for j in range(kw):
                a, b = i * dh, j * dw
                window = dxp[:, :, a:a + sh * (ho - 1) + 1:sh, b:b + sw * (wo - 1) + 1:sw]
                window += dcols[:, :, i, j]
        if padded:
            np.copyto(dx, dxp[:, :, top:top + h, left:left + w])
        return [dx]

    def _backward(self, grad):
        if self._per_sample:
            return self._backward_per_sample(grad)
        n, c, h, w, kh, kw, sh, sw, ho, wo, top, left, hp, wp = self._g
        dh, dw = self.config["dilation_rate"]
        groups = self.config["groups"]
        dt = self.dtype
        f = self.config["filters"]
        K = c * kh * kw
        wrow = self._wrow
        m = n * ho * wrow
        # dY channel-major over the full row width; the extra columns stay zero.
        dz = self._zbuf.get("dz", (f, n, ho, wrow), dt)
        np.copyto(dz[:, :, :, :wo], grad.transpose(1, 0, 2, 3))
        dz2 = dz.reshape(f, m)
        if groups == 1:
            # dWᵀ = cols @ dYᵀ, then transposed: OpenBLAS runs this orientation of the skinny
            # product ≈ 1.3–1.5× faster than dY @ colsᵀ (measured at MNIST-CNN sizes).
            gwt = self._buf.get("gWT", (K, f), dt)
            np.matmul(self._cols2, dz2.T, out=gwt)
            np.copyto(self.grads["W"].reshape(f, K), gwt.T)
        else:
            dzg = dz.reshape(groups, f // groups, m)
            np.matmul(dzg, self._cols2.transpose(0, 2, 1),
                      out=self.grads["W"].reshape(groups, f // groups, K // groups))
        if "b" in self.grads:
            ones = self._zbuf.get("ones", (m,), dt, fill=1.0)
            np.matmul(dz2, ones, out=self.grads["b"])
        if self.skip_input_grad:
            return [None]
        dcols = self._buf.get("dcols", (K, m), dt)
        if groups == 1:
            np.matmul(self.params["W"].reshape(f, K).T, dz2, out=dcols)
        elif f == groups:
            # One filter per group (a depthwise convolution): each group's Wᵀ @ dY is an outer
            # product, which NumPy's matmul runs ≈ 7× slower than this broadcast multiply.
            np.multiply(self.params["W"].reshape(groups, K // groups, 1), dzg,
                        out=dcols.reshape(groups, K // groups, m))
        else:
            np.matmul(self._kernel2d(f, K).transpose(0, 2, 1), dzg,
                      out=dcols.reshape(groups, K // groups, m))
        dx = self._buf.get("dx", (n, c, h, w), dt)
        if sh == 1 and sw == 1:
            dxp = self._buf.get("dxp", (c, n, hp * wp + dw * (kw - 1)), dt)
            dxp.fill(0.0)
            dc = dcols.reshape(c, kh, kw, n, ho * wp)
            span = ho * wp
            for i in range(kh):
                for j in range(kw):
                    o = i * dh * wp + j * dw
                    dxp[:, :, o:o + span] += dc[:, i, j]
            inner = dxp[:, :, : hp * wp].reshape(c, n, hp, wp)
        else:
            dxp = self._buf.get("dxp", (c, n, hp, wp), dt)
            dxp.fill(0.0)
            dc = dcols.reshape(c, kh, kw, n, ho, wo)
            for i in range(kh):
                for j in range(kw):
                    a, b = i * dh, j * dw
                    dxp[:, :, a:a + sh * (ho - 1) + 1:sh, b:b + sw * (wo - 1) + 1:sw] += dc[:, i, j]
            inner = dxp
        np.copyto(dx, inner[:, :, top:top + h, left:left + w].transpose(1, 0, 2, 3))
        return [dx]

