"""What the convolution layers see: feature maps of one sample, and the first layer's filters.

For a chosen image or spectrogram the network runs forward once; every ``Conv2D`` and pooling
layer's output ``(C, H, W)`` is kept (the activation after a Conv2D, when one follows it
directly, is what the next layer sees, so a ReLU's output is shown in place of the raw
convolution). The first Conv2D's weights ``(F, C, kh, kw)`` are the learned filters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnstudio.core.engine.network import Network

MAP_LAYERS = ("Conv2D", "MaxPool2D", "AvgPool2D", "MaxPooling2D", "AveragePooling2D")
ACTIVATIONS = ("ReLU", "LeakyReLU", "Tanh", "Sigmoid")


@dataclass
class LayerMaps:
    """One layer's maps for one sample.

    Attributes
    ----------
    node_id, type_name, title:
        ``title`` is e.g. ``"conv_1 → relu_1 · 16 × 28 × 28"``.
    maps:
        float32 ``(C, H, W)``: the layer's output for the sample (at most ``max_maps``
        channels, the most active first when cut).
    channels:
        The channel index of each map.
    """

    node_id: str
    type_name: str
    title: str
    maps: np.ndarray
    channels: np.ndarray


def conv_layers(net: Network) -> list[str]:
    """Node ids of the Conv2D and pooling layers with image outputs, in execution order."""
    return [n for n in net.order
            if net.layers[n].type_name in MAP_LAYERS and len(net.shapes[n]) == 3]


def feature_maps(net: Network, x: np.ndarray, max_maps: int = 32) -> list[LayerMaps]:
    """Maps of every Conv2D/pooling layer for one prepared sample ``x`` ``(*input_shape)``."""
    net.forward(np.asarray(x, net.dtype)[None], training=False)
    succ: dict[str, list[str]] = {n: [] for n in net.order}
    for n in net.order:
        for p in net.preds.get(n, []):
            succ[p].append(n)
    out = []
    for node in conv_layers(net):
        shown = node
        nxt = succ.get(node, [])
        if (net.layers[node].type_name == "Conv2D" and len(nxt) == 1
                and net.layers[nxt[0]].type_name in ACTIVATIONS):
            shown = nxt[0]
        maps = np.array(net.values[shown][0], np.float32)
        channels = np.arange(maps.shape[0])
        if maps.shape[0] > max_maps:
            strength = np.abs(maps).reshape(maps.shape[0], -1).mean(axis=1)
            channels = np.sort(np.argsort(-strength, kind="stable")[:max_maps])
            maps = maps[channels]
        c, h, w = net.shapes[node]
        title = node if shown == node else f"{node} → {shown}"
        out.append(LayerMaps(node, net.layers[node].type_name, f"{title} · {c} × {h} × {w}",
                             maps, channels))
    return out


def first_filters(net: Network) -> tuple[str, np.ndarray] | None:
    """``(node_id, W (F, C, kh, kw))`` of the first Conv2D, or None without one."""
    for n in net.order:
        if net.layers[n].type_name == "Conv2D":
            return n, np.array(net.layers[n].params["W"], np.float32)
    return None
