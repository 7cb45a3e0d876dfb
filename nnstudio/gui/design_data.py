"""What the design asks of the data: the targets its Output layers name, the columns its
Inputs take (the GUI's side of :mod:`nnstudio.core.data.binding`).

A network that ends in ``Output`` layers naming target columns is trained on data prepared
for those targets (``build_dataset(..., outputs=..., several_inputs=...)``, as the CLI's
``pipeline.load_data`` does); its Inputs may each take chosen columns of the table. These
helpers compute the options to prepare the data with, the Inputs' matrix columns, the network
and its heads — shared by the workflow (loading), the Training panel (runs) and the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnstudio.core.data.binding import input_columns, output_targets, several_inputs
from nnstudio.core.engine.network import Network, NetworkSpec, infer_shapes
from nnstudio.core.errors import NNStudioError

#: ``build_dataset`` options of a design with one output and one Input (what the dataset
#: wizard prepares).
PLAIN = {"outputs": None, "several_inputs": False}


def load_options(spec: NetworkSpec) -> dict[str, Any]:
    """``{"outputs": [(target, loss)] or None, "several_inputs": bool}`` for
    ``build_dataset``; raises :class:`GraphError` (at the Output at fault) when the Outputs
    cannot say their targets."""
    outputs = output_targets(spec)
    return {"outputs": [tuple(o) for o in outputs] if outputs else None,
            "several_inputs": several_inputs(spec)}


def safe_load_options(spec: NetworkSpec) -> tuple[dict[str, Any], str]:
    """:func:`load_options`, or the plain options and the reason they are not the design's."""
    try:
        return load_options(spec), ""
    except NNStudioError as e:  # an Output without its target (GraphError), a bad setting
        return dict(PLAIN), str(e)


def names_targets(spec: NetworkSpec) -> bool:
    """True when an Output layer of the design names a target column (then the targets and
    the losses come from the Output layers, not from the dataset and the Training panel)."""
    return any(n.type == "Output" and str(n.config.get("target") or "").strip()
               for n in spec.nodes)


def output_target_names(spec: NetworkSpec) -> list[str]:
    """The target columns the design's Output layers name (``[]`` for none)."""
    return [str(n.config.get("target") or "").strip() for n in spec.nodes
            if n.type == "Output" and str(n.config.get("target") or "").strip()]


def columns_for(spec: NetworkSpec, prepared: Any) -> dict[str, np.ndarray] | None:
    """Each Input's prepared-matrix columns (None: one Input takes the whole sample);
    raises :class:`GraphError` naming the Input at fault."""
    return input_columns(spec, getattr(prepared, "preparation", None))


def build_network(spec: NetworkSpec, prepared: Any, seed: int | None = 0,
                  dtype: Any = np.float32) -> Network:
    """A new network of ``spec`` for ``prepared`` (its Inputs given their columns)."""
    return Network(spec, tuple(prepared.input_shape), dtype=dtype, seed=seed,
                   input_columns=columns_for(spec, prepared))


def shape_report(spec: NetworkSpec, prepared: Any):
    """:func:`infer_shapes` of ``spec`` on ``prepared``'s samples, the Inputs' columns
    included; raises :class:`GraphError` when the columns cannot be taken."""
    return infer_shapes(spec, tuple(prepared.input_shape), columns_for(spec, prepared))


def heads_of(net: Network, prepared: Any):
    """The :class:`~nnstudio.core.training.heads.Heads` of a network trained on several
    targets (None for one output); a :class:`ProjectError` placed at the Output at fault."""
    from nnstudio.core.io.pipeline import output_heads

    return output_heads(net, prepared, "network")


def output_keys(heads: Any) -> list[str]:
    """The validation metric plotted per output: ``["price/r2", "sold/accuracy"]``."""
    if heads is None:
        return []
    return [f"{h.target}/{'accuracy' if h.task == 'classification' else 'r2'}"
            for h in heads.heads]


def history_output_keys(history: dict) -> list[str]:
    """:func:`output_keys` of a stored run's curves (``"val_price/r2"`` …)."""
    keys = []
    for name in history:
        if name.startswith("val_") and "/" in name and name.endswith(("/r2", "/accuracy")):
            keys.append(name[4:])
    return keys


def targets_line(prepared: Any) -> str:
    """``"price (number), sold (2 classes)"`` of data prepared for several outputs."""
    heads = getattr(getattr(prepared, "preparation", None), "heads", None) or []
    parts = []
    for h in heads:
        if h.get("task") == "classification":
            parts.append(f"{h['target']} ({len(h.get('class_names') or [])} classes)")
        else:
            parts.append(f"{h['target']} (number)")
    return ", ".join(parts)


def outputs_summary(metrics: dict, split: str = "validation") -> str:
    """``"price R² 0.975 · sold accuracy 93.3 %"`` from flat per-output metrics."""
    parts = []
    for key, value in metrics.items():
        target, _, name = key.rpartition("/")
        if not target or not isinstance(value, int | float):
            continue
        if name == "accuracy":
            parts.append(f"{target} accuracy {100 * value:.1f} %")
        elif name == "r2":
            parts.append(f"{target} R² {value:.3f}")
    return " · ".join(parts)
