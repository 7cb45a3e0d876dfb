"""Point at a control: a coloured frame drawn over it for a few seconds ("Show me")."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from nnstudio.gui.theme import current_theme

#: How long the frame stays.
SHOW_MS = 2500


class Highlight(QWidget):
    """A transparent overlay on the target's window with a frame around the target."""

    def __init__(self, target: QWidget):
        top = target.window()
        super().__init__(top)
        self.setObjectName("helpHighlight")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.target = target
        origin = target.mapTo(top, target.rect().topLeft())
        self.setGeometry(QRect(origin, target.size()).adjusted(-4, -4, 4, 4))
        self.raise_()
        self.show()
        QTimer.singleShot(SHOW_MS, self.deleteLater)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = QColor(current_theme().accent)
        p.setPen(QPen(color, 3))
        color.setAlpha(30)
        p.setBrush(color)
        p.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 6, 6)
        p.end()


def point_at(target: QWidget | None) -> Highlight | None:
    """Frame ``target`` (when it is on screen); returns the overlay."""
    if target is None or not target.isVisible():
        return None
    return Highlight(target)
