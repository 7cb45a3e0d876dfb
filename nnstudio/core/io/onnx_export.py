"""Export a trained model to ONNX (opset 19), with the data preparation folded into the graph.

The ``.onnx`` file takes **raw** values, the way they appear in the data file, and gives
predictions in the user's terms; nothing has to be re-implemented next to it.

Input signature
---------------
Table models:

``features``: ``tensor(double)`` ``[N, F]``
    The numeric columns, in the model's feature order (the file's order unless the project
    lists ``features``). A date column is given as days since 1970-01-01 when the model
    was trained on the day number, else as the date parts it was trained on, one column each
    (``date:month_sin``, ``date:month_cos``, ...; :func:`onnx_feeds` computes them, and
    ``metadata_props["inputs"]`` lists the names). A missing value is
    ``NaN`` (filled as in training when the project filled missing values; otherwise the
    prediction is ``NaN``). Absent when the model has no numeric column.
one ``tensor(string)`` ``[N, 1]`` input per categorical column, named after the column
    The category as text (a ZIP code ``"98178"``, ``"city"``); a category never seen in
    training counts as none of the known ones; ``""`` is missing.

Text models (see :mod:`.onnx_text`; ONNX cannot tokenise text): ``token_ids``
``tensor(int64)`` ``[N, T]`` for token sequences and language models, or the table inputs
plus ``<column>_vector`` ``tensor(float)`` ``[N, V]`` for bag-of-words / TF-IDF; the fitted
tokenizer and vocabulary are in ``metadata_props["text_preparation"]``; token ids beside other
columns (several Inputs) come as ``token_ids`` after the table inputs. A language model
outputs ``probabilities`` ``tensor(float)`` ``[N, T, V]``.

Array models (IDX images, NPZ): ``x``: ``tensor(float)`` ``[N, *sample_shape]`` raw values
(pixels 0–255 for MNIST).

Outputs: classification ``prediction`` (``tensor(string)`` ``[N]``, the class name) and
``probabilities`` (``tensor(float)`` ``[N, K]``, one column per class in
``metadata_props["class_names"]`` order); regression ``prediction`` (``tensor(double)``
``[N, k]``, in the target's units: the target standardization is undone in the graph).
A network with several outputs gives, per Output layer, ``prediction_<target>`` and for a
class target ``probabilities_<target>`` (the same types). Several Inputs read the same
inputs as one: each takes its columns of the prepared row with ``Gather``.

Folding: fill ``Where(IsNaN(x), fill, x)``; scaling ``(x − offset) / divisor`` as ``Sub`` and
``Div`` in double precision then ``Cast`` to float (exactly the NumPy path's arithmetic);
one-hot ``Equal(column, categories)`` + ``Cast``; the numeric and one-hot blocks are put in
the network's column order with ``Gather`` and ``Concat``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio import __version__
from nnstudio.core.errors import ExportError
from nnstudio.core.io.atomic import atomic_write_bytes
from nnstudio.core.io.onnx_layers import convert_layer

OPSET = 19


@dataclass
class OnnxInput:
    """One graph input: its name, element type, shape and the raw columns it carries."""

    name: str
    dtype: str
    shape: list[Any]
    columns: list[str] = field(default_factory=list)

    def describe(self) -> str:
        dims = ", ".join("N" if d is None else str(d) for d in self.shape)
        return f"{self.name} {self.dtype}[{dims}]"


@dataclass
class ExportInfo:
    """What :func:`export_onnx` wrote: opset, inputs (in order) and output names."""

    opset: int
    inputs: list[OnnxInput]
    outputs: list[str]


class GraphBuilder:
    """Collects nodes and initializers with unique tensor names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names: set[str] = set()

    def unique(self, hint: str) -> str:
        name, i = hint, 1
        while name in self._names:
            i += 1
            name = f"{hint}_{i}"
        self._names.add(name)
        return name

    def reserve(self, name: str) -> None:
        self._names.add(name)

    def const(self, hint: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.unique(hint)
        arr = np.asarray(value)
        if arr.dtype.kind == "U":
            from onnx import TensorProto, helper

            t = helper.make_tensor(name, TensorProto.STRING, arr.shape,
                                   [s.encode("utf-8") for s in arr.reshape(-1).tolist()])
        else:
            t = numpy_helper.from_array(np.ascontiguousarray(arr), name)
        self.initializers.append(t)
        return name

    def node(self, op: str, inputs: list[str], outputs: str | list[str], **attrs: Any):
        from onnx import helper

        outs = [self.unique(o) for o in ([outputs] if isinstance(outputs, str) else outputs)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, **attrs))
        return outs[0] if isinstance(outputs, str) else outs


