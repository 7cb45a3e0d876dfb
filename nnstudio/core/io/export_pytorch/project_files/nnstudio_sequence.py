"""nnstudio's sequence and text layer types as PyTorch modules (see ``nnstudio_layers.py``).

Sequences are ``(N, T, F)``, features last, as in nnstudio. Token ids arrive as the network's
input ``(N, T)`` in its float dtype; id 0 is padding.

The padding mask: an ``Embedding`` with ``mask_padding`` marks the real tokens of its input,
``padding_mask(ids) -> (N, T)`` bool (True = a real token). ``model.py`` computes it next to
the embedding and hands it to the layers downstream that read it in nnstudio
(``MultiHeadAttention``, ``GlobalAvgPool1D``, ``LastPosition``) as their ``mask`` argument;
without one every position counts.

Weights in nnstudio's layout: ``Embedding`` ``E (vocab, dim)``; ``PositionalEmbedding``
``P (length, D)`` (learned only); ``MultiHeadAttention`` ``Wqkv (D, 3·h·k)`` (queries of
head 0, 1, …, then keys, then values), ``bqkv``, ``Wo (h·k, D)``, ``bo``; ``LayerNorm``
``gamma``, ``beta``; ``Conv1D`` ``W (filters, F / groups, k)``; ``Bidirectional`` the two
directions of its recurrent layer stacked on a leading axis (0 forwards).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from nnstudio_layers import GRU, LSTM, Layer, SimpleRNN, _as, _np
from torch import nn

#: The token id of padding.
PAD_ID = 0
#: The score of a masked pair, as nnstudio adds it (its weight after the softmax is 0).
MASKED = -1e9


class _Params(Layer):
    """Parameters kept in nnstudio's layout under nnstudio's names (``NAMES``)."""

    NAMES: tuple[str, ...] = ()

    def load_nnstudio(self, arrays):
        with torch.no_grad():
            for name in self.NAMES:
                t = getattr(self, name, None)
                if t is not None:
                    t.copy_(_as(arrays[name], t))

    def nnstudio_arrays(self):
        return {n: _np(getattr(self, n)) for n in self.NAMES
                if getattr(self, n, None) is not None}


# -- tokens and positions ---------------------------------------------------------------------

class Embedding(_Params, nn.Module):
    """``ids (N, T)`` → ``E[ids] (N, T, dim)``. With ``mask_padding`` id 0 is a zero vector that
    receives no gradient, and :meth:`padding_mask` gives the mask of the real tokens."""

    NAMES = ("E",)

    def __init__(self, vocab_size: int, dim: int, mask_padding: bool = True):
        super().__init__()
        self.E = nn.Parameter(torch.randn(vocab_size, dim))
        self.mask_padding = bool(mask_padding)
        if self.mask_padding:
            with torch.no_grad():
                self.E[PAD_ID] = 0.0

    def forward(self, x):
        return F.embedding(x.long(), self.E, padding_idx=PAD_ID if self.mask_padding else None)

    def padding_mask(self, x):
        """``(N, T)`` bool, True at real tokens; None without ``mask_padding``."""
        return x.long() != PAD_ID if self.mask_padding else None

    def extra_repr(self):
        return f"{tuple(self.E.shape)}, mask_padding={self.mask_padding}"


def sinusoids(t: int, d: int) -> np.ndarray:
    """``(t, d)`` float64 positions: sin on even features, cos on odd ones (as nnstudio)."""
    pos = np.arange(t, dtype=np.float64)[:, None]
    angle = pos / np.power(10000.0, np.arange(0, d, 2, dtype=np.float64) / d)
    out = np.zeros((t, d))
    out[:, 0::2] = np.sin(angle)
    out[:, 1::2] = np.cos(angle[:, : d // 2])
    return out


class PositionalEmbedding(_Params, nn.Module):
    """``y[n, t] = x[n, t] + P[t]``: ``P (length, D)`` learned, or fixed sinusoids."""

    NAMES = ("P",)

    def __init__(self, length: int, dim: int, learned: bool = True):
        super().__init__()
        if learned:
            self.P = nn.Parameter(torch.randn(length, dim) * 0.02)
        else:
            self.P = None
            self.register_buffer("table", torch.as_tensor(sinusoids(length, dim)),
                                 persistent=False)

    def forward(self, x):
        t = x.shape[1]
        if self.P is not None:
            return x + self.P[:t]
        # nnstudio rounds the float64 table to the network's dtype
        return x + self.table[:t].to(x.dtype)


# -- attention, normalization ------------------------------------------------------------------

class MultiHeadAttention(_Params, nn.Module):
    """Self-attention ``(N, T, D)`` → ``(N, T, D)`` with ``heads`` heads of ``key_dim``.

    ``[Q | K | V] = x·Wqkv + bqkv``; per head ``softmax(Q·Kᵀ/√k + masks)·V``; heads side by
    side, then ``·Wo + bo``. The masks add −1e9 to a later position's score (``causal``) and
    to a padding token's (``mask`` from the Embedding), as nnstudio does; dropout on the
    attention weights while training.
    """

    NAMES = ("Wqkv", "bqkv", "Wo", "bo")

    def __init__(self, dim: int, heads: int, key_dim: int, causal: bool = False,
                 dropout: float = 0.0, bias: bool = True):
        super().__init__()
        hk = heads * key_dim
        self.heads, self.key_dim, self.causal, self.dropout = heads, key_dim, bool(causal), dropout
        self.Wqkv = nn.Parameter(torch.empty(dim, 3 * hk))
        self.Wo = nn.Parameter(torch.empty(hk, dim))
        for w in (self.Wqkv, self.Wo):
            nn.init.xavier_uniform_(w)
        self.bqkv = nn.Parameter(torch.zeros(3 * hk)) if bias else None
        self.bo = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x, mask=None):
        n, t, _ = x.shape
        h, k = self.heads, self.key_dim
        qkv = x @ self.Wqkv
        if self.bqkv is not None:
            qkv = qkv + self.bqkv
        qkv = qkv.reshape(n, t, 3, h, k).permute(2, 0, 3, 1, 4)  # (3, N, h, T, k)
        q, key, v = qkv[0] * (1.0 / math.sqrt(k)), qkv[1], qkv[2]
        scores = q @ key.transpose(-1, -2)  # (N, h, T, T)
        # −1e9 as nnstudio; float16 (--amp) cannot hold it: its most negative number instead
        masked = max(MASKED, torch.finfo(scores.dtype).min)
        if self.causal:
            later = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores + torch.where(later, masked, 0.0).to(scores.dtype)
        if mask is not None:
            scores = scores + torch.where(~mask[:, None, None, :], masked, 0.0).to(scores.dtype)
        a = torch.softmax(scores, dim=-1)
        a = F.dropout(a, self.dropout, self.training)
        o = (a @ v).transpose(1, 2).reshape(n, t, h * k)
        y = o @ self.Wo
        return y + self.bo if self.bo is not None else y

    def extra_repr(self):
        return (f"heads={self.heads}, key_dim={self.key_dim}, causal={self.causal}, "
                f"dropout={self.dropout}")


class LayerNorm(_Params, nn.Module):
    """Normalization over the last axis with the biased variance; ``gamma``, ``beta``."""

    NAMES = ("gamma", "beta")

    def __init__(self, features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = float(eps)
        self.gamma = nn.Parameter(torch.ones(features))
        self.beta = nn.Parameter(torch.zeros(features))

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.gamma, self.beta, self.eps)

    def extra_repr(self):
        return f"{self.gamma.numel()}, eps={self.eps}"


# -- one vector per sequence --------------------------------------------------------------------

class GlobalAvgPool1D(Layer, nn.Module):
    """``(N, T, D)`` → ``(N, D)``: the mean over the real tokens (``mask``), or all positions."""

    def forward(self, x, mask=None):
        if mask is None:
            return x.mean(dim=1)
        w = mask.to(x.dtype)
        w = w / w.sum(dim=1, keepdim=True).clamp_min(1.0)
        return (w[:, :, None] * x).sum(dim=1)


class LastPosition(Layer, nn.Module):
    """``(N, T, D)`` → ``(N, D)``: the vector at the last real token (``mask``; a sequence of
    padding only takes position 0), or at the last position."""

    def forward(self, x, mask=None):
        n, t = x.shape[:2]
        if mask is None:
            return x[:, -1]
        steps = torch.arange(1, t + 1, device=x.device)
        last = (mask.long() * steps).amax(dim=1) - 1
        return x[torch.arange(n, device=x.device), last.clamp_min(0)]


# -- convolution and pooling along the steps ------------------------------------------------------

class Conv1D(Layer, nn.Conv1d):
    """Convolution along ``T`` of ``(N, T, F)`` → ``(N, To, filters)``: ``pads = (before,
    after)`` zero steps ("same": the odd one after; "causal": ``dilation·(k − 1)`` before).
    ``W (filters, F / groups, k)`` is PyTorch's own layout."""

    def __init__(self, features, filters, kernel_size, stride=1, pads=(0, 0), dilation=1,
                 groups=1, bias=True):
        super().__init__(features, filters, kernel_size, stride, dilation=dilation,
                         groups=groups, bias=bias)
        self.pads = tuple(pads)

    def kernels(self):
        return [self.weight]

    def forward(self, x):
        x = x.transpose(1, 2)
        if any(self.pads):
            x = F.pad(x, self.pads)
        return super().forward(x).transpose(1, 2)

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


