"""Icons drawn from the SVG files in ``resources/icons``, crisp at any scale.

The SVGs are monochrome (``currentColor``); :class:`SvgIconEngine` recolours them (action
icons take the theme's text colour, layer icons their palette group's colour) and renders
them at the exact device-pixel size Qt asks for, so they stay sharp at 200 % scaling.
"""

from __future__ import annotations

import re
from functools import cache

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QIconEngine, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from nnstudio.core.engine.layer import LAYERS
from nnstudio.core.graph.document import id_base
from nnstudio.gui.theme import current_theme
from nnstudio.resources import resource_path

_cache: dict[tuple[str, str], QIcon] = {}


class SvgIconEngine(QIconEngine):
    """Render one SVG document at any size; the Disabled mode is drawn faded."""

    def __init__(self, svg: bytes):
        super().__init__()
        self._svg = svg
        self._renderer = QSvgRenderer(QByteArray(svg))

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        painter.save()
        if mode == QIcon.Mode.Disabled:
            painter.setOpacity(0.35)
        self._renderer.render(painter, QRectF(rect))
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pm = QPixmap(size)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return pm

    def clone(self) -> QIconEngine:
        return SvgIconEngine(self._svg)


@cache
def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def svg_icon(relative: str, color: QColor | str | None = None) -> QIcon:
    """The icon of ``resources/icons/<relative>``, ``currentColor`` painted ``color``."""
    color_name = QColor(color).name() if color is not None else current_theme().text
    key = (relative, color_name)
    icon = _cache.get(key)
    if icon is None:
        data = _read(str(resource_path("icons", relative)))
        if not data:
            icon = QIcon()
        else:
            data = data.replace(b"currentColor", color_name.encode())
            icon = QIcon(SvgIconEngine(data))
        _cache[key] = icon
    return icon


def action_icon(name: str) -> QIcon:
    """A toolbar/menu icon (``"save"``, ``"undo"``...) in the theme's text colour."""
    theme = current_theme()
    return svg_icon(f"actions/{name}.svg", theme.text)


def category_slug(category: str) -> str:
    """``"Normalization & regularization"`` → ``"normalization"`` (the icon file name)."""
    first = category.split(" ")[0]
    return re.sub(r"[^a-z0-9]+", "_", first.lower()).strip("_")


def layer_icon_file(type_name: str) -> str:
    """The SVG used for a layer type: its own, a family's, or its palette group's."""
    base = id_base(type_name)
    candidates = [f"layers/{base}.svg"]
    if "pool" in base:
        candidates.append("layers/max_pool2d.svg")
    if "conv" in base:
        candidates.append("layers/conv2d.svg")
    if base.endswith("rnn"):
        candidates.append("layers/simple_rnn.svg")
    cls = LAYERS.get(type_name)
    if cls is not None:
        candidates.append(f"categories/{category_slug(cls.category)}.svg")
    candidates.append("layers/node.svg")
    for c in candidates:
        if resource_path("icons", c).is_file():
            return c
    return "layers/node.svg"


def layer_icon(type_name: str) -> QIcon:
    """A layer type's icon in its palette group's colour."""
    cls = LAYERS.get(type_name)
    color = current_theme().category_color(cls.category if cls else "")
    return svg_icon(layer_icon_file(type_name), color)


def category_icon(category: str) -> QIcon:
    return svg_icon(f"categories/{category_slug(category)}.svg",
                    current_theme().category_color(category))


def app_icon() -> QIcon:
    """The application icon (colours of its own)."""
    key = ("app.svg", "")
    if key not in _cache:
        data = _read(str(resource_path("icons", "app.svg")))
        _cache[key] = QIcon(SvgIconEngine(data)) if data else QIcon()
    return _cache[key]


def clear_cache() -> None:
    """Forget coloured icons (after a theme change)."""
    _cache.clear()
