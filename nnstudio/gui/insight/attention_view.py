"""Inside the network ▸ Attention: where each head of each attention layer looks for a text,
and, for a text classifier, the tokens that most raised the predicted class.

Type a text and press Show: the heat map has one row per token that looks and one column per
token looked at (brighter = more weight; rows sum to 1), for the chosen layer and head. The
computation (:mod:`nnstudio.core.insight.attention`) runs in a background thread on the
trained model, never while a run is training it.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.insight.attention import attention_maps, token_influence


class _Relay(QObject):
    done = Signal(object, object, str)  # maps, influence, error


class AttentionView(QWidget):
    """Heat maps of attention weights per layer and head, and token influence."""

    #: New maps are shown (tests wait for it).
    shown = Signal()

    def __init__(self, session: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.text = QLineEdit()
        self.text.setObjectName("attentionText")
        self.text.setPlaceholderText("a text to look at (e.g. a message)")
        self.text.returnPressed.connect(self.compute)
        self.show_button = QPushButton("Show")
        self.show_button.clicked.connect(self.compute)
        self.layer = QComboBox()
        self.head = QSpinBox()
        self.head.setPrefix("head ")
        self.head.setMinimum(1)
        self.layer.currentIndexChanged.connect(self._redraw)
        self.head.valueChanged.connect(self._redraw)
        self.status = QLabel("Train a model that reads token sequences (Embedding → "
                             "attention), then type a text.")
        self.status.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(280)
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        self.plot.setMouseEnabled(False, False)
        self.image = pg.ImageItem()
        self.image.setLookupTable(pg.colormap.get("viridis").getLookupTable())
        self.plot.addItem(self.image)
        self.plot.getAxis("left").setWidth(90)  # token labels, not numbers
        self.influence = QLabel("")
        self.influence.setObjectName("attentionInfluence")
        self.influence.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.text, 1)
        row.addWidget(self.show_button)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Layer"))
        pick.addWidget(self.layer, 1)
        pick.addWidget(self.head)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(pick)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.influence)
        self.maps = None
        self._relay = _Relay(self)
        self._relay.done.connect(self._done)
        self._thread: threading.Thread | None = None

    def compute(self) -> None:
        s = self.session
        model = getattr(s, "model", None)
        if model is None or getattr(s, "training", False):
            self.status.setText("Train a model first (and wait for the run to end).")
            return
        if self._thread is not None and self._thread.is_alive():
            return
        text = self.text.text()

        def work() -> None:
            try:
                maps = attention_maps(model, text)
                infl = None
                if model.task != "language_model":
                    infl = token_influence(model, text)
                self._relay.done.emit(maps, infl, "")
            except Exception as e:
                self._relay.done.emit(None, None, str(e))

        self.status.setText("Computing…")
        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def join(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _done(self, maps, infl, error: str) -> None:
        if error:
            self.status.setText(error)
            return
        self.maps = maps
        self.layer.blockSignals(True)
        self.layer.clear()
        self.layer.addItems([node for node, _ in maps.layers])
        self.layer.blockSignals(False)
        self.head.setMaximum(maps.layers[0][1].shape[0])
        note = " (cut to the model's length)" if maps.truncated else ""
        self.status.setText(f"{len(maps.tokens)} tokens{note}. Row = the token that looks, "
                            "column = the token it looks at; brighter = more attention.")
        if infl is not None:
            cls, top = infl
            self.influence.setText(
                f"Predicted “{cls}”. Tokens that raised it most (log-odds lost when the token "
                "is left out): " + ", ".join(f"{t!r} {d:+.2f}" for t, d in top))
        else:
            self.influence.setText("")
        self._redraw()
        self.shown.emit()

    def _redraw(self) -> None:
        if self.maps is None or self.layer.currentIndex() < 0:
            return
        w = self.maps.layers[self.layer.currentIndex()][1][self.head.value() - 1]
        # ImageItem's first axis is x: transpose so rows are the looking tokens (y).
        self.image.setImage(np.asarray(w.T, np.float32), levels=(0.0, float(max(w.max(), 1e-9))))
        ticks = [(i + 0.5, _shown(t)) for i, t in enumerate(self.maps.tokens)]
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTicks([ticks])


def _shown(token: str) -> str:
    """A token as an axis label: a space as "␣", other white space escaped ("\\n")."""
    if token == " ":
        return "␣"
    return token if token.strip() else repr(token)[1:-1]


def add_attention_tab(panel: Any, session: Any) -> AttentionView:
    """Add the Attention tab to the insight panel."""
    view = AttentionView(session)
    panel.tabs.addTab(view, "Attention")
    panel.attention = view
    return view
