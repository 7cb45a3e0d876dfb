# >>> header
"""Template of the standalone ``predict.py`` that ``nnstudio export --format numpy`` writes.

The exporter copies this file, replaces the text between the ``header`` markers with a
description of the model, and keeps only the ``layer`` blocks (between ``# >>> layer Name`` and
``# <<< layer Name``) of the layer types the model uses. The result needs only NumPy and
reads everything else from ``weights.npz`` (loaded with ``allow_pickle=False``).
"""
# <<< header

from __future__ import annotations

import csv
import datetime
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MISSING = ("", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a", "missing")
DATE_RES = (
    re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
               r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?Z?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z?"),
)
LAYERS = {}


class InputError(Exception):
    """A problem with the input file: reported as ``error: ...``, exit status 2."""


def layer(name):
    def deco(fn):
        LAYERS[name] = fn
        return fn
    return deco


# -- layers: fn(inputs, params, config, in_shapes, out_shape) -> (N, *out_shape) float32 --------

@layer("Input")
@layer("Dropout")
@layer("Linear")
@layer("Output")
def identity(xs, p, cfg, in_shapes, out_shape):
    return xs[0]


# >>> layer Dense
@layer("Dense")
def dense(xs, p, cfg, in_shapes, out_shape):
    y = xs[0] @ p["W"]
    return y + p["b"] if "b" in p else y
# <<< layer Dense


# >>> layer ReLU
@layer("ReLU")
def relu(xs, p, cfg, in_shapes, out_shape):
    return np.maximum(xs[0], 0)
# <<< layer ReLU


# >>> layer LeakyReLU
@layer("LeakyReLU")
def leaky_relu(xs, p, cfg, in_shapes, out_shape):
    return np.maximum(xs[0], xs[0] * np.float32(cfg["alpha"]))
# <<< layer LeakyReLU


# >>> layer Sigmoid
@layer("Sigmoid")
def sigmoid(xs, p, cfg, in_shapes, out_shape):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-xs[0]))
# <<< layer Sigmoid


# >>> layer Tanh
@layer("Tanh")
def tanh(xs, p, cfg, in_shapes, out_shape):
    return np.tanh(xs[0])
# <<< layer Tanh


# >>> layer Softmax
@layer("Softmax")
def softmax(xs, p, cfg, in_shapes, out_shape):
    e = np.exp(xs[0] - xs[0].max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
# <<< layer Softmax


# >>> layer BatchNorm
@layer("BatchNorm")
def batch_norm(xs, p, cfg, in_shapes, out_shape):
    x = xs[0]
    shape = (1, 1, x.shape[2]) if x.ndim == 3 else (1, x.shape[1]) + (1,) * (x.ndim - 2)
    inv = 1 / np.sqrt(p["running_var"].reshape(shape) + np.float32(cfg["epsilon"]))
    return (x - p["running_mean"].reshape(shape)) * (inv * p["gamma"].reshape(shape)) + \
        p["beta"].reshape(shape)
# <<< layer BatchNorm


# >>> layer windows
def _same(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _windows(x, kernel, strides, padding, fill, dilation=(1, 1)):
    """(N, C, Ho, Wo, kh, kw) windows of x (N, C, H, W), padded with ``fill`` for 'same'."""
    (dh, dw), (sh, sw) = dilation, strides
    kh, kw = dh * (kernel[0] - 1) + 1, dw * (kernel[1] - 1) + 1  # the span of a window
    if padding == "same":
        (t, b), (left, r) = _same(x.shape[2], kh, sh), _same(x.shape[3], kw, sw)
        x = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)), constant_values=fill)
    w = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return w[:, :, ::sh, ::sw, ::dh, ::dw]
# <<< layer windows


# >>> layer Conv2D
@layer("Conv2D")
@layer("DepthwiseConv2D")
def conv2d(xs, p, cfg, in_shapes, out_shape):
    w = _windows(xs[0], cfg["kernel_size"], cfg["strides"], cfg["padding"], 0.0,
                 cfg.get("dilation_rate", (1, 1)))
    W = p["W"]
    g = in_shapes[0][0] // W.shape[1]  # channel groups (the channels for DepthwiseConv2D)
    cg, fg = W.shape[1], W.shape[0] // g
    y = np.concatenate([  # (N, Ho, Wo, F), one product per group
        np.tensordot(w[:, k * cg:(k + 1) * cg], W[k * fg:(k + 1) * fg],
                     axes=([1, 4, 5], [1, 2, 3])) for k in range(g)], axis=3)
    if "b" in p:
        y = y + p["b"]
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2))
# <<< layer Conv2D


# >>> layer MaxPool2D
@layer("MaxPool2D")
def max_pool(xs, p, cfg, in_shapes, out_shape):
    strides = cfg["strides"] or cfg["pool_size"]
    w = _windows(xs[0], cfg["pool_size"], strides, cfg["padding"], -np.inf)
    return w.max(axis=(4, 5)).astype(xs[0].dtype)
# <<< layer MaxPool2D


