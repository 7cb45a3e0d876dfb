"""``model.py`` of an exported PyTorch project: the canvas graph as one ``nn.Module``.

The module holds one attribute per node (named after the node id, made a Python identifier)
and a ``forward`` with one line per node in the engine's execution order, each merge taking
its inputs in the order of its incoming edges. When the loss fuses with the final Softmax or
Sigmoid (as nnstudio's trainer does), ``forward(x, logits=True)`` returns the values before
that activation and ``train.py`` uses PyTorch's fused loss on them.

Several Inputs (``input_columns``): each Input takes its columns of the one prepared row with
``index_select`` and a buffer of the indices. Outputs naming their targets (``heads``, see
:func:`head_settings`): with several, ``forward`` returns ``{target: tensor}`` and
``logits=True`` gives each head whose loss fuses its logits; ``train.py`` weighs the losses.

Node ids, the title and every other text from the project reach the code only as ``repr``
literals assigned to names (``TITLE``, ``NODES``), never inside a docstring or a comment;
identifiers are rebuilt from the id's letters, digits and underscores only.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Any

from nnstudio import __version__
from nnstudio.core.engine.layer import Layer
from nnstudio.core.engine.network import NetworkSpec, infer_shapes, topological_order
from nnstudio.core.errors import ExportError
from nnstudio.core.io.export_pytorch.converters import converter

#: Names the generated ``forward`` uses itself; a node id equal to one gets a ``_``.
_RESERVED = {"self", "x", "logits", "torch", "nn", "super", "Net", "NODES"}


@dataclass
class ModelCode:
    """The generated source and what else the exporter needs to know about it."""

    source: str
    attributes: dict[str, str]  # node id → attribute
    fused: str | None  # "Softmax" / "Sigmoid" when the loss fuses with it
    output_shape: tuple[int, ...]
    #: A network with several outputs: ``{output id: shape}`` (``forward`` returns a dict
    #: keyed by each Output's target); None for one output.
    output_shapes: dict[str, tuple[int, ...]] | None = None


def identifiers(node_ids: list[str]) -> dict[str, str]:
    """A distinct Python identifier for every node id (``"dense 1"`` → ``dense_1``)."""
    used: set[str] = set()
    out = {}
    for node_id in node_ids:
        base = re.sub(r"\W", "_", node_id, flags=re.ASCII) or "node"
        if base[0].isdigit():
            base = "n_" + base
        if keyword.iskeyword(base) or base in _RESERVED or base.startswith("__"):
            base += "_"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out[node_id] = name
    return out


def fused_activation(spec: NetworkSpec, loss: str) -> str | None:
    """The final activation nnstudio's trainer fuses with ``loss`` (see
    :func:`nnstudio.core.training.trainer.fusion_point`), or ``None``."""
    wanted = {"cross_entropy": "Softmax", "binary_cross_entropy": "Sigmoid"}.get(loss)
    succ, preds = spec.successors(), spec.predecessors()
    outs = [n for n in spec.nodes if not succ[n.id]]
    if wanted is None or len(outs) != 1 or outs[0].type != wanted:
        return None
    (pred,) = preds[outs[0].id]
    return None if spec.node(pred).type == "Input" else wanted


def render_model(spec: NetworkSpec, input_shape: tuple[int, ...], loss: str,
                 title: str = "", input_columns: dict[str, Any] | None = None,
                 heads: list[dict[str, Any]] | None = None) -> ModelCode:
    """``model.py`` for ``spec`` on samples of ``input_shape`` (one prepared row ``(F,)``
    when the Inputs take columns).

    ``input_columns`` (:attr:`Network.input_columns`, ``{input id: int array}``): each Input
    takes those columns of ``x`` (``index_select`` with a buffer of the indices).
    ``heads`` (:func:`head_settings`: ``{"node", "target", "at", "fused"}`` per Output): the
    network trains with one loss per Output; with several, ``forward`` returns
    ``{target: tensor}`` and ``logits=True`` gives each fused head its logits. Without
    ``heads`` the network must have one output and ``loss`` decides the fusion.

    Raises :class:`ExportError` when the network cannot be built or holds a layer type
    without a converter.
    """
    if input_columns is None or heads is None:
        _one_input_one_output(spec, input_columns is None, heads is None)
    if heads is not None or input_columns is not None:
        return _render_several(spec, input_shape, title, input_columns, heads)
    report = infer_shapes(spec, tuple(input_shape))
    if not report.ok:
        raise ExportError("the network cannot be built: " + "; ".join(report.errors))
    order = topological_order(spec)
    attrs = identifiers(order)
    shapes = {k: tuple(v.shape) for k, v in report.nodes.items()}
    succ = spec.successors()
    output_id = next(n for n in order if not succ[n])
    fused = fused_activation(spec, loss)

    convs, masks, mask_names = _converters(spec, order, attrs, shapes)
    imports, init_lines, forward_lines = _node_code(
        spec, order, attrs, shapes, convs, masks, mask_names,
        lambda node_id: (tuple(input_shape), "x", []), output_id if fused else None)
    forward_lines.append(f"        return {attrs[output_id]}")
    fused_doc = (
        f"\n\n        With ``logits=True`` the values before the final {fused} (the loss is\n"
        f"        computed from them, as nnstudio does).\n        " if fused else ""
    )
    constants = ('#: The final activation the loss is fused with ("Softmax", "Sigmoid") or '
                 f"None.\nFUSED_ACTIVATION = {fused!r}")
    source = _module(title, imports, order, attrs, input_shape, shapes[output_id], "",
                     constants, f"``(N, {', '.join(map(str, shapes[output_id]))})``",
                     "torch.Tensor", "output", fused_doc, init_lines, forward_lines)
    return ModelCode(source, attrs, fused, shapes[output_id])


def _one_input_one_output(spec: NetworkSpec, no_columns: bool, no_heads: bool) -> None:
    """Without the Inputs' columns a network must have one Input taking every feature;
    without heads (Outputs naming their targets) one output."""
    inputs = [n.id for n in spec.nodes if n.type == "Input"]
    succ = spec.successors()
    outputs = [n.id for n in spec.nodes if not succ[n.id] and n.type != "Input"]
    if no_heads and len(outputs) > 1:
        raise ExportError(
            f"the network has {len(outputs)} outputs; the PyTorch export needs each to end "
            "in an Output layer naming the target it predicts")
    chosen = [n.id for n in spec.nodes if n.type == "Input" and n.config.get("columns")]
    if no_columns and (len(inputs) > 1 or chosen):
        which = f"Input '{chosen[0]}' takes chosen columns" if len(inputs) == 1 else \
            f"the network has {len(inputs)} Inputs"
        raise ExportError(
            f"{which}; the PyTorch export needs the columns of the prepared data each Input "
            "takes (they come with the project's data)")


def head_settings(net: Any, heads: Any) -> list[dict[str, Any]]:
    """``training.json``'s ``heads``: per Output (in the packed targets' column order) its
    node, target, column, loss, weight, task, class count, and the logits node and
    activation the loss fuses with (as :class:`~nnstudio.core.training.heads.Heads`)."""
    out = []
    for h in sorted(heads.heads, key=lambda h: h.column):
        fused = net.layers[net.preds[h.node][0]].type_name if h.at is not None else None
        out.append({"node": h.node, "target": h.target, "column": h.column,
                    "loss": h.loss_name, "weight": h.weight, "task": h.task,
                    "n_classes": h.n_classes, "at": h.at, "fused": fused})
    return out


def _render_several(spec: NetworkSpec, input_shape: tuple[int, ...], title: str,
                    input_columns: dict[str, Any] | None,
                    heads: list[dict[str, Any]] | None) -> ModelCode:
    """``model.py`` of a network whose Inputs take chosen columns and/or whose Outputs name
    their targets (see :func:`render_model`)."""
    report = infer_shapes(spec, tuple(input_shape), input_columns)
    if not report.ok:
        raise ExportError("the network cannot be built: " + "; ".join(report.errors))
    order = topological_order(spec)
    succ = spec.successors()
    attrs = identifiers(order)
    shapes = {k: tuple(v.shape) for k, v in report.nodes.items()}
    input_ids = [n.id for n in spec.nodes if n.type == "Input"]
    output_ids = [n for n in order if not succ[n]]
    heads = heads or []
    by_node = {h["node"]: h for h in heads}
    if heads and set(by_node) != set(output_ids):
        raise ExportError("every branch end must be an Output naming its target (the "
                          "outputs and the prepared targets differ)")
    several = len(output_ids) > 1
    fused_heads = {h["node"]: h for h in heads if h.get("fused")}
    single_fused = None if several or not fused_heads else fused_heads[output_ids[0]]["fused"]

    convs, masks, mask_names = _converters(spec, order, attrs, shapes)
    taken = set(attrs.values()) | set(mask_names.values())
    col_names = {}
    for node_id in input_ids:
        if input_columns is not None:
            name = attrs[node_id] + "_columns"
            while name in taken:
                name += "_"
            taken.add(name)
            col_names[node_id] = name

    def source(node_id: str) -> tuple[tuple[int, ...], str, list[str]]:
        if node_id not in col_names:
            return tuple(input_shape), "x", []
        cols = [int(c) for c in input_columns[node_id]]
        buffer = (f"        self.register_buffer({col_names[node_id]!r}, "
                  f"torch.tensor({cols!r}, dtype=torch.long), persistent=False)")
        return (len(cols),), f"x.index_select(1, self.{col_names[node_id]})", [buffer]

    imports, init_lines, forward_lines = _node_code(spec, order, attrs, shapes, convs, masks,
                                                    mask_names, source)

    def result(logits: bool) -> str:
        def value(o):
            h = by_node.get(o)
            return attrs[h["at"]] if logits and h and h.get("fused") else attrs[o]
        if not several:
            return value(output_ids[0])
        keys = [by_node[o]["target"] if o in by_node else o for o in output_ids]
        return "{" + ", ".join(f"{k!r}: {value(o)}" for k, o in zip(keys, output_ids,
                                                                    strict=True)) + "}"
    if fused_heads:
        forward_lines.append("        if logits:")
        forward_lines.append(f"            return {result(True)}")
    forward_lines.append(f"        return {result(False)}")
    targets = {(by_node[o]["target"] if o in by_node else o): shapes[o] for o in output_ids}
    out_shape = shapes[output_ids[0]]
    if several:
        returns = "``{target: (N, *shape)}`` (``OUTPUT_SHAPES``)"
        rtype = "dict[str, torch.Tensor]"
    else:
        returns = f"``(N, {', '.join(map(str, out_shape))})``"
        rtype = "torch.Tensor"
    takes = ("each Input takes its columns of it (``INPUT_COLUMNS``)" if col_names
             else "the Input takes all of it")
    fused_doc = (
        "\n\n        With ``logits=True`` the outputs whose loss fuses with their final\n"
        "        Softmax/Sigmoid give the values before it (``HEADS``), as nnstudio "
        "computes\n        the loss.\n        " if fused_heads else "")
    column_map = {n: [int(c) for c in input_columns[n]] for n in col_names}
    head_map = [{k: h[k] for k in ("node", "target", "loss", "weight", "fused")}
                for h in heads]
    about = (" ``forward(x)`` takes one prepared row per sample:\n"
             f"{takes}. It returns {returns}.")
    constants = (f"#: Input id → the columns of the prepared row it takes.\n"
                 f"INPUT_COLUMNS = {column_map!r}\n"
                 f"#: Target → the shape of one sample's output.\n"
                 f"OUTPUT_SHAPES = {targets!r}\n"
                 f"#: The outputs: node, target, loss, weight and the activation the loss "
                 f"fuses with.\nHEADS = {_lines(head_map)}\n"
                 f"#: The final activation the loss is fused with (one output), or None.\n"
                 f"FUSED_ACTIVATION = {single_fused!r}")
    source = _module(title, imports, order, attrs, input_shape, out_shape, about, constants,
                     returns, rtype, "outputs", fused_doc, init_lines, forward_lines)
    code = ModelCode(source, attrs, single_fused, out_shape,
                     {o: shapes[o] for o in output_ids} if several else None)
    return code


def _module(title: str, imports: str, order: list[str], attrs: dict[str, str],
            input_shape: tuple[int, ...], out_shape: tuple[int, ...], about: str,
            constants: str, returns: str, rtype: str, output_word: str, fused_doc: str,
            init_lines: list[str], forward_lines: list[str]) -> str:
    """The text of ``model.py``: the module docstring (``about`` says what ``forward`` takes
    and returns when that is more than one sample in, one output out), the constants
    (``constants`` after the shapes), ``Net``."""
    nodes = "\n".join(f"    {node_id!r}: {attrs[node_id]!r}," for node_id in order)
    in_text = ", ".join(map(str, input_shape))
    return f'''"""A network exported from nnstudio {__version__} (its title: ``TITLE``).

