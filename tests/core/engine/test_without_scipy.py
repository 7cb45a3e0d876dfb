"""The engine without SciPy, as in the installed app (packaging/nnstudio.spec leaves SciPy
out: it would take the bundle past its size goals). SciPy makes a few kernels faster (BLAS
products that accumulate in place, the Embedding's sparse scatter); without it the same
numbers come from NumPy, and sound that needs resampling is refused with a way out."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from nnstudio.core.engine import Network, small_gemm
from tests.core.engine.gradcheck import chain

REPO = Path(__file__).resolve().parents[3]

NETWORKS = {
    "lstm": ([{"type": "LSTM", "units": 64, "return_sequences": True},
              {"type": "SimpleRNN", "units": 64}, {"type": "Dense", "units": 3}], (5, 4)),
    "embedding": ([{"type": "Embedding", "vocab_size": 30, "dim": 8},
                   {"type": "GlobalAvgPool1D"}, {"type": "Dense", "units": 3}], (7,)),
}


def run_networks(out: Path) -> None:
    """Forward and backward of each network on fixed data (float64); arrays saved to ``out``."""
    arrays = {}
    for name, (layers, shape) in NETWORKS.items():
        rng = np.random.default_rng(5)
        x = (rng.integers(1, 30, (64, *shape)) if name == "embedding"
             else rng.normal(size=(64, *shape)))
        net = Network(chain(layers), shape, np.float64, seed=1)
        y = net.forward(x, training=True).copy()
        net.backward(y - 1.0)
        arrays[f"{name}_y"], arrays[f"{name}_g"] = y, net.grads.copy()
    np.savez(out, **arrays)


def test_the_engine_trains_the_same_without_scipy(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["scipy"] = None  # any import of SciPy now fails, as in the bundle
        sys.path.insert(0, {str(REPO)!r})
        from nnstudio.core.engine import small_gemm
        assert small_gemm.blas is None
        from tests.core.engine.test_without_scipy import run_networks
        run_networks({str(tmp_path / "without.npz")!r})
        from nnstudio.core.data.audio import resample
        from nnstudio.core.errors import DataError
        try:
            resample([0.0] * 100, 22050, 16000)
        except DataError as e:
            print("refused:", e)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and "set the sound rate to 22,050 Hz" in done.stdout
    run_networks(tmp_path / "with.npz")
    with np.load(tmp_path / "with.npz") as a, np.load(tmp_path / "without.npz") as b:
        assert set(a.files) == set(b.files)
        for key in a.files:
            np.testing.assert_allclose(b[key], a[key], rtol=1e-10, atol=1e-12, err_msg=key)
            assert np.abs(a[key]).max() > 0, key


def test_numpys_fallback_products_equal_blas(monkeypatch):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(256, 64)), rng.normal(size=(64, 64))
    c = rng.normal(size=(256, 64))
    pieces = small_gemm.row_pieces(256, 64 * 64)
    with_blas, dh_blas = c.copy(), np.empty((64, 64))
    small_gemm.gemm_add(a, b, with_blas, pieces)
    small_gemm.gemm_tn(a, c, dh_blas, pieces)
    monkeypatch.setattr(small_gemm, "blas", None)
    without, dh = c.copy(), np.empty((64, 64))
    small_gemm.gemm_add(a, b, without, pieces)
    small_gemm.gemm_tn(a, c, dh, pieces)
    np.testing.assert_allclose(without, with_blas, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dh, dh_blas, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dh, a.T @ c, rtol=1e-12, atol=1e-12)
