"""Insight: what happens inside a network, computed with NumPy for the views to show.

GUI-free computations, each checked against the engine:

* :func:`decision_grid` / :func:`fitted_curve` — what the model predicts over the input plane;
* :func:`neuron_report` / :func:`neuron_map` — one unit's weights, ``z = w·x + b`` and
  activation;
* :func:`worked_example` — the course's one-neuron gradient step, number by number;
* :func:`layer_stats` — histograms, gradient norms and warnings (dead ReLUs, saturation,
  vanishing/exploding gradients);
* :func:`loss_slice` — the loss over a plane of weights with the training path;
* :class:`RunRecord` — seed, split and initial weights, to replay a run bit for bit.

None of these run the network that is training: views pass a twin
(:func:`clone_network`) refreshed from a snapshot of the weights.
"""

from nnstudio.core.insight.boundary import (
    decision_grid,
    fitted_curve,
    grid_axes,
    grid_points,
    grid_predictions,
    padded_range,
)
from nnstudio.core.insight.common import (
    activation_of,
    as_probabilities,
    clone_network,
    num,
    output_kind,
    same_graph,
    unit_layers,
)
from nnstudio.core.insight.landscape import (
    Directions,
    LossSlice,
    WeightPath,
    loss_slice,
    param_index,
    param_label,
    pca_directions,
    project_path,
    random_directions,
    weight_directions,
)
from nnstudio.core.insight.neurons import (
    NeuronReport,
    all_neuron_maps,
    neuron_map,
    neuron_report,
    unit_activations,
)
from nnstudio.core.insight.replay import RunRecord, data_fingerprint, fingerprint
from nnstudio.core.insight.stats import Advice, LayerStats, NetworkStats, StatsHistory, layer_stats
from nnstudio.core.insight.worked import WorkedExample, single_neuron, worked_example

__all__ = [
    "Advice",
    "Directions",
    "LayerStats",
    "LossSlice",
    "NetworkStats",
    "NeuronReport",
    "RunRecord",
    "StatsHistory",
    "WeightPath",
    "WorkedExample",
    "activation_of",
    "all_neuron_maps",
    "as_probabilities",
    "clone_network",
    "data_fingerprint",
    "decision_grid",
    "fingerprint",
    "fitted_curve",
    "grid_axes",
    "grid_points",
    "grid_predictions",
    "layer_stats",
    "loss_slice",
    "neuron_map",
    "neuron_report",
    "num",
    "output_kind",
    "padded_range",
    "param_index",
    "param_label",
    "pca_directions",
    "project_path",
    "random_directions",
    "same_graph",
    "single_neuron",
    "unit_activations",
    "unit_layers",
    "weight_directions",
    "worked_example",
]