class MaxPool1D(Layer, nn.Module):
    """Largest value of each feature in windows of steps; "same" pads with −∞."""

    def __init__(self, pool_size: int, stride: int, pads=(0, 0)):
        super().__init__()
        self.pool_size, self.stride, self.pads = pool_size, stride, tuple(pads)

    def forward(self, x):
        x = x.transpose(1, 2)
        if any(self.pads):
            x = F.pad(x, self.pads, value=float("-inf"))
        return F.max_pool1d(x, self.pool_size, self.stride).transpose(1, 2)

    def extra_repr(self):
        return f"pool_size={self.pool_size}, stride={self.stride}, pads={self.pads}"


class AvgPool1D(Layer, nn.Module):
    """Mean of each feature in windows of steps; with "same" padding only real steps count."""

    def __init__(self, pool_size: int, stride: int, pads=(0, 0)):
        super().__init__()
        self.pool_size, self.stride, self.pads = pool_size, stride, tuple(pads)

    def forward(self, x):
        x = x.transpose(1, 2)
        if not any(self.pads):
            return F.avg_pool1d(x, self.pool_size, self.stride).transpose(1, 2)
        total = F.avg_pool1d(F.pad(x, self.pads), self.pool_size, self.stride)
        real = F.avg_pool1d(F.pad(torch.ones_like(x[:1, :1]), self.pads), self.pool_size,
                            self.stride)
        return (total / real).transpose(1, 2)

    def extra_repr(self):
        return f"pool_size={self.pool_size}, stride={self.stride}, pads={self.pads}"


