"""Colours and pens shared by the plots (training curves, results charts).

The frame colours follow the application theme (:func:`nnstudio.gui.theme.current_theme`,
read when a plot is built); series colours come from a colour-blind safe set (Okabe–Ito):
training blue, validation orange.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from nnstudio.gui.theme import current_theme


def frame() -> dict[str, str]:
    """``background``, ``text``, ``muted``, ``axis`` colours of the current theme."""
    t = current_theme()
    return {"background": t.base, "text": t.text, "muted": t.muted, "axis": t.border}

#: Series colours by role.
COLORS = {
    "train": "#0072b2",
    "val": "#e69f00",
    "batch": "#56b4e9",
    "lr": "#009e73",
    "cross": "#7b8794",
    "identity": "#7b8794",
    "points": "#0072b2",
    "bars": "#56b4e9",
}


def pen(role: str, width: float = 1.5, dash: bool = False):
    """A cosmetic pen for a series role; the batch curve is drawn half transparent."""
    color = pg.mkColor(COLORS[role])
    if role == "batch":
        color.setAlpha(150)
    p = pg.mkPen(color, width=width)
    if dash:
        p.setStyle(Qt.PenStyle.DashLine)
    return p


def brush(role: str, alpha: int = 255):
    """A brush of a role's colour with ``alpha`` (0–255)."""
    color = pg.mkColor(COLORS[role])
    color.setAlpha(alpha)
    return pg.mkBrush(color)