An ``nn.Module`` equal to the canvas graph: one attribute per node, and ``forward`` runs them
in nnstudio's execution order.{about} Weights in nnstudio's layout load with
``nnstudio_layers.load_weights(model, "weights.npz")``.
"""

from __future__ import annotations

import torch
from torch import nn

{imports}

TITLE = {title!r}
#: nnstudio node id → attribute of :class:`Net`, in execution order.
NODES = {{
{nodes}
}}
#: Shape of one prepared sample, and of one output.
INPUT_SHAPE = {tuple(input_shape)!r}
OUTPUT_SHAPE = {out_shape!r}
{constants}


class Net(nn.Module):
    """x ``(N, {in_text})`` → {returns}."""

    NODES = NODES

    def __init__(self):
        super().__init__()
{chr(10).join(init_lines)}

    def forward(self, x: torch.Tensor, logits: bool = False) -> {rtype}:
        """The network's {output_word} for a batch of prepared samples.{fused_doc}"""
{chr(10).join(forward_lines)}
'''


def _converters(spec: NetworkSpec, order: list[str], attrs: dict[str, str],
                shapes: dict[str, tuple[int, ...]]) -> tuple[dict, dict, dict]:
    """``(converters, padding masks, mask variable names)`` of every node (see
    :func:`_padding_masks`, :func:`_mask_names`); an unknown layer type is an ExportError."""
    convs = {ns.id: converter(ns.type, f"network.nodes[{index}] {ns.id!r}")
             for index, ns in enumerate(spec.nodes)}
    masks = _padding_masks(spec, order, shapes, {k: c.masked for k, c in convs.items()})
    return convs, masks, _mask_names(attrs, set(masks.values()))


def _node_code(spec: NetworkSpec, order: list[str], attrs: dict[str, str],
               shapes: dict[str, tuple[int, ...]], convs: dict, masks: dict[str, str],
               mask_names: dict[str, str], source: Any, logits_at: str | None = None,
               ) -> tuple[str, list[str], list[str]]:
    """``(imports, __init__ lines, forward lines)`` that build and run every node in order.

    ``source(input id)`` gives an Input's ``(input shape, expression it reads, extra
    __init__ lines)``; before the node ``logits_at`` runs, ``forward`` returns its input
    when ``logits`` (the values a fused loss reads)."""
    preds = spec.predecessors()
    by_id = {n.id: n for n in spec.nodes}
    used_modules: dict[str, list[str]] = {}
    init_lines, forward_lines = [], []
    for node_id in order:
        ns = by_id[node_id]
        layer = Layer.from_config(ns.type, ns.id, ns.config)
        conv = convs[node_id]
        names = used_modules.setdefault(conv.file, [])
        if conv.module not in names:
            names.append(conv.module)
        if ns.type == "Input":
            in_shape, inputs, extra = source(node_id)
            in_shapes = [in_shape]
        else:
            in_shapes = [shapes[p] for p in preds[node_id]]
            inputs, extra = ", ".join(attrs[p] for p in preds[node_id]), []
        args = ", ".join(conv.args(layer, in_shapes, shapes[node_id]))
        attr = attrs[node_id]
        init_lines.append(f"        self.{attr} = {conv.module}({args})")
        init_lines += extra
        if node_id == logits_at:
            forward_lines.append("        if logits:")
            forward_lines.append(f"            return {inputs}")
        call = inputs + (f", mask={mask_names[masks[node_id]]}" if node_id in masks else "")
        forward_lines.append(f"        {attr} = self.{attr}({call})")
        if node_id in mask_names:  # an Embedding whose padding mask a later layer reads
            forward_lines.append(f"        {mask_names[node_id]} = "
                                 f"self.{attr}.padding_mask({inputs})")
    imports = "\n".join(f"from {file} import {', '.join(sorted(names))}"
                        for file, names in sorted(used_modules.items()))
    return imports, init_lines, forward_lines


def _lines(items: list) -> str:
    """A list literal with one item per line (short lines in the generated file)."""
    return "[\n" + "".join(f"    {item!r},\n" for item in items) + "]" if items else "[]"


def _padding_masks(spec: NetworkSpec, order: list[str], shapes: dict[str, tuple[int, ...]],
                   masked: dict[str, bool]) -> dict[str, str]:
    """``{consumer: embedding}``: the layers that read a padding mask (attention, sequence
    pooling) and the Embedding it comes from — the engine's ``Network._mask_source``: the
    nearest Embedding upstream, if it masks padding, used when its length is the consumer's."""
    preds = spec.predecessors()
    by_id = {n.id: n for n in spec.nodes}
    out = {}
    for node_id in order:
        if not masked[node_id]:
            continue
        seen, todo = set(), list(preds[node_id])
        while todo:
            p = todo.pop(0)
            if p in seen:
                continue
            seen.add(p)
            ns = by_id[p]
            if ns.type == "Embedding":
                uses = Layer.from_config(ns.type, ns.id, ns.config).config["mask_padding"]
                (src,) = preds[node_id]
                if uses and shapes[p][0] == shapes[src][0]:
                    out[node_id] = p
                break
            todo.extend(preds[p])
    return out


def _mask_names(attrs: dict[str, str], embeddings: set[str]) -> dict[str, str]:
    """``{embedding id: variable}`` of the masks ``forward`` keeps (``emb_mask``), distinct
    from every attribute."""
    taken = set(attrs.values())
    out = {}
    for node_id, attr in attrs.items():
        if node_id in embeddings:
            name = attr + "_mask"
            while name in taken:
                name += "_"
            taken.add(name)
            out[node_id] = name
    return out


def check_source(source: str) -> None:
    """Refuse generated code that does not compile (a bug, never the user's fault)."""
    try:
        compile(source, "model.py", "exec")
    except SyntaxError as e:  # pragma: no cover - would be a bug in the generator
        raise ExportError(f"generated model.py does not compile ({e})") from None
