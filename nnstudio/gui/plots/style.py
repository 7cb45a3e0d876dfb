"""Colours and pens shared by the plots (training curves, results charts).

The colours follow the application theme (:mod:`nnstudio.gui.theme`) when it defines them,
and fall back to a light, neutral palette otherwise. Series colours come from a colour-blind
safe set (Okabe–Ito): training blue, validation orange.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

BACKGROUND = "#ffffff"
TEXT = "#1f2933"
MUTED = "#52606d"
AXIS = "#9aa5b1"
GRID = "#d9e2ec"

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