# >>> layer AvgPool2D
@layer("AvgPool2D")
def avg_pool(xs, p, cfg, in_shapes, out_shape):
    strides = cfg["strides"] or cfg["pool_size"]
    x = xs[0]
    total = _windows(x, cfg["pool_size"], strides, cfg["padding"], 0.0).sum(axis=(4, 5))
    ones = np.ones((1, 1) + x.shape[2:], x.dtype)
    count = _windows(ones, cfg["pool_size"], strides, cfg["padding"], 0.0).sum(axis=(4, 5))
    return (total / count).astype(x.dtype)
# <<< layer AvgPool2D


# >>> layer GlobalAvgPool2D
@layer("GlobalAvgPool2D")
def global_avg_pool(xs, p, cfg, in_shapes, out_shape):
    return xs[0].mean(axis=(2, 3), dtype=xs[0].dtype)
# <<< layer GlobalAvgPool2D


# >>> layer Flatten
@layer("Flatten")
@layer("Reshape")
def reshape(xs, p, cfg, in_shapes, out_shape):
    return xs[0].reshape((len(xs[0]), *out_shape))
# <<< layer Flatten


# >>> layer Add
@layer("Add")
def add(xs, p, cfg, in_shapes, out_shape):
    return sum(xs[1:], xs[0])
# <<< layer Add


# >>> layer Concatenate
@layer("Concatenate")
def concatenate(xs, p, cfg, in_shapes, out_shape):
    return np.concatenate(xs, axis=cfg["axis"] % len(in_shapes[0]) + 1)
# <<< layer Concatenate


# >>> layer GELU
_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
         -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def _erfc(x):
    """1 − erf(x), relative error < 1.2e-7 (Numerical Recipes' erfcc)."""
    z = np.abs(x)
    t = 1 / (1 + 0.5 * z)
    poly = np.full_like(t, _ERFC[-1])
    for c in _ERFC[-2::-1]:
        poly = poly * t + c
    out = t * np.exp(poly - z * z)
    return np.where(x >= 0, out, 2 - out)


@layer("GELU")
def gelu(xs, p, cfg, in_shapes, out_shape):
    x = xs[0]
    if cfg["approximate"]:
        y = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    else:
        y = x * 0.5 * _erfc(-x / math.sqrt(2))
    return y.astype(x.dtype)
# <<< layer GELU


# >>> layer ELU
@layer("ELU")
def elu(xs, p, cfg, in_shapes, out_shape):
    x = xs[0]
    return np.where(x > 0, x, cfg["alpha"] * np.expm1(np.minimum(x, 0))).astype(x.dtype)
# <<< layer ELU


# >>> layer SiLU
@layer("SiLU")
def silu(xs, p, cfg, in_shapes, out_shape):
    with np.errstate(over="ignore"):
        return xs[0] / (1 + np.exp(-xs[0]))
# <<< layer SiLU


# >>> layer Softplus
@layer("Softplus")
def softplus(xs, p, cfg, in_shapes, out_shape):
    return np.logaddexp(0, xs[0]).astype(xs[0].dtype)
# <<< layer Softplus


# >>> layer PReLU
@layer("PReLU")
def prelu(xs, p, cfg, in_shapes, out_shape):
    x, a = xs[0], p["alpha"]
    if len(a) > 1 and x.ndim == 4:
        a = a.reshape(-1, 1, 1)
    return np.where(x > 0, x, a * x)
# <<< layer PReLU


# >>> layer Multiply
@layer("Multiply")
def multiply(xs, p, cfg, in_shapes, out_shape):
    y = xs[0]
    for x in xs[1:]:
        y = y * x
    return y
# <<< layer Multiply


# >>> layer Average
@layer("Average")
def average(xs, p, cfg, in_shapes, out_shape):
    return (sum(xs[1:], xs[0]) / len(xs)).astype(xs[0].dtype)
# <<< layer Average


# >>> layer Permute
@layer("Permute")
def permute(xs, p, cfg, in_shapes, out_shape):
    return np.ascontiguousarray(xs[0].transpose([0, *cfg["dims"]]))
# <<< layer Permute


# >>> layer GlobalMaxPool2D
@layer("GlobalMaxPool2D")
def global_max_pool(xs, p, cfg, in_shapes, out_shape):
    return xs[0].max(axis=(2, 3))
# <<< layer GlobalMaxPool2D


# >>> layer seq_windows
def _seq_windows(x, k, s, padding, fill, d=1):
    """(N, To, F, k) windows of x (N, T, F) along T; 'same'/'causal' pad with ``fill``."""
    span = d * (k - 1) + 1
    if padding == "same":
        x = np.pad(x, ((0, 0), _same(x.shape[1], span, s), (0, 0)), constant_values=fill)
    elif padding == "causal":
        x = np.pad(x, ((0, 0), (span - 1, 0), (0, 0)), constant_values=fill)
    w = np.lib.stride_tricks.sliding_window_view(x, span, axis=1)
    return w[:, ::s, :, ::d]
# <<< layer seq_windows


