"""Hypothesis strategies that mutate nnstudio's input files.

Every strategy starts from a valid seed (see :mod:`.seeds`) and applies a few mutations drawn
from the ways real files break: a value of the wrong type or range, a deleted or unknown
field, deep nesting, text cut mid-row, bytes flipped or cut, an array of another shape or
dtype, a header that lies about its size. The result is bytes to write to a file.
"""

from __future__ import annotations

import copy
import gzip
import io
import itertools
import json
import math
import struct
import zipfile
from typing import Any

import numpy as np
from hypothesis import strategies as st

# -- values that break readers -----------------------------------------------------------------

NASTY_NUMBERS = [0, -1, 1, 2, 3, 2.5, -0.5, 1e-9, 1e6, 2**31, 2**63, 10**30, 1e300,
                 math.inf, -math.inf, math.nan, True, False]
NASTY_TEXT = ["", " ", "abc", "no", "false", "true", "null", "0", "1e400", "NaN", "-",
              "~nosuchuser/d.csv", "/", "..", "d.csv", "a" * 5000, "\ud800", "\x00", "é✓名",
              '"""\nimport os\n"""', "C:\\x\\N", "utf-16", "cp1252", "rot13", "Dense", "relu",
              "cosine", "adam", "x" * 300]


#: Valid words of the formats: a replaced value is often valid-but-different, which takes a
#: mutated file past validation into building and training.
WORDS = ["Dense", "ReLU", "Conv2D", "LSTM", "GRU", "SimpleRNN", "Flatten", "Reshape",
         "Softmax", "Sigmoid", "Tanh", "BatchNorm", "Dropout", "MaxPool2D", "AvgPool2D",
         "GlobalAvgPool2D", "Add", "Concatenate", "LeakyReLU", "Linear", "Input", "sgd",
         "rmsprop", "adamw", "mse", "mae", "binary_cross_entropy", "cross_entropy", "step",
         "exponential", "constant", "standard", "minmax", "none", "mean", "median",
         "most_frequent", "classification", "regression", "auto", "same", "valid", "label",
         "a", "b", "day", "img.npz", "x", "y"]


def nasty_values() -> st.SearchStrategy:
    leaf = st.one_of(
        st.sampled_from(WORDS), st.integers(1, 8),
        st.sampled_from(NASTY_NUMBERS), st.sampled_from(NASTY_TEXT), st.none(),
        st.integers(-3, 100), st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    )
    return st.one_of(
        leaf,
        st.lists(leaf, max_size=4),
        st.dictionaries(st.sampled_from(["type", "units", "id", "x", "shape", "name"]), leaf,
                        max_size=3),
        st.integers(99, 300).map(lambda d: json.loads("[" * d + "]" * d)),  # deep nesting
    )


# -- JSON documents ------------------------------------------------------------------------------


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys/indices) in a JSON document, the root included."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def mutated_json(draw, seed: Any, max_mutations: int = 3) -> Any:
    """``seed`` with 1..``max_mutations`` edits: replace, delete, add or duplicate a value."""
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "swap"]))
        if not path:
            if op == "replace":
                doc = draw(nasty_values())
            continue
        parent = _get(doc, path[:-1])
        key = path[-1]
        if op == "replace":
            parent[key] = draw(nasty_values())
        elif op == "delete":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["x_a", "gui", "junk", "units", "id", "type"]))] = \
                draw(nasty_values())
        elif op == "add" and isinstance(parent, list):
            parent.insert(draw(st.integers(0, len(parent))), draw(nasty_values()))
        elif op == "swap":  # another valid-looking value from elsewhere in the document
            other = draw(st.sampled_from(paths))
            parent[key] = copy.deepcopy(_get(doc, other)) if other else None
    return doc


