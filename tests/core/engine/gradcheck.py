"""Central-finite-difference gradient checks in float64, reusable by any layer test.

``check_layer_gradients(layer_factory, input_shapes, seed)`` builds one layer the way the
:class:`~nnstudio.core.engine.network.Network` does (parameters and state as views into flat
float64 buffers, ``init_params``/``init_state`` from a seeded generator), draws a batch of
inputs and a fixed upstream gradient ``G``, and compares the layer's analytic gradients of
``L = Σ forward(x) ⊙ G`` with respect to every parameter scalar and every input scalar with
``(L(θ + ε) − L(θ − ε)) / 2ε``.

A layer with an ``rng`` attribute (Dropout) gets ``default_rng(seed)`` before every forward
pass, so its random mask is the same in every evaluation.

``check_network_gradients(spec, input_shape, loss_name, y, seed)`` does the same for a whole
network and a loss, the way the trainer computes them (fused Softmax/Sigmoid included);
``chain([...])`` writes the spec of a linear network in one line.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from nnstudio.core.engine import Layer, Network, NetworkSpec, get_loss


def chain(layers: list[dict], input_id: str = "in") -> NetworkSpec:
    """A linear network spec: an Input, then ``[{"type": ..., **settings}, ...]`` in order.

    Node ids are ``n0, n1, ...`` unless a layer dict gives its own ``"id"``.
    """
    nodes = [{"id": input_id, "type": "Input"}]
    for i, layer in enumerate(layers):
        layer = dict(layer)
        nodes.append({"id": layer.pop("id", f"n{i}"), **layer})
    edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
    return NetworkSpec.from_dict({"nodes": nodes, "edges": edges})


def _attach(layer: Layer, input_shapes: list[tuple[int, ...]], rng) -> tuple[np.ndarray, dict]:
    """Give ``layer`` float64 parameter/gradient/state views like the Network; init them."""
    layer.dtype = np.dtype(np.float64)
    pshapes = layer.param_shapes(input_shapes)
    total = sum(math.prod(s) for s in pshapes.values())
    params, grads = np.zeros(total), np.zeros(total)
    slices = {}
    offset = 0
    for name, shape in pshapes.items():
        size = math.prod(shape)
        layer.params[name] = params[offset:offset + size].reshape(shape)
        layer.grads[name] = grads[offset:offset + size].reshape(shape)
        slices[name] = slice(offset, offset + size)
        offset += size
    sshapes = layer.state_shapes(input_shapes)
    for name, shape in sshapes.items():
        layer.state[name] = np.zeros(shape)
    layer.init_params(input_shapes, rng)
    layer.init_state(input_shapes)
    return params, {"grads": grads, "slices": slices}


def check_layer_gradients(
    layer_factory: Callable[[], Layer],
    input_shapes: Sequence[tuple[int, ...]],
    seed: int = 0,
    *,
    batch: int = 3,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    input_scale: float = 1.0,
    params_scale: float | None = None,
) -> dict[str, float]:
    """Compare a layer's backward pass with central differences; raise AssertionError.

    Parameters
    ----------
    layer_factory:
        Returns a fresh layer, e.g. ``lambda: Conv2D("c", filters=2, kernel_size=3)``.
    input_shapes:
        Per-sample input shapes (no batch axis), one per input of the layer.
    seed:
        Seeds the parameters, the inputs, the upstream gradient and any dropout mask.
    batch:
        Samples in the checked batch. Before it, one forward/backward pass on a batch of
        ``batch + 1`` other samples checks that no stale state leaks between calls and
        that gradients are overwritten, not accumulated.
    params_scale:
        When given, parameters are redrawn from ``normal(0, params_scale)`` instead of the
        layer's own initializer (e.g. to make biases non-zero).

    Returns the largest absolute error per checked array (``"x0"``, ``"W"``, ...).
    """
    input_shapes = [tuple(s) for s in input_shapes]
    rng = np.random.default_rng(seed)
    layer = layer_factory()
    params, info = _attach(layer, input_shapes, rng)
    if params_scale is not None:
        params[...] = rng.normal(0.0, params_scale, params.shape)
    grads, slices = info["grads"], info["slices"]

    def forward(xs, training=True):
        if hasattr(layer, "rng"):
            layer.rng = np.random.default_rng(seed)
        return layer.forward(xs, training)

    # Warm-up on other data and another batch size: stale caches would show up below.
    warm = [rng.normal(size=(batch + 1, *s)) * input_scale for s in input_shapes]
    y = forward(warm)
    layer.backward(rng.normal(size=y.shape))

    xs = [rng.normal(size=(batch, *s)) * input_scale for s in input_shapes]
    y = forward(xs)
    G = rng.normal(size=y.shape)
    expected_shape = (batch, *layer.output_shape(input_shapes))
    assert y.shape == expected_shape, f"forward gives {y.shape}, shape inference {expected_shape}"
    in_grads = [None if g is None else np.array(g) for g in layer.backward(G)]
    analytic = grads.copy()

    def loss() -> float:
        return float(np.sum(forward(xs) * G))

    errors: dict[str, float] = {}
    numeric = _central_differences(params, loss, eps)
    for name, sl in slices.items():
        _compare(analytic[sl], numeric[sl], f"{layer.where}: d/d{name}", rtol, atol)
        errors[name] = float(np.max(np.abs(analytic[sl] - numeric[sl]), initial=0.0))

    for k, x in enumerate(xs):
        if in_grads[k] is None:
            continue
        assert in_grads[k].shape == x.shape, (
            f"input gradient {k} has shape {in_grads[k].shape}, the input {x.shape}"
        )
        num = _central_differences(x, loss, eps)
        _compare(in_grads[k], num, f"{layer.where}: d/dx{k}", rtol, atol)
        errors[f"x{k}"] = float(np.max(np.abs(in_grads[k] - num), initial=0.0))
    return errors


def _central_differences(values: np.ndarray, loss: Callable[[], float], eps: float) -> np.ndarray:
    """``(loss(v + ε) − loss(v − ε)) / 2ε`` for every entry ``v`` of ``values``, changed in
    place one at a time (and put back); an array shaped like ``values``."""
    numeric = np.zeros_like(values)
    flat, nflat = values.reshape(-1), numeric.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = loss()
        flat[i] = old - eps
        down = loss()
        flat[i] = old
        nflat[i] = (up - down) / (2 * eps)
    return numeric


def _compare(analytic: np.ndarray, numeric: np.ndarray, what: str, rtol: float, atol: float):
    bad = ~np.isclose(analytic, numeric, rtol=rtol, atol=atol)
    if bad.any():
        idx = np.argwhere(bad)[:5].tolist()
        worst = float(np.max(np.abs(analytic - numeric)))
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} entries differ (worst {worst:.3g}); "
            f"first at {idx}: analytic {analytic[bad][:5]}, numeric {numeric[bad][:5]}"
        )


def _loss_and_grad(net: Network, loss, x, y) -> tuple[float, np.ndarray]:
    from nnstudio.core.training.trainer import fusion_point, graph_step

    value, _ = graph_step(net, loss, fusion_point(net, loss), x, y)
    return value, net.grads.copy()


def check_network_gradients(
    spec: NetworkSpec | dict,
    input_shape: tuple[int, ...],
    loss_name: str,
    y: np.ndarray,
    seed: int = 0,
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> Network:
    """Check ``d loss / d params`` of a float64 network against central differences.

    ``y`` holds the targets of a batch of ``len(y)`` samples; inputs are drawn from ``seed``.
    Dropout masks are redrawn from the same seeds before every evaluation.
    """
    if isinstance(spec, dict):
        spec = NetworkSpec.from_dict(spec)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(y), *input_shape))
    net = Network(spec, input_shape, dtype=np.float64, seed=seed)
    loss = get_loss(loss_name)
    seeded = {k: i for i, (k, layer) in enumerate(net.layers.items()) if hasattr(layer, "rng")}

    def evaluate():
        for k, i in seeded.items():
            net.layers[k].rng = np.random.default_rng(seed + i)
        return _loss_and_grad(net, loss, x, y)

    _, analytic = evaluate()
    numeric = _central_differences(net.params, lambda: evaluate()[0], eps)
    _compare(analytic, numeric, "network d loss/d params", rtol, atol)
    return net


def step_allocations(net: Network, x: np.ndarray, grad: np.ndarray) -> tuple[int, int]:
    """Bytes a warmed-up training step (forward + backward) keeps and allocates at its peak.

    Two steps run first so every scratch buffer exists; then one step runs under tracemalloc.
    Returns ``(kept, peak)`` relative to the memory traced before that step.
    """
    import tracemalloc

    def step():
        net.forward(x, training=True)
        net.backward(grad)

    step()
    step()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        step()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current - base, peak - base


def fusion_pair(spec: NetworkSpec, shape: tuple[int, ...], dtype, seed: int = 3
                ) -> tuple[Network, Network]:
    """The same network built with the execution plan's rewrites (``fusion``) and without."""
    from nnstudio.core.engine import fusion

    fused = Network(spec, shape, dtype=dtype, seed=seed)
    saved = fusion.ENABLED
    fusion.ENABLED = False
    try:
        plain = Network(spec, shape, dtype=dtype, seed=seed)
    finally:
        fusion.ENABLED = saved
    return fused, plain


def training_step(net: Network, x: np.ndarray, g_out: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``(output, gradient buffer, every node's value)`` of one forward and backward pass
    with ``g_out`` as the output's gradient (copies)."""
    y = net.forward(x, training=True).copy()
    net.backward(g_out)
    values = {k: np.array(v) for k, v in net.values.items()}
    return y, net.grads.copy(), values