# >>> layer MaxPool1D
@layer("MaxPool1D")
def max_pool1d(xs, p, cfg, in_shapes, out_shape):
    k = cfg["pool_size"]
    return _seq_windows(xs[0], k, cfg["strides"] or k, cfg["padding"], -np.inf).max(axis=3)
# <<< layer MaxPool1D


# >>> layer AvgPool1D
@layer("AvgPool1D")
def avg_pool1d(xs, p, cfg, in_shapes, out_shape):
    k = cfg["pool_size"]
    s = cfg["strides"] or k
    x = xs[0]
    total = _seq_windows(x, k, s, cfg["padding"], 0.0).sum(axis=3)
    ones = np.ones((1, x.shape[1], 1), x.dtype)
    count = _seq_windows(ones, k, s, cfg["padding"], 0.0).sum(axis=3)
    return (total / count).astype(x.dtype)
# <<< layer AvgPool1D


# >>> layer Conv1D
@layer("Conv1D")
def conv1d(xs, p, cfg, in_shapes, out_shape):
    W = p["W"]  # (filters, F / groups, k)
    w = _seq_windows(xs[0], W.shape[2], cfg["strides"], cfg["padding"], 0.0,
                     cfg["dilation_rate"])  # (N, To, F, k)
    g = cfg["groups"]
    cg, fg = W.shape[1], W.shape[0] // g
    y = np.concatenate([
        np.tensordot(w[:, :, k * cg:(k + 1) * cg], W[k * fg:(k + 1) * fg],
                     axes=([2, 3], [1, 2])) for k in range(g)], axis=2)
    return (y + p["b"] if "b" in p else y).astype(xs[0].dtype)
# <<< layer Conv1D


# >>> layer Conv2DTranspose
@layer("Conv2DTranspose")
def conv2d_transpose(xs, p, cfg, in_shapes, out_shape):
    x, W = xs[0], p["W"]  # W (C, F, kh, kw)
    n, _, h, w = x.shape
    (kh, kw), (sh, sw) = cfg["kernel_size"], cfg["strides"]
    f, oh, ow = out_shape
    fh, fw = (h - 1) * sh + kh, (w - 1) * sw + kw
    full = np.zeros((n, f, max(fh, oh), max(fw, ow)), x.dtype)
    patches = np.tensordot(x, W, axes=([1], [0]))  # (N, H, W, F, kh, kw)
    for i in range(kh):
        for j in range(kw):
            full[:, :, i:i + sh * (h - 1) + 1:sh, j:j + sw * (w - 1) + 1:sw] += \
                patches[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    top, left = max(fh - oh, 0) // 2, max(fw - ow, 0) // 2
    y = full[:, :, top:top + oh, left:left + ow]
    return y + p["b"].reshape(1, -1, 1, 1) if "b" in p else y
# <<< layer Conv2DTranspose


# >>> layer UpSampling2D
@layer("UpSampling2D")
def upsampling2d(xs, p, cfg, in_shapes, out_shape):
    sh, sw = cfg["size"]
    return xs[0].repeat(sh, axis=2).repeat(sw, axis=3)
# <<< layer UpSampling2D


# >>> layer Recurrent
def _sig(z):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


@layer("SimpleRNN")
@layer("LSTM")
@layer("GRU")
def recurrent(xs, p, cfg, in_shapes, out_shape, kind=None):
    """ONNX layouts: W (G·H, F), R (G·H, H), b = [Wb, Rb]; gates LSTM i,o,f,c; GRU z,r,h."""
    x, W, R, b = xs[0], p["W"], p["R"], p["b"]
    n, steps, _ = x.shape
    H = R.shape[1]
    G = W.shape[0] // H
    wb, rb = b[: G * H], b[G * H:]
    h = np.zeros((n, H), x.dtype)
    c = np.zeros((n, H), x.dtype)
    seq = []
    proj = x @ W.T + wb  # (N, T, G·H)
    for t in range(steps):
        if G == 1:
            h = np.tanh(proj[:, t] + h @ R.T + rb)
        elif G == 4:
            z = proj[:, t] + h @ R.T + rb
            i, o, f = _sig(z[:, :H]), _sig(z[:, H:2 * H]), _sig(z[:, 2 * H:3 * H])
            c = f * c + i * np.tanh(z[:, 3 * H:])
            h = o * np.tanh(c)
        else:
            xz, hr = proj[:, t], h @ R.T + rb
            zg = _sig(xz[:, :H] + hr[:, :H])
            r = _sig(xz[:, H:2 * H] + hr[:, H:2 * H])
            cand = np.tanh(xz[:, 2 * H:] + r * hr[:, 2 * H:])
            h = (1 - zg) * cand + zg * h
        seq.append(h)
    return np.stack(seq, axis=1) if cfg["return_sequences"] else h
# <<< layer Recurrent


# >>> layer Bidirectional
@layer("Bidirectional")
def bidirectional(xs, p, cfg, in_shapes, out_shape):
    """Two recurrent layers, W/R/b stacked on a leading direction axis (0 = forwards)."""
    sub = {"return_sequences": cfg["return_sequences"]}
    x = xs[0]
    fw = recurrent([x], {k: v[0] for k, v in p.items()}, sub, in_shapes, None)
    bw = recurrent([x[:, ::-1]], {k: v[1] for k, v in p.items()}, sub, in_shapes, None)
    if cfg["return_sequences"]:
        bw = bw[:, ::-1]
    if cfg["merge_mode"] == "sum":
        return fw + bw
    return np.concatenate([fw, bw], axis=-1)
# <<< layer Bidirectional


# >>> layer Embedding
@layer("Embedding")
def embedding(xs, p, cfg, in_shapes, out_shape):
    """Token ids (N, T) → vectors (N, T, D); id 0 is padding (see forward's masks)."""
    return p["E"][xs[0].astype(np.int64)]
# <<< layer Embedding


# >>> layer PositionalEmbedding
@layer("PositionalEmbedding")
def positional_embedding(xs, p, cfg, in_shapes, out_shape):
    x = xs[0]
    t, d = x.shape[1], x.shape[2]
    if "P" in p:
        return x + p["P"][:t]
    angle = np.arange(t)[:, None] / np.power(10000.0, np.arange(0, d, 2) / d)
    table = np.zeros((t, d))
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, : d // 2])
    return x + table.astype(x.dtype)
# <<< layer PositionalEmbedding


# >>> layer LayerNorm
@layer("LayerNorm")
def layer_norm(xs, p, cfg, in_shapes, out_shape):
    x = xs[0]
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + cfg["epsilon"]) * p["gamma"] + p["beta"]
# <<< layer LayerNorm


