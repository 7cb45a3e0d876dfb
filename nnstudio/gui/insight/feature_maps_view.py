"""Inside the network ▸ Feature maps: what each convolution and pooling layer sees.

For the chosen sample (an image, or a recording's spectrogram) the view shows the input, the
first Conv2D's learned filters, and the output maps of every Conv2D/pooling layer, each map
coloured on its own scale (dark = low, yellow = high). It follows training like the other
insight views: the maps are recomputed (in the compute thread, at most twice a second) as the
weights change, so one sees edge and blob detectors form — the course's "image → tail, fur,
ears, eyes".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.insight.feature_maps import conv_layers, feature_maps, first_filters
from nnstudio.gui.insight.base import InsightView, caption
from nnstudio.gui.media_images import image_qimage, montage, rgb_qimage

#: Screen pixels of the longer side of one map tile, about.
TILE = 48


def _scaled(rgb: np.ndarray, tile_h: int, scale: int):
    img = rgb_qimage(rgb)
    return img.scaled(img.width() * scale, img.height() * scale,
                      Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)


def maps_job(net, data, split: str, sample: int) -> dict[str, Any]:
    """Input picture, filter montage and one montage per layer (compute thread)."""
    xs = data.x_test if split == "test" and len(data.x_test) else data.x_train
    ys = data.y_test if xs is data.x_test else data.y_train
    sample = min(sample, len(xs) - 1)
    x = np.asarray(xs[sample], np.float32)
    layers = feature_maps(net, x)
    out: dict[str, Any] = {"layers": [], "sample": sample}
    img = x if x.ndim == 3 else x[None]
    out["input"] = image_qimage(img, 112)
    label = int(np.asarray(ys)[sample]) if np.asarray(ys).ndim == 1 else None
    names = data.class_names
    out["label"] = names[label] if names and label is not None else ""
    pred = net.values[net.output_id][0]
    if names and pred.size == len(names):
        out["pred"] = f"{names[int(np.argmax(pred))]} ({float(np.max(pred)):.0%})"
    filt = first_filters(net)
    if filt is not None:
        node, w = filt
        tiles = w.mean(axis=1) if w.shape[1] != 3 else None
        if tiles is None:  # RGB filters as colour pictures
            f, _, kh, kw = w.shape
            lo, hi = w.min(axis=(1, 2, 3), keepdims=True), w.max(axis=(1, 2, 3), keepdims=True)
            rgb = ((w - lo) / np.where(hi - lo == 0, 1, hi - lo) * 255).astype(np.uint8)
            cols = min(16, f)
            rows = -(-f // cols)
            sheet = np.full((rows * (kh + 1) + 1, cols * (kw + 1) + 1, 3), 40, np.uint8)
            for i in range(f):
                r, c = divmod(i, cols)
                sheet[1 + r * (kh + 1):1 + r * (kh + 1) + kh,
                      1 + c * (kw + 1):1 + c * (kw + 1) + kw] = rgb[i].transpose(1, 2, 0)
        else:
            sheet = montage(tiles, columns=16)
        scale = max(2, min(12, 400 // max(sheet.shape[:2])))
        out["filters"] = (f"{node}: {w.shape[0]} filters of {w.shape[2]}×{w.shape[3]}",
                          _scaled(sheet, w.shape[2], scale))
    for lm in layers:
        h, w = lm.maps.shape[1:]
        scale = max(1, min(6, round(TILE / max(h, w))))
        sheet = montage(lm.maps, columns=8)
        out["layers"].append((lm.title, _scaled(sheet, h, scale)))
    return out


class FeatureMapsView(InsightView):
    """The input, the first layer's filters and every conv/pooling layer's maps."""

    key = "feature_maps"
    min_interval = 0.5

    def __init__(self, source, parent: QWidget | None = None):
        super().__init__(source, parent)
        self.split = QComboBox()
        self.split.addItem("test sample", "test")
        self.split.addItem("training sample", "train")
        self.sample_spin = QSpinBox()
        self.sample_spin.setRange(0, 0)
        self.split.currentIndexChanged.connect(self._split_changed)
        self.sample_spin.valueChanged.connect(lambda _v: self.settings_changed())
        self.input_label = QLabel()
        self.sample_text = QLabel()
        self.filters_title = QLabel()
        self.filters = QLabel()
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 0, 0)
        self.layer_labels: list[tuple[QLabel, QLabel]] = []
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.body)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show the"))
        top.addWidget(self.split)
        top.addWidget(self.sample_spin)
        top.addStretch(1)
        head = QHBoxLayout()
        head.addWidget(self.input_label)
        side = QVBoxLayout()
        side.addWidget(self.sample_text)
        side.addWidget(self.filters_title)
        side.addWidget(self.filters)
        side.addStretch(1)
        head.addLayout(side, 1)
        lay = QVBoxLayout(self.page)
        lay.addLayout(top)
        lay.addLayout(head)
        lay.addWidget(scroll, 1)
        lay.addWidget(caption(
            "Each small square is one channel of a layer's output for this sample "
            "(dark = low, yellow = high). The first convolution finds edges and spots; deeper "
            "layers combine them into parts. They update while the network trains."))

    def _split_changed(self) -> None:
        self._set_range()
        self.settings_changed()

    def _set_range(self) -> None:
        data = self.source.data
        if data is None:
            return
        xs = data.x_test if self.split.currentData() == "test" and len(data.x_test) \
            else data.x_train
        self.sample_spin.setRange(0, max(0, len(xs) - 1))

    def rebuild(self) -> None:
        net, data = self.source.network, self.source.data
        if net is None or data is None:
            self.show_message("Load images or sounds and design a network with a Conv2D layer "
                              "to see its feature maps.")
            return
        if len(net.input_shape) not in (2, 3) or not conv_layers(net):
            self.show_message("Feature maps need a network with Conv2D or pooling layers on "
                              "images or spectrograms (e.g. Templates ▸ Small image CNN).")
            return
        self._set_range()
        self.show_page()

    def job(self, snapshot):
        data = self.source.data
        if data is None or self.message:
            return None
        return maps_job, (data, self.split.currentData(), self.sample_spin.value())

    def show_result(self, result: dict, snapshot) -> None:
        self.input_label.setPixmap(QPixmap.fromImage(result["input"]))
        text = f"sample {result['sample']}"
        if result.get("label"):
            text += f" · true class <b>{result['label']}</b>"
        if result.get("pred"):
            text += f" · predicted <b>{result['pred']}</b>"
        self.sample_text.setText(text)
        if "filters" in result:
            title, img = result["filters"]
            self.filters_title.setText(f"Learned filters — {title}")
            self.filters.setPixmap(QPixmap.fromImage(img))
        layers = result["layers"]
        while len(self.layer_labels) < len(layers):
            t, p = QLabel(), QLabel()
            self.body_layout.addWidget(t)
            self.body_layout.addWidget(p)
            self.layer_labels.append((t, p))
        for i, (t, p) in enumerate(self.layer_labels):
            visible = i < len(layers)
            t.setVisible(visible)
            p.setVisible(visible)
            if visible:
                t.setText(f"<b>{layers[i][0]}</b>")
                p.setPixmap(QPixmap.fromImage(layers[i][1]))
