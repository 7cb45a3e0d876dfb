"""nnstudio's layer types as PyTorch modules, and nnstudio's weight files.

Every class here computes what the nnstudio layer of the same name computes, on the same
arrays, so a network exported from nnstudio predicts what it predicted there. Where PyTorch's
own module already does exactly that the class is a thin subclass of it (``Dense`` is an
``nn.Linear``); where nnstudio differs (asymmetric "same" padding, batch-norm running
variance, the gate order of recurrent layers) the difference is written out here.

Shapes are per sample without the batch axis in the constructors and with it at run time:
images ``(N, C, H, W)``, sequences ``(N, T, F)``, features ``(N, F)``. The sequence and text
layers (embeddings, attention, Conv1D, …) are in ``nnstudio_sequence.py``.

Weights are exchanged in nnstudio's layout (see ``load_nnstudio``/``nnstudio_arrays`` of each
module): ``Dense`` ``W (F, units)``; ``Conv2D`` ``W (filters, C / groups, kh, kw)``;
``Conv2DTranspose`` ``W (C, filters, kh, kw)``; ``PReLU`` ``alpha``; recurrent layers in
ONNX's layout ``W (G*H, F)``, ``R (G*H, H)``, ``b = [Wb, Rb]`` with gates LSTM i,o,f,c and
GRU z,r,h. ``load_weights``/``save_weights`` read and write ``.npz`` files with one array per
``"<node id>/<name>"`` (never pickled), the format nnstudio itself reads.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn


def _as(a, like: torch.Tensor) -> torch.Tensor:
    """A NumPy array as a tensor of ``like``'s dtype and device."""
    return torch.as_tensor(np.asarray(a), dtype=like.dtype, device=like.device)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).numpy().copy()


