"""Parity of the sequence layers with PyTorch, in float64: forward outputs and gradients.

Usage::

    .venv/bin/python benchmarks/attention_parity.py

Compares, on random shapes and weights copied across, nnstudio's ``Embedding`` (padding id 0)
with ``nn.Embedding(padding_idx=0)``, ``LayerNorm`` with ``nn.LayerNorm``, ``Dense`` on a
sequence with ``nn.Linear``, ``MultiHeadAttention`` with ``nn.MultiheadAttention``
(``batch_first``; without a mask, with the causal mask, with a key padding mask) and the
per-position cross-entropy (ignored positions) with ``F.cross_entropy(ignore_index=-1)``.
For each: the largest relative difference ``max|ours − torch| / max|torch|`` over the output,
the input gradient and every parameter gradient. Exits 1 if any exceeds 1e-5.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from nnstudio.core.engine import get_loss
from nnstudio.core.engine.attention import MultiHeadAttention
from nnstudio.core.engine.core_layers import Dense
from nnstudio.core.engine.embedding import Embedding
from nnstudio.core.engine.norm import LayerNorm

torch.set_default_dtype(torch.float64)
LIMIT = 1e-5


def attach(layer, in_shape, seed=0):
    """float64 parameter/gradient views for a single layer, initialized from ``seed``."""
    layer.dtype = np.dtype(np.float64)
    for name, shape in layer.param_shapes([in_shape]).items():
        layer.params[name] = np.zeros(shape)
        layer.grads[name] = np.zeros(shape)
    layer.init_params([in_shape], np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    for p in layer.params.values():  # non-trivial biases and scales
        p += rng.normal(0, 0.1, p.shape)
    return layer


def rel(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b.detach().numpy() if torch.is_tensor(b) else b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


class MaskSource:
    """Stands in for an Embedding that publishes a padding mask."""

    def __init__(self, mask):
        self.mask = mask


def check_embedding(rng) -> dict[str, float]:
    v, d, n, t = 13, 6, 4, 9
    ours = attach(Embedding("e", vocab_size=v, dim=d), (t,))
    ids = rng.integers(0, v, (n, t))
    ids[:, -2:] = 0
    ref = torch.nn.Embedding(v, d, padding_idx=0)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.params["E"]))
    G = rng.normal(size=(n, t, d))
    y = ours.forward([ids.astype(np.float64)], True)
    ours.backward(G)
    yt = ref(torch.from_numpy(ids))
    (yt * torch.from_numpy(G)).sum().backward()
    return {"output": rel(y, yt), "dE": rel(ours.grads["E"], ref.weight.grad)}


def check_layernorm(rng) -> dict[str, float]:
    n, t, d = 3, 5, 7
    ours = attach(LayerNorm("ln"), (t, d))
    ref = torch.nn.LayerNorm(d, eps=1e-5)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.params["gamma"]))
        ref.bias.copy_(torch.from_numpy(ours.params["beta"]))
    x = rng.normal(size=(n, t, d)) * 3 + 1
    G = rng.normal(size=(n, t, d))
    y = ours.forward([x], True)
    dx = ours.backward(G)[0]
    xt = torch.from_numpy(x).requires_grad_()
    yt = ref(xt)
    (yt * torch.from_numpy(G)).sum().backward()
    return {"output": rel(y, yt), "dx": rel(dx, xt.grad), "dgamma": rel(
        ours.grads["gamma"], ref.weight.grad), "dbeta": rel(ours.grads["beta"], ref.bias.grad)}


def check_dense(rng) -> dict[str, float]:
    n, t, f, u = 3, 5, 4, 6
    ours = attach(Dense("d", units=u), (t, f))
    ref = torch.nn.Linear(f, u)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.params["W"].T))
        ref.bias.copy_(torch.from_numpy(ours.params["b"]))
    x = rng.normal(size=(n, t, f))
    G = rng.normal(size=(n, t, u))
    y = ours.forward([x], True)
    dx = ours.backward(G)[0]
    xt = torch.from_numpy(x).requires_grad_()
    (ref(xt) * torch.from_numpy(G)).sum().backward()
    return {"output": rel(y, ref(xt)), "dx": rel(dx, xt.grad),
            "dW": rel(ours.grads["W"], ref.weight.grad.T), "db": rel(ours.grads["b"],
                                                                    ref.bias.grad)}


def check_attention(rng, causal: bool, padding: bool) -> dict[str, float]:
    n, t, d, h = 3, 8, 12, 4
    ours = attach(MultiHeadAttention("a", heads=h, causal=causal), (t, d))
    valid = np.ones((n, t), bool)
    if padding:
        valid[0, 5:] = False
        valid[2, 2:] = False
        ours.mask_from = MaskSource(valid)
    ref = torch.nn.MultiheadAttention(d, h, bias=True, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.from_numpy(ours.params["Wqkv"].T))
        ref.in_proj_bias.copy_(torch.from_numpy(ours.params["bqkv"]))
        ref.out_proj.weight.copy_(torch.from_numpy(ours.params["Wo"].T))
        ref.out_proj.bias.copy_(torch.from_numpy(ours.params["bo"]))
    x = rng.normal(size=(n, t, d))
    G = rng.normal(size=(n, t, d))
    y = ours.forward([x], True)
    dx = ours.backward(G)[0]
    xt = torch.from_numpy(x).requires_grad_()
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if causal else None
    kpm = torch.from_numpy(~valid) if padding else None
    yt, wt = ref(xt, xt, xt, attn_mask=mask, key_padding_mask=kpm, need_weights=True,
                 average_attn_weights=False)
    (yt * torch.from_numpy(G)).sum().backward()
    return {"output": rel(y, yt), "weights": rel(ours.weights, wt), "dx": rel(dx, xt.grad),
            "dWqkv": rel(ours.grads["Wqkv"], ref.in_proj_weight.grad.T),
            "dbqkv": rel(ours.grads["bqkv"], ref.in_proj_bias.grad),
            "dWo": rel(ours.grads["Wo"], ref.out_proj.weight.grad.T),
            "dbo": rel(ours.grads["bo"], ref.out_proj.bias.grad)}


def check_sequence_loss(rng) -> dict[str, float]:
    n, t, v = 4, 6, 9
    z = rng.normal(size=(n, t, v)) * 2
    y = rng.integers(0, v, (n, t))
    y[0, 3:] = -1
    y[3, :2] = -1
    loss = get_loss("cross_entropy")
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    value = loss.fused_value(z, y)
    g = loss.fused_grad(p, y)
    zt = torch.from_numpy(z).requires_grad_()
    lt = F.cross_entropy(zt.reshape(-1, v), torch.from_numpy(y).reshape(-1), ignore_index=-1)
    lt.backward()
    return {"loss": rel(value, lt), "dlogits": rel(g, zt.grad)}


def main() -> int:
    rng = np.random.default_rng(0)
    checks = {
        "Embedding vs nn.Embedding(padding_idx=0)": check_embedding(rng),
        "LayerNorm vs nn.LayerNorm": check_layernorm(rng),
        "Dense on (N, T, F) vs nn.Linear": check_dense(rng),
        "MultiHeadAttention vs nn.MultiheadAttention": check_attention(rng, False, False),
        "  … causal mask": check_attention(rng, True, False),
        "  … key padding mask": check_attention(rng, False, True),
        "  … causal + key padding": check_attention(rng, True, True),
        "per-position cross-entropy vs F.cross_entropy(ignore_index)": check_sequence_loss(rng),
    }
    worst = 0.0
    for name, diffs in checks.items():
        top = max(diffs.values())
        worst = max(worst, top)
        detail = ", ".join(f"{k} {v:.1e}" for k, v in diffs.items())
        print(f"{name:58s} max rel diff {top:.2e}  ({detail})")
    print(f"largest relative difference: {worst:.2e} (limit {LIMIT:g}) -> "
          f"{'OK' if worst <= LIMIT else 'FAIL'}")
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