# >>> layer MultiHeadAttention
@layer("MultiHeadAttention")
def attention(xs, p, cfg, in_shapes, out_shape):
    """Self-attention; cfg["_mask"] (N, T) is True at real tokens (None: no padding)."""
    x = xs[0]
    n, t, d = x.shape
    h = cfg["heads"]
    k = cfg["key_dim"] or d // h
    qkv = x @ p["Wqkv"] + p.get("bqkv", 0)
    q, kk, v = qkv.reshape(n, t, 3, h, k).transpose(2, 0, 3, 1, 4)
    s = q @ kk.transpose(0, 1, 3, 2) / np.sqrt(k)
    blocked = np.zeros((n, 1, t, t), bool)
    if cfg["causal"]:
        blocked |= np.triu(np.ones((t, t), bool), 1)
    if cfg.get("_mask") is not None:
        blocked |= ~cfg["_mask"][:, None, None, :]
    s = np.where(blocked, -1e9, s)
    a = np.exp(s - s.max(axis=-1, keepdims=True))
    a /= a.sum(axis=-1, keepdims=True)
    o = (a @ v).transpose(0, 2, 1, 3).reshape(n, t, h * k)
    return o @ p["Wo"] + p.get("bo", 0)
# <<< layer MultiHeadAttention


# >>> layer GlobalAvgPool1D
@layer("GlobalAvgPool1D")
def global_avg_pool_1d(xs, p, cfg, in_shapes, out_shape):
    x = xs[0]
    mask = cfg.get("_mask")
    w = np.ones(x.shape[:2]) if mask is None else mask.astype(np.float64)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1.0)
    return np.einsum("nt,ntd->nd", w.astype(x.dtype), x)
# <<< layer GlobalAvgPool1D


# >>> layer LastPosition
@layer("LastPosition")
def last_position(xs, p, cfg, in_shapes, out_shape):
    x = xs[0]
    mask = cfg.get("_mask")
    if mask is None:
        return x[:, -1]
    t = x.shape[1]
    last = np.where(mask.any(axis=1), t - 1 - np.argmax(mask[:, ::-1], axis=1), 0)
    return x[np.arange(len(x)), last]
# <<< layer LastPosition


# -- the model ---------------------------------------------------------------------------------

def load(folder=HERE):
    """The model description and the parameters ``{node: {name: array}}``."""
    with np.load(Path(folder) / "weights.npz", allow_pickle=False) as z:
        model = json.loads(str(z["model.json"]))
        params = {}
        for key in z.files:
            if key != "model.json":
                node, name = key.rsplit("/", 1)
                params.setdefault(node, {})[name] = z[key]
    return model, params


def forward(model, params, x):
    """Network outputs ``(N, *output_shape)`` for prepared inputs ``x`` (float32), or
    ``{output id: outputs}`` for a network with several outputs."""
    values = {}
    masks = {}  # Embedding id → (N, T) bool, True at real tokens (id 0 is padding)
    shapes = {k: tuple(v) for k, v in model["shapes"].items()}
    columns = model.get("input_columns") or {}  # Inputs taking some columns of the row
    for node in model["order"]:
        preds = node["inputs"]
        xs = [x] if not preds else [values[q] for q in preds]
        in_shapes = [tuple(model["input_shape"])] if not preds else [shapes[q] for q in preds]
        if node["id"] in columns:
            xs = [np.ascontiguousarray(x[:, columns[node["id"]]])]
            in_shapes = [(len(columns[node["id"]]),)]
        cfg = node["config"]
        if node.get("mask_from"):
            cfg = dict(cfg, _mask=masks.get(node["mask_from"]))
        if node["type"] == "Embedding" and cfg.get("mask_padding"):
            masks[node["id"]] = xs[0] != 0
        values[node["id"]] = LAYERS[node["type"]](
            xs, params.get(node["id"], {}), cfg, in_shapes, shapes[node["id"]]
        )
    if model.get("outputs"):
        return {o: values[o] for o in model["outputs"]}
    return values[model["output"]]