# -- preparation --------------------------------------------------------------------------------


def _numeric_columns(prep: Any) -> list[tuple[str, float, float, float]]:
    """``(name, fill, offset, divisor)`` of every column of the ``features`` input.

    A date trained on its parts gives one column per part; its fill is the parts of the
    filled day.
    """
    from nnstudio.core.data import dates
    from nnstudio.core.data.preparation import date_parts

    out = []
    for f in prep.features:
        if f["kind"] == "categorical":
            continue
        fill = np.nan if f["fill"] is None else float(f["fill"])
        if isinstance(f["offset"], list):
            parts = date_parts(f)
            fills = (np.full(dates.width(parts), np.nan) if np.isnan(fill)
                     else dates.expand(np.array([fill]), parts)[0])
            out += list(zip(dates.part_names(f["name"], parts), fills.tolist(), f["offset"],
                            f["divisor"], strict=True))
        else:
            out.append((f["name"], fill, f["offset"], f["divisor"]))
    return out


def _prep_table(g: GraphBuilder, prep: Any) -> tuple[list[OnnxInput], str]:
    """Inputs and the prepared float tensor ``[N, F']`` of a table model."""
    feats = prep.features
    numeric = _numeric_columns(prep)
    inputs: list[OnnxInput] = []
    num_scaled = None
    if numeric:
        g.reserve("features")
        inputs.append(OnnxInput("features", "double", [None, len(numeric)],
                                [c[0] for c in numeric]))
        x = "features"
        fill = np.array([c[1] for c in numeric], np.float64)
        if not np.isnan(fill).all():
            x = g.node("Where", [g.node("IsNaN", [x], "prep/missing"),
                                 g.const("prep/fill", fill), x], "prep/filled")
        offset = np.array([c[2] for c in numeric], np.float64)
        divisor = np.array([c[3] for c in numeric], np.float64)
        x = g.node("Sub", [x, g.const("prep/offset", offset)], "prep/centered")
        x = g.node("Div", [x, g.const("prep/divisor", divisor)], "prep/scaled64")
        num_scaled = g.node("Cast", [x], "prep/scaled", to=_onnx_type("float"))
    blocks: list[str] = []
    run: list[int] = []  # consecutive numeric columns, gathered as one block
    j = 0

    def flush() -> None:
        if run:
            idx = g.const("prep/columns", np.array(run, np.int64))
            blocks.append(g.node("Gather", [num_scaled, idx], "prep/numeric", axis=1))
            run.clear()

    for f in feats:
        if f["kind"] != "categorical":
            k = len(f["offset"]) if isinstance(f["offset"], list) else 1
            run.extend(range(j, j + k))
            j += k
            continue
        flush()
        name = f["name"]
        if name in g._names:
            raise ExportError(f"column name {name!r} clashes with another input; rename it")
        g.reserve(name)
        inputs.append(OnnxInput(name, "string", [None, 1], [name]))
        s = name
        if f["fill"] is not None:
            empty = g.node("Equal", [s, g.const("prep/empty", np.array([""]))], "prep/is_empty")
            s = g.node("Where", [empty, g.const("prep/fill_cat", np.array([str(f["fill"])])), s],
                       f"prep/{name}/filled")
        cats = list(f["categories"])
        if not cats:
            continue
        hit = g.node("Equal", [s, g.const(f"prep/{name}/categories", np.array([cats]))],
                     f"prep/{name}/equal")
        blocks.append(g.node("Cast", [hit], f"prep/{name}/onehot", to=_onnx_type("float")))
    flush()
    if not blocks:
        raise ExportError("the model reads no feature columns")
    x = blocks[0] if len(blocks) == 1 else g.node("Concat", blocks, "prep/x", axis=1)
    return inputs, x


