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
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    inv = 1 / np.sqrt(p["running_var"].reshape(shape) + np.float32(cfg["epsilon"]))
    return (x - p["running_mean"].reshape(shape)) * (inv * p["gamma"].reshape(shape)) + \
        p["beta"].reshape(shape)
# <<< layer BatchNorm


# >>> layer windows
def _same(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def _windows(x, kernel, strides, padding, fill):
    """(N, C, Ho, Wo, kh, kw) windows of x (N, C, H, W), padded with ``fill`` for 'same'."""
    (kh, kw), (sh, sw) = kernel, strides
    if padding == "same":
        (t, b), (left, r) = _same(x.shape[2], kh, sh), _same(x.shape[3], kw, sw)
        x = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)), constant_values=fill)
    w = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    return w[:, :, ::sh, ::sw]
# <<< layer windows


# >>> layer Conv2D
@layer("Conv2D")
def conv2d(xs, p, cfg, in_shapes, out_shape):
    w = _windows(xs[0], cfg["kernel_size"], cfg["strides"], cfg["padding"], 0.0)
    y = np.tensordot(w, p["W"], axes=([1, 4, 5], [1, 2, 3]))  # (N, Ho, Wo, F)
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
    """Network outputs ``(N, *output_shape)`` for prepared inputs ``x`` (float32)."""
    values = {}
    masks = {}  # Embedding id → (N, T) bool, True at real tokens (id 0 is padding)
    shapes = {k: tuple(v) for k, v in model["shapes"].items()}
    for node in model["order"]:
        preds = node["inputs"]
        xs = [x] if not preds else [values[q] for q in preds]
        in_shapes = [tuple(model["input_shape"])] if not preds else [shapes[q] for q in preds]
        cfg = node["config"]
        if node.get("mask_from"):
            cfg = dict(cfg, _mask=masks.get(node["mask_from"]))
        if node["type"] == "Embedding" and cfg.get("mask_padding"):
            masks[node["id"]] = xs[0] != 0
        values[node["id"]] = LAYERS[node["type"]](
            xs, params.get(node["id"], {}), cfg, in_shapes, shapes[node["id"]]
        )
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
        if tp["options"]["encoding"] == "sequence":
            return block
        blocks.append(block)
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


def prepare_arrays(prep, path):
    """float32 (N, *sample_shape) network inputs from a .npy/.npz file or a CSV of numbers."""
    a = prep["array"]
    shape = tuple(a["sample_shape"])
    path = Path(path)
    if path.suffix.lower() in (".npy", ".npz"):
        x = np.load(path, allow_pickle=False)
        if not isinstance(x, np.ndarray):
            with x:
                x = x["x"] if "x" in x.files else x[x.files[0]]
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


def predict(path, folder=HERE):
    """``(values, probabilities, class_names)`` for every row of the input file.

    ``values``: class names (classification) or float64 (N, k) in the target's units;
    ``probabilities``: float (N, K) or None.
    """
    model, params = load(folder)
    prep = model["preparation"]
    if prep is None:
        x = np.load(path, allow_pickle=False).astype(np.float32)
    elif prep.get("array"):
        x = prepare_arrays(prep, path)
    else:
        x = prepare_table(prep, path)
    out = forward(model, params, x.astype(model["dtype"]))
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


def write_csv(values, probs, names, targets, f):
    w = csv.writer(f, lineterminator="\n")
    if probs is not None:
        w.writerow(["prediction"] + [f"p_{c}" for c in names])
        for v, p in zip(values, probs):  # noqa: B905 (runs on Python < 3.10 too)
            w.writerow([v] + [format(float(q), ".9g") for q in p])
        return
    w.writerow(["prediction"] if values.shape[1] == 1 else [f"prediction_{t}" for t in targets])
    for row in values:
        w.writerow([format(float(v), ".10g") for v in row])


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
    try:
        values, probs, names = predict(args[0])
    except (InputError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    targets = load()[0]["target_names"]
    if out is None:
        write_csv(values, probs, names, targets, sys.stdout)
    else:
        tmp = Path(out).with_name(Path(out).name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            write_csv(values, probs, names, targets, f)
        tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
