"""Small widgets shared by the workflow panels: a message banner, a field-error label, a
metric card and a section title, all drawn with the current theme's colours."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from nnstudio.gui.theme import current_theme

#: Banner kinds → (text colour token, background, border) picked from the theme.
_KINDS = ("info", "success", "warning", "error")


def _banner_colors(kind: str) -> tuple[str, str, str]:
    t = current_theme()
    if kind == "error":
        return t.error, t.error_fill, t.error
    if kind == "warning":
        return (t.warning, "#3a2f1a" if t.dark else "#fff7e6", t.warning)
    if kind == "success":
        return ("#34d399" if t.dark else "#0b7a55", "#173328" if t.dark else "#ecfdf5",
                "#2f855a" if t.dark else "#9ae6b4")
    return t.text, t.alt_base, t.border


class Banner(QFrame):
    """A message with a coloured frame: info, success, warning or error.

    The bold title and the text share one wrapped paragraph (compact in a short dock).
    Hidden while empty; :meth:`show_message` shows it, :meth:`clear` hides it.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("workflowBanner")
        self.kind = "info"
        self._title = ""
        self._text = ""
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        #: The banner's one optional button (e.g. Cancel while data load).
        self.button = QPushButton()
        self.button.setVisible(False)
        self.button.clicked.connect(self._on_button)
        self._action = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.setVisible(False)

    def show_message(self, kind: str, title: str, text: str = "",
                     action: tuple[str, Any] | None = None) -> None:
        """Show ``title`` (bold) and ``text`` in the colours of ``kind``; ``action`` is an
        optional ``(button text, callable)``."""
        if kind not in _KINDS:
            raise ValueError(kind)
        self._action = action[1] if action else None
        self.button.setText(action[0] if action else "")
        self.button.setVisible(action is not None)
        self.kind, self._title, self._text = kind, title, text
        fg, bg, border = _banner_colors(kind)
        self.setStyleSheet(
            f"QFrame#workflowBanner {{ background: {bg}; border: 1px solid {border}; "
            f"border-radius: 6px; }} QFrame#workflowBanner QLabel {{ color: {fg}; "
            "background: transparent; border: none; }"
        )
        body = html.escape(text).replace("\n", "<br>")
        sep = " — " if title and text else ""
        self.label.setText(f"<b>{html.escape(title)}</b>{sep}{body}")
        self.setVisible(True)

    @property
    def title(self) -> str:
        return self._title

    @property
    def message(self) -> str:
        return self._text

    def text(self) -> str:
        """Title and text as one plain string (tests, status bar)."""
        return " ".join(s for s in (self._title, self._text) if s)

    def clear(self) -> None:
        self._title = self._text = ""
        self._action = None
        self.button.setVisible(False)
        self.label.clear()
        self.setVisible(False)

    def _on_button(self) -> None:
        action = self._action
        if action is not None:
            action()


class FieldError(QLabel):
    """A red message under a form field; hidden while empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("fieldError")
        self.setWordWrap(True)
        self.setStyleSheet(f"color: {current_theme().error};")
        self.setVisible(False)

    def set_error(self, message: str | None) -> None:
        self.setText(message or "")
        self.setVisible(bool(message))


class MetricCard(QFrame):
    """A caption above a large value (``Test accuracy`` / ``94.2 %``)."""

    def __init__(self, caption: str, parent: QWidget | None = None):
        super().__init__(parent)
        t = current_theme()
        self.setObjectName("metricCard")
        self.setStyleSheet(
            f"QFrame#metricCard {{ background: {t.base}; border: 1px solid {t.border}; "
            "border-radius: 8px; }"
        )
        self.caption = QLabel(caption)
        self.caption.setStyleSheet(f"color: {t.muted}; border: none;")
        self.value = QLabel("–")
        self.value.setStyleSheet("font-size: 16pt; font-weight: 600; border: none;")
        self.detail = QLabel("")
        self.detail.setStyleSheet(f"color: {t.muted}; border: none;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(1)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.detail)

    def set_value(self, value: str, detail: str = "") -> None:
        self.value.setText(value)
        self.detail.setText(detail)


def section_title(text: str) -> QLabel:
    """A bold, muted heading for a group of fields."""
    label = QLabel(text)
    label.setStyleSheet(f"color: {current_theme().muted}; font-weight: 600; padding-top: 4px;")
    return label


def hbox(*widgets, stretch_last: bool = False, spacing: int = 6) -> QHBoxLayout:
    """A horizontal layout of ``widgets`` (``None`` adds a stretch)."""
    layout = QHBoxLayout()
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(spacing)
    for w in widgets:
        if w is None:
            layout.addStretch(1)
        elif isinstance(w, QHBoxLayout | QVBoxLayout):
            layout.addLayout(w)
        else:
            layout.addWidget(w)
    if stretch_last:
        layout.addStretch(1)
    return layout


class CompactDoubleSpinBox(QDoubleSpinBox):
    """A spin box that shows ``0.001`` rather than ``0.001000`` and steps by ×/÷ 10 % of
    the value's order of magnitude (good for learning rates)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)

    def textFromValue(self, value: float) -> str:
        return f"{value:.7g}"


class ElidedLabel(QLabel):
    """A one-line label that ends its text with "…" when it is too narrow for it (the whole
    text then in its tooltip); ``text()`` stays the whole text."""

    def paintEvent(self, event) -> None:
        rect = self.contentsRect()
        text = self.text()
        shown = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        self.setToolTip(text if shown != text else "")
        painter = QPainter(self)
        self.style().drawItemText(painter, rect, int(self.alignment()), self.palette(),
                                  self.isEnabled(), shown, self.foregroundRole())


class ThinProgress(QWidget):
    """A thin progress line drawn in the theme's accent colour.

    Unlike ``QProgressBar.setValue`` — which repaints synchronously at once — ``setValue``
    here only schedules a repaint, so frequent progress updates from a training run are
    merged into the next paint.
    """

    def __init__(self, parent: QWidget | None = None, height: int = 6):
        super().__init__(parent)
        self._value = 0
        self._maximum = 1000
        self.setFixedHeight(height)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def setRange(self, minimum: int, maximum: int) -> None:
        self._maximum = max(1, int(maximum))
        self.update()

    def maximum(self) -> int:
        return self._maximum

    def value(self) -> int:
        return self._value

    def setValue(self, value: int) -> None:
        value = max(0, min(self._maximum, int(value)))
        if value != self._value:
            self._value = value
            self.update()

    def paintEvent(self, event) -> None:
        t = current_theme()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        r = self.rect()
        radius = r.height() / 2
        p.setBrush(QColor(t.border))
        p.drawRoundedRect(r, radius, radius)
        w = round(r.width() * self._value / self._maximum)
        if w > 0:
            p.setBrush(QColor(t.accent))
            p.drawRoundedRect(r.adjusted(0, 0, w - r.width(), 0), radius, radius)
        p.end()