def _prep_array(g: GraphBuilder, prep: Any) -> tuple[list[OnnxInput], str]:
    a = prep.array
    shape = [int(s) for s in a["sample_shape"]]
    g.reserve("x")
    x64 = g.node("Cast", ["x"], "prep/x64", to=_onnx_type("double"))
    x = g.node("Sub", [x64, g.const("prep/offset", np.asarray(a["offset"], np.float64))],
               "prep/centered")
    x = g.node("Div", [x, g.const("prep/divisor", np.asarray(a["divisor"], np.float64))],
               "prep/scaled64")
    x = g.node("Cast", [x], "prep/x", to=_onnx_type("float"))
    return [OnnxInput("x", "float", [None, *shape], [a["name"]])], x


def _onnx_type(name: str) -> int:
    from onnx import TensorProto

    return {"float": TensorProto.FLOAT, "double": TensorProto.DOUBLE,
            "string": TensorProto.STRING, "int64": TensorProto.INT64}[name]


# -- network and outputs -------------------------------------------------------------------------


def _network(g: GraphBuilder, net: Any, x: str) -> Any:
    """The network's nodes; returns the output's value name, or ``{output id: name}``."""
    values: dict[str, str] = {}
    for node_id in net.order:
        layer = net.layers[node_id]
        if node_id in net.input_ids:
            if net.input_columns is None:
                ins, in_shapes = [x], [tuple(net.input_shape)]
            else:  # an Input taking some columns of the prepared row
                cols = np.asarray(net.input_columns[node_id], np.int64)
                ins = [g.node("Gather", [x, g.const(f"{node_id}/columns", cols)],
                              f"{node_id}/columns_of_x", axis=1)]
                in_shapes = [(len(cols),)]
        else:
            ins = [values[p] for p in net.preds[node_id]]
            in_shapes = [tuple(net.shapes[p]) for p in net.preds[node_id]]
        values[node_id] = convert_layer(g, layer, ins, in_shapes, tuple(net.shapes[node_id]))
    if net.output_id is None:
        return {o: values[o] for o in net.output_ids}
    return values[net.output_id]


def _outputs(g: GraphBuilder, model: Any, y: Any) -> list[Any]:
    if model.task == "language_model":
        from nnstudio.core.io.onnx_text import lm_outputs

        return lm_outputs(g, model, y)
    if model.heads is not None:  # Outputs naming targets: prediction_<target> (+ probabilities_)
        y = model.heads.by_node(y)
        outs = []
        for h in model.heads.heads:
            info = model.preparation.heads[h.column]
            k = int(np.prod(model.network.shapes[h.node]))
            flat = g.node("Reshape", [y[h.node], g.const(f"{h.target}/shape",
                                                          np.array([-1, k], np.int64))],
                          f"{h.target}/flat")
            if h.task == "classification":
                outs += _class_outputs(g, flat, k, list(info["class_names"]),
                                       f"prediction_{h.target}", f"probabilities_{h.target}")
            else:
                outs += _number_outputs(g, flat, 1, [info], f"prediction_{h.target}")
        return outs
    k = int(np.prod(model.network.output_shape))
    y = g.node("Reshape", [y, g.const("out/shape", np.array([-1, k], np.int64))], "out/flat")
    if model.task == "classification":
        names = model.class_names or [str(i) for i in range(max(k, 2))]
        return _class_outputs(g, y, k, names, "prediction", "probabilities")
    stats = getattr(model.preparation, "target_stats", None) or []
    return _number_outputs(g, y, k, stats, "prediction")


