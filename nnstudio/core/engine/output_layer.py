"""``Output``: the end of one branch of a network with several outputs.

An Output passes its input through unchanged (``(N, *shape)`` in, the same out); what it adds
is meaning: which target column the branch predicts, with which loss, and how much that loss
counts in the total. A network with more than one branch end must end each branch in an
Output naming its target; a network with one end may use one too (then its target and loss
replace the dataset's and the training settings'). See :mod:`nnstudio.core.training.heads`.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Layer, Setting, Shape, register
from nnstudio.core.engine.losses import LOSSES

#: "auto": cross-entropy for a class column, mean squared error for a number column.
OUTPUT_LOSSES = ("auto",) + LOSSES


@register
class Output(Layer):
    """Names the target a branch predicts; the values pass through unchanged."""

    type_name = "Output"
    category = "Input/Output"
    summary = "ŷ — this branch predicts a target column (its own loss and weight)"
    settings = (
        Setting("target", "text", "", help="the target column this branch predicts"),
        Setting("loss", "choice", "auto", choices=OUTPUT_LOSSES,
                help="auto: cross-entropy for classes, mean squared error for numbers"),
        Setting("weight", "float", 1.0, minimum=0.0, maximum=1e6,
                help="how much this output's loss counts in the total loss"),
    )

    def describe(self) -> str:
        target = self.config["target"] or "?"
        weight = self.config["weight"]
        return f"Output {target}" + ("" if weight == 1.0 else f" ×{weight:g}")

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        return tuple(shape)

    def _forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        return inputs[0]

    def _backward(self, grad: np.ndarray) -> list[np.ndarray]:
        return [grad]