def format_number(v):
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e16 else repr(float(v))


def parse_date(text):
    for pattern in DATE_RES:
        m = pattern.fullmatch(text)
        if m:
            parts = [int(g) if g else 0 for g in m.groups()]
            try:
                when = datetime.datetime(*parts)
            except ValueError:
                return math.nan
            return (when - datetime.datetime(1970, 1, 1)).total_seconds() / 86400.0
    return math.nan


CYCLE = {"month": 12.0, "day_of_year": 365.25, "weekday": 7.0}


def date_parts(days, parts):
    """The model's date inputs of one day number: year, (sin, cos) of month, day of year and
    weekday (Monday = 0), days since 1970; in the order of ``parts``."""
    day = datetime.date(1970, 1, 1) + datetime.timedelta(days=math.floor(days))
    out = []
    for p in parts:
        if p == "days":
            out.append(days)
        elif p == "year":
            out.append(float(day.year))
        else:
            k = {"month": day.month - 1, "day_of_year": day.timetuple().tm_yday - 1,
                 "weekday": day.weekday()}[p]
            angle = 2.0 * math.pi * k / CYCLE[p]
            out += [math.sin(angle), math.cos(angle)]
    return out


def read_rows(path):
    """Header and rows of a CSV/TSV file, with the delimiter sniffed."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        head = f.read(65536)
        f.seek(0)
        try:
            dialect = csv.Sniffer().sniff(head, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        rows = [r for r in csv.reader(f, dialect) if r]
    if not rows:
        raise InputError(f"{path}: the file is empty")
    return rows[0], rows[1:]


def prepare_table(prep, path):
    """float32 (N, F) network inputs from a CSV with the model's feature columns."""
    header, rows = read_rows(path)
    index = {name.strip(): i for i, name in enumerate(header)}
    missing = [f["name"] for f in prep["features"] if f["name"] not in index]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(map(repr, missing))}")
    blocks = []
    for f in prep["features"]:
        col = index[f["name"]]
        texts = [(r[col] if col < len(r) else "").strip() for r in rows]
        if f["kind"] == "categorical":
            cats = f["categories"]
            known = set(cats)
            vals = []
            for line, t in enumerate(texts, start=2):
                if t.lower() in MISSING:
                    t = _fill(f, path, line)
                elif t not in known:
                    t = _as_number_text(t)
                vals.append(t)
            blocks.append(np.array([[v == c for c in cats] for v in vals],
                                   np.float32).reshape(len(vals), len(cats)))
            continue
        vals = []
        for line, t in enumerate(texts, start=2):
            if t.lower() in MISSING:
                vals.append(_fill(f, path, line))
                continue
            v = parse_date(t) if f["kind"] == "date" else _number(t)
            if math.isnan(v) and f["kind"] == "date" and f["fill"] is not None:
                v = f["fill"]
            if math.isnan(v):
                raise InputError(f"{path}, row {line}, column {f['name']!r}: {t!r} is not a "
                                 f"{'date' if f['kind'] == 'date' else 'number'}")
            vals.append(v)
        if isinstance(f["offset"], list):  # a date given as its parts (year, month, ...)
            wide = np.array([date_parts(v, f["parts"]) for v in vals], np.float64)
            wide = wide.reshape(len(vals), len(f["offset"]))
            scaled = (wide - np.array(f["offset"])) / np.array(f["divisor"])
            blocks.append(scaled.astype(np.float32))
            continue
        scaled = (np.array(vals, np.float64) - f["offset"]) / f["divisor"]
        blocks.append(scaled.astype(np.float32).reshape(-1, 1))
    tp = prep.get("text")
    if tp is not None:  # a free-text column: bag/TF-IDF block, or token ids as the input
        if tp["column"] not in index:
            raise InputError(f"{path}: missing column {tp['column']!r}")
        col = index[tp["column"]]
        texts = [(r[col] if col < len(r) else "").strip() for r in rows]
        texts = ["" if t.lower() in MISSING else t for t in texts]
        block = encode_texts(tp, texts)
        if tp["options"]["encoding"] == "sequence" and not prep["features"]:
            return block  # token ids are the whole sample
        blocks.append(block.astype(np.float32))
    return np.concatenate(blocks, axis=1) if rows else np.zeros((0, 0), np.float32)


# -- text (see nnstudio/core/data/text.py: the same steps) ---------------------------------------

def text_tokens(tp, text):
    """NFKC, lowercase and punctuation stripping as trained, then word or char tokens."""
    import unicodedata

    o = tp["options"]
    text = unicodedata.normalize("NFKC", text)
    if o["lowercase"]:
        text = text.lower()
    if o["strip_punctuation"]:
        text = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)
    return list(text) if o["tokens"] == "char" else re.findall(r"\w+|[^\w\s]", text)