class Layer:
    """Mixin of every module below: exchange of weights in nnstudio's layout."""

    def load_nnstudio(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy nnstudio's arrays (``{"W": ..., "b": ...}``) into this module's tensors."""

    def nnstudio_arrays(self) -> dict[str, np.ndarray]:
        """This module's tensors in nnstudio's layout, float32."""
        return {}

    def kernels(self) -> list[nn.Parameter]:
        """The parameters weight decay applies to (nnstudio's ``W`` and ``R``)."""
        return []


# -- no parameters ---------------------------------------------------------------------------

class Input(Layer, nn.Identity):
    """Where the prepared sample enters."""


class Linear(Layer, nn.Identity):
    """The identity activation (the output of a regression)."""


class Output(Layer, nn.Identity):
    """The end of a branch: names the target it predicts; the values pass through."""


class Dropout(Layer, nn.Dropout):
    """Inverted dropout, as in nnstudio (PyTorch draws its own masks)."""


class ReLU(Layer, nn.ReLU):
    pass


class Sigmoid(Layer, nn.Sigmoid):
    pass


class Tanh(Layer, nn.Tanh):
    pass


class LeakyReLU(Layer, nn.LeakyReLU):
    pass


class Softmax(Layer, nn.Softmax):
    """Softmax over the last axis."""

    def __init__(self):
        super().__init__(dim=-1)


class Flatten(Layer, nn.Module):
    """``(N, ...)`` → ``(N, prod(...))``, row-major."""

    def forward(self, x):
        return x.flatten(1)


class Reshape(Layer, nn.Module):
    """``(N, ...)`` → ``(N, *shape)``, row-major (the ``-1`` already resolved)."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self):
        return f"shape={self.shape}"


class Add(Layer, nn.Module):
    """Element-wise sum of the inputs, in the order of the incoming edges."""

    def forward(self, *xs):
        y = xs[0] + xs[1]
        for x in xs[2:]:
            y = y + x
        return y


class Concatenate(Layer, nn.Module):
    """Joins the inputs along ``dim`` (an axis of the batched tensor)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, *xs):
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Multiply(Layer, nn.Module):
    """Element-wise product of the inputs, in the order of the incoming edges."""

    def forward(self, *xs):
        y = xs[0] * xs[1]
        for x in xs[2:]:
            y = y * x
        return y


class Average(Layer, nn.Module):
    """Element-wise mean: the sum times ``1/k`` (nnstudio multiplies by the reciprocal)."""

    def forward(self, *xs):
        y = xs[0] + xs[1]
        for x in xs[2:]:
            y = y + x
        return y * (1.0 / len(xs))


# -- smooth and parametric activations ---------------------------------------------------------

class GELU(Layer, nn.GELU):
    """``x·Φ(x)``, or with ``approximate`` the tanh form of BERT/GPT-2. (nnstudio computes
    Φ with a fit of relative error < 1.2e-7; PyTorch's erf is exact.)"""

    def __init__(self, approximate: bool = False):
        super().__init__(approximate="tanh" if approximate else "none")


class ELU(Layer, nn.ELU):
    """``x`` above zero, ``alpha·(eˣ − 1)`` at and below."""


class SiLU(Layer, nn.SiLU):
    """``x·σ(x)`` (Swish)."""


class Softplus(Layer, nn.Module):
    """``log(1 + eˣ)``, computed stably as ``logaddexp(0, x)`` (as nnstudio: no threshold)."""

    def forward(self, x):
        return torch.logaddexp(torch.zeros_like(x), x)


class PReLU(Layer, nn.Module):
    """``x`` above zero, ``alpha·x`` otherwise; ``alpha`` per channel (axis 1 of images
    ``(N, C, H, W)``, the last axis of features and sequences) or one shared value
    (``channels = 1``). nnstudio's array: ``alpha (channels,)``."""

    def __init__(self, channels: int, images: bool = False):
        super().__init__()
        self.alpha = nn.Parameter(torch.full((channels,), 0.25))
        self.images = bool(images)

    def forward(self, x):
        if self.alpha.numel() == 1:
            a = self.alpha.reshape((1,) * x.dim())
        elif self.images:
            a = self.alpha.reshape(1, -1, 1, 1)
        else:
            a = self.alpha.reshape((1,) * (x.dim() - 1) + (-1,))
        return torch.where(x > 0, x, a * x)

    def load_nnstudio(self, arrays):
        with torch.no_grad():
            self.alpha.copy_(_as(arrays["alpha"], self.alpha))

    def nnstudio_arrays(self):
        return {"alpha": _np(self.alpha)}

    def extra_repr(self):
        return f"{self.alpha.numel()}, images={self.images}"


# -- dense and normalization -------------------------------------------------------------------

class Dense(Layer, nn.Linear):
    """``y = x @ W + b``; PyTorch keeps ``weight = Wᵀ``."""

    def kernels(self):
        return [self.weight]

    def load_nnstudio(self, arrays):
        with torch.no_grad():
            self.weight.copy_(_as(arrays["W"], self.weight).T)
            if self.bias is not None:
                self.bias.copy_(_as(arrays["b"], self.bias))

    def nnstudio_arrays(self):
        out = {"W": _np(self.weight).T.copy()}
        if self.bias is not None:
            out["b"] = _np(self.bias)
        return out


class BatchNorm(Layer, nn.Module):
    """Batch normalization over features ``(N, F)``, sequences ``(N, T, F)`` (features
    last) or channels ``(N, C, H, W)``.

    As nnstudio: training normalizes with the batch mean and *biased* variance and updates
    ``running = momentum·running + (1 − momentum)·batch`` with that same variance (PyTorch's
    own BatchNorm stores the unbiased one and names the momentum the other way round).
    """

    def __init__(self, channels: int, momentum: float = 0.9, eps: float = 1e-5):
        super().__init__()
        self.momentum, self.eps = float(momentum), float(eps)
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x):
        # per-channel vectors broadcast as (1, F), (1, 1, F) for sequences, (1, C, 1, 1)
        shape = (1, 1, x.shape[2]) if x.dim() == 3 else (1, x.shape[1]) + (1,) * (x.dim() - 2)
        if self.training:
            dims = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[x.dim()]
            mean = x.mean(dims, keepdim=True)
            var = ((x - mean) ** 2).mean(dims, keepdim=True)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(m).add_((1 - m) * mean.reshape(-1))
                self.running_var.mul_(m).add_((1 - m) * var.reshape(-1))
        else:
            mean = self.running_mean.reshape(shape)
            var = self.running_var.reshape(shape)
        inv = torch.rsqrt(var + self.eps)
        return (x - mean) * (inv * self.gamma.reshape(shape)) + self.beta.reshape(shape)

    def load_nnstudio(self, arrays):
        with torch.no_grad():
            for name in ("gamma", "beta", "running_mean", "running_var"):
                t = getattr(self, name)
                t.copy_(_as(arrays[name], t))

    def nnstudio_arrays(self):
        return {n: _np(getattr(self, n)) for n in ("gamma", "beta", "running_mean", "running_var")}

    def extra_repr(self):
        return f"{self.gamma.numel()}, momentum={self.momentum}, eps={self.eps}"


# -- convolution and pooling ------------------------------------------------------------------

