"""Parity of the layers added with issue 15 against PyTorch, in float64.

Usage::

    .venv/bin/python benchmarks/parity_new_layers_torch.py [--tol 1e-5]

For every case one of our layers and the matching PyTorch computation get the same weights
and the same random input; the script compares the outputs, the gradient with respect to the
input and the gradients with respect to every parameter, for an upstream gradient ``G``
(``L = Σ y ⊙ G``). Errors are relative: ``max |ours − torch| / max |torch|``. Exit status 1
when any exceeds ``--tol``.

Layout differences handled here (not in the engine): our sequences are ``(N, T, F)`` and
PyTorch's 1-D ops want ``(N, F, T)``; our LSTM gate order is ONNX's i, o, f, c (PyTorch: i, f,
g, o) and our GRU's z, r, h (PyTorch: r, z, n); our ``same`` padding may be uneven (the extra
zero after), which PyTorch's ``padding=`` cannot express, so inputs are padded with
``F.pad`` first. BatchNorm is compared in training mode (batch statistics).

Needs ``pip install torch==2.13.0`` (benchmarks only).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
import torch.nn.functional as F  # noqa: N812  (the usual PyTorch spelling)

from nnstudio.core.engine import LAYERS
from nnstudio.core.engine.conv import same_padding


def build(kind: str, cfg: dict, shapes: list[tuple], rng) -> object:
    """Our layer in float64 with parameters drawn from N(0, 0.5²) (BatchNorm: γ, β too)."""
    layer = LAYERS[kind]("l", **cfg)
    layer.dtype = np.dtype(np.float64)
    for name, shape in layer.param_shapes(shapes).items():
        layer.params[name] = rng.normal(0, 0.5, shape)
        layer.grads[name] = np.zeros(shape)
    for name, shape in layer.state_shapes(shapes).items():
        layer.state[name] = np.zeros(shape) if "mean" in name else np.ones(shape)
    return layer


def t(a) -> torch.Tensor:
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64, requires_grad=True)


def _pad2d(x, layer, kernel, strides, dilation=(1, 1)):
    if layer.config.get("padding") != "same":
        return x
    kh = dilation[0] * (kernel[0] - 1) + 1
    kw = dilation[1] * (kernel[1] - 1) + 1
    top, bottom = same_padding(x.shape[2], kh, strides[0])
    left, right = same_padding(x.shape[3], kw, strides[1])
    return F.pad(x, (left, right, top, bottom))


def _pad1d(x, layer, k, s, d=1, value=0.0):
    """x (N, F, T): the engine's same/causal padding of the time axis."""
    span = d * (k - 1) + 1
    pad = layer.config.get("padding")
    if pad == "same":
        return F.pad(x, same_padding(x.shape[2], span, s), value=value)
    if pad == "causal":
        return F.pad(x, (span - 1, 0), value=value)
    return x


def _gates(a: torch.Tensor, kind: str, h: int) -> torch.Tensor:
    """Our gate blocks (rows) reordered to PyTorch's."""
    order = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "SimpleRNN": [0]}[kind]
    return torch.cat([a[i * h:(i + 1) * h] for i in order])


