"""Look and feel: Fusion style, a light and a dark palette, the stylesheet, canvas colours.

:func:`apply_theme` sets the application palette and the stylesheet from
``resources/style/app.qss`` (``@token`` placeholders are replaced by the theme's colours) and
remembers the :class:`Theme` so the canvas and the icons can draw with the same colours
(:func:`current_theme`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from nnstudio.resources import resource_path

#: Accent colour of each palette group (nodes, icons), for light and dark backgrounds.
CATEGORY_COLORS = {
    "Input/Output": ("#0f9f75", "#34d399"),
    "Core": ("#2f6fe4", "#6ea1ff"),
    "Activations": ("#d97706", "#fbbf24"),
    "Normalization & regularization": ("#7c4ddb", "#a78bfa"),
    "Convolution & pooling": ("#db2777", "#f472b6"),
    "Recurrent": ("#0891b2", "#22d3ee"),
    "Merge": ("#5b6b82", "#a3b1c6"),
}


@dataclass(frozen=True)
class Theme:
    """Every colour the application draws with."""

    name: str
    dark: bool
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    canvas: str
    grid: str
    node: str
    node_header: str
    node_border: str
    port: str
    edge: str
    error: str
    error_fill: str
    warning: str
    button: str
    tooltip: str
    extra: dict[str, str] = field(default_factory=dict)

    def category_color(self, category: str) -> QColor:
        light, dark = CATEGORY_COLORS.get(category, ("#5b6b82", "#a3b1c6"))
        return QColor(dark if self.dark else light)

    def color(self, name: str) -> QColor:
        return QColor(getattr(self, name))


LIGHT = Theme(
    name="light", dark=False,
    window="#f3f4f7", base="#ffffff", alt_base="#f7f8fa", text="#1f2430", muted="#6b7385",
    border="#d5d9e2", accent="#3b6ff5", accent_text="#ffffff",
    canvas="#fafbfc", grid="#dfe3ea", node="#ffffff", node_header="#f4f6fa",
    node_border="#c9cfdb", port="#8a93a6", edge="#7d879b", error="#d93025",
    error_fill="#fff1f0", warning="#b26a00", button="#ffffff", tooltip="#ffffff",
)

DARK = Theme(
    name="dark", dark=True,
    window="#1f2229", base="#171a20", alt_base="#20242c", text="#e6e8ee", muted="#9aa3b5",
    border="#363b47", accent="#6d93ff", accent_text="#0e1116",
    canvas="#15181e", grid="#272c36", node="#242833", node_header="#2b303c",
    node_border="#3d4453", port="#8b94a8", edge="#8f99ad", error="#ff6b5e",
    error_fill="#3a2024", warning="#f0b44c", button="#2a2e38", tooltip="#2a2e38",
)

THEMES = {"light": LIGHT, "dark": DARK}
_current: Theme = LIGHT


def current_theme() -> Theme:
    """The theme applied last (light before any)."""
    return _current


def system_prefers_dark() -> bool:
    """Whether the desktop asks for a dark colour scheme (Qt ≥ 6.5 knows)."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return bool(scheme and scheme() == Qt.ColorScheme.Dark)


def resolve(name: str) -> Theme:
    """``"light"``, ``"dark"`` or ``"system"`` (anything else) → a :class:`Theme`."""
    if name in THEMES:
        return THEMES[name]
    return DARK if system_prefers_dark() else LIGHT


def palette(theme: Theme) -> QPalette:
    """A complete QPalette for Fusion from the theme's colours."""
    p = QPalette()
    c = QColor
    roles = {
        QPalette.ColorRole.Window: theme.window,
        QPalette.ColorRole.WindowText: theme.text,
        QPalette.ColorRole.Base: theme.base,
        QPalette.ColorRole.AlternateBase: theme.alt_base,
        QPalette.ColorRole.ToolTipBase: theme.tooltip,
        QPalette.ColorRole.ToolTipText: theme.text,
        QPalette.ColorRole.PlaceholderText: theme.muted,
        QPalette.ColorRole.Text: theme.text,
        QPalette.ColorRole.Button: theme.button,
        QPalette.ColorRole.ButtonText: theme.text,
        QPalette.ColorRole.BrightText: theme.error,
        QPalette.ColorRole.Highlight: theme.accent,
        QPalette.ColorRole.HighlightedText: theme.accent_text,
        QPalette.ColorRole.Link: theme.accent,
        QPalette.ColorRole.Light: "#ffffff" if not theme.dark else "#3a404d",
        QPalette.ColorRole.Midlight: theme.alt_base,
        QPalette.ColorRole.Mid: theme.border,
        QPalette.ColorRole.Dark: theme.border,
        QPalette.ColorRole.Shadow: "#00000040" if not theme.dark else "#000000",
    }
    for role, value in roles.items():
        p.setColor(role, c(value))
    disabled = c(theme.muted)
    disabled.setAlpha(150)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, c(theme.border))
    return p


def stylesheet(theme: Theme) -> str:
    """``resources/style/app.qss`` with ``@token`` replaced by the theme's colours."""
    path = resource_path("style", "app.qss")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    values = {k: v for k, v in vars(theme).items() if isinstance(v, str)}
    return re.sub(r"@([a-z_]+)", lambda m: values.get(m.group(1), m.group(0)), text)


def apply_theme(app: QApplication, name: str = "system") -> Theme:
    """Fusion + the palette + the stylesheet of theme ``name``; returns the theme."""
    global _current
    theme = resolve(name)
    _current = theme
    app.setStyle("Fusion")
    app.setPalette(palette(theme))
    app.setStyleSheet(stylesheet(theme))
    from nnstudio.gui import icons

    icons.clear_cache()
    return theme