def _class_outputs(g: GraphBuilder, y: str, k: int, names: list[str], prediction: str,
                   probabilities: str) -> list[Any]:
    """A class name ``[N]`` and the class probabilities ``[N, K]`` from outputs ``y [N, k]``
    (``k == 1``: a sigmoid's P(second class))."""
    from onnx import helper

    classes = g.const(f"{prediction}/class_names", np.array(names))
    g.reserve(probabilities)
    g.reserve(prediction)
    if k == 1:  # a sigmoid: P(class 1)
        one = g.const(f"{prediction}/one", np.array(1.0, np.float32))
        p0 = g.node("Sub", [one, y], f"{prediction}/p0")
        g.nodes.append(helper.make_node("Concat", [p0, y], [probabilities], axis=1))
        above = g.node("Greater", [y, g.const(f"{prediction}/half",
                                               np.array(0.5, np.float32))],
                       f"{prediction}/above")
        idx = g.node("Cast", [above], f"{prediction}/index2d", to=_onnx_type("int64"))
        idx = g.node("Reshape", [idx, g.const(f"{prediction}/n", np.array([-1], np.int64))],
                     f"{prediction}/index")
    else:
        g.nodes.append(helper.make_node("Identity", [y], [probabilities]))
        idx = g.node("ArgMax", [y], f"{prediction}/index", axis=1, keepdims=0)
    g.nodes.append(helper.make_node("Gather", [classes, idx], [prediction], axis=0))
    return [
        helper.make_tensor_value_info(prediction, _onnx_type("string"), [None]),
        helper.make_tensor_value_info(probabilities, _onnx_type("float"), [None, len(names)]),
    ]


def _number_outputs(g: GraphBuilder, y: str, k: int, stats: list[dict],
                    prediction: str) -> list[Any]:
    """Numbers ``[N, k]`` in the target's units (the standardization of ``stats``, one
    ``{"mean", "std"}`` per column, undone) from outputs ``y [N, k]``."""
    from onnx import helper

    y64 = g.node("Cast", [y], f"{prediction}/y64", to=_onnx_type("double"))
    g.reserve(prediction)
    if len(stats) == k:
        std = np.array([t["std"] for t in stats], np.float64)
        mean = np.array([t["mean"] for t in stats], np.float64)
        scaled = g.node("Mul", [y64, g.const(f"{prediction}/std", std)], f"{prediction}/scaled")
        g.nodes.append(helper.make_node("Add", [scaled, g.const(f"{prediction}/mean", mean)],
                                        [prediction]))
    else:
        g.nodes.append(helper.make_node("Identity", [y64], [prediction]))
    return [helper.make_tensor_value_info(prediction, _onnx_type("double"), [None, k])]