def torch_forward(kind: str, cfg: dict, layer, xs: list[torch.Tensor], P: dict):
    """The PyTorch computation of our layer ``kind``; ``P`` maps our parameter names to
    leaf tensors (gradients are read from them)."""
    x = xs[0]
    if kind == "GELU":
        return F.gelu(x, approximate="tanh" if cfg.get("approximate") else "none")
    if kind == "ELU":
        return F.elu(x, alpha=cfg.get("alpha", 1.0))
    if kind == "SiLU":
        return F.silu(x)
    if kind == "Softplus":
        return F.softplus(x)
    if kind == "PReLU":
        a = P["alpha"]
        if x.ndim == 4 and a.numel() > 1:
            a = a.reshape(-1, 1, 1)
        return torch.where(x > 0, x, a * x)
    if kind == "Multiply":
        return math.prod(xs[1:], start=xs[0])
    if kind == "Average":
        return sum(xs[1:], xs[0]) / len(xs)
    if kind == "Permute":
        return x.permute(0, *cfg["dims"])
    if kind == "GlobalMaxPool2D":
        return F.adaptive_max_pool2d(x, 1).flatten(1)
    if kind in ("MaxPool1D", "AvgPool1D"):
        k = cfg.get("pool_size", 2)
        s = cfg.get("strides") or k
        xc = x.transpose(1, 2)
        if kind == "MaxPool1D":
            y = F.max_pool1d(_pad1d(xc, layer, k, s, value=-math.inf), k, s)
        else:  # padding not counted: divide the window sums by the real counts
            ones = torch.ones_like(xc[:1, :1])
            y = F.avg_pool1d(_pad1d(xc, layer, k, s), k, s) / F.avg_pool1d(
                _pad1d(ones, layer, k, s), k, s)
        return y.transpose(1, 2)
    if kind == "Conv1D":
        k, s, d = cfg.get("kernel_size", 3), cfg.get("strides", 1), cfg.get("dilation_rate", 1)
        xc = _pad1d(x.transpose(1, 2), layer, k, s, d)
        y = F.conv1d(xc, P["W"], P.get("b"), s, 0, d, cfg.get("groups", 1))
        return y.transpose(1, 2)
    if kind in ("Conv2D", "DepthwiseConv2D"):
        c = layer.config
        dil = tuple(c["dilation_rate"])
        xp = _pad2d(x, layer, c["kernel_size"], c["strides"], dil)
        return F.conv2d(xp, P["W"], P.get("b"), tuple(c["strides"]), 0, dil, c["groups"])
    if kind == "Conv2DTranspose":
        c = layer.config
        y = F.conv_transpose2d(x, P["W"], None, tuple(c["strides"]))
        (oh, _, th, eh), (ow, _, tw, ew) = layer.plans(tuple(x.shape[1:]))
        y = F.pad(y, (0, ew, 0, eh))[:, :, th:th + oh, tw:tw + ow]
        return y + P["b"].reshape(1, -1, 1, 1) if "b" in P else y
    if kind == "UpSampling2D":
        sh, sw = cfg.get("size", [2, 2])
        return F.interpolate(x, scale_factor=(sh, sw), mode="nearest")
    if kind == "BatchNorm":
        xc = x.transpose(1, 2) if x.ndim == 3 else x
        y = F.batch_norm(xc, None, None, P["gamma"], P["beta"], training=True,
                         eps=layer.config["epsilon"])
        return y.transpose(1, 2) if x.ndim == 3 else y
    if kind == "Bidirectional":
        c = layer.config
        h, cell = c["units"], c["layer"]
        mod = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU, "SimpleRNN": torch.nn.RNN}[cell](
            x.shape[2], h, batch_first=True, bidirectional=True, dtype=torch.float64)
        gh = P["W"].shape[1]
        for d, suffix in ((0, ""), (1, "_reverse")):
            setattr(mod, f"weight_ih_l0{suffix}", None)
            mod._parameters[f"weight_ih_l0{suffix}"] = _gates(P["W"][d], cell, h)
            mod._parameters[f"weight_hh_l0{suffix}"] = _gates(P["R"][d], cell, h)
            mod._parameters[f"bias_ih_l0{suffix}"] = _gates(P["b"][d][:gh], cell, h)
            mod._parameters[f"bias_hh_l0{suffix}"] = _gates(P["b"][d][gh:], cell, h)
        mod._flat_weights = [getattr(mod, n) for n in mod._flat_weights_names]
        out, hn = mod(x)
        if cell == "LSTM":
            hn = hn[0]
        if c["return_sequences"]:
            return out if c["merge_mode"] == "concat" else out[..., :h] + out[..., h:]
        return torch.cat([hn[0], hn[1]], 1) if c["merge_mode"] == "concat" else hn[0] + hn[1]
    raise KeyError(kind)