def text_ids(tp, text):
    index = tp.get("_index")
    if index is None:
        index = tp["_index"] = {t: i + 2 for i, t in enumerate(tp["tokens"])}
    return [index.get(t, 1) for t in text_tokens(tp, text)]


def encode_texts(tp, texts):
    """float32 (N, length) token ids, or (N, V) bag-of-words / TF-IDF vectors."""
    o = tp["options"]
    v = len(tp["tokens"]) + 2
    if o["encoding"] == "sequence":
        out = np.zeros((len(texts), o["length"]), np.float32)
        for i, t in enumerate(texts):
            ids = text_ids(tp, t)[: o["length"]]
            out[i, :len(ids)] = ids
        return out
    out = np.zeros((len(texts), v - 2), np.float32)
    idf = None if tp.get("idf") is None else np.asarray(tp["idf"])[2:]
    for i, t in enumerate(texts):
        ids = text_ids(tp, t)
        row = np.bincount(np.asarray(ids, np.int64), minlength=v)[2:] / max(len(ids), 1)
        if idf is not None:
            row = row * idf
            norm = np.sqrt(np.dot(row, row))
            row = row / norm if norm > 0 else row
        out[i] = row
    return out


def generate(prompt, length=200, temperature=1.0, top_k=0, seed=None, folder=HERE):
    """A language model's continuation of ``prompt`` (as nnstudio generate)."""
    model, params = load(folder)
    tp = model["preparation"]["text"]
    ids = text_ids(tp, prompt)
    if tp["options"]["tokens"] == "char" and 1 in ids:
        raise InputError("the prompt has characters the model never saw in training")
    t = model["input_shape"][0]
    rng = np.random.default_rng(seed)
    sep = " " if tp["options"]["tokens"] == "word" else ""
    out = []
    for _ in range(length):
        window = ids[-t:]
        x = np.zeros((1, t), np.float32)
        x[0, :len(window)] = window
        p = np.asarray(forward(model, params, x)[0, len(window) - 1], np.float64)
        p[:2] = 0.0
        if temperature != 1.0:
            with np.errstate(divide="ignore"):
                logp = np.log(p) / temperature
            p = np.exp(logp - logp.max())
        if 0 < top_k < len(p):
            p[p < np.partition(p, -top_k)[-top_k]] = 0.0
        nxt = int(rng.choice(len(p), p=p / p.sum()))
        ids.append(nxt)
        out.append(tp["tokens"][nxt - 2])
    return sep.join(out) if not sep else sep + sep.join(out)


def _as_number_text(t):
    """``"98178.0"`` → ``"98178"``: numbers as the training file's loader wrote them."""
    try:
        return format_number(float(t))
    except ValueError:
        return t


def _number(t):
    try:
        v = float(t)
    except ValueError:
        return math.nan
    return v if math.isfinite(v) else math.nan


def _fill(f, path, line):
    if f["fill"] is None:
        raise InputError(f"{path}, row {line}, column {f['name']!r}: a value is missing and "
                         "the model was trained without filling missing values")
    return f["fill"]


def npz_input_key(array, keys, path):
    """The array of an NPZ file that holds the inputs: the one the model was trained on, else
    ``x`` or the only array; with several arrays and none of those names, an error."""
    for name in (array.get("name"), "x"):
        if name in keys:
            return name
    if len(keys) == 1:
        return keys[0]
    raise InputError(f"{path}: cannot tell which array holds the inputs (arrays: "
                     f"{', '.join(keys)}); the model was trained on {array.get('name')!r}")


def prepare_arrays(prep, path):
    """float32 (N, *sample_shape) network inputs from a .npy/.npz file or a CSV of numbers."""
    a = prep["array"]
    shape = tuple(a["sample_shape"])
    path = Path(path)
    if path.suffix.lower() in (".npy", ".npz"):
        x = np.load(path, allow_pickle=False)
        if not isinstance(x, np.ndarray):
            with x:
                x = x[npz_input_key(a, x.files, path)]
    else:
        header, rows = read_rows(path)
        try:
            [float(v) for v in header]
            rows = [header, *rows]
        except ValueError:
            pass
        try:
            x = np.array([[float(v) for v in r] for r in rows], np.float64)
        except ValueError as e:
            raise InputError(f"{path}: every value must be a number ({e})") from None
    x = np.asarray(x, np.float64)
    if x.size // max(len(x), 1) != math.prod(shape):
        raise InputError(f"{path}: each sample needs {math.prod(shape)} values {shape}")
    x = x.reshape((len(x), *shape))
    return ((x - np.asarray(a["offset"])) / np.asarray(a["divisor"])).astype(np.float32)

# >>> layer media
# Images and sounds: the same steps as nnstudio's core/data/images.py and audio.py. Images
# need Pillow; sounds need soundfile (or, for PCM WAV, Python's wave) and SciPy when a
# recording's rate differs from the model's.
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
SOUND_EXT = (".wav", ".flac", ".ogg", ".oga")


