"""Bring an ONNX model in: a canvas network with its weights.

::

    model = import_onnx("net.onnx")             # a TrainedModel (no data preparation)
    save_imported(model, "net.nnsproj")         # a project whose current run is the model

The graph is walked in ONNX order. Constant sub-graphs (shape arithmetic, the zero initial
states PyTorch's exporter builds for recurrent layers) are evaluated with NumPy
(:data:`~nnstudio.core.io.onnx_ops.FOLD`), with 1 for the batch size; every other node goes
through its converter in :data:`~nnstudio.core.io.onnx_ops.OPS`, which adds engine layers
and their weights. An operator without a converter, or one whose attributes a layer cannot
express, is one :class:`~nnstudio.core.errors.ProjectError` naming the operator, the node and
why; a file that is not a valid ONNX model is one too. Needs the ``onnx`` package (a
dependency of nnstudio for the ONNX export as well).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.engine.layer import Layer
from nnstudio.core.engine.network import Network, NetworkSpec, NodeSpec
from nnstudio.core.errors import NNStudioError, ProjectError
from nnstudio.core.io import onnx_ops_more  # noqa: F401  (adds its converters to OPS)
from nnstudio.core.io.onnx_ops import FOLD, OPS, Dyn, UnsupportedError, part_name

RECURRENT = ("SimpleRNN", "LSTM", "GRU")


class Builder:
    """The network under construction: nodes, edges, weights and per-sample shapes."""

    def __init__(self, input_shape: tuple[int, ...], opset: int):
        self.opset = opset
        # The Input declares its shape, so the canvas shows every shape without data.
        self.nodes: list[NodeSpec] = [NodeSpec("input", "Input",
                                               {"shape": list(input_shape)})]
        self.edges: list[tuple[str, str]] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.shapes: dict[str, tuple[int, ...]] = {"input": tuple(input_shape)}
        self.pending: set[str] = set()
        self._count: dict[str, int] = {}
        self._bias_free: set[str] = set()
        self._relaid: dict[tuple[str, str], Dyn] = {}

    def shape(self, node_id: str) -> tuple[int, ...]:
        return self.shapes[node_id]

    def node(self, node_id: str) -> NodeSpec:
        return next(n for n in self.nodes if n.id == node_id)

    def add(self, kind: str, config: dict, inputs: list[Dyn | str], arrays: dict,
            pending: bool = False) -> str:
        """Add a layer fed by ``inputs`` (values or node ids, in order); returns its id."""
        inputs = [Dyn(d) if isinstance(d, str) else d for d in inputs]
        for d in inputs:
            if d.node in self.pending:
                raise UnsupportedError(f"uses the raw output of recurrent layer {d.node!r}")
        k = self._count[kind] = self._count.get(kind, 0) + 1
        node_id = f"{kind.lower()}{k}"
        layer = Layer.from_config(kind, node_id, config)
        in_shapes = [self.shapes[d.node] for d in inputs]
        self.shapes[node_id] = tuple(layer.output_shape(in_shapes))
        wanted = {**layer.param_shapes(in_shapes), **layer.state_shapes(in_shapes)}
        for name, shape in wanted.items():
            a = np.asarray(arrays[name], np.float32)
            if a.shape != tuple(shape):
                raise UnsupportedError(
                    f"weight {name} has shape {a.shape}, the layer needs {shape}")
            self.arrays[f"{node_id}/{name}"] = a
        self.nodes.append(NodeSpec(node_id, kind, layer.get_config()))
        self.edges += [(d.node, node_id) for d in inputs]
        if pending:
            self.pending.add(node_id)
        if kind == "Dense" and not config.get("use_bias", True):
            self._bias_free.add(node_id)
        return node_id

    def relayout(self, x: Dyn, layout: str) -> Dyn:
        """``x`` as ``"same"`` or ``"swap"`` (channels-first ↔ -last sequence): a Permute
        layer when the engine must swap the two axes of each sample (one per value)."""
        if x.layout == layout:
            return x
        if {x.layout, layout} != {"same", "swap"} or len(self.shapes[x.node]) != 2:
            raise UnsupportedError(f"needs a {layout} sequence, gets a {x.layout} value of "
                                   f"shape {self.shapes[x.node]}")
        key = (x.node, layout)
        if key not in self._relaid:
            self._relaid[key] = Dyn(self.add("Permute", {"dims": [2, 1]}, [Dyn(x.node)], {}),
                                    layout)
        return self._relaid[key]

    def _consumed(self, node_id: str) -> bool:
        return any(a == node_id for a, _ in self.edges)

    def absorb_bias(self, x: Dyn, c: np.ndarray) -> bool:
        """Turn ``MatMul`` + ``Add(bias)`` into one Dense with a bias, when it can be."""
        if x.node not in self._bias_free or self._consumed(x.node):
            return False
        units = self.shapes[x.node][-1]  # a Dense on a sequence works on its last axis
        if c.size not in (1, units):
            return False
        self.node(x.node).config["use_bias"] = True
        self.arrays[f"{x.node}/b"] = np.broadcast_to(c.reshape(-1), (units,)).astype(np.float32)
        self._bias_free.discard(x.node)
        return True

    def finish_recurrent(self, node_id: str, return_sequences: bool,
                         merge_mode: str | None = None) -> None:
        """A ``Squeeze`` (a ``Concat``, ``Add``, ... for a bidirectional layer) said which
        output of a recurrent layer is used (and how the two directions are joined)."""
        if node_id not in self.pending:
            raise UnsupportedError("uses both outputs of a recurrent layer")
        self.pending.discard(node_id)
        if merge_mode is not None:
            self.node(node_id).config["merge_mode"] = merge_mode
        self._set_sequences(node_id, return_sequences)

    def last_step(self, node_id: str) -> bool:
        """``x[:, -1]`` of a recurrent layer's sequence: that layer's last state instead."""
        ns = self.node(node_id)
        if ns.type not in RECURRENT or not ns.config["return_sequences"] or \
                self._consumed(node_id):
            return False
        self._set_sequences(node_id, False)
        return True

    def _set_sequences(self, node_id: str, on: bool) -> None:
        ns = self.node(node_id)
        ns.config["return_sequences"] = on
        (src,) = [a for a, b in self.edges if b == node_id]
        layer = Layer.from_config(ns.type, node_id, ns.config)
        self.shapes[node_id] = tuple(layer.output_shape([self.shapes[src]]))

    def onnx_shape(self, v: Dyn) -> tuple[int, ...]:
        """The ONNX shape of a value with batch size 1 (for ``Shape`` nodes)."""
        s = self.shapes[v.node]
        if v.part == "Y":
            return (s[0], 1, 1, s[-1])
        if v.part in ("Y_h", "Y_c"):
            return (1, 1, s[-1])
        if v.part in ("BY", "BY_h", "BY_c"):
            raise UnsupportedError("reads the shape of a bidirectional layer's raw output")
        if v.layout == "swap":
            return (1, *s[::-1])
        return (s[0], 1, *s[1:]) if v.layout == "time" else (1, *s)

    def keep_ancestors(self, output: str) -> None:
        """Drop layers that do not lead to ``output`` (unused outputs of recurrent layers)."""
        preds: dict[str, list[str]] = {}
        for a, b in self.edges:
            preds.setdefault(b, []).append(a)
        keep, stack = set(), [output]
        while stack:
            n = stack.pop()
            if n not in keep:
                keep.add(n)
                stack += preds.get(n, [])
        self.nodes = [n for n in self.nodes if n.id in keep]
        self.edges = [(a, b) for a, b in self.edges if a in keep and b in keep]
        self.arrays = {k: v for k, v in self.arrays.items() if k.split("/")[0] in keep}


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import helper, numpy_helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = numpy_helper.to_array(v) if hasattr(v, "data_type") else v
    return out


def _load(path: Path) -> Any:
    try:
        import onnx
    except ImportError:
        raise ProjectError("reading ONNX files needs the 'onnx' package "
                           "(pip install onnx)", str(path)) from None
    if not path.is_file():
        raise ProjectError("no such file" if not path.exists() else "is not a file", str(path))
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as e:  # onnx raises DecodeError, ValidationError, ...
        text = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise ProjectError(f"is not a valid ONNX model ({text})", str(path)) from None
    return model


def import_onnx(path: str | Path) -> Any:
    """Read an ONNX file into a :class:`~nnstudio.core.io.model_file.TrainedModel`.

    The network has one Input ``(per-sample shape of the graph input)`` and the graph's
    output; layers get readable ids (``dense1``, ``conv2d2``) and canvas positions. A model
    ending in Softmax becomes a classifier (classes ``"0"``, ``"1"``, ...), otherwise a
    regression; it has no data preparation.
    """
    from onnx import numpy_helper

    from nnstudio.core.graph.layout import arrange
    from nnstudio.core.io.model_file import TrainedModel

    p = Path(path)
    where = str(p)
    model = _load(p)
    graph = model.graph
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                default=13)
    values: dict[str, Any] = {"": None, **FUSED_CONSTANTS}
    for init in graph.initializer:
        values[init.name] = numpy_helper.to_array(init)
    inputs = [i for i in graph.input if i.name not in values]
    if len(inputs) != 1:
        raise ProjectError(f"has {len(inputs)} data inputs; a network takes exactly one", where)
    dims = inputs[0].type.tensor_type.shape.dim
    if len(dims) < 2 or any(not d.HasField("dim_value") for d in dims[1:]):
        raise ProjectError(f"input {inputs[0].name!r} needs a batch axis and fixed sizes for "
                           "the rest", where)
    b = Builder(tuple(int(d.dim_value) for d in dims[1:]), opset)
    values[inputs[0].name] = Dyn("input")
    for index, node in enumerate(fuse_patterns(graph, values)):
        label = f"node {node.name or index!r} ({node.op_type})"
        attrs = _attributes(node)
        ins = [values[n] if n in values else _missing(n, label, where) for n in node.input]
        try:
            if node.domain not in ("", "ai.onnx"):
                raise UnsupportedError(f"operator domain {node.domain!r}")
            if node.op_type == "Constant":
                outs = [next(iter(attrs.values()))]
            elif node.op_type == "Shape" and isinstance(ins[0], Dyn):
                outs = [np.array(b.onnx_shape(ins[0]), np.int64)]
            elif node.op_type in FOLD and not any(isinstance(v, Dyn) for v in ins):
                outs = [np.asarray(FOLD[node.op_type]([v for v in ins if v is not None],
                                                      attrs))]
            elif node.op_type in OPS:
                outs = OPS[node.op_type](b, node, ins, attrs)
            else:
                known = ", ".join(sorted(set(OPS) - {"Silu"}))  # Silu: fused, not ONNX
                raise ProjectError(f"{label}: the ONNX operator {node.op_type} is not supported "
                                   f"(supported: {known})", where)
        except UnsupportedError as e:
            raise ProjectError(f"{label}: {node.op_type} {e}", where) from None
        except NNStudioError as e:
            if isinstance(e, ProjectError) and e.where == where:
                raise
            raise ProjectError(f"{label}: {e.message}", where) from None
        for name, v in zip(node.output, outs, strict=False):
            values[name] = Dyn(v) if isinstance(v, str) else v  # a new layer's node id
    if len(graph.output) != 1:
        raise ProjectError(f"has {len(graph.output)} outputs; a network has exactly one", where)
    out = values.get(graph.output[0].name)
    if isinstance(out, Dyn) and out.part is not None:
        raise ProjectError(f"output {graph.output[0].name!r} is the raw {part_name(out.part)} "
                           f"output of the recurrent layer {out.node!r}, which no engine layer "
                           "gives", where)
    if isinstance(out, Dyn) and out.layout == "swap" and out.part is None:
        out = b.relayout(out, "same")
    if not isinstance(out, Dyn) or out.layout != "same" or out.part is not None:
        raise ProjectError(f"output {graph.output[0].name!r} is not a batch-first result of "
                           "the input", where)
    b.keep_ancestors(out.node)
    spec = NetworkSpec(b.nodes, b.edges)
    input_shape = b.shapes["input"]
    try:
        net = Network(spec, input_shape)
        net.load_state_dict(b.arrays, where)
    except NNStudioError as e:
        raise ProjectError(f"gives a network nnstudio cannot build: {e}", where) from None
    pos = arrange([n.id for n in spec.nodes], spec.edges)
    arch = spec.to_dict()
    for n in arch["nodes"]:
        n["pos"] = [round(v, 1) for v in pos[n["id"]]]
    last = spec.node(out.node).type
    k = int(np.prod(net.output_shape))
    if last == "Softmax" or (last == "Sigmoid" and k == 1):
        task, loss = "classification", "cross_entropy" if last == "Softmax" else \
            "binary_cross_entropy"
        classes = [str(i) for i in range(max(k, 2))]
    else:
        task, loss, classes = "regression", "mse", []
    return TrainedModel(network=net, preparation=None, task=task, class_names=classes,
                        loss=loss, architecture=arch,
                        summary={"imported_from": p.name, "producer": model.producer_name},
                        training_config={"loss": loss})


def _missing(name: str, label: str, where: str):
    raise ProjectError(f"{label}: input {name!r} is produced by no earlier node", where)


def save_imported(model: Any, project_path: str | Path, source: str = "") -> Path:
    """Write a project holding the imported network, with ``model`` as its first and current
    run (the weights go into the project's runs folder, as for any trained run); returns the
    project's path. ``source`` names the ONNX file in the run's note."""
    from nnstudio.core.io.project import Project, save_project
    from nnstudio.core.io.runs import RunHistory, run_from_model
    from nnstudio.core.training.config import TrainingConfig

    proj = Path(project_path)
    runs = RunHistory()
    run = run_from_model(runs, model, "import", name=f"Imported from {source or 'ONNX'}")
    run.note = f"imported from the ONNX file {source}" if source else "imported from ONNX"
    runs.add(run, make_current=True)
    project = Project(network=model.architecture_dict(), training=TrainingConfig(loss=model.loss),
                      meta={"title": f"{proj.stem} (imported from ONNX)"}, runs=runs)
    save_project(project, proj)
    return proj


# -- patterns: sub-graphs older exporters write for one layer ------------------------------------

class _Graph:
    """Who produces and who reads each value, and the constants, for pattern matching."""

    def __init__(self, graph: Any, consts: dict[str, np.ndarray]):
        self.nodes = list(graph.node)
        self.consts = dict(consts)
        for n in self.nodes:
            if n.op_type == "Constant" and n.attribute:  # value, value_float, value_ints, ...
                self.consts[n.output[0]] = np.asarray(next(iter(_attributes(n).values())))
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.readers: dict[str, list] = {}
        for n in self.nodes:
            for i in n.input:
                self.readers.setdefault(i, []).append(n)
        self.outputs = {o.name for o in graph.output}

    def near(self, name: str, value: float) -> bool:
        c = self.consts.get(name)
        return c is not None and c.size == 1 and abs(float(c.reshape(-1)[0]) - value) <= \
            1e-4 * max(1.0, abs(value))

    def made(self, name: str, op: str) -> Any:
        n = self.producer.get(name)
        return n if n is not None and n.op_type == op else None

    def reader(self, name: str, op: str) -> Any:
        """The one node reading ``name``, if it is an ``op``."""
        r = self.readers.get(name, [])
        return r[0] if len(r) == 1 and r[0].op_type == op and name not in self.outputs else None

    def with_const(self, node: Any, value: float) -> str | None:
        """The other input of a binary ``node`` whose one input is the constant ``value``."""
        if node is None or len(node.input) != 2:
            return None
        a, c = node.input
        if self.near(c, value):
            return a
        return c if self.near(a, value) else None


def _gelu_tail(g: _Graph, inner: Any, x: str) -> list | None:
    """``0.5·x·(1 + inner)`` in any order of the products: the nodes, the last one last."""
    one = g.reader(inner.output[0], "Add")
    if one is None or g.with_const(one, 1.0) != inner.output[0]:
        return None
    m = g.reader(one.output[0], "Mul")
    if m is None:
        return None
    other = m.input[0] if m.input[1] == one.output[0] else m.input[1]
    if other == x:  # x·(1 + inner), then ·0.5
        half = g.reader(m.output[0], "Mul")
        return [one, m, half] if g.with_const(half, 0.5) == m.output[0] else None
    if g.near(other, 0.5):  # 0.5·(1 + inner), then ·x
        last = g.reader(m.output[0], "Mul")
        return [one, m, last] if last is not None and x in last.input else None
    half = g.made(other, "Mul") or g.made(other, "Div")  # (x·0.5)·(1 + inner)
    if half is None:
        return None
    if (half.op_type == "Mul" and g.with_const(half, 0.5) == x) or \
            (half.op_type == "Div" and half.input[0] == x and g.near(half.input[1], 2.0)):
        return [half, one, m]
    return None


def _gelu_erf(g: _Graph, erf: Any) -> tuple[list, Any] | None:
    if erf.op_type != "Erf":
        return None
    scaled = g.producer.get(erf.input[0])
    if scaled is not None and scaled.op_type == "Div" and g.near(scaled.input[1], math.sqrt(2)):
        x = scaled.input[0]
    elif scaled is not None and scaled.op_type == "Mul":
        x = g.with_const(scaled, math.sqrt(0.5))
    else:
        return None
    tail = _gelu_tail(g, erf, x) if x else None
    if tail is None:
        return None
    return [scaled, erf, *tail], _make("Gelu", [x], tail[-1], approximate="none")


def _gelu_tanh(g: _Graph, tanh: Any) -> tuple[list, Any] | None:
    if tanh.op_type != "Tanh":
        return None
    u = g.made(tanh.input[0], "Mul")
    inner = g.made(g.with_const(u, math.sqrt(2 / math.pi)) or "", "Add")
    if inner is None:
        return None
    for x, q in (inner.input, inner.input[::-1]):
        cube_scaled = g.made(q, "Mul")
        x3 = g.with_const(cube_scaled, 0.044715)
        cube = g.producer.get(x3 or "")
        if cube is None:
            continue
        if cube.op_type == "Pow" and cube.input[0] == x and g.near(cube.input[1], 3.0):
            found = [cube]
        elif cube.op_type == "Mul" and x in cube.input:
            sq = g.made(cube.input[1] if cube.input[0] == x else cube.input[0], "Mul")
            if sq is None or list(sq.input) != [x, x]:
                continue
            found = [sq, cube]
        else:
            continue
        tail = _gelu_tail(g, tanh, x)
        if tail is not None:
            return ([*found, cube_scaled, inner, u, tanh, *tail],
                    _make("Gelu", [x], tail[-1], approximate="tanh"))
    return None


def _silu(g: _Graph, sig: Any) -> tuple[list, Any] | None:
    if sig.op_type != "Sigmoid":
        return None
    m = g.reader(sig.output[0], "Mul")
    if m is None or sorted(m.input) != sorted([sig.input[0], sig.output[0]]):
        return None
    return [sig, m], _make("Silu", [sig.input[0]], m)


def _axes_last(g: _Graph, node: Any) -> bool:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    axes = attrs.get("axes")
    if axes is None and len(node.input) > 1:
        c = g.consts.get(node.input[1])
        axes = None if c is None else c.reshape(-1).tolist()
    return axes is not None and list(axes) == [-1] and attrs.get("keepdims", 1) == 1


def _layer_norm(g: _Graph, mean: Any) -> tuple[list, Any] | None:
    """``(x − mean)/sqrt(mean((x − mean)²) + ε)·γ + β`` over the last axis."""
    if mean.op_type != "ReduceMean" or not _axes_last(g, mean):
        return None
    x = mean.input[0]
    sub = g.reader(mean.output[0], "Sub")
    if sub is None or list(sub.input) != [x, mean.output[0]]:
        return None
    readers = g.readers.get(sub.output[0], [])
    sq = next((r for r in readers if r.op_type == "Pow" and g.near(r.input[1], 2.0)), None)
    div = next((r for r in readers if r.op_type == "Div" and r.input[0] == sub.output[0]),
               None)
    if len(readers) != 2 or sq is None or div is None:
        return None
    var = g.reader(sq.output[0], "ReduceMean")
    add = g.reader(var.output[0], "Add") if var is not None and _axes_last(g, var) else None
    eps_name = next((i for i in add.input if i in g.consts), None) if add is not None else None
    sqrt = g.reader(add.output[0], "Sqrt") if eps_name else None
    if sqrt is None or list(div.input) != [sub.output[0], sqrt.output[0]]:
        return None
    nodes, last, ins = [mean, sub, sq, var, add, sqrt, div], div, [x, "", ""]
    for k, op in ((1, "Mul"), (2, "Add")):
        nxt = g.reader(last.output[0], op)
        c = next((i for i in nxt.input if i in g.consts), None) if nxt is not None else None
        if c is None:
            break
        nodes.append(nxt)
        last, ins[k] = nxt, c
    ins[1] = ins[1] or _ONE
    eps = float(g.consts[eps_name].reshape(-1)[0])
    return nodes, _make("LayerNormalization", ins, last, axis=-1, epsilon=eps)


def _repeat_pixels(g: _Graph, expand: Any) -> tuple[list, Any] | None:
    """``(N, C, H, 1, W, 1)`` broadcast to ``(N, C, H, sh, W, sw)`` and merged back: a
    nearest-neighbour upsampling (how nnstudio's own export writes UpSampling2D)."""
    if expand.op_type != "Expand":
        return None
    split = g.made(expand.input[0], "Reshape")
    merge = g.reader(expand.output[0], "Reshape")
    if split is None or merge is None:
        return None
    s1, reps, s2 = (g.consts.get(n) for n in (split.input[1], expand.input[1], merge.input[1]))
    if s1 is None or reps is None or s2 is None or s1.size != 6 or reps.size != 6 or \
            s2.size != 4:
        return None
    s1, reps, s2 = (list(map(int, a.reshape(-1))) for a in (s1, reps, s2))
    sh, sw = reps[3], reps[5]
    if s1[3] != 1 or s1[5] != 1 or reps[:3] + reps[4:5] != [1, 1, 1, 1] or \
            s2[1:] != [s1[1], s1[2] * sh, s1[4] * sw]:
        return None
    return [split, expand, merge], _make("Upsample", [split.input[0]], merge, mode="nearest",
                                         scales=[1.0, 1.0, float(sh), float(sw)])


_ONE = "nnstudio/one"
#: Constants the fused nodes may read (a LayerNormalization without a learned scale).
FUSED_CONSTANTS = {_ONE: np.ones(1, np.float32)}


def _make(op: str, inputs: list[str], last: Any, **attrs: Any) -> Any:
    from onnx import helper

    return helper.make_node(op, inputs, [last.output[0]], name=last.name, **attrs)


def fuse_patterns(graph: Any, consts: dict[str, np.ndarray]) -> list:
    """The graph's nodes with each recognised sub-graph replaced by one node (``Gelu``,
    ``LayerNormalization``, ``Upsample`` or the importer's own ``Silu``) placed where its last
    node was.

    A sub-graph is fused only when nothing outside it reads its inner values. Nodes that do
    not lead to the graph's output are left out."""
    g = _Graph(graph, consts)
    gone: set[int] = set()
    fused: dict[int, Any] = {}
    for match in (_gelu_erf, _gelu_tanh, _layer_norm, _silu, _repeat_pixels):
        for n in g.nodes:
            if id(n) in gone or id(n) in fused:
                continue
            found = match(g, n)
            if found is None:
                continue
            nodes, node = found
            ids = {id(m) for m in nodes}
            inner = [o for m in nodes[:-1] for o in m.output]
            if ids & (gone | set(fused)) or any(
                    o in g.outputs or any(id(r) not in ids for r in g.readers.get(o, []))
                    for o in inner):
                continue
            gone |= ids - {id(nodes[-1])}
            fused[id(nodes[-1])] = node
    nodes = [fused.get(id(n), n) for n in g.nodes if id(n) not in gone]
    # Nodes nothing reads towards the output (e.g. a padding mask nobody uses) are dropped.
    needed, kept = set(g.outputs), []
    for n in reversed(nodes):
        if any(o in needed for o in n.output):
            kept.append(n)
            needed.update(n.input)
    return kept[::-1]
