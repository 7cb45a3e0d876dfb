"""NumPy arrays → QImages for the image/sound views: thumbnails, spectrograms, waveforms.

Safe to call from a worker thread (QImage, unlike QPixmap, is not tied to the GUI thread).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF

#: A perceptual dark-blue → yellow colour map (viridis-like anchor points).
_ANCHORS = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98],
                     [253, 231, 37]], np.float64)


def colormap(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """uint8 RGB ``(*values.shape, 3)`` of ``values`` scaled from ``lo`` to ``hi``."""
    v = np.asarray(values, np.float64)
    lo = float(np.nanmin(v)) if lo is None else lo
    hi = float(np.nanmax(v)) if hi is None else hi
    t = np.clip((v - lo) / ((hi - lo) or 1.0), 0, 1) * (len(_ANCHORS) - 1)
    i = np.minimum(t.astype(int), len(_ANCHORS) - 2)
    f = (t - i)[..., None]
    return (_ANCHORS[i] * (1 - f) + _ANCHORS[i + 1] * f).astype(np.uint8)


def rgb_qimage(rgb: np.ndarray) -> QImage:
    """QImage (owning a copy) of uint8 ``(H, W, 3)`` or ``(H, W)`` gray."""
    a = np.ascontiguousarray(rgb, np.uint8)
    if a.ndim == 2:
        h, w = a.shape
        img = QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        h, w, _ = a.shape
        img = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return img.copy()


def image_qimage(sample: np.ndarray, size: int = 0) -> QImage:
    """A raw image sample ``(C, H, W)`` (uint8 pixels, or any floats rescaled) as a QImage,
    scaled to ``size`` pixels on its longer side when given (nearest: pixels stay visible)."""
    a = np.asarray(sample)
    if a.dtype != np.uint8:
        lo, hi = float(a.min()), float(a.max())
        a = ((a - lo) / ((hi - lo) or 1.0) * 255).astype(np.uint8)
    img = rgb_qimage(a[0] if a.shape[0] == 1 else a[:3].transpose(1, 2, 0))
    if size:
        img = img.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.FastTransformation)
    return img


def spectrogram_qimage(spec: np.ndarray, width: int = 0, height: int = 0) -> QImage:
    """A ``(frames, mels)`` (or ``(1, frames, mels)``) spectrogram, time left to right, low
    frequencies at the bottom."""
    s = np.asarray(spec)
    if s.ndim == 3:
        s = s[0]
    img = rgb_qimage(colormap(s.T[::-1], float(s.max()) - 80.0, float(s.max())))
    if width and height:
        img = img.scaled(width, height, Qt.AspectRatioMode.IgnoreAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)
    return img


def waveform_qimage(signal: np.ndarray, width: int = 240, height: int = 60,
                    color: str = "#3b82f6", background: str = "#00000000") -> QImage:
    """The min/max envelope of ``signal`` per pixel column."""
    img = QImage(width, height, QImage.Format.Format_ARGB32)
    img.fill(QColor(background))
    x = np.asarray(signal, np.float64)
    if x.size == 0:
        return img
    cols = np.array_split(x, width)
    top = np.array([c.max() if c.size else 0.0 for c in cols])
    bottom = np.array([c.min() if c.size else 0.0 for c in cols])
    peak = max(float(np.abs(x).max()), 1e-9)
    mid = height / 2
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(QColor(color), 1))
    points = [QPointF(i, mid - top[i] / peak * (mid - 1)) for i in range(width)]
    points += [QPointF(i, mid - bottom[i] / peak * (mid - 1)) for i in range(width - 1, -1, -1)]
    p.setBrush(QColor(color))
    p.drawPolygon(QPolygonF(points))
    p.end()
    return img


def montage(maps: np.ndarray, columns: int = 8, pad: int = 1) -> np.ndarray:
    """``(K, H, W)`` maps tiled into one uint8 RGB image, each map scaled on its own."""
    k, h, w = maps.shape
    cols = max(1, min(columns, k))
    rows = -(-k // cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 40, np.uint8)
    for i in range(k):
        r, c = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        out[y:y + h, x:x + w] = colormap(maps[i])
    return out