# -- reordering, two directions ----------------------------------------------------------

class Permute(Layer, nn.Module):
    """Reorders the sample axes: ``dims`` numbers them from 1, the batch axis stays first."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x):
        return x.permute(0, *self.dims)

    def extra_repr(self):
        return f"dims={self.dims}"


class Bidirectional(Layer, nn.Module):
    """A recurrent layer (``"LSTM"``, ``"GRU"``, ``"SimpleRNN"``) reading ``(N, T, F)``
    forwards and a second one reading it backwards; outputs joined (``"concat"``, ``2H``) or
    added (``"sum"``). The last states are the forward one after step ``T − 1`` and the
    backward one after step 0; with ``return_sequences`` both are aligned to the input's steps.
    """

    KINDS = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}

    def __init__(self, layer: str, features: int, units: int, return_sequences: bool = False,
                 merge_mode: str = "concat"):
        super().__init__()
        cls = self.KINDS[layer]
        self.forward_rnn = cls(features, units, return_sequences)
        self.backward_rnn = cls(features, units, return_sequences)
        self.return_sequences, self.merge_mode = bool(return_sequences), merge_mode

    def forward(self, x):
        yf = self.forward_rnn(x)
        yb = self.backward_rnn(x.flip(1))
        if self.return_sequences:
            yb = yb.flip(1)
        return torch.cat([yf, yb], dim=-1) if self.merge_mode == "concat" else yf + yb

    def kernels(self):
        return self.forward_rnn.kernels() + self.backward_rnn.kernels()

    def load_nnstudio(self, arrays):
        for d, rnn in enumerate((self.forward_rnn, self.backward_rnn)):
            rnn.load_nnstudio({k: v[d] for k, v in arrays.items()})

    def nnstudio_arrays(self):
        fw, bw = self.forward_rnn.nnstudio_arrays(), self.backward_rnn.nnstudio_arrays()
        return {k: np.stack([fw[k], bw[k]]) for k in fw}

    def extra_repr(self):
        return f"merge_mode={self.merge_mode!r}"
