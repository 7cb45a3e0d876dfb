"""The NumPy engine: layers, the DAG network, losses, optimizers, schedules, metrics.

Importing this package registers every layer type in :data:`LAYERS`.
"""

from nnstudio.core.engine import (  # noqa: F401  (importing registers the layer types)
    activations,
    activations_smooth,
    attention,
    bidirectional,
    conv,
    conv1d,
    conv_transpose,
    core_layers,
    depthwise,
    embedding,
    merge,
    merge_elementwise,
    norm,
    output_layer,
    permute,
    pooling,
    pooling_global,
    pooling_seq,
    recurrent,
    regularization,
    reshape,
    seqpool,
    upsampling,
)
from nnstudio.core.engine.layer import CATEGORIES, LAYERS, Layer, Setting, layer_class, register
from nnstudio.core.engine.losses import LOSSES, get_loss
from nnstudio.core.engine.network import (
    Network,
    NetworkSpec,
    NodeShape,
    NodeSpec,
    ShapeReport,
    infer_shapes,
    topological_order,
)
from nnstudio.core.engine.optimizers import OPTIMIZERS, make_optimizer
from nnstudio.core.engine.schedules import SCHEDULES, Schedule

__all__ = [
    "CATEGORIES",
    "LAYERS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "Layer",
    "Network",
    "NetworkSpec",
    "NodeShape",
    "NodeSpec",
    "Schedule",
    "Setting",
    "ShapeReport",
    "get_loss",
    "infer_shapes",
    "layer_class",
    "make_optimizer",
    "register",
    "topological_order",
]