def json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def mutated_bytes(draw, data: bytes, max_edits: int = 3) -> bytes:
    """``data`` cut, with bytes flipped, deleted or inserted."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, max_edits))):
        if not out:
            break
        op = draw(st.sampled_from(["truncate", "flip", "delete", "insert"]))
        i = draw(st.integers(0, len(out) - 1))
        if op == "truncate":
            del out[i:]
        elif op == "flip":
            out[i] ^= draw(st.integers(1, 255))
        elif op == "delete":
            del out[i:i + draw(st.integers(1, 16))]
        else:
            out[i:i] = draw(st.sampled_from([b'"', b",", b"\n", b"\x00", b"\xff\xfe", b"{",
                                             b"]", b"\\u", b"\xc3", b"9" * 400]))
    return bytes(out)


LAYER_SETTINGS = {
    "Dense": {"units": st.integers(1, 6)}, "LeakyReLU": {"alpha": st.floats(0, 1)},
    "Dropout": {"rate": st.floats(0, 0.9)}, "Reshape": {"shape": st.sampled_from(
        [[-1], [1, -1], [1, 4, -1], [2, 2, -1], [4, 4], [1, 2, 2, -1]])},
    "Conv2D": {"filters": st.integers(1, 3), "kernel_size": st.sampled_from([1, 2, 3, [1, 2]]),
               "strides": st.sampled_from([1, 2, [2, 1]]),
               "padding": st.sampled_from(["valid", "same"])},
    "MaxPool2D": {"pool_size": st.sampled_from([1, 2, 3])},
    "AvgPool2D": {"pool_size": st.sampled_from([1, 2]), "padding": st.sampled_from(["valid",
                                                                                    "same"])},
    "SimpleRNN": {"units": st.integers(1, 4), "return_sequences": st.booleans()},
    "LSTM": {"units": st.integers(1, 4), "return_sequences": st.booleans()},
    "GRU": {"units": st.integers(1, 4), "return_sequences": st.booleans()},
    "BatchNorm": {}, "Flatten": {}, "ReLU": {}, "Sigmoid": {}, "Tanh": {}, "Softmax": {},
    "GlobalAvgPool2D": {}, "Linear": {},
}


@st.composite
def random_network(draw, head: list[dict] = ()) -> dict:
    """A chain Input → 1..5 random layers (with random small settings), sometimes with a
    residual Add or a Concatenate, then (usually) ``head`` (the seed's output layers, after a
    Flatten) so that many draws fit the data and train: shape checks, building and a training
    step of every layer type."""
    nodes = [{"id": "in", "type": "Input"}]
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(sorted(LAYER_SETTINGS)))
        node = {"id": f"n{i}", "type": kind}
        for key, strat in LAYER_SETTINGS[kind].items():
            if draw(st.booleans()):
                node[key] = draw(strat)
        nodes.append(node)
    edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
    if len(nodes) > 2 and draw(st.booleans()):
        merge = draw(st.sampled_from(["Add", "Concatenate"]))
        src = draw(st.sampled_from([n["id"] for n in nodes[:-1]]))
        nodes.append({"id": "m", "type": merge})
        edges += [[nodes[-2]["id"], "m"], [src, "m"]]
    if head and draw(st.integers(0, 3)):
        tail = [{"id": "flat", "type": "Flatten"}] + [dict(n) for n in head]
        edges += [[a["id"], b["id"]] for a, b in zip([nodes[-1], *tail], tail, strict=False)]
        nodes += tail
    return {"nodes": nodes, "edges": edges}


@st.composite
def project_file(draw, seed: dict) -> bytes:
    """A project file: a random network or JSON mutations, sometimes byte-level damage."""
    if draw(st.integers(0, 2)) == 0:
        seed = copy.deepcopy(seed)
        seed["network"] = draw(random_network(seed["network"]["nodes"][-2:]))
        if draw(st.booleans()):
            seed["training"]["loss"] = draw(st.sampled_from(["mse", "mae", "cross_entropy",
                                                             "binary_cross_entropy"]))
        data = json_bytes(seed if draw(st.booleans()) else draw(mutated_json(seed, 1)))
        return data
    data = json_bytes(draw(mutated_json(seed)))
    if draw(st.integers(0, 4)) == 0:
        data = draw(mutated_bytes(data))
    return data


# -- model files (.npz) --------------------------------------------------------------------------


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _npy_declaring(arr: np.ndarray, shape: tuple) -> bytes:
    """An .npy of ``arr``'s data whose header declares another shape."""
    header = {"descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False,
              "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + arr.tobytes()


def npz_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def odd_arrays() -> st.SearchStrategy:
    return st.sampled_from([
        np.array(3.0), np.zeros((0,)), np.zeros((0, 3)), np.array([np.nan, np.inf]),
        np.array(["a", "b"]), np.array([True, False]), np.zeros((2, 2), np.complex64),
        np.arange(6, dtype=np.int8).reshape(2, 3), np.zeros((1, 1, 1, 1, 1, 1)),
        np.array([1e30], np.float64), np.zeros(3, np.float16),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ])


@st.composite
def model_file(draw, seed_entries: dict[str, np.ndarray]) -> bytes:
    """A model ``.npz``: JSON entries mutated, arrays replaced/reshaped/dropped, entries
    added, headers that lie about sizes, or the archive's bytes damaged."""
    files = {k + ".npy": _npy(v) for k, v in seed_entries.items()}
    json_keys = [k for k in seed_entries if seed_entries[k].dtype.kind == "U"]
    array_keys = [k for k in seed_entries if k not in json_keys]
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["json", "json", "array", "declare", "drop", "extra",
                                   "text"]))
        if op == "json":
            key = draw(st.sampled_from(json_keys))
            doc = json.loads(str(seed_entries[key]))
            text = json_bytes(draw(mutated_json(doc))).decode("utf-8", "surrogatepass")
            files[key + ".npy"] = _npy(np.array(text))
        elif op == "array":
            files[draw(st.sampled_from(array_keys)) + ".npy"] = _npy(draw(odd_arrays()))
        elif op == "declare":
            key = draw(st.sampled_from(array_keys))
            shape = draw(st.sampled_from([(600_000_000,), (2**40,), (0,), (), (3, 0),
                                          (2**31, 2**31)]))
            files[key + ".npy"] = _npy_declaring(seed_entries[key], shape)
        elif op == "drop" and files:
            files.pop(draw(st.sampled_from(sorted(files))), None)
        elif op == "extra":
            name = draw(st.sampled_from(["readme.txt", "x/W.npy", "format.npy", "n/b.npy"]))
            files[name] = _npy(draw(odd_arrays())) if name.endswith(".npy") else b"hello"
        else:
            files[draw(st.sampled_from(json_keys)) + ".npy"] = _npy(
                np.array(draw(st.sampled_from(["", "{", "[1]", "null", "\ud800", "9" * 5000]))))
    data = npz_bytes(files)
    if draw(st.integers(0, 5)) == 0:
        data = draw(mutated_bytes(data))
    return data