class Conv2D(Layer, nn.Conv2d):
    """2-D convolution; ``pads = (top, bottom, left, right)`` zeros first ("same" padding
    puts the odd one after, like TensorFlow and ONNX's SAME_UPPER, which PyTorch's
    symmetric ``padding`` cannot express). ``dilation`` spreads the taps, ``groups`` splits
    the channels (``groups = C`` is nnstudio's DepthwiseConv2D)."""

    def __init__(self, in_channels, filters, kernel_size, stride, pads=(0, 0, 0, 0), bias=True,
                 dilation=(1, 1), groups=1):
        super().__init__(in_channels, filters, tuple(kernel_size), tuple(stride),
                         dilation=tuple(dilation), groups=groups, bias=bias)
        self.pads = tuple(pads)

    def kernels(self):
        return [self.weight]

    def forward(self, x):
        top, bottom, left, right = self.pads
        if any(self.pads):
            x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)

    def load_nnstudio(self, arrays):
        with torch.no_grad():
            self.weight.copy_(_as(arrays["W"], self.weight))
            if self.bias is not None:
                self.bias.copy_(_as(arrays["b"], self.bias))

    def nnstudio_arrays(self):
        out = {"W": _np(self.weight)}
        if self.bias is not None:
            out["b"] = _np(self.bias)
        return out


class MaxPool2D(Layer, nn.Module):
    """Largest value of each window; "same" pads with −∞."""

    def __init__(self, pool_size, stride, pads=(0, 0, 0, 0)):
        super().__init__()
        self.pool_size, self.stride, self.pads = tuple(pool_size), tuple(stride), tuple(pads)

    def forward(self, x):
        top, bottom, left, right = self.pads
        if any(self.pads):
            x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
        return F.max_pool2d(x, self.pool_size, self.stride)

    def extra_repr(self):
        return f"pool_size={self.pool_size}, stride={self.stride}, pads={self.pads}"


class AvgPool2D(Layer, nn.Module):
    """Mean of each window; with "same" padding only the real pixels count."""

    def __init__(self, pool_size, stride, pads=(0, 0, 0, 0)):
        super().__init__()
        self.pool_size, self.stride, self.pads = tuple(pool_size), tuple(stride), tuple(pads)

    def forward(self, x):
        if not any(self.pads):
            return F.avg_pool2d(x, self.pool_size, self.stride)
        top, bottom, left, right = self.pads
        pad = (left, right, top, bottom)
        total = F.avg_pool2d(F.pad(x, pad), self.pool_size, self.stride)
        real = F.avg_pool2d(F.pad(torch.ones_like(x[:1, :1]), pad), self.pool_size, self.stride)
        return total / real

    def extra_repr(self):
        return f"pool_size={self.pool_size}, stride={self.stride}, pads={self.pads}"


