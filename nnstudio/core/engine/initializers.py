"""Weight initializers.

Each initializer fills an array in place from a seeded ``numpy.random.Generator`` so the same
seed gives bit-identical weights on every machine. ``fan_in``/``fan_out`` follow Keras: for a
Dense kernel ``(in, out)`` they are ``in`` and ``out``; for a convolution kernel
``(filters, C, kh, kw)`` they are ``C*kh*kw`` and ``filters*kh*kw``.
"""

from __future__ import annotations

import math

import numpy as np

from nnstudio.core.errors import ConfigError

INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "uniform",
    "normal",
    "zeros",
)


def fans(shape: tuple[int, ...], kind: str = "dense") -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a kernel.

    ``kind="dense"``: shape ``(in, out)``. ``kind="conv"``: ``(filters, C, *kernel)``.
    ``kind="recurrent"``: ONNX layout ``(gates*H, F)``: fan_in ``F``, fan_out ``H``.
    """
    if kind == "conv":
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive
    if kind == "recurrent":
        return shape[1], shape[0]
    return shape[0], shape[-1]


def initialize(
    out: np.ndarray, method: str, rng: np.random.Generator, fan_in: int, fan_out: int
) -> None:
    """Fill ``out`` in place with values drawn by ``method``.

    Draws in float64 and casts, so float32 and float64 networks start from the same numbers.
    """
    shape = out.shape
    if method == "zeros":
        out[...] = 0
        return
    if method == "uniform":
        values = rng.uniform(-0.05, 0.05, shape)
    elif method == "normal":
        values = rng.normal(0.0, 0.05, shape)
    elif method == "glorot_uniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        values = rng.uniform(-limit, limit, shape)
    elif method == "glorot_normal":
        values = rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), shape)
    elif method == "he_uniform":
        limit = math.sqrt(6.0 / fan_in)
        values = rng.uniform(-limit, limit, shape)
    elif method == "he_normal":
        values = rng.normal(0.0, math.sqrt(2.0 / fan_in), shape)
    else:
        raise ConfigError(f"unknown initializer {method!r} (known: {', '.join(INITIALIZERS)})")
    out[...] = values