def media_files(media, path):
    """The files to predict: one file, every file under a folder, or a CSV's path column."""
    ext = IMAGE_EXT if media["kind"] == "image" else SOUND_EXT
    path = Path(path)
    if path.is_dir():
        return sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in ext)
    if path.suffix.lower() in ext:
        return [str(path)]
    header, rows = read_rows(path)
    for col in range(len(header)):
        vals = [r[col] for r in rows if col < len(r)]
        if vals and sum(Path(v).suffix.lower() in ext for v in vals) * 2 > len(vals):
            return [str(p if Path(p).is_absolute() else path.parent / p)
                    for p in (v.strip() for v in vals)]
    raise InputError(f"{path}: no column holds {media['kind']} file paths")


def read_image(media, path):
    """uint8 (C, H, W): first frame, EXIF orientation, colour (transparency over white),
    resized to the model's size with its filter."""
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        if img.size[0] * img.size[1] > 40_000_000:
            raise InputError(f"{path}: too large ({img.size[0]} x {img.size[1]} pixels)")
        img.seek(0)
        img.load()
        img = ImageOps.exif_transpose(img) or img
        if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            a = np.asarray(img, np.float64)
            top = 65535.0 if img.mode != "F" and a.max() > 255 else 255.0
            img = Image.fromarray(np.clip(a * (255.0 / top), 0, 255).astype(np.uint8), "L")
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "RGB" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255,) * 4), rgba)
            img = img.convert("RGB")
        mode = "L" if media["color"] == "gray" else "RGB"
        img = img if img.mode == mode else img.convert(mode)
        h, w = media["size"]
        if img.size != (w, h):
            img = img.resize((w, h), getattr(Image.Resampling, media["filter"].upper()))
        a = np.asarray(img, np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def read_sound(media, path):
    """Log-mel spectrogram in the model's layout: mono, resampled, padded/trimmed."""
    try:
        import soundfile

        info = soundfile.info(path)
        if info.frames > media["max_seconds"] * info.samplerate:
            raise InputError(f"{path}: too long ({info.frames / info.samplerate:.0f} s)")
        x, rate = soundfile.read(path, dtype="float64", always_2d=True)
    except ImportError:
        import wave

        with wave.open(str(path)) as w:
            if w.getsampwidth() != 2:
                raise InputError(f"{path}: install soundfile to read this file") from None
            rate, ch = w.getframerate(), w.getnchannels()
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, ch) / 32768.0
    x = x.mean(axis=1)
    if x.size / rate > media["max_seconds"]:
        raise InputError(f"{path}: too long ({x.size / rate:.0f} s)")
    if rate != media["rate"]:
        from scipy.signal import resample_poly

        g = math.gcd(int(rate), int(media["rate"]))
        x = resample_poly(x, media["rate"] // g, rate // g)
    n = round(media["rate"] * media["duration"])
    x = x[:n] if x.size >= n else np.pad(x, (0, n - x.size))
    win = max(8, round(media["rate"] * media["window_ms"] / 1000.0))
    hop = max(1, round(media["rate"] * media["hop_ms"] / 1000.0))
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop]
    n_fft = 1 << (win - 1).bit_length()
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(win) / win)
    spec = np.fft.rfft(frames * hann, n=n_fft)
    bank = mel_bank(media["rate"], n_fft, media["mels"], media["fmin"],
                    media["fmax"] or media["rate"] / 2.0)
    s = (10.0 * np.log10((spec.real ** 2 + spec.imag ** 2) @ bank + 1e-10)).astype(np.float32)
    return s[None] if media["layout"] == "image" else s


