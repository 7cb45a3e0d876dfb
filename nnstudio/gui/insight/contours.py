"""Contour lines of a grid by vectorized marching squares (NumPy only, any thread).

About a millisecond for a 100 × 100 grid, against ~30 ms for ``pyqtgraph.isocurve``'s
Python loop: cheap enough to redraw the decision boundary several times a second.
The result is a flat list of segment end points for ``PlotDataItem(connect="pairs")``.
"""

from __future__ import annotations

import numpy as np


def contour_segments(
    field: np.ndarray, level: float, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Segments where ``field`` crosses ``level``.

    Parameters
    ----------
    field:
        ``(R, C)`` values; ``field[i, j]`` sits at ``(xs[j], ys[i])``.
    level:
        The contour level.
    xs, ys:
        ``(C,)`` and ``(R,)`` increasing coordinates.

    Returns
    -------
    x, y : numpy.ndarray
        ``(2S,)`` each: segment ``k`` goes from ``(x[2k], y[2k])`` to ``(x[2k+1], y[2k+1])``.
    """
    f = np.asarray(field, np.float64) - level
    f = np.where(np.isfinite(f), f, np.nan)
    a, b = f[:-1, :-1], f[:-1, 1:]  # bottom-left, bottom-right
    d, c = f[1:, :-1], f[1:, 1:]  # top-left, top-right
    x0, x1 = xs[:-1][None, :], xs[1:][None, :]
    y0, y1 = ys[:-1][:, None], ys[1:][:, None]
    shape = a.shape

    def cross(p, q):
        with np.errstate(invalid="ignore", divide="ignore"):
            hit = (p >= 0) != (q >= 0)
            hit &= np.isfinite(p) & np.isfinite(q)
            t = np.where(hit, p / (p - q), 0.0)
        return hit, t

    hb, tb = cross(a, b)  # bottom edge, a → b along x
    hr, tr = cross(b, c)  # right edge, b → c along y
    ht, tt = cross(d, c)  # top edge, d → c along x
    hl, tl = cross(a, d)  # left edge, a → d along y
    ex = np.stack([
        np.broadcast_to(x0 + tb * (x1 - x0), shape),
        np.broadcast_to(x1, shape),
        np.broadcast_to(x0 + tt * (x1 - x0), shape),
        np.broadcast_to(x0, shape),
    ])
    ey = np.stack([
        np.broadcast_to(y0, shape),
        np.broadcast_to(y0 + tr * (y1 - y0), shape),
        np.broadcast_to(y1, shape),
        np.broadcast_to(y0 + tl * (y1 - y0), shape),
    ])
    hits = np.stack([hb, hr, ht, hl])  # (4, R-1, C-1) in edge order bottom, right, top, left
    count = hits.sum(axis=0)
    segs_x: list[np.ndarray] = []
    segs_y: list[np.ndarray] = []
    two = count == 2
    if two.any():
        order = np.argsort(~hits[:, two], axis=0, kind="stable")[:2]  # first two crossed edges
        cols = np.arange(order.shape[1])
        px, py = ex[:, two], ey[:, two]
        segs_x.append(np.stack([px[order[0], cols], px[order[1], cols]], 1).reshape(-1))
        segs_y.append(np.stack([py[order[0], cols], py[order[1], cols]], 1).reshape(-1))
    four = count == 4
    if four.any():  # saddle: the centre decides which corners are cut off
        centre = (a + b + c + d)[four] / 4
        same = (centre >= 0) == (a[four] >= 0)
        px, py = ex[:, four], ey[:, four]
        # same: cut corners b (bottom-right) and d (top-left); else corners a and c.
        cols = np.arange(px.shape[1])
        first = np.zeros_like(cols), np.where(same, 1, 3)
        second = np.full_like(cols, 2), np.where(same, 3, 1)
        for p, q in (first, second):
            segs_x.append(np.stack([px[p, cols], px[q, cols]], 1).reshape(-1))
            segs_y.append(np.stack([py[p, cols], py[q, cols]], 1).reshape(-1))
    if not segs_x:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(segs_x), np.concatenate(segs_y)


def class_boundaries(
    probs: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Segments where the predicted class changes, from probabilities ``(R, C, K)``.

    ``K = 1`` is a sigmoid output ``p(class 1)``: the boundary is where it crosses 0.5.
    """
    k = probs.shape[-1]
    if k == 1:
        return contour_segments(probs[..., 0] - 0.5, 0.0, xs, ys)
    if k == 2:
        return contour_segments(probs[..., 1] - probs[..., 0], 0.0, xs, ys)
    out_x, out_y = [], []
    top2 = np.sort(probs, axis=-1)
    for c in range(k):
        p = probs[..., c]
        # p − (largest other): the top other is the 2nd largest where c leads, else the top.
        other = np.where(p >= top2[..., -1], top2[..., -2], top2[..., -1])
        x, y = contour_segments(p - other, 0.0, xs, ys)
        out_x.append(x)
        out_y.append(y)
    return np.concatenate(out_x), np.concatenate(out_y)
