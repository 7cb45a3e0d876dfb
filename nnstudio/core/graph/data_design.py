"""The design checked against the loaded data: what a canvas shows at an Input or an Output
of a network with several Inputs or outputs (:mod:`nnstudio.core.data.binding`).

Used by :class:`~nnstudio.core.graph.document.GraphDocument` when it recomputes its shape
report; plain Python, no Qt.
"""

from __future__ import annotations

from typing import Any

from nnstudio.core.engine.network import NetworkSpec, ShapeReport
from nnstudio.core.errors import GraphError, NNStudioError


def target_problem(spec: NetworkSpec) -> GraphError | None:
    """Why the Output layers cannot say what they predict (one names no target while others
    do, two name the same), placed at the Output at fault; None when they can."""
    if not any(n.type == "Output" for n in spec.nodes):
        return None
    from nnstudio.core.data.binding import output_targets

    try:
        output_targets(spec)
    except GraphError as e:
        return e if getattr(e, "node", None) else None
    except NNStudioError:
        return None  # a bad setting: shape inference reports it at its node
    return None


def output_problems(spec: NetworkSpec, report: ShapeReport, preparation: Any) -> None:
    """An Output whose branch cannot learn its prepared target (16 values for one number,
    2 units for 3 classes) gets the error training would give, at the Output."""
    heads = {h.get("target"): h for h in getattr(preparation, "heads", None) or []}
    if not heads:
        return
    from nnstudio.core.training.heads import check_output

    for n in spec.nodes:
        info = heads.get(str(n.config.get("target") or "").strip()) \
            if n.type == "Output" else None
        result = report.nodes.get(n.id)
        if info is None or result is None or result.shape is None or result.error:
            continue
        try:
            check_output(f"Output '{n.id}'", str(n.config.get("loss") or "auto"), info,
                         tuple(result.shape))
        except NNStudioError as e:
            result.error = str(e)


def chosen_columns(spec: NetworkSpec, preparation: Any) -> dict[str, Any] | None:
    """The columns of the Inputs whose own choice works, when another Input's does not: they
    keep showing their shapes while the Input at fault shows why it cannot."""
    from nnstudio.core.data.binding import feature_blocks

    try:
        blocks = feature_blocks(preparation)
    except (AttributeError, TypeError):
        return None
    out = {}
    for n in spec.nodes:
        cols = list(n.config.get("columns") or []) if n.type == "Input" else []
        if cols and all(c in blocks for c in cols) and len(set(cols)) == len(cols):
            out[n.id] = [j for c in cols for j in blocks[c]]
    return out or None