def mel_bank(rate, n_fft, mels, fmin, fmax):
    """Slaney mel filter bank (n_fft // 2 + 1, mels), area-normalised."""
    f_sp, min_hz = 200.0 / 3, 1000.0
    min_mel, step = min_hz / f_sp, math.log(6.4) / 27.0

    def to_mel(f):
        f = np.asarray(f, np.float64)
        return np.where(f >= min_hz, min_mel + np.log(np.maximum(f, 1e-12) / min_hz) / step,
                        f / f_sp)

    def to_hz(m):
        return np.where(m >= min_mel, min_hz * np.exp(step * (m - min_mel)), m * f_sp)

    freqs = np.linspace(0.0, rate / 2.0, n_fft // 2 + 1)
    edges = to_hz(np.linspace(to_mel(fmin), to_mel(fmax), mels + 2))
    width = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    bank = np.maximum(0.0, np.minimum(-ramps[:-2] / width[:-1, None], ramps[2:] / width[1:, None]))
    return (bank * (2.0 / (edges[2:] - edges[:-2]))[:, None]).T


def prepare_media(prep, path, files_out):
    """float32 network inputs from image/sound files; their names go to ``files_out``."""
    media, a = prep["media"], prep["array"]
    read = read_image if media["kind"] == "image" else read_sound
    files = media_files(media, path)
    if not files:
        raise InputError(f"{path}: no {media['kind']} files")
    xs = []
    for f in files:
        try:
            xs.append(read(media, f))
        except InputError:
            raise
        except Exception as e:  # a corrupt file: name it
            raise InputError(f"{f}: cannot be read ({e})") from None
    files_out.extend(files)
    x = np.stack(xs).astype(np.float64)
    return ((x - np.asarray(a["offset"])) / np.asarray(a["divisor"])).astype(np.float32)
# <<< layer media


def predict(path, folder=HERE, files_out=None):
    """``(values, probabilities, class_names)`` for every row of the input file.

    ``values``: class names (classification) or float64 (N, k) in the target's units, or
    ``{column: values}`` for a network with several outputs (see :func:`heads_columns`);
    ``probabilities``: float (N, K) or None. For image/sound models ``path`` is a file, a
    folder or a CSV of paths, and the files read are appended to ``files_out``.
    """
    model, params = load(folder)
    prep = model["preparation"]
    if prep is None:
        x = np.load(path, allow_pickle=False).astype(np.float32)
    elif prep.get("media"):
        x = prepare_media(prep, path, files_out if files_out is not None else [])
    elif prep.get("array"):
        x = prepare_arrays(prep, path)
    else:
        x = prepare_table(prep, path)
    out = forward(model, params, x.astype(model["dtype"]))
    if isinstance(out, dict):  # several outputs: one block of columns each
        return heads_columns(model, prep, out), None, []
    out = out.reshape(len(out), -1)
    if model["task"] == "classification":
        names = model["class_names"]
        if out.shape[1] == 1:
            probs = np.concatenate([1 - out, out], axis=1)
            idx = (out[:, 0] > 0.5).astype(np.int64)
        else:
            probs, idx = out, out.argmax(axis=1)
        return [names[i] for i in idx], probs, names
    stats = prep["target_stats"] if prep else []
    y = out.astype(np.float64)
    if len(stats) == y.shape[1]:
        y = y * np.array([t["std"] for t in stats]) + np.array([t["mean"] for t in stats])
    return y, None, []


def heads_columns(model, prep, outs):
    """``{column name: values}`` of a network with several outputs: per Output,
    ``prediction_<target>`` (a class name or a number in the target's units) and for a class
    target ``p_<target>_<class>`` per class."""
    cols = []
    for node, h in zip(model["outputs"], prep["heads"]):  # noqa: B905
        y = outs[node].reshape(len(outs[node]), -1).astype(np.float64)
        t = h["target"]
        if h["task"] == "classification":
            probs = np.concatenate([1 - y, y], axis=1) if y.shape[1] == 1 else y
            idx = probs.argmax(axis=1)
            cols.append((f"prediction_{t}", [h["class_names"][i] for i in idx]))
            cols += [(f"p_{t}_{c}", [format(float(q), ".9g") for q in probs[:, j]])
                     for j, c in enumerate(h["class_names"])]
        else:
            v = y[:, 0] * h["std"] + h["mean"]
            cols.append((f"prediction_{t}", [format(float(q), ".10g") for q in v]))
    return dict(cols)


def write_csv(values, probs, names, targets, f, files=None):
    w = csv.writer(f, lineterminator="\n")
    lead = ["file"] if files else []
    if isinstance(values, dict):  # several outputs: {column: values}
        w.writerow(lead + list(values))
        for i in range(len(next(iter(values.values())))):
            w.writerow(([files[i]] if lead else []) + [v[i] for v in values.values()])
        return
    files = files or [None] * len(values)
    if probs is not None:
        w.writerow(lead + ["prediction"] + [f"p_{c}" for c in names])
        for v, p, name in zip(values, probs, files):  # noqa: B905 (runs on Python < 3.10 too)
            w.writerow(([name] if lead else []) + [v] + [format(float(q), ".9g") for q in p])
        return
    w.writerow(lead + (["prediction"] if values.shape[1] == 1
                       else [f"prediction_{t}" for t in targets]))
    for row, name in zip(values, files):  # noqa: B905
        w.writerow(([name] if lead else []) + [format(float(v), ".10g") for v in row])


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    out = None
    if "--out" in args:
        i = args.index("--out")
        if i + 1 >= len(args):
            print("error: --out needs a file name", file=sys.stderr)
            return 2
        out = args[i + 1]
        del args[i:i + 2]
    if "--prompt" in args:  # a language model: python predict.py --prompt TEXT [--length N]
        opts = dict(zip(args[::2], args[1::2]))  # noqa: B905
        try:
            text = generate(opts["--prompt"], int(opts.get("--length", 200)),
                            float(opts.get("--temperature", 1.0)), int(opts.get("--top-k", 0)),
                            int(opts["--seed"]) if "--seed" in opts else None)
        except (InputError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(opts["--prompt"] + text)
        return 0
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print("usage: python predict.py INPUT.csv [--out PREDICTIONS.csv]", file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    files = []
    try:
        values, probs, names = predict(args[0], files_out=files)
    except (InputError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    targets = load()[0]["target_names"]
    if out is None:
        write_csv(values, probs, names, targets, sys.stdout, files)
    else:
        tmp = Path(out).with_name(Path(out).name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            write_csv(values, probs, names, targets, f, files)
        tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
