"""Does the network's output fit the data's task? If not, the undoable edit that fixes it.

Plain logic over a :class:`~nnstudio.core.graph.document.GraphDocument` (no Qt): the dataset
wizard asks :func:`output_mismatch` after new data is adopted and, when the user agrees,
pushes :func:`output_fix_command` on the window's undo stack.

What fits:

* classification with ``K`` classes: ``Dense K`` + ``Softmax`` (for two classes ``Dense 1`` +
  ``Sigmoid`` fits too);
* regression with ``M`` targets: ``Dense M`` with no squashing activation after it (a
  ``Linear`` is fine).
"""

from __future__ import annotations

from dataclasses import dataclass

from nnstudio.core.graph.commands import AddNode, Command, Connect, Macro, RemoveNodes, SetConfig
from nnstudio.core.graph.document import GraphDocument
from nnstudio.core.graph.layout import COLUMN_GAP, NODE_WIDTH

ACTIVATIONS = ("Softmax", "Sigmoid", "Linear", "ReLU", "Tanh", "LeakyReLU")


@dataclass
class OutputHead:
    """The end of a network: its last Dense (if any) and the activations after it."""

    output: str
    dense: str | None
    units: int | None
    activations: list[str]
    activation_types: list[str]

    def describe(self, doc: GraphDocument) -> str:
        parts = [f"Dense {self.units}"] if self.dense else [doc.node(self.output).type]
        parts += self.activation_types
        return " + ".join(parts)


def output_head(doc: GraphDocument) -> OutputHead | None:
    """The network's output end, or ``None`` when it has no single output."""
    ids = doc.node_ids
    outputs = [n for n in ids if not doc.successors(n) and doc.node(n).type != "Input"]
    if len(outputs) != 1:
        return None
    node = outputs[0]
    acts: list[str] = []
    while doc.node(node).type in ACTIVATIONS:
        preds = doc.predecessors(node)
        if len(preds) != 1:
            break
        acts.insert(0, node)
        node = preds[0]
    if doc.node(node).type == "Dense":
        units = int(doc.node(node).config.get("units", 16))
        return OutputHead(outputs[0], node, units, acts, [doc.node(a).type for a in acts])
    return OutputHead(outputs[0], None, None, [], [])


def wanted_head(task: str, n_outputs: int) -> str:
    """What the output should be, in words: ``Dense 3 + Softmax``."""
    if task == "classification":
        return f"Dense {max(2, n_outputs)} + Softmax"
    return f"Dense {n_outputs} (no activation)"


def fits(head: OutputHead, task: str, n_outputs: int) -> bool:
    """Whether ``head`` suits the task with ``n_outputs`` classes (or targets)."""
    if head.dense is None:
        return False
    acts = [t for t in head.activation_types if t != "Linear"]
    if task == "classification":
        if n_outputs <= 2 and head.units == 1 and acts == ["Sigmoid"]:
            return True
        return head.units == max(2, n_outputs) and acts == ["Softmax"]
    return head.units == n_outputs and not acts


def output_mismatch(doc: GraphDocument, task: str, n_outputs: int) -> str | None:
    """A sentence saying what does not fit, or ``None`` when the output is right (or when
    the graph has no single output: the editor reports that)."""
    head = output_head(doc)
    if head is None or fits(head, task, n_outputs):
        return None
    what = (f"{n_outputs} classes" if task == "classification"
            else f"{n_outputs} target value{'s' if n_outputs != 1 else ''} to predict")
    return (f"The data has {what}, but the network ends in {head.describe(doc)}. "
            f"It should end in {wanted_head(task, n_outputs)}.")


def output_fix_command(doc: GraphDocument, task: str, n_outputs: int) -> Command | None:
    """One undoable step that makes the output fit (``None`` when it already does)."""
    head = output_head(doc)
    if head is None or fits(head, task, n_outputs):
        return None
    units = max(2, n_outputs) if task == "classification" else n_outputs
    commands: list[Command] = []
    if head.dense is None:
        # No Dense at the end (e.g. a pooling layer): append Dense (+ Softmax).
        x, y = doc.node(head.output).pos
        dense = AddNode(doc, "Dense", (x + NODE_WIDTH + COLUMN_GAP, y), {"units": units})
        commands += [dense, Connect(doc, head.output, dense.node_id)]
        last, last_pos = dense.node_id, dense.pos
    else:
        if head.units != units:
            commands.append(SetConfig(doc, head.dense, {"units": units}))
        last, last_pos = head.dense, doc.node(head.dense).pos
        if head.activations:
            commands.append(RemoveNodes(doc, head.activations))
    if task == "classification":
        x = last_pos[0] + NODE_WIDTH + COLUMN_GAP
        pos = doc.node(head.activations[0]).pos if head.activations else (x, last_pos[1])
        soft = AddNode(doc, "Softmax", pos)
        commands += [soft, Connect(doc, last, soft.node_id)]
    text = f"Fit the output to the data ({wanted_head(task, n_outputs)})"
    return Macro(doc, text, commands)