# -- CSV files -----------------------------------------------------------------------------------

NASTY_CELLS = ["", "nan", "inf", "-inf", "1e400", "abc", '"', '""', "2020-13-45", "1,5",
               "\x00", "é", "?", "NA", " ", "0x10", "1_000", "١٢", "\ud800"]


@st.composite
def csv_file(draw, seed_text: str) -> bytes:
    """A CSV: cells replaced, fields or rows deleted, cut mid-row, header damaged, other
    encodings, then sometimes byte-level damage."""
    rows = [r.split(",") for r in seed_text.splitlines()]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cell", "cell", "field", "row", "header", "column"]))
        i = draw(st.integers(0, len(rows) - 1))
        if op == "cell" and rows[i]:
            j = draw(st.integers(0, len(rows[i]) - 1))
            rows[i][j] = draw(st.sampled_from(NASTY_CELLS) | st.text(max_size=6))
        elif op == "field" and rows[i]:
            del rows[i][draw(st.integers(0, len(rows[i]) - 1))]
        elif op == "row":
            del rows[i]
            if not rows:
                rows = [[""]]
        elif op == "header":
            rows[0] = [draw(st.sampled_from(["a", "label", "", "a,b", "x"])) for _ in rows[0]]
        elif op == "column":  # the same column emptied everywhere (a deleted field's data)
            j = draw(st.integers(0, 3))
            for r in rows[1:]:
                if j < len(r):
                    r[j] = ""
    text = "\n".join(",".join(r) for r in rows) + "\n"
    encoding = draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "cp1252", "utf-8-sig"]))
    data = text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")
    if draw(st.integers(0, 3)) == 0:
        data = draw(mutated_bytes(data))
    if draw(st.integers(0, 5)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # cut mid-row
    return data


# -- data arrays (.npz) and IDX ------------------------------------------------------------------


@st.composite
def data_npz(draw, x: np.ndarray, y: np.ndarray) -> bytes:
    """An NPZ of samples: x/y replaced by odd arrays, NaN pixels, other shapes or dtypes,
    lying headers, or damaged bytes."""
    files = {"x.npy": _npy(x), "y.npy": _npy(y)}
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["x", "y", "nan", "dtype", "reshape", "declare", "drop",
                                   "rename"]))
        if op in ("x", "y"):
            files[f"{op}.npy"] = _npy(draw(odd_arrays()))
        elif op == "nan":
            xf = x.astype(np.float32)
            xf.flat[draw(st.integers(0, xf.size - 1))] = draw(
                st.sampled_from([np.nan, np.inf, -np.inf]))
            files["x.npy"] = _npy(xf)
        elif op == "dtype":
            files["y.npy"] = _npy(y.astype(draw(st.sampled_from(
                [np.float32, np.float64, np.int8, np.uint64, np.bool_, "U3"]))))
        elif op == "reshape":
            files["x.npy"] = _npy(x.reshape(draw(st.sampled_from(
                [(len(x), -1), (-1,), (len(x), 2, 8), (1, len(x), 16)]))))
        elif op == "declare":
            key = draw(st.sampled_from(["x", "y"]))
            arr = x if key == "x" else y
            files[f"{key}.npy"] = _npy_declaring(arr, draw(st.sampled_from(
                [(2**40,), (len(arr) * 1000, 4, 4), (0,)])))
        elif op == "drop" and files:
            files.pop(draw(st.sampled_from(sorted(files))), None)
        elif files:
            files[draw(st.sampled_from(["images.npy", "labels.npy", "z.npy"]))] = \
                files.pop(draw(st.sampled_from(sorted(files))), _npy(np.zeros(1)))
    data = npz_bytes(files)
    if draw(st.integers(0, 5)) == 0:
        data = draw(mutated_bytes(data))
    return data


