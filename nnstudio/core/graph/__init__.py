"""The editable network document behind the canvas, and its undoable commands.

GUI-free: the Qt canvas, the CLI and the tests all edit a :class:`GraphDocument` through
:mod:`~nnstudio.core.graph.commands` and follow it through its plain-Python signals.
"""

from nnstudio.core.graph.commands import (
    AddNode,
    AddSubgraph,
    Command,
    Connect,
    Disconnect,
    Macro,
    MoveNodes,
    RemoveNodes,
    ReplaceAll,
    SetConfig,
    UndoStack,
    new_drag_id,
)
from nnstudio.core.graph.document import GraphDocument, Node, id_base, normalize_config
from nnstudio.core.graph.labels import format_params, format_shape
from nnstudio.core.graph.layout import NODE_HEIGHT, NODE_WIDTH, auto_arrange
from nnstudio.core.graph.signal import Signal
from nnstudio.core.graph.templates import Template, build_template, template, templates

__all__ = [
    "NODE_HEIGHT",
    "NODE_WIDTH",
    "AddNode",
    "AddSubgraph",
    "Command",
    "Connect",
    "Disconnect",
    "GraphDocument",
    "Macro",
    "MoveNodes",
    "Node",
    "RemoveNodes",
    "ReplaceAll",
    "SetConfig",
    "Signal",
    "Template",
    "UndoStack",
    "auto_arrange",
    "build_template",
    "format_params",
    "format_shape",
    "id_base",
    "new_drag_id",
    "normalize_config",
    "template",
    "templates",
]
