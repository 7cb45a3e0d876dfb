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

from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.engine.layer import Layer
from nnstudio.core.engine.network import Network, NetworkSpec, NodeSpec
from nnstudio.core.errors import NNStudioError, ProjectError
from nnstudio.core.io import onnx_ops_more  # noqa: F401  (adds its converters to OPS)
from nnstudio.core.io.onnx_ops import FOLD, OPS, Dyn, UnsupportedError

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
        units = self.shapes[x.node][0]
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
    values: dict[str, Any] = {"": None}
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
    for index, node in enumerate(graph.node):
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
                known = ", ".join(sorted(OPS))
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
