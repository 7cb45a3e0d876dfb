"""A slice of the loss landscape: the loss over a plane through the current weights.

The plane is ``θ(α, β) = θ* + α·d₁ + β·d₂`` around the current weights ``θ*``, for two
directions chosen one of three ways:

* ``weights``: two individual weights (``d`` are unit vectors), so the axes are those two
  weights' values and every other weight stays fixed;
* ``random``: two random directions, *filter-normalized* (Li et al., 2018: each unit's slice
  of the direction is scaled to the norm of that unit's weights) so the picture does not
  depend on the scale of the weights;
* ``pca``: the two principal directions of the recorded weight path, the plane in which
  training moved the most.

The weight path that training took (:class:`WeightPath`) is projected onto the plane.
With ``weights`` the path's coordinates are exactly those two weights over time; with the
other kinds they are its least-squares projection (the path also moves off the plane).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnstudio.core.engine.losses import get_loss
from nnstudio.core.engine.network import Network
from nnstudio.core.insight.common import sub
from nnstudio.core.training.evaluate import prepare_targets


@dataclass
class Directions:
    """Two directions ``d1``, ``d2`` of shape ``(P,)`` in parameter space.

    ``indices`` are the flat parameter indices for ``kind == "weights"``; ``labels`` name the
    axes (``"h1 W[0, 3]"`` or ``"direction 1"``).
    """

    d1: np.ndarray
    d2: np.ndarray
    kind: str
    labels: tuple[str, str]
    indices: tuple[int, int] | None = None


def param_label(net: Network, index: int) -> str:
    """A readable name of flat parameter ``index``: ``"h1 W[0, 3]"`` or ``"out b[0]"``."""
    for key, sl in net.param_slices.items():
        if sl.start <= index < sl.stop:
            node, name = key.split("/", 1)
            shape = net.param_views[node][name].shape
            pos = np.unravel_index(index - sl.start, shape)
            return f"{node} {name}[{', '.join(str(int(p)) for p in pos)}]"
    raise IndexError(f"the network has {net.n_params} parameters, not index {index}")


def param_symbol(net: Network, index: int) -> str:
    """The course's symbol for a Dense parameter: ``w₀₂`` (input 0 → unit 2) or ``b₂``.

    Counted from 0, like the units in the neuron inspector and ``W[0, 2]`` in the selector.
    """
    label = param_label(net, index)
    node, rest = label.split(" ", 1)
    name, pos = rest.split("[", 1)
    nums = [int(p) for p in pos.rstrip("]").split(", ")]
    symbol = name.lower() + "".join(sub(n) for n in nums) if len(nums) <= 2 else label
    return f"{symbol} ({node})"


def param_index(net: Network, node_id: str, name: str, position: tuple[int, ...]) -> int:
    """The flat index of ``net.param_views[node_id][name][position]``."""
    sl = net.param_slices[f"{node_id}/{name}"]
    shape = net.param_views[node_id][name].shape
    return sl.start + int(np.ravel_multi_index(tuple(position), shape))


def weight_directions(net: Network, a: int, b: int) -> Directions:
    """Directions along two individual parameters (flat indices ``a`` and ``b``)."""
    if a == b:
        raise ValueError("pick two different weights")
    d1 = np.zeros(net.n_params)
    d2 = np.zeros(net.n_params)
    d1[a] = 1.0
    d2[b] = 1.0
    return Directions(d1, d2, "weights", (param_symbol(net, a), param_symbol(net, b)), (a, b))


def _normalized(net: Network, d: np.ndarray) -> np.ndarray:
    """Scale ``d`` unit by unit to the norms of the weights (filter normalization)."""
    theta = np.asarray(net.params, np.float64)
    out = d.copy()
    kernel_rms = float(np.sqrt(np.mean(theta[: net.n_decay] ** 2))) if net.n_decay else 1.0
    for key, sl in net.param_slices.items():
        node, name = key.split("/", 1)
        shape = net.param_views[node][name].shape
        t = theta[sl].reshape(shape)
        v = out[sl].reshape(shape)
        if len(shape) >= 2:
            # Dense W (in, units): a unit is a column; Conv W (filters, ...): a filter.
            axes = tuple(range(len(shape) - 1)) if len(shape) == 2 else tuple(range(1, len(shape)))
            tn = np.sqrt((t**2).sum(axis=axes, keepdims=True))
            vn = np.sqrt((v**2).sum(axis=axes, keepdims=True))
        else:
            tn = np.sqrt((t**2).sum())
            vn = np.sqrt((v**2).sum())
            if tn < 1e-8:  # a zero-initialized bias: give it the size of a typical weight
                tn = kernel_rms * np.sqrt(t.size)
        v *= np.where(vn > 0, tn / np.maximum(vn, 1e-300), 0.0)
        out[sl] = v.reshape(-1)
    return out


def random_directions(net: Network, seed: int = 0) -> Directions:
    """Two random filter-normalized directions; the second made orthogonal to the first."""
    rng = np.random.default_rng(seed)
    d1 = _normalized(net, rng.standard_normal(net.n_params))
    d2 = _normalized(net, rng.standard_normal(net.n_params))
    n1 = float(d1 @ d1)
    if n1 > 0 and net.n_params > 1:
        size = np.linalg.norm(d2)
        d2 = d2 - (d2 @ d1) / n1 * d1
        if np.linalg.norm(d2) > 0:
            d2 *= size / np.linalg.norm(d2)
    return Directions(d1, d2, "random", ("direction 1", "direction 2"))


def pca_directions(net: Network, path: np.ndarray) -> Directions:
    """The two principal directions of a weight path ``(T, P)`` around its mean.

    Scaled so that ``±1`` along each covers the path's spread (its standard deviation × 2).
    """
    p = np.asarray(path, np.float64)
    if p.ndim != 2 or p.shape[0] < 3:
        raise ValueError("the principal directions need a recorded path of 3 or more steps")
    centered = p - p.mean(axis=0)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    scale = 2 * s / np.sqrt(p.shape[0])
    d1 = vt[0] * max(scale[0], 1e-12)
    d2 = vt[1] * max(scale[1], 1e-12) if len(vt) > 1 else np.zeros_like(d1)
    return Directions(d1, d2, "pca", ("main direction 1", "main direction 2"))


@dataclass
class LossSlice:
    """The loss on a plane of weights.

    Attributes
    ----------
    xs, ys:
        ``(R,)`` axis values: offsets ``α``/``β`` plus ``origin`` (for ``weights`` the
        weights' values, else offsets from the current weights).
    loss:
        ``(R, R)``; ``loss[i, j]`` is the loss at ``(xs[j], ys[i])``.
    origin:
        ``(2,)`` the current weights' position in the plane.
    center_loss:
        The loss at the current weights (equals ``loss`` at the centre of the grid).
    path:
        ``(T, 2)`` the training path projected onto the plane, or ``None``.
    """

    xs: np.ndarray
    ys: np.ndarray
    loss: np.ndarray
    origin: np.ndarray
    center_loss: float
    directions: Directions
    path: np.ndarray | None = None


def project_path(path: np.ndarray, center: np.ndarray, directions: Directions) -> np.ndarray:
    """Coordinates ``(T, 2)`` of a weight path ``(T, P)`` in the plane (offsets from
    ``center``): exact for ``weights`` directions, least squares otherwise."""
    delta = np.asarray(path, np.float64) - np.asarray(center, np.float64)
    if directions.kind == "weights" and directions.indices is not None:
        i, j = directions.indices
        return np.stack([delta[:, i], delta[:, j]], axis=1)
    basis = np.stack([directions.d1, directions.d2], axis=1)  # (P, 2)
    coef, *_ = np.linalg.lstsq(basis, delta.T, rcond=None)
    return coef.T


def loss_slice(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    loss: str,
    directions: Directions,
    span: float | None = None,
    resolution: int = 25,
    path: np.ndarray | None = None,
    between_rows: Callable[[], None] | None = None,
) -> LossSlice:
    """The loss over ``θ* + α·d₁ + β·d₂`` for ``α, β ∈ [−span, span]``.

    Parameters
    ----------
    net:
        The network at ``θ*``; its weights are changed during the computation and restored
        at the end (use a twin while another thread trains).
    x, y:
        ``(N, *input_shape)`` samples and their targets (a few hundred are plenty).
    loss:
        Loss name, as in the training config.
    span:
        Half the side of the square; ``None`` covers the path (or ±1 without a path).
    resolution:
        ``R`` points per side; made odd so the grid's centre is exactly ``θ*``.
    path:
        ``(T, P)`` recorded weights, projected onto the plane.
    between_rows:
        Called after each row of the grid (a background thread passes a short sleep, which
        hands the interpreter lock to the GUI thread between rows).
    """
    r = int(resolution) | 1
    fn = get_loss(loss)
    xx = np.ascontiguousarray(x, dtype=net.dtype)
    yy = prepare_targets(y, loss, net.dtype)
    center = net.params.copy()
    proj = None if path is None or len(path) == 0 else project_path(path, center, directions)
    if span is None:
        extent = 0.0 if proj is None else 1.15 * float(np.abs(proj).max())
        span = max(extent, {"weights": 0.5, "random": 1.0}.get(directions.kind, 1e-6))
    offsets = np.linspace(-span, span, r)
    offsets[r // 2] = 0.0
    d1 = directions.d1.astype(net.dtype)
    d2 = directions.d2.astype(net.dtype)
    grid = np.empty((r, r))
    step1 = np.empty_like(center)
    try:
        for i, beta in enumerate(offsets):
            for j, alpha in enumerate(offsets):
                np.multiply(d1, alpha, out=step1)
                np.add(center, step1, out=net.params)
                np.multiply(d2, beta, out=step1)
                net.params += step1
                pred = net.forward(xx, training=False)
                grid[i, j] = fn.value(pred, yy)
            if between_rows is not None:
                between_rows()
        net.params[...] = center
        center_loss = fn.value(net.forward(xx, training=False), yy)
    finally:
        net.params[...] = center
    if directions.kind == "weights" and directions.indices is not None:
        origin = np.array([center[directions.indices[0]], center[directions.indices[1]]], float)
    else:
        origin = np.zeros(2)
    return LossSlice(
        xs=origin[0] + offsets, ys=origin[1] + offsets, loss=grid, origin=origin,
        center_loss=float(center_loss), directions=directions,
        path=None if proj is None else origin + proj,
    )


class WeightPath:
    """The weights over training, thinned to at most ``max_points`` snapshots.

    ``record(params)`` copies the flat parameter buffer; when full, every other snapshot is
    dropped (the first and the newest always stay), so a long run still shows its whole path.
    """

    def __init__(self, max_points: int = 400):
        self.max_points = max(4, int(max_points))
        self.clear()

    def clear(self) -> None:
        self._points: list[np.ndarray] = []
        self.steps: list[float] = []
        self._stride = 1
        self._seen = 0
        self._latest: tuple[np.ndarray, float] | None = None

    def __len__(self) -> int:
        return len(self._points) + (self._latest is not None)

    def record(self, params: np.ndarray, step: float | None = None) -> None:
        """Add a snapshot (kept when it falls on the current stride; the newest is always
        part of :meth:`array`). Weights equal to the newest snapshot are not added again."""
        newest = self._latest[0] if self._latest is not None else (
            self._points[-1] if self._points else None)
        if newest is not None and np.array_equal(newest, params):
            return
        self._seen += 1
        self._latest = (np.array(params, np.float64), float(self._seen if step is None else step))
        if (self._seen - 1) % self._stride:
            return
        self._latest = None
        self._points.append(np.array(params, np.float64))
        self.steps.append(float(self._seen if step is None else step))
        if len(self._points) > self.max_points:
            self._points = self._points[::2]
            self.steps = self.steps[::2]
            self._stride *= 2

    def array(self) -> np.ndarray:
        """``(T, P)`` float64 (``(0, 0)`` when empty)."""
        points = self._points + ([self._latest[0]] if self._latest is not None else [])
        if not points:
            return np.zeros((0, 0))
        return np.stack(points)

    def step_values(self) -> np.ndarray:
        """``(T,)`` the step of each row of :meth:`array`."""
        return np.asarray(self.steps + ([self._latest[1]] if self._latest is not None else []))