CASES = [
    ("GELU", {}, [(12,)]), ("GELU", {"approximate": True}, [(12,)]),
    ("ELU", {"alpha": 0.7}, [(3, 4)]), ("SiLU", {}, [(12,)]), ("Softplus", {}, [(2, 6)]),
    ("PReLU", {}, [(8,)]), ("PReLU", {}, [(3, 4, 4)]), ("PReLU", {}, [(5, 3)]),
    ("PReLU", {"shared": "all"}, [(3, 4, 4)]),
    ("Multiply", {}, [(6,), (6,), (6,)]), ("Average", {}, [(2, 3), (2, 3)]),
    ("Permute", {"dims": [3, 1, 2]}, [(2, 3, 4)]), ("Permute", {"dims": [2, 1]}, [(5, 3)]),
    ("GlobalMaxPool2D", {}, [(3, 5, 4)]),
    ("MaxPool1D", {"pool_size": 3, "strides": 2, "padding": "same"}, [(8, 3)]),
    ("MaxPool1D", {}, [(9, 2)]),
    ("AvgPool1D", {"pool_size": 3, "strides": 1, "padding": "same"}, [(7, 2)]),
    ("AvgPool1D", {"pool_size": 2, "strides": 2, "padding": "same"}, [(7, 2)]),
    ("Conv1D", {"filters": 5, "kernel_size": 3}, [(9, 4)]),
    ("Conv1D", {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, [(9, 3)]),
    ("Conv1D", {"filters": 6, "kernel_size": 3, "dilation_rate": 2, "groups": 2,
                "padding": "causal"}, [(10, 4)]),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "groups": 4, "padding": "same"}, [(8, 4)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
     [(2, 9, 8)]),
    ("Conv2D", {"filters": 6, "kernel_size": [3, 2], "groups": 3, "strides": 2}, [(3, 9, 8)]),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
     [(3, 7, 6)]),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, [(2, 4, 5)]),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": [4, 3], "strides": [2, 1],
                         "padding": "valid"}, [(3, 3, 4)]),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "strides": 3}, [(1, 3, 3)]),
    ("UpSampling2D", {"size": [2, 3]}, [(2, 3, 4)]),
    ("BatchNorm", {}, [(6, 4)]),
    *[("Bidirectional", {"layer": cell, "units": 4, "merge_mode": m, "return_sequences": s},
       [(5, 3)]) for cell in ("LSTM", "GRU", "SimpleRNN") for m in ("concat", "sum")
      for s in (False, True)],
]


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def run_case(kind: str, cfg: dict, shapes: list[tuple], seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    layer = build(kind, cfg, shapes, rng)
    scale = 4.0 if "Max" in kind else 1.0
    xs = [rng.normal(size=(4, *s)) * scale for s in shapes]
    y = layer.forward(xs, True)
    G = rng.normal(size=y.shape)
    dxs = [np.array(d) for d in layer.backward(G)]
    txs = [t(x) for x in xs]
    P = {k: t(v) for k, v in layer.params.items()}
    ty = torch_forward(kind, cfg, layer, txs, P)
    (ty * torch.tensor(G)).sum().backward()
    errs = {"y": rel(y, ty.detach().numpy())}
    for i, (d, tx) in enumerate(zip(dxs, txs, strict=True)):
        errs[f"dx{i}"] = rel(d, tx.grad.numpy())
    for k, v in P.items():
        errs[f"d{k}"] = rel(layer.grads[k], v.grad.numpy())
    return errs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args()
    torch.manual_seed(0)
    worst_all, bad = 0.0, 0
    print(f"{'layer':<18} {'settings':<84} {'worst rel. error':>16}  (output, input and "
          "parameter gradients)")
    for i, (kind, cfg, shapes) in enumerate(CASES):
        errs = run_case(kind, cfg, shapes, seed=i)
        worst = max(errs.values())
        worst_all = max(worst_all, worst)
        flag = "" if worst <= args.tol else "  FAIL " + ", ".join(
            f"{k} {v:.1e}" for k, v in errs.items() if v > args.tol)
        bad += bool(flag)
        settings = ", ".join(f"{k}={v}" for k, v in cfg.items()) + f" on {shapes[0]}"
        print(f"{kind:<18} {settings:<84} {worst:>16.2e}{flag}")
    print(f"\n{len(CASES)} cases, worst relative error {worst_all:.2e} (tolerance {args.tol:g}); "
          f"{bad} over")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
