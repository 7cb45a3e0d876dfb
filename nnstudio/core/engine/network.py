"""The network: a directed acyclic graph of layers, executed in topological order.

:class:`NetworkSpec` is plain data (node ids, layer types, settings, edges); :func:`infer_shapes`
reports every node's output shape, parameter count or error without allocating any data (the
canvas calls it on every edit, even for half-built graphs); :class:`Network` builds the layers,
owns one flat parameter buffer and one flat gradient buffer, and runs forward and backward.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnstudio.core.engine import fusion
from nnstudio.core.engine.layer import Buffers, Layer, Shape
from nnstudio.core.errors import ConfigError, GraphError, NNStudioError, ShapeError


@dataclass
class NodeSpec:
    """One node: its id, layer type name and settings."""

    id: str
    type: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class NetworkSpec:
    """A network as plain data: nodes and ``(source, target)`` edges.

    The order of a node's incoming edges is the order of its inputs (it matters for
    Concatenate).
    """

    nodes: list[NodeSpec]
    edges: list[tuple[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": [{"id": n.id, "type": n.type, **n.config} for n in self.nodes],
            "edges": [[a, b] for a, b in self.edges],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetworkSpec:
        nodes = []
        for n in d.get("nodes", []):
            config = {k: v for k, v in n.items() if k not in ("id", "type", "pos")}
            nodes.append(NodeSpec(str(n["id"]), str(n["type"]), config))
        return cls(nodes, [(str(a), str(b)) for a, b in d.get("edges", [])])

    def node(self, node_id: str) -> NodeSpec:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def predecessors(self) -> dict[str, list[str]]:
        preds: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        for a, b in self.edges:
            if b in preds:
                preds[b].append(a)
        return preds

    def successors(self) -> dict[str, list[str]]:
        succ: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        for a, b in self.edges:
            if a in succ:
                succ[a].append(b)
        return succ


def topological_order(spec: NetworkSpec) -> list[str]:
    """Node ids so that every edge goes forward; raises :class:`GraphError` on a cycle.

    Ties keep the order of ``spec.nodes`` so the result (and so parameter layout and
    initialization) is deterministic.
    """
    preds = spec.predecessors()
    indeg = {k: len(v) for k, v in preds.items()}
    succ = spec.successors()
    ready = [n.id for n in spec.nodes if indeg[n.id] == 0]
    order: list[str] = []
    position = {n.id: i for i, n in enumerate(spec.nodes)}
    while ready:
        ready.sort(key=position.__getitem__)
        node = ready.pop(0)
        order.append(node)
        for s in succ[node]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    if len(order) != len(spec.nodes):
        stuck = [n.id for n in spec.nodes if n.id not in set(order)]
        raise GraphError(f"the network has a cycle through {', '.join(stuck)}")
    return order


@dataclass
class NodeShape:
    """What shape inference says of one node."""

    shape: Shape | None = None
    params: int = 0
    error: str | None = None


@dataclass
class ShapeReport:
    """Per-node results of :func:`infer_shapes` plus the errors of the graph as a whole."""

    nodes: dict[str, NodeShape]
    graph_errors: list[str]

    @property
    def total_params(self) -> int:
        return sum(n.params for n in self.nodes.values())

    @property
    def errors(self) -> list[str]:
        """Every problem, graph-level first, as readable sentences."""
        return self.graph_errors + [n.error for n in self.nodes.values() if n.error]

    @property
    def ok(self) -> bool:
        return not self.errors


def infer_shapes(spec: NetworkSpec, input_shape: Shape | None,
                 input_columns: dict[str, Any] | None = None) -> ShapeReport:
    """Shapes and parameter counts of every node, without data; never raises.

    ``input_shape`` is the per-sample data shape, or ``None`` when no data is loaded (then an
    Input without a declared shape gets an error and its successors get no shape).
    ``input_columns`` maps each Input of a network with several Inputs (or an Input that
    takes some of the columns) to the prepared-matrix columns it reads
    (:func:`nnstudio.core.data.binding.input_columns`): that Input's data shape is
    ``(len(columns),)``.
    A node whose inputs have no shape gets ``shape=None`` and no error of its own, so the
    canvas marks the node at fault, not all of its descendants.
    """
    nodes = {n.id: NodeShape() for n in spec.nodes}
    graph_errors: list[str] = []
    try:
        order = topological_order(spec)
    except GraphError as e:
        return ShapeReport(nodes, [str(e)])
    preds = spec.predecessors()
    succ = spec.successors()
    by_id = {n.id: n for n in spec.nodes}
    inputs = [n.id for n in spec.nodes if n.type == "Input"]
    if not inputs:
        graph_errors.append("the network has no Input layer")
    dangling = [i for i in inputs if not succ[i]] if len(spec.nodes) > 1 else []
    for i in dangling:
        graph_errors.append(f"Input '{i}' is not connected to any layer")
    outputs = [n for n in order if not succ[n] and n not in dangling]
    loose = [n for n in outputs if by_id[n].type != "Output"]
    if len(outputs) > 1 and loose:
        graph_errors.append(
            f"the network has {len(outputs)} outputs ({', '.join(outputs)}): end each branch "
            "in an Output layer naming the target column it predicts, or connect the branches "
            "so that exactly one layer has no outgoing connection"
        )
    for node_id in order:
        ns = by_id[node_id]
        result = nodes[node_id]
        try:
            layer = Layer.from_config(ns.type, ns.id, ns.config)
        except ConfigError as e:
            result.error = str(e)
            continue
        p = preds[node_id]
        expected = layer.n_inputs
        if expected == 0 and p:
            result.error = f"{layer.where}: an Input takes no incoming connection"
            continue
        if expected == 1 and len(p) != 1:
            result.error = (
                f"{layer.where}: needs exactly one input (has {len(p)})"
                if p
                else f"{layer.where}: is not connected to an input"
            )
            continue
        if expected is None and len(p) < 2:
            result.error = f"{layer.where}: a merge needs two or more inputs (has {len(p)})"
            continue
        if expected == 0:
            data_shape = _input_data_shape(node_id, inputs, input_shape, input_columns)
            in_shapes = [data_shape] if data_shape is not None else []
        else:
            in_shapes = [nodes[q].shape for q in p]
            if any(s is None for s in in_shapes):
                continue
        try:
            result.shape = tuple(int(v) for v in layer.output_shape(in_shapes))
            result.params = layer.param_count(in_shapes)
        except NNStudioError as e:
            result.error = str(e)
    return ShapeReport(nodes, graph_errors)


def _input_data_shape(node_id: str, inputs: list[str], input_shape: Shape | None,
                      input_columns: dict[str, Any] | None) -> Shape | None:
    """The data's per-sample shape at one Input: its columns' count when the Inputs take
    columns of a table, the whole sample for the only Input, unknown otherwise."""
    if input_columns is not None and node_id in input_columns:
        return (len(input_columns[node_id]),)
    if len(inputs) == 1 and input_shape is not None:
        return tuple(input_shape)
    return None


class Network:
    """A built network: layers, a flat parameter buffer, forward and backward.

    Parameters
    ----------
    spec:
        The graph: one or more Inputs; one output node, or several each ending in an
        ``Output`` layer.
    input_shape:
        Per-sample input shape, e.g. ``(F,)`` or ``(1, 28, 28)``: of the whole prepared
        sample when the Inputs take columns of it (``input_columns``).
    input_columns:
        ``{input id: int array of column indices}`` for Inputs that take some columns of a
        table's ``(N, F)`` prepared matrix (required with several Inputs): the network reads
        the whole matrix and gives each Input its columns.
    dtype:
        ``float32`` (default, fast) or ``float64`` (gradient checks).
    seed:
        Seeds weight initialization and dropout masks; the same seed gives bit-identical
        weights on every machine.

    Attributes
    ----------
    params, grads:
        Flat 1-D buffers of every trainable scalar; decayable kernels (``W``, ``R``) come
        first, ``n_decay`` of them, then biases and normalization parameters.
    param_views:
        ``{node_id: {name: view}}`` into ``params``.
    """

    def __init__(
        self,
        spec: NetworkSpec,
        input_shape: Shape,
        dtype: Any = np.float32,
        seed: int | None = 0,
        input_columns: dict[str, Any] | None = None,
    ):
        self.spec = spec
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64, not {self.dtype}")
        self.input_ids = [n.id for n in spec.nodes if n.type == "Input"]
        if input_columns is not None:
            input_columns = {k: np.asarray(v, np.intp) for k, v in input_columns.items()}
            missing = [i for i in self.input_ids if i not in input_columns]
            if missing or len(tuple(input_shape)) != 1:
                raise ShapeError(
                    "Inputs that take columns need a table's prepared (N, F) matrix and "
                    f"columns for every Input (none for {', '.join(missing)})"
                    if missing else
                    f"Inputs that take columns read a table's (F,) samples, not "
                    f"{tuple(input_shape)}")
        elif len(self.input_ids) > 1:
            raise ShapeError(
                f"the network has {len(self.input_ids)} Inputs: each takes some columns of a "
                "table (set its 'columns'); image, sound and text data have one Input")
        report = infer_shapes(spec, tuple(input_shape), input_columns)
        if not report.ok:
            raise (ShapeError if not report.graph_errors else GraphError)(
                "; ".join(report.errors)
            )
        #: Per-sample shape of the data the network reads (the whole prepared sample).
        self.input_shape = tuple(input_shape)
        self.input_columns = input_columns
        self.shapes = {k: v.shape for k, v in report.nodes.items()}
        self.order = topological_order(spec)
        self.preds = spec.predecessors()
        self.succ = spec.successors()
        self.output_ids = [n for n in self.order if not self.succ[n]]
        #: The one Input / output node, or None when there are several (see input_ids,
        #: output_ids): code that handles one of each only must check.
        self.input_id = self.input_ids[0] if len(self.input_ids) == 1 else None
        self.output_id = self.output_ids[0] if len(self.output_ids) == 1 else None
        self.output_shape = self.shapes[self.output_id] if self.output_id else None
        self._input_data_shapes = {
            i: _input_data_shape(i, self.input_ids, self.input_shape, input_columns)
            for i in self.input_ids}
        self.layers: dict[str, Layer] = {}
        for ns in spec.nodes:
            layer = Layer.from_config(ns.type, ns.id, ns.config)
            layer.dtype = self.dtype
            self.layers[ns.id] = layer
        self._allocate()
        self._buf = Buffers()
        self.initialize(seed)
        # What runs each node: its layer, or an exact cheaper stand-in (engine/fusion.py).
        self._plan = fusion.execution_plan(self)

    # -- parameters ----------------------------------------------------------------------
    @property
    def multi_output(self) -> bool:
        """Several output nodes (each an ``Output`` layer): forward returns a dict."""
        return self.output_id is None

    def _in_shapes(self, node_id: str) -> list[Shape]:
        if node_id in self._input_data_shapes:
            return [self._input_data_shapes[node_id]]
        return [self.shapes[p] for p in self.preds[node_id]]

    def _allocate(self) -> None:
        entries = []  # (decay?, node, name, shape)
        state_entries = []
        for node_id in self.order:
            layer = self.layers[node_id]
            shapes = self._in_shapes(node_id)
            for name, shape in layer.param_shapes(shapes).items():
                entries.append((name not in ("W", "R"), node_id, name, tuple(shape)))
            for name, shape in layer.state_shapes(shapes).items():
                state_entries.append((node_id, name, tuple(shape)))
        entries.sort(key=lambda e: e[0])  # stable: kernels first, then the rest, topological
        total = sum(math.prod(e[3]) for e in entries)
        self.params = np.zeros(total, self.dtype)
        self.grads = np.zeros(total, self.dtype)
        self.n_decay = sum(math.prod(e[3]) for e in entries if not e[0])
        self.param_views: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
        self.param_slices: dict[str, slice] = {}
        offset = 0
        for _, node_id, name, shape in entries:
            size = math.prod(shape)
            sl = slice(offset, offset + size)
            self.param_views[node_id][name] = self.params[sl].reshape(shape)
            self.layers[node_id].params[name] = self.param_views[node_id][name]
            self.layers[node_id].grads[name] = self.grads[sl].reshape(shape)
            self.param_slices[f"{node_id}/{name}"] = sl
            offset += size
        state_total = sum(math.prod(e[2]) for e in state_entries)
        self.state = np.zeros(state_total, self.dtype)
        offset = 0
        for node_id, name, shape in state_entries:
            size = math.prod(shape)
            self.layers[node_id].state[name] = self.state[offset:offset + size].reshape(shape)
            offset += size
        # A node "needs a gradient" when it or something before it has parameters; the
        # gradient with respect to the output of any other node is never used (a Dense after
        # the Reshape of an MNIST MLP need not compute d/dx, nor the Reshape run backward).
        self.needs_grad: dict[str, bool] = {}
        for node_id in self.order:
            own = node_id not in self._input_data_shapes and bool(
                self.layers[node_id].param_shapes(self._in_shapes(node_id)))
            self.needs_grad[node_id] = own or any(self.needs_grad[p]
                                                  for p in self.preds.get(node_id, []))
        for node_id in self.order:
            layer = self.layers[node_id]
            if hasattr(layer, "skip_input_grad") and layer.type_name != "Embedding":
                layer.skip_input_grad = not any(self.needs_grad[p] for p in self.preds[node_id])
            if hasattr(layer, "mask_from"):  # attention, sequence pooling: padding mask
                layer.mask_from = self._mask_source(node_id)

    def _mask_source(self, node_id: str) -> Layer | None:
        """The nearest Embedding upstream of ``node_id`` that masks padding, or None."""
        seen, todo = set(), list(self.preds[node_id])
        while todo:
            p = todo.pop(0)
            if p in seen:
                continue
            seen.add(p)
            layer = self.layers[p]
            if layer.type_name == "Embedding":
                return layer if layer.config["mask_padding"] else None
            todo.extend(self.preds[p])
        return None

    def initialize(self, seed: int | None) -> None:
        """(Re)draw every parameter from ``seed`` and reset normalization state."""
        rng = np.random.default_rng(seed)
        for node_id in self.order:
            layer = self.layers[node_id]
            shapes = self._in_shapes(node_id)
            layer.init_params(shapes, rng)
            layer.init_state(shapes)
            if hasattr(layer, "rng"):
                layer.rng = np.random.default_rng(rng.integers(2**63))

    @property
    def n_params(self) -> int:
        return int(self.params.size)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and state array under ``"<node id>/<name>"``."""
        out = {}
        for node_id in self.order:
            layer = self.layers[node_id]
            for name, arr in {**layer.params, **layer.state}.items():
                out[f"{node_id}/{name}"] = arr.copy()
        return out

    def load_state_dict(self, arrays: dict[str, np.ndarray], where: str | None = None) -> None:
        """Copy arrays in by key; a missing key or a wrong shape is a :class:`ShapeError`."""
        for node_id in self.order:
            layer = self.layers[node_id]
            for name, arr in {**layer.params, **layer.state}.items():
                key = f"{node_id}/{name}"
                if key not in arrays:
                    raise ShapeError(f"no array {key!r} for {layer.where}", where)
                src = np.asarray(arrays[key])
                if src.shape != arr.shape:
                    raise ShapeError(
                        f"array {key!r} has shape {src.shape}, {layer.where} needs {arr.shape}",
                        where,
                    )
                arr[...] = src

    # -- running ---------------------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> Any:
        """Run the graph on a batch ``x`` of shape ``(N, *input_shape)``.

        Returns ``(N, *output_shape)``, or for several outputs ``{output id: (N, *shape)}``.
        The result is a buffer reused by the next call: copy it to keep it.
        ``self.values[node]`` holds every node's output until then.
        """
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        values: dict[str, np.ndarray] = {}
        columns = self.input_columns
        runners = self._plan.runners
        for node_id in self.order:
            layer = runners[node_id]
            if node_id in self._input_data_shapes:
                # An Input taking some columns gets a contiguous copy of them (N, k).
                xi = x if columns is None else np.take(x, columns[node_id], axis=1)
                values[node_id] = layer.forward([xi], training)
            else:
                values[node_id] = layer.forward([values[p] for p in self.preds[node_id]], training)
        self.values = self._plan.expose(values)
        if self.output_id is None:
            return {o: values[o] for o in self.output_ids}
        return values[self.output_id]

    def backward(self, grad: np.ndarray, at: str | None = None) -> None:
        """Backpropagate ``grad = d loss / d output(at)`` and fill ``self.grads``.

        ``at`` defaults to the output node; the trainer passes the node before a final
        Softmax/Sigmoid when it fuses that activation with the loss. Gradients reaching a node
        along several edges (fan-out) are summed.
        """
        self.backward_many({at or self.output_id: grad})

    def backward_many(self, grads: dict[str, np.ndarray]) -> None:
        """Backpropagate several gradients at once, ``{node id: d loss / d output(node)}``
        (one per output of a network with several outputs), into ``self.grads``."""
        pending: dict[str, np.ndarray] = dict(grads)
        owned: set[str] = set()
        # Every node before the last one given can contribute; the ones after it don't.
        stop = max(self.order.index(a) for a in grads)
        for node_id in reversed(self.order[: stop + 1]):
            g = pending.pop(node_id, None)
            if g is None or not self.needs_grad[node_id]:
                continue
            layer = self._plan.runners[node_id]
            in_grads = layer.backward(g)
            for p, gp in zip(self.preds[node_id], in_grads, strict=True):
                if gp is None or not self.needs_grad[p]:
                    continue
                if p not in pending:
                    pending[p] = gp
                elif p in owned:
                    pending[p] += gp
                else:
                    acc = self._buf.get("acc:" + p, gp.shape, self.dtype)
                    np.add(pending[p], gp, out=acc)
                    pending[p] = acc
                    owned.add(p)

    def inference_batch(self) -> int:
        """A batch size for inference whose working set stays near 8 MB of float32.

        Every layer's output (×3 for scratch such as a convolution's columns) per sample:
        1,024 samples for an MNIST MLP would be ≈ 20 MB; for a small CNN ≈ 200 MB, whose
        im2col buffers then stream through memory — measured ≈ 25 % slower per image by the
        wall clock on a shared machine than batches of 32–64 (the same CPU time).
        """
        per_sample = 3 * sum(math.prod(s) for s in self.shapes.values())
        return max(32, min(1024, (1 << 21) // max(per_sample, 1)))

    def predict(self, x: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Inference on any number of samples, in batches (default
        :meth:`inference_batch`); returns a new array."""
        batch_size = batch_size or self.inference_batch()
        n = x.shape[0]
        if self.output_id is None:  # several outputs: {output id: (n, *shape)}
            outs = {o: np.empty((n,) + tuple(self.shapes[o]), self.dtype)
                    for o in self.output_ids}
            for start in range(0, n, batch_size):
                for o, v in self.forward(x[start:start + batch_size]).items():
                    outs[o][start:start + batch_size] = v
            return outs
        out = np.empty((n,) + tuple(self.output_shape), self.dtype)
        for start in range(0, n, batch_size):
            out[start:start + batch_size] = self.forward(x[start:start + batch_size])
        return out
