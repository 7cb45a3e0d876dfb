"""The recurrent layers' cut BLAS products (small_gemm.py) and the layers that use them at a
size where the products are really cut (an LSTM of 64 units on a batch of 64)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nnstudio.core.engine import Network, small_gemm
from nnstudio.core.engine.small_gemm import gemm_add, gemm_tn, row_pieces
from tests.core.engine.gradcheck import chain


@pytest.mark.parametrize("m, per_row", [(256, 64 * 64), (256, 64 * 96), (7, 10), (300, 5000),
                                        (1, 2_000_000)])
def test_row_pieces_cover_the_rows_once_within_the_small_size(m, per_row):
    pieces = row_pieces(m, per_row)
    assert pieces[0][0] == 0 and pieces[-1][1] == m
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    assert all(r1 > r0 for r0, r1 in pieces)
    if per_row <= small_gemm.SMALL:
        assert all((r1 - r0) * per_row <= small_gemm.SMALL for r0, r1 in pieces)
    sizes = {r1 - r0 for r0, r1 in pieces}
    assert max(sizes) - min(sizes) <= max(sizes) // 2 + 1  # near-equal, no sliver
    assert row_pieces(256, 64 * 64) == [(0, 128), (128, 256)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n", [(256, 64, 64), (250, 64, 96), (5, 3, 2), (192, 64, 64)])
def test_gemm_add_accumulates_in_place(dtype, m, k, n):
    rng = np.random.default_rng(m + k + n)
    a, b = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
    c = rng.normal(size=(m, n)).astype(dtype)
    want = c.astype(np.float64) + a.astype(np.float64) @ b
    before = c
    gemm_add(a, b, c, row_pieces(m, n * k))
    assert c is before
    np.testing.assert_allclose(c, want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-11)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k, m, n", [(256, 64, 64), (250, 64, 33), (3, 2, 5)])
def test_gemm_tn_sums_the_pieces_of_the_inner_size(dtype, k, m, n):
    rng = np.random.default_rng(k * m)
    a, b = rng.normal(size=(k, m)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
    out = np.full((m, n), np.nan, dtype)  # whatever was there is overwritten
    gemm_tn(a, b, out, row_pieces(k, m * n))
    np.testing.assert_allclose(out, a.T.astype(np.float64) @ b,
                               rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-11)


def test_a_layout_blas_cannot_take_in_place_is_refused_not_lost():
    a, b = np.ones((4, 3)), np.ones((3, 2))
    c = np.zeros((2, 4)).T  # Fortran-ordered: its transpose is not what BLAS needs
    with pytest.raises(ValueError, match="C-contiguous"):
        gemm_add(a, b, c, [(0, 4)])


@pytest.mark.parametrize("kind", ["LSTM", "SimpleRNN"])
@pytest.mark.parametrize("first", [True, False])
def test_cut_products_give_the_layers_the_uncut_results(monkeypatch, kind, first):
    """At 64 units and a batch of 64 the step products are cut; forcing one piece each must
    give the same outputs and gradients (float64), reading the Input or not."""
    layers = [{"type": kind, "units": 64}, {"type": "Dense", "units": 3}]
    if not first:
        layers.insert(0, {"type": "Dense", "units": 9})
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 6, 5))
    y = rng.normal(size=(64, 3))

    def run():
        net = Network(chain(layers), (6, 5), np.float64, seed=2)
        out = net.forward(x, training=True).copy()
        net.backward(out - y)
        return out, net.grads.copy()

    assert len(row_pieces(256, 64 * 64)) > 1
    out_cut, grads_cut = run()
    monkeypatch.setattr(small_gemm, "SMALL", 10**15)
    assert row_pieces(256, 64 * 64) == [(0, 256)]
    out_one, grads_one = run()
    np.testing.assert_allclose(out_cut, out_one, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(grads_cut, grads_one, rtol=1e-10, atol=1e-12)
    assert np.abs(grads_cut).max() > 0