IDX_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_bytes(arr: np.ndarray, code: int | None = None, dims: tuple | None = None) -> bytes:
    code = code if code is not None else {v: k for k, v in IDX_CODES.items()}[
        np.dtype(arr.dtype).newbyteorder(">").str.replace("|", ">")]
    dims = arr.shape if dims is None else dims
    head = struct.pack(">BBBB", 0, 0, code, len(dims)) + b"".join(
        struct.pack(">I", d) for d in dims)
    return head + arr.astype(IDX_CODES.get(code, ">u1")).tobytes()


@st.composite
def idx_file(draw, arr: np.ndarray) -> bytes:
    """An IDX file: another type code or dimensions, NaN values, data cut or extended,
    gzipped or not."""
    op = draw(st.sampled_from(["code", "dims", "nan", "cut", "extend", "ndim", "float"]))
    if op == "code":
        data = idx_bytes(arr, code=draw(st.sampled_from(sorted(IDX_CODES) + [0x01, 0xFF])))
    elif op == "dims":
        dims = tuple(draw(st.sampled_from([0, 1, 3, 4, 60, 2**31, 2**32 - 1]))
                     for _ in arr.shape)
        data = idx_bytes(arr, dims=dims)
    elif op == "nan":
        a = arr.astype(">f4")
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([np.nan, np.inf,
                                                                          2.5, -1.0]))
        data = idx_bytes(a, code=0x0D)
    elif op == "cut":
        data = idx_bytes(arr)
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif op == "extend":
        data = idx_bytes(arr) + b"\x00" * draw(st.integers(1, 9))
    elif op == "ndim":
        data = bytearray(idx_bytes(arr))
        data[3] = draw(st.sampled_from([0, 5, 9, 255]))
        data = bytes(data)
    else:
        data = idx_bytes(arr.astype(">f8"), code=0x0E)
    if draw(st.booleans()):
        data = gzip.compress(data, mtime=0)
        if draw(st.integers(0, 3)) == 0:
            data = data[: draw(st.integers(0, len(data)))]
    return data
