"""Colours of the insight views, and the NumPy colouring of maps (safe off the GUI thread).

Class colours come from the Okabe–Ito colour-blind safe set, in the same order everywhere
(map, points, legend, neuron diagram). :func:`probability_image` turns class probabilities
``(R, R, K)`` into an RGBA image whose hue is the predicted class and whose strength is the
confidence, so the decision boundary is where the colours meet and fade.
"""

from __future__ import annotations

import numpy as np

#: Okabe–Ito: blue, orange, green, pink, sky, vermillion, yellow, grey, then darker tones.
CLASS_COLORS = (
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9",
    "#d55e00", "#f0e442", "#7b8794", "#004c7a", "#8a5a00",
)
#: Weights and signed values: positive blue, negative orange (as TensorFlow Playground).
POSITIVE = "#0072b2"
NEGATIVE = "#e69f00"
#: Warnings, path start/end markers.
WARNING = "#b26a00"
PATH = "#ffffff"
PATH_START = "#009e73"
PATH_END = "#d55e00"


def theme():
    """The application theme (``nnstudio.gui.theme.current_theme()``)."""
    from nnstudio.gui.theme import current_theme

    return current_theme()


def rgb(color: str) -> np.ndarray:
    """``"#0072b2"`` → ``array([0, 114, 178])`` float64."""
    c = color.lstrip("#")
    return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], np.float64)


def class_color(k: int) -> str:
    """The colour of class ``k`` (cycles past ten classes)."""
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def probability_image(
    probs: np.ndarray, background: str = "#ffffff", strength: float = 0.5
) -> np.ndarray:
    """RGBA ``(R, R, 4)`` uint8 from class probabilities ``(R, R, K)``.

    Each pixel mixes the class colours by probability and fades toward ``background`` as
    the prediction becomes uncertain (probability of the top class near ``1/K``).
    """
    p = np.asarray(probs, np.float64)
    k = p.shape[-1]
    colors = np.stack([rgb(class_color(i)) for i in range(k)])  # (K, 3)
    mix = p @ colors  # (R, R, 3)
    top = p.max(axis=-1, keepdims=True)
    confidence = np.clip((top - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0) if k > 1 else top
    s = 0.1 + strength * confidence
    bg = rgb(background)
    out = np.empty((*p.shape[:2], 4), np.uint8)
    out[..., :3] = np.clip(bg + (mix - bg) * s, 0, 255)
    out[..., 3] = 255
    return out


def value_image(
    values: np.ndarray, low: float, high: float, background: str = "#ffffff"
) -> np.ndarray:
    """RGBA ``(R, R, 4)`` uint8 of a regression output on a diverging orange–blue scale."""
    v = np.asarray(values, np.float64)
    t = np.clip((v - low) / (high - low), 0.0, 1.0) if high > low else np.full(v.shape, 0.5)
    neg, pos, bg = rgb(NEGATIVE), rgb(POSITIVE), rgb(background)
    a = np.abs(t - 0.5)[..., None] * 2.0
    side = np.where((t >= 0.5)[..., None], pos, neg)
    out = np.empty((*v.shape, 4), np.uint8)
    out[..., :3] = np.clip(bg + (side - bg) * (0.15 + 0.7 * a), 0, 255)
    out[..., 3] = 255
    return out


def value_colors(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """RGBA ``(N, 4)`` uint8 for points coloured on the scale of :func:`value_image`."""
    img = value_image(np.asarray(values, np.float64)[None, :], low, high)
    return img[0]


def signed_colors(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """RGBA ``(N, 4)`` uint8: blue for positive, orange for negative, stronger when larger."""
    v = np.asarray(values, np.float64).reshape(-1)
    m = scale if scale else (float(np.abs(v).max()) if v.size else 1.0) or 1.0
    a = np.clip(np.abs(v) / m, 0.0, 1.0)
    out = np.empty((v.size, 4), np.uint8)
    out[:, :3] = np.where((v >= 0)[:, None], rgb(POSITIVE), rgb(NEGATIVE))
    out[:, 3] = (40 + 215 * a).astype(np.uint8)
    return out


def to_qimage(rgba: np.ndarray, size: tuple[int, int] | None = None):
    """A ``QImage`` (owning its pixels) from RGBA ``(H, W, 4)`` uint8; row 0 is drawn at the
    low end of the y axis. Safe to call off the GUI thread (a QImage is not a QPixmap).

    ``size`` ``(width, height)`` in screen pixels scales it smoothly here, so that drawing
    it on the GUI thread is a plain copy.
    """
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    a = np.ascontiguousarray(rgba, np.uint8)
    h, w = a.shape[:2]
    image = QImage(a.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
    if size is not None and size[0] > 0 and size[1] > 0:
        return image.scaled(int(size[0]), int(size[1]), Qt.AspectRatioMode.IgnoreAspectRatio,
                            Qt.TransformationMode.SmoothTransformation)
    return image.copy()


def loss_levels(loss: np.ndarray, n: int = 8) -> np.ndarray:
    """``n`` contour levels spread evenly over the log of a loss grid."""
    finite = loss[np.isfinite(loss)]
    if finite.size == 0:
        return np.zeros(0)
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return np.array([lo])
    lo = max(lo, 1e-12)
    return np.geomspace(lo, hi, n + 2)[1:-1]
