"""Small widgets of the workflow panels."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from nnstudio.gui.panels.workflow_widgets import ElidedLabel

pytestmark = pytest.mark.gui


def painted_width(label: ElidedLabel) -> int:
    """How far to the right the label paints its text (in pixels)."""
    image = label.grab().toImage()
    background = QColor(image.pixel(image.width() - 1, 0))
    right = 0
    for x in range(image.width()):
        for y in range(image.height()):
            if QColor(image.pixel(x, y)) != background:
                right = x
                break
    return right


def test_elided_label_keeps_its_text_and_shortens_what_it_paints(qtbot):
    text = "Stopped early after 33 epochs, the weights of epoch 8 restored"
    label = ElidedLabel(text)
    qtbot.addWidget(label)
    label.resize(label.fontMetrics().horizontalAdvance(text) + 20, 24)
    label.show()
    qtbot.waitExposed(label)
    full = painted_width(label)
    assert label.toolTip() == ""  # everything fits: no tooltip
    label.resize(120, 24)
    narrow = painted_width(label)
    assert label.text() == text  # the text is kept whole
    assert label.toolTip() == text  # and shown in the tooltip while cut
    assert 60 < narrow < 120 < full
    fm = label.fontMetrics()
    shown = fm.elidedText(text, Qt.TextElideMode.ElideRight, label.contentsRect().width())
    assert shown.endswith("…") and abs(narrow - fm.horizontalAdvance(shown)) <= 3