def build_onnx(model: Any) -> tuple[Any, ExportInfo]:
    """The ONNX ``ModelProto`` of a :class:`~nnstudio.core.io.model_file.TrainedModel`."""
    try:
        import onnx
        from onnx import helper
    except ImportError:
        raise ExportError("ONNX export needs the 'onnx' package: pip install onnx") from None
    g = GraphBuilder()
    prep = model.preparation
    if prep is None:
        g.reserve("x")
        inputs = [OnnxInput("x", "float", [None, *model.input_shape], ["x"])]
        x = "x"
    elif getattr(prep, "array", None) is not None:
        inputs, x = _prep_array(g, prep)
    elif getattr(prep, "text", None) is not None:  # token ids or text vectors: onnx_text.py
        from nnstudio.core.io.onnx_text import prep_text

        inputs, x = prep_text(g, prep, _prep_table)
    else:
        inputs, x = _prep_table(g, prep)
    y = _network(g, model.network, x)
    outputs = _outputs(g, model, y)
    graph = helper.make_graph(
        g.nodes, "nnstudio",
        [helper.make_tensor_value_info(i.name, _onnx_type(i.dtype), i.shape) for i in inputs],
        outputs, g.initializers,
        doc_string="Inputs: " + "; ".join(
            f"{i.describe()} = {', '.join(i.columns)}" for i in inputs
        ),
    )
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nnstudio",
        producer_version=__version__,
    )
    proto.ir_version = min(proto.ir_version, 9)  # readable by older runtimes
    meta = {
        "task": model.task,
        "class_names": json.dumps(list(model.class_names)),
        "target_names": json.dumps(model.target_names),
        "inputs": json.dumps([{"name": i.name, "dtype": i.dtype, "columns": i.columns}
                              for i in inputs]),
        "feature_names": json.dumps(model.feature_names),
    }
    if getattr(prep, "heads", None) is not None:  # several outputs: what each one is
        meta["outputs"] = json.dumps([
            {"target": h["target"], "task": h["task"],
             **({"class_names": h["class_names"]} if h["task"] == "classification" else {})}
            for h in prep.heads])
    if getattr(prep, "media", None) is not None:
        # How to turn an image/sound file into the input x (docs/files-and-cli.md).
        meta["media"] = json.dumps(prep.media)
    if getattr(prep, "text", None) is not None:  # how to make token_ids (onnx_text.py)
        meta["text_preparation"] = json.dumps(prep.text.to_dict())
    onnx.helper.set_model_props(proto, meta)
    info = ExportInfo(OPSET, inputs, [o.name for o in outputs])
    return proto, info


def onnx_feeds(model: Any, data: Any, skip_text: bool = False) -> dict[str, np.ndarray]:
    """The ONNX inputs for raw data, in the signature above.

    ``data`` is a :class:`~nnstudio.core.data.Table` for a table model (the columns by name,
    as loaded from a file), or an array ``(N, *sample_shape)`` of raw values for an array
    model.
    """
    prep = model.preparation
    if prep is None:
        return {"x": np.asarray(data, np.float32)}
    if getattr(prep, "array", None) is not None:
        return {"x": np.asarray(data, np.float32)}
    if getattr(prep, "text", None) is not None and not skip_text:
        from nnstudio.core.io.onnx_text import text_feeds

        return text_feeds(model, data)
    from nnstudio.core.data import dates
    from nnstudio.core.data.preparation import date_parts, raw_feature

    blocks = []
    for f in prep.features:
        if f["kind"] == "categorical":
            continue
        raw = np.asarray(raw_feature(data, f["name"], f["kind"]), np.float64)
        if isinstance(f["offset"], list):  # date parts; a missing day stays NaN in each
            wide = np.full((raw.shape[0], len(f["offset"])), np.nan)
            ok = ~np.isnan(raw)
            wide[ok] = dates.expand(raw[ok], date_parts(f))
            blocks.append(wide)
        else:
            blocks.append(raw.reshape(-1, 1))
    feeds: dict[str, np.ndarray] = {}
    if blocks:
        feeds["features"] = np.concatenate(blocks, axis=1).astype(np.float64)
    for f in prep.features:
        if f["kind"] == "categorical":
            values = raw_feature(data, f["name"], "categorical")
            feeds[f["name"]] = np.asarray(values, dtype=object).reshape(-1, 1)
    return feeds


def export_onnx(model: Any, path: str | Path) -> ExportInfo:
    """Write ``model`` as an ONNX file (checked with ``onnx.checker``, written atomically)."""
    import onnx

    proto, info = build_onnx(model)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as e:  # a converter bug: say so plainly
        raise ExportError(f"the exported graph failed onnx.checker: {e}") from None
    try:
        atomic_write_bytes(path, proto.SerializeToString())
    except OSError as e:
        raise ExportError(f"cannot be written ({e.strerror or e})", str(path)) from None
    return info