class GlobalAvgPool2D(Layer, nn.Module):
    """Mean of each channel: ``(N, C, H, W)`` → ``(N, C)``."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


class GlobalMaxPool2D(Layer, nn.Module):
    """Largest value of each channel: ``(N, C, H, W)`` → ``(N, C)``; the gradient goes to the
    first maximum (row-major), as in nnstudio."""

    def forward(self, x):
        return x.flatten(2).max(dim=2).values


class UpSampling2D(Layer, nn.Module):
    """Each pixel repeated ``size = (sh, sw)`` times: ``(N, C, H, W)`` → ``(N, C, H·sh, W·sw)``."""

    def __init__(self, size):
        super().__init__()
        self.size = tuple(size)

    def forward(self, x):
        return x.repeat_interleave(self.size[0], dim=2).repeat_interleave(self.size[1], dim=3)

    def extra_repr(self):
        return f"size={self.size}"


class Conv2DTranspose(Layer, nn.Module):
    """Transposed convolution ``(N, C, H, W)`` → ``(N, filters, Ho, Wo)``.

    The full result ``((H − 1)·s + k)`` is cropped to ``out`` starting at ``crop`` on each axis
    after ``extra`` zero rows/columns are added at its end (nnstudio's "same": the smaller
    half of ``k − s`` cropped before; with ``k < s``, ``s − k`` zeros after); the bias is added
    last. ``W (C, filters, kh, kw)`` is PyTorch's own ``conv_transpose2d`` layout.
    """

    def __init__(self, in_channels, filters, kernel_size, stride, out=(0, 0), crop=(0, 0),
                 extra=(0, 0), bias=True):
        super().__init__()
        self.stride, self.out = tuple(stride), tuple(out)
        self.crop, self.extra = tuple(crop), tuple(extra)
        self.weight = nn.Parameter(torch.zeros(in_channels, filters, *kernel_size))
        self.bias = nn.Parameter(torch.zeros(filters)) if bias else None
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    def kernels(self):
        return [self.weight]

    def forward(self, x):
        y = F.conv_transpose2d(x, self.weight, None, self.stride)
        if any(self.extra):
            y = F.pad(y, (0, self.extra[1], 0, self.extra[0]))
        (top, left), (oh, ow) = self.crop, self.out
        y = y[:, :, top:top + oh, left:left + ow]
        if self.bias is not None:
            y = y + self.bias.reshape(1, -1, 1, 1)
        return y

    load_nnstudio = Conv2D.load_nnstudio
    nnstudio_arrays = Conv2D.nnstudio_arrays

    def extra_repr(self):
        return (f"{tuple(self.weight.shape)}, stride={self.stride}, out={self.out}, "
                f"crop={self.crop}, extra={self.extra}")


# -- recurrent ----------------------------------------------------------------------------------

class _Recurrent(Layer, nn.Module):
    """A one-layer ``batch_first`` PyTorch RNN reading ``(N, T, F)``, returning the last
    state ``(N, H)`` or every state ``(N, T, H)``.

    ``ORDER`` lists, for PyTorch's gate blocks in its order, the index of the same gate in
    nnstudio's (ONNX's) order.
    """

    TORCH: type[nn.RNNBase] = nn.RNN
    ORDER: tuple[int, ...] = (0,)

    def __init__(self, features: int, units: int, return_sequences: bool = False):
        super().__init__()
        self.rnn = self.TORCH(features, units, batch_first=True)
        self.units, self.return_sequences = units, bool(return_sequences)

    def forward(self, x):
        out, _ = self.rnn(x)
        return out if self.return_sequences else out[:, -1]

    def kernels(self):
        return [self.rnn.weight_ih_l0, self.rnn.weight_hh_l0]

    def _blocks(self, a: np.ndarray, order) -> np.ndarray:
        h = self.units
        return np.concatenate([a[k * h:(k + 1) * h] for k in order], axis=0)

    def load_nnstudio(self, arrays):
        g = len(self.ORDER)
        wb, rb = arrays["b"][: g * self.units], arrays["b"][g * self.units:]
        r = self.rnn
        with torch.no_grad():
            r.weight_ih_l0.copy_(_as(self._blocks(arrays["W"], self.ORDER), r.weight_ih_l0))
            r.weight_hh_l0.copy_(_as(self._blocks(arrays["R"], self.ORDER), r.weight_hh_l0))
            r.bias_ih_l0.copy_(_as(self._blocks(wb, self.ORDER), r.bias_ih_l0))
            r.bias_hh_l0.copy_(_as(self._blocks(rb, self.ORDER), r.bias_hh_l0))

    def nnstudio_arrays(self):
        back = tuple(int(i) for i in np.argsort(self.ORDER))  # nnstudio gate k ← torch block
        r = self.rnn
        wb = self._blocks(_np(r.bias_ih_l0), back)
        rb = self._blocks(_np(r.bias_hh_l0), back)
        return {"W": self._blocks(_np(r.weight_ih_l0), back),
                "R": self._blocks(_np(r.weight_hh_l0), back),
                "b": np.concatenate([wb, rb])}


class SimpleRNN(_Recurrent):
    """``h_t = tanh(x_t Wᵀ + h_{t−1} Rᵀ + Wb + Rb)``."""


class LSTM(_Recurrent):
    """LSTM; PyTorch's gates are i, f, g, o, nnstudio's (ONNX's) i, o, f, c."""

    TORCH = nn.LSTM
    ORDER = (0, 2, 3, 1)


class GRU(_Recurrent):
    """GRU with the reset gate applied after the recurrent product (PyTorch's form, ONNX's
    ``linear_before_reset = 1``); PyTorch's gates are r, z, n, nnstudio's z, r, h."""

    TORCH = nn.GRU
    ORDER = (1, 0, 2)


# -- weight files ---------------------------------------------------------------------------------

def load_weights(model: nn.Module, path: str | Path) -> None:
    """Copy an nnstudio ``.npz`` (``"<node id>/<name>"`` arrays) into ``model``.

    ``model.NODES`` maps node ids to attributes. A missing array or a wrong shape is a
    ``ValueError`` naming it.
    """
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if "/" in k}
    for node_id, attr in model.NODES.items():
        module = getattr(model, attr)
        mine = {k.split("/", 1)[1]: v for k, v in arrays.items()
                if k.split("/", 1)[0] == node_id}
        wanted = module.nnstudio_arrays()
        for name, like in wanted.items():
            if name not in mine:
                raise ValueError(f"{path}: no array {node_id + '/' + name!r}")
            if tuple(mine[name].shape) != like.shape:
                raise ValueError(f"{path}: array {node_id + '/' + name!r} has shape "
                                 f"{tuple(mine[name].shape)}, the model needs {like.shape}")
        if wanted:
            module.load_nnstudio(mine)


def weight_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """Every parameter and state array of ``model`` as ``{"<node id>/<name>": float32}``."""
    out = {}
    for node_id, attr in model.NODES.items():
        for name, a in getattr(model, attr).nnstudio_arrays().items():
            out[f"{node_id}/{name}"] = a.astype(np.float32)
    return out


def save_weights(model: nn.Module, path: str | Path) -> None:
    """Write ``model``'s weights as an nnstudio ``.npz``, atomically (temp file, rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **weight_arrays(model))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
