"""ONNX converters of the sequence layers: Embedding (Gather), PositionalEmbedding (Add),
LayerNorm (LayerNormalization), MultiHeadAttention (MatMul / Softmax with the causal and
padding masks applied by Where), GlobalAvgPool1D and LastPosition (masked weights · MatMul).

The network's input carries token ids as floats (as in the engine); Embedding casts them to
int64. The padding mask an Embedding publishes in the engine is rebuilt here from those ids
(``ids != 0``) and found by the layers downstream through their ``mask_from`` layer. Imported
by :mod:`.onnx_layers`, which registers these converters.
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.core.engine.attention import _MASKED
from nnstudio.core.engine.embedding import PAD_ID
from nnstudio.core.io.onnx_layers import _w, converts


def _masks(g) -> dict[str, str]:
    """``{embedding node id: bool tensor (N, T), True at real tokens}`` of this export."""
    if not hasattr(g, "text_masks"):
        g.text_masks = {}
    return g.text_masks


def _i64(g, hint: str, values) -> str:
    return g.const(hint, np.array(values, np.int64))


@converts("Embedding")
def _embedding(g, layer, inputs, in_shapes, out_shape):
    n = layer.name
    ids = g.node("Cast", inputs, f"{n}/ids", to=7)  # INT64
    if layer.config["mask_padding"]:
        pad = g.node("Equal", [ids, _i64(g, f"{n}/pad", PAD_ID)], f"{n}/is_pad")
        _masks(g)[n] = g.node("Not", [pad], f"{n}/mask")
    return g.node("Gather", [g.const(f"{n}/E", _w(layer, "E")), ids], n, axis=0)


@converts("PositionalEmbedding")
def _positions(g, layer, inputs, in_shapes, out_shape):
    t, d = in_shapes[0]
    table = np.asarray(layer.table(t, d), np.float32)
    return g.node("Add", [inputs[0], g.const(f"{layer.name}/P", table)], layer.name)


@converts("LayerNorm")
def _layernorm(g, layer, inputs, in_shapes, out_shape):
    n = layer.name
    return g.node("LayerNormalization",
                  [inputs[0], g.const(f"{n}/gamma", _w(layer, "gamma")),
                   g.const(f"{n}/beta", _w(layer, "beta"))], n,
                  axis=-1, epsilon=float(layer.config["epsilon"]))


def _mask_of(g, layer) -> str | None:
    src = getattr(layer, "mask_from", None)
    return _masks(g).get(src.name) if src is not None else None


@converts("MultiHeadAttention")
def _attention(g, layer, inputs, in_shapes, out_shape):
    n = layer.name
    t, d = in_shapes[0]
    h = int(layer.config["heads"])
    k = layer.key_size(d)
    qkv = g.node("MatMul", [inputs[0], g.const(f"{n}/Wqkv", _w(layer, "Wqkv"))], f"{n}/qkv")
    if "bqkv" in layer.params:
        qkv = g.node("Add", [qkv, g.const(f"{n}/bqkv", _w(layer, "bqkv"))], f"{n}/qkv_b")
    qkv = g.node("Reshape", [qkv, _i64(g, f"{n}/split_shape", [0, 0, 3, h, k])], f"{n}/qkv5")
    heads = g.node("Transpose", [qkv], f"{n}/heads", perm=[2, 0, 3, 1, 4])  # (3, N, h, T, k)
    axis0 = _i64(g, f"{n}/axis0", [0])
    # (Constants are at least 1-D here, so Gather keeps the axis and Squeeze drops it.)
    q, key, v = (g.node("Squeeze", [g.node("Gather", [heads, _i64(g, f"{n}/i{i}", [i])],
                                           f"{n}/{w}5", axis=0), axis0], f"{n}/{w}")
                 for i, w in enumerate("qkv"))
    kt = g.node("Transpose", [key], f"{n}/kT", perm=[0, 1, 3, 2])
    s = g.node("MatMul", [q, kt], f"{n}/scores_raw")
    s = g.node("Mul", [s, g.const(f"{n}/scale", np.array(1.0 / math.sqrt(k), np.float32))],
               f"{n}/scores")
    blocked = None
    if layer.config["causal"]:
        blocked = g.const(f"{n}/causal", np.triu(np.ones((t, t), bool), 1))
    mask = _mask_of(g, layer)
    if mask is not None:
        pad = g.node("Not", [mask], f"{n}/pad")
        pad = g.node("Unsqueeze", [pad, _i64(g, f"{n}/axes12", [1, 2])], f"{n}/pad4")
        blocked = pad if blocked is None else g.node("Or", [blocked, pad], f"{n}/blocked")
    if blocked is not None:
        s = g.node("Where", [blocked, g.const(f"{n}/masked", np.array(_MASKED, np.float32)), s],
                   f"{n}/scores_masked")
    a = g.node("Softmax", [s], f"{n}/weights", axis=-1)
    o = g.node("MatMul", [a, v], f"{n}/o")
    o = g.node("Transpose", [o], f"{n}/o_t", perm=[0, 2, 1, 3])
    o = g.node("Reshape", [o, _i64(g, f"{n}/merge_shape", [0, 0, h * k])], f"{n}/o_merged")
    y = g.node("MatMul", [o, g.const(f"{n}/Wo", _w(layer, "Wo"))],
               n if "bo" not in layer.params else f"{n}/y")
    if "bo" in layer.params:
        y = g.node("Add", [y, g.const(f"{n}/bo", _w(layer, "bo"))], n)
    return y


def _weighted_sum(g, n: str, w: str, x: str) -> str:
    """``Σ_t w[n, t]·x[n, t]`` for weights ``(N, T)``: ``(N, D)``."""
    w3 = g.node("Unsqueeze", [w, _i64(g, f"{n}/axis1", [1])], f"{n}/w3")
    y = g.node("MatMul", [w3, x], f"{n}/sum")
    return g.node("Squeeze", [y, _i64(g, f"{n}/axis1b", [1])], n)


@converts("GlobalAvgPool1D")
def _avg_pool_1d(g, layer, inputs, in_shapes, out_shape):
    n = layer.name
    mask = _mask_of(g, layer)
    if mask is None:
        return g.node("ReduceMean", [inputs[0], _i64(g, f"{n}/axes", [1])], n, keepdims=0)
    w = g.node("Cast", [mask], f"{n}/valid", to=1)
    count = g.node("ReduceSum", [w, _i64(g, f"{n}/axes", [1])], f"{n}/count", keepdims=1)
    count = g.node("Max", [count, g.const(f"{n}/one", np.array(1.0, np.float32))],
                   f"{n}/count1")
    w = g.node("Div", [w, count], f"{n}/weights")
    return _weighted_sum(g, n, w, inputs[0])


@converts("LastPosition")
def _last_position(g, layer, inputs, in_shapes, out_shape):
    n = layer.name
    t = in_shapes[0][0]
    mask = _mask_of(g, layer)
    if mask is None:
        last = g.node("Gather", [inputs[0], _i64(g, f"{n}/last", [t - 1])], f"{n}/g", axis=1)
        return g.node("Squeeze", [last, _i64(g, f"{n}/axis1", [1])], n)
    # Texts are right-padded: the last real token is at (count − 1), position 0 if none.
    count = g.node("ReduceSum", [g.node("Cast", [mask], f"{n}/valid", to=7),
                                 _i64(g, f"{n}/axes", [1])], f"{n}/count", keepdims=1)
    last = g.node("Max", [g.node("Sub", [count, _i64(g, f"{n}/one", 1)], f"{n}/cm1"),
                          _i64(g, f"{n}/zero", 0)], f"{n}/last")
    hit = g.node("Equal", [_i64(g, f"{n}/positions", np.arange(t)[None]), last], f"{n}/hit")
    return _weighted_sum(g, n, g.node("Cast", [hit], f"{n}/onehot", to=1), inputs[0])


# -- text preparation and language-model outputs ------------------------------------------------

def prep_text(g, prep, prep_table) -> tuple[list, str]:
    """ONNX inputs of a model that reads text, and the network's input tensor.

    Standard ONNX cannot tokenise text, so the file takes what the tokenizer makes:
    ``token_ids`` ``tensor(int64)`` ``[N, T]`` (token sequences and language models: the ids
    of the vocabulary in ``metadata_props["text_preparation"]``, right-padded with 0, unknown
    tokens 1), or for bag-of-words / TF-IDF models ``<column>_vector`` ``tensor(float)``
    ``[N, V]`` (the encoded vector) after the table inputs of the other columns; token ids
    beside other columns (a network whose Inputs take chosen columns) come after them too.
    """
    from nnstudio.core.io.onnx_export import OnnxInput, _onnx_type

    text = prep.text
    if text.encoding == "sequence":
        g.reserve("token_ids")
        ids = OnnxInput("token_ids", "int64", [None, text.n_features], [text.column])
        x = g.node("Cast", ["token_ids"], "prep/ids", to=_onnx_type("float"))
        if not prep.features:
            return [ids], x
        # Token ids beside other columns (several Inputs): the table's prepared columns,
        # then the ids, as the prepared row of nnstudio (Inputs take theirs with Gather).
        inputs, table = prep_table(g, prep)
        return [*inputs, ids], g.node("Concat", [table, x], "prep/x_ids", axis=1)
    name = f"{text.column}_vector"
    g.reserve(name)
    vec = OnnxInput(name, "float", [None, text.n_features], [text.column])
    if not prep.features:
        return [vec], g.node("Identity", [name], "prep/x")
    inputs, x = prep_table(g, prep)
    return [*inputs, vec], g.node("Concat", [x, name], "prep/x_text", axis=1)


def text_feeds(model, data) -> dict[str, np.ndarray]:
    """The ONNX inputs for a table (or, for a sequence model, raw texts) of a text model."""
    prep = model.preparation
    text = prep.text
    if isinstance(data, (list, tuple)):
        x = text.transform(list(data))
    else:
        x = prep.transform_features(data)
    if text.encoding == "sequence" and not prep.features:
        return {"token_ids": x.astype(np.int64)}
    feeds: dict[str, np.ndarray] = {}
    if prep.features:
        from nnstudio.core.io.onnx_export import onnx_feeds

        feeds.update(onnx_feeds(model, data, skip_text=True))
    block = np.ascontiguousarray(x[:, -text.n_features:])
    if text.encoding == "sequence":
        feeds["token_ids"] = block.astype(np.int64)
    else:
        feeds[f"{text.column}_vector"] = block
    return feeds


def lm_outputs(g, model, y: str) -> list:
    """A language model's output: ``probabilities`` ``[N, T, V]`` (next-token distributions)."""
    from onnx import TensorProto, helper

    g.reserve("probabilities")
    g.nodes.append(helper.make_node("Identity", [y], ["probabilities"]))
    t, v = (int(s) for s in model.network.output_shape)
    return [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, t, v])]
