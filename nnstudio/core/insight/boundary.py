"""What the network predicts over the input plane: decision maps and fitted curves.

A *decision grid* evaluates a classifier on an ``R × R`` grid over two chosen features (the
other features fixed, by default at their means) and returns the class probabilities, which
a view paints behind the training and test points. A *fitted curve* does the same along one
feature for a regression (the salary line).

Ranges and fixed values are in the units of the features the user sees. When a fitted
``preparation`` is given, grid points go through it (scaling, encoding) before the network,
exactly like real samples do; without one they are network inputs already.

Grid layout: ``grid[i, j]`` is the value at ``(xs[j], ys[i])`` — row ``i`` runs along the
vertical feature, column ``j`` along the horizontal one, as an image is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnstudio.core.engine.network import Network
from nnstudio.core.insight.common import (
    as_probabilities,
    input_transform,
    output_kind,
    target_inverse,
)


def grid_axes(
    x_range: tuple[float, float], y_range: tuple[float, float], resolution: int
) -> tuple[np.ndarray, np.ndarray]:
    """The sample positions ``xs (R,)`` and ``ys (R,)`` (float64, ends included)."""
    r = int(resolution)
    if r < 2:
        raise ValueError("a grid needs a resolution of 2 or more")
    return np.linspace(*map(float, x_range), r), np.linspace(*map(float, y_range), r)


def base_row(n_features: int, fixed: Any = None) -> np.ndarray:
    """The values of every feature where the grid does not vary them, ``(F,)`` float64.

    ``fixed`` is ``None`` (all zeros), a sequence of ``F`` values (e.g. the training means)
    or a dict ``{feature index: value}`` over zeros.
    """
    row = np.zeros(n_features)
    if fixed is None:
        return row
    if isinstance(fixed, dict):
        for k, v in fixed.items():
            row[int(k)] = float(v)
        return row
    values = np.asarray(fixed, np.float64).reshape(-1)
    if values.size != n_features:
        raise ValueError(f"fixed needs {n_features} values, got {values.size}")
    return values.copy()


def grid_points(
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    resolution: int,
    n_features: int = 2,
    features: Sequence[int] = (0, 1),
    fixed: Any = None,
) -> np.ndarray:
    """The ``R·R`` grid samples ``(R*R, F)``: point ``i*R + j`` sits at ``(xs[j], ys[i])``.

    Feature ``features[0]`` varies along x, ``features[1]`` along y, the others keep their
    ``fixed`` values (see :func:`base_row`).
    """
    xs, ys = grid_axes(x_range, y_range, resolution)
    fx, fy = (int(f) for f in features)
    if fx == fy:
        raise ValueError("pick two different features for the grid")
    pts = np.repeat(base_row(n_features, fixed)[None, :], xs.size * ys.size, axis=0)
    gx, gy = np.meshgrid(xs, ys)
    pts[:, fx] = gx.ravel()
    pts[:, fy] = gy.ravel()
    return pts


def _predict(net: Network, inputs: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(inputs, dtype=net.dtype)
    return net.predict(x, batch_size=max(1, min(len(x), 16384)))


def grid_predictions(
    net: Network,
    preparation: Any,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    resolution: int = 100,
    features: Sequence[int] = (0, 1),
    fixed: Any = None,
    n_features: int | None = None,
) -> np.ndarray:
    """The network's raw outputs on the grid, ``(R, R, *output_shape)``.

    ``n_features`` is the number of raw features (default: the network's input width).
    The last forward's node outputs stay in ``net.values`` (the neuron maps read them).
    """
    transform = input_transform(preparation)
    f = n_features if n_features is not None else int(np.prod(net.input_shape))
    pts = grid_points(x_range, y_range, resolution, f, features, fixed)
    inputs = transform(pts) if transform is not None else pts
    r = int(resolution)
    # One forward over the whole grid (not predict's copy) keeps every node's values.
    x = np.ascontiguousarray(inputs, dtype=net.dtype)
    out = net.forward(x, training=False)
    return out.reshape((r, r, *net.output_shape)).copy()


def decision_grid(
    net: Network,
    preparation: Any,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    resolution: int = 100,
    features: Sequence[int] = (0, 1),
    fixed: Any = None,
    n_features: int | None = None,
) -> np.ndarray:
    """Predicted class probabilities on a grid over two features, ``(R, R, K)``.

    Parameters
    ----------
    net:
        A classifier ending in Softmax ``(K,)`` or Sigmoid ``(1,)``; a single sigmoid output
        gives ``K = 2`` (``[1 − p, p]``). A regression network gives its value, ``K = 1``.
    preparation:
        ``None`` when ranges are in network-input units, or the fitted preparation (see
        :func:`~nnstudio.core.insight.common.input_transform`).
    x_range, y_range:
        ``(low, high)`` of the horizontal feature ``features[0]`` and the vertical one
        ``features[1]``.
    resolution:
        ``R``, points per side.
    fixed:
        Values of the other features (see :func:`base_row`); the views pass the training
        means.

    Returns
    -------
    numpy.ndarray
        ``grid[i, j, k]``: probability of class ``k`` at ``(xs[j], ys[i])``, in ``net.dtype``.
    """
    raw = grid_predictions(net, preparation, x_range, y_range, resolution, features, fixed,
                           n_features)
    r = raw.shape[0]
    flat = raw.reshape(r * r, -1)
    if output_kind(net) == "classification":
        flat = as_probabilities(flat)
    return flat.reshape(r, r, -1)


def fitted_curve(
    net: Network,
    preparation: Any,
    x_range: tuple[float, float],
    resolution: int = 200,
    feature: int = 0,
    fixed: Any = None,
    n_features: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The function the network has fitted along one feature.

    Returns
    -------
    xs : numpy.ndarray
        ``(R,)`` positions along ``feature`` (float64).
    ys : numpy.ndarray
        ``(R, K)`` predictions, converted back to target units when the preparation scales
        the target (``inverse_transform_target``).
    """
    r = int(resolution)
    if r < 2:
        raise ValueError("a curve needs a resolution of 2 or more")
    xs = np.linspace(*map(float, x_range), r)
    f = n_features if n_features is not None else int(np.prod(net.input_shape))
    pts = np.repeat(base_row(f, fixed)[None, :], r, axis=0)
    pts[:, int(feature)] = xs
    transform = input_transform(preparation)
    inputs = transform(pts) if transform is not None else pts
    ys = _predict(net, inputs).reshape(r, -1)
    inverse = target_inverse(preparation)
    if inverse is not None:
        ys = np.asarray(inverse(ys)).reshape(r, -1)
    return xs, ys


def padded_range(values: np.ndarray, margin: float = 0.1) -> tuple[float, float]:
    """``(low, high)`` around ``values`` with ``margin`` of the span added on each side."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -1.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    pad = (hi - lo) * margin if hi > lo else max(abs(lo), 1.0) * 0.5
    return lo - pad, hi + pad
