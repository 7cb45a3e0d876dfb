"""Matrix products of a recurrent step, cut to the sizes BLAS does fastest.

A recurrent layer multiplies small matrices once per time step — ``(G·H, H) @ (H, N)`` in the
forward pass, ``(H, G·H) @ (G·H, N)`` and the weight gradients in the backward pass. OpenBLAS,
the BLAS the NumPy and SciPy wheels ship, serves a product with ``M·N·K ≤ 10⁶`` through its
small-matrix kernels, which skip packing; just above that size the same work takes half as
long again. Measured on one thread of the benchmark machine (SkylakeX, float32):
``(244, 64) @ (64, 64)`` 12.6 µs, ``(248, 64) @ (64, 64)`` 19.0 µs, and the LSTM's
``(256, 64) @ (64, 64)`` 18.5 µs against 2 × 7.2 µs for its two 128-row halves. Cutting a
product into pieces under that size costs one call (about a microsecond) on a BLAS without
such kernels, so it is done everywhere.

``gemm_add`` accumulates ``c += a @ b`` and ``gemm_tn`` sums ``aᵀ @ b`` over pieces of the
inner size, both with BLAS's own ``beta`` (SciPy's ``?gemm`` on the Fortran-ordered
transposes of C-ordered arrays, so nothing is copied), which saves the separate additions
``np.matmul`` would need: an LSTM's ``Rᵀ @ d`` (``(64, 256) @ (256, 64)``) takes 14.0 µs,
16.4 µs as two ``np.matmul`` and an add, 19.3 µs in one piece.
"""

from __future__ import annotations

from functools import cache

import numpy as np

try:
    from scipy.linalg import blas
except ImportError:  # the installed app leaves SciPy out (packaging/README.md): NumPy's
    blas = None  # products and additions do the same work, a little slower

#: Largest ``M·N·K`` that OpenBLAS's small-matrix kernels take.
SMALL = 1_000_000


def row_pieces(m: int, per_row: int) -> list[tuple[int, int]]:
    """``[(r0, r1), …]``: ``m`` rows cut into equal pieces of at most ``SMALL / per_row`` rows
    (``per_row`` = the other two sizes of the product, ``N·K``)."""
    count = max(1, -(-m * per_row // SMALL))
    step = -(-m // count)
    return [(r, min(m, r + step)) for r in range(0, m, step)]


@cache
def _gemm(dtype: np.dtype):
    return blas.get_blas_funcs("gemm", dtype=dtype)


def gemm_add(a: np.ndarray, b: np.ndarray, c: np.ndarray,
             pieces: list[tuple[int, int]]) -> None:
    """``c (M, N) += a (M, K) @ b (K, N)`` in place, one BLAS call per row piece of ``c``.

    ``a``, ``b`` and ``c`` are C-contiguous, of one float dtype; ``pieces`` comes from
    :func:`row_pieces` ``(M, N·K)``. BLAS computes ``cᵀ += bᵀ · aᵀ`` on the transposes, which
    are Fortran-ordered views of the same memory. (Called once or twice per time step, so
    the arguments are positional: ``alpha, a, b, beta, c, trans_a, trans_b, overwrite_c``.)
    """
    if blas is None:
        for r0, r1 in pieces:
            np.add(c[r0:r1], a[r0:r1] @ b, out=c[r0:r1])
        return
    gemm = _gemm(c.dtype)
    bt = b.T
    for r0, r1 in pieces:
        part = c[r0:r1].T
        if gemm(1.0, bt, a[r0:r1].T, 1.0, part, 0, 0, 1) is not part:
            # SciPy worked on a copy of c: the layouts above were not met (a bug here).
            raise ValueError("gemm_add needs C-contiguous arrays of one float dtype")


def gemm_tn(a: np.ndarray, b: np.ndarray, out: np.ndarray,
            pieces: list[tuple[int, int]]) -> None:
    """``out (M, N) = aᵀ @ b`` for ``a (K, M)`` and ``b (K, N)``, summed over the pieces of
    ``K`` from :func:`row_pieces` ``(K, M·N)`` (BLAS's ``beta`` adds each piece in place).

    All three are C-contiguous, of one float dtype: BLAS computes ``outᵀ = bᵀ · a`` with
    ``a``'s rows read transposed (``trans_b``), nothing copied.
    """
    if blas is None:
        (k0, k1), *rest = pieces
        np.matmul(a[k0:k1].T, b[k0:k1], out=out)
        for k0, k1 in rest:
            np.add(out, a[k0:k1].T @ b[k0:k1], out=out)
        return
    gemm = _gemm(out.dtype)
    target = out.T
    beta = 0.0
    for k0, k1 in pieces:
        if gemm(1.0, b[k0:k1].T, a[k0:k1].T, beta, target, 0, 1, 1) is not target:
            raise ValueError("gemm_tn needs C-contiguous arrays of one float dtype")
        beta = 1.0
