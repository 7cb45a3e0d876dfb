"""DepthwiseConv2D: one small filter per input channel (MobileNet's depthwise stage).

A :class:`~nnstudio.core.engine.conv.Conv2D` with ``groups = C`` and ``filters =
C·depth_multiplier``, both taken from the input: ``(N, C, H, W)`` → ``(N, C·m, Ho, Wo)``,
``W (C·m, 1, kh, kw)`` (ONNX ``Conv`` with ``group = C``). Followed by a 1×1 Conv2D it makes
a depthwise-separable convolution.
"""

from __future__ import annotations

from typing import Any

from nnstudio.core.engine.conv import Conv2D
from nnstudio.core.engine.layer import Setting, Shape, register


@register
class DepthwiseConv2D(Conv2D):
    """Per-channel convolution (see the module docstring)."""

    type_name = "DepthwiseConv2D"
    summary = "each channel convolved with its own filters — cheap spatial filtering"
    settings = (
        Setting("depth_multiplier", "int", 1, minimum=1, maximum=1000,
                help="filters per input channel"),
        *(s for s in Conv2D.settings if s.name not in ("filters", "groups")),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        # Filled from the input's channels by _derive; a Conv2D reads them as settings.
        self.config["filters"] = self.config["depth_multiplier"]
        self.config["groups"] = 1

    def _derive(self, shape: Shape) -> None:
        if len(shape) == 3:
            self.config["groups"] = shape[0]
            self.config["filters"] = shape[0] * self.config["depth_multiplier"]

    def describe(self) -> str:
        label = super().describe().replace("Conv2D", "DepthwiseConv2D", 1)
        label = label.split(" groups ")[0]
        parts = label.split(" ")
        m = self.config["depth_multiplier"]
        del parts[1]  # the filter count depends on the input: show the multiplier instead
        return " ".join(parts) + (f" ×{m}" if m != 1 else "")

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        self._derive(tuple(input_shapes[0]))
        return super().output_shape(input_shapes)

    def param_shapes(self, input_shapes: list[Shape]):
        self._derive(tuple(input_shapes[0]))
        return super().param_shapes(input_shapes)

    def get_config(self) -> dict[str, Any]:
        return {s.name: _copy(self.config[s.name]) for s in self.settings}


def _copy(v: Any) -> Any:
    return list(v) if isinstance(v, (list, tuple)) else v
