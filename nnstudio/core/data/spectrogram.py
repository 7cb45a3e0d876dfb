"""Log-mel spectrograms in NumPy: framing, Hann window, power spectrum, mel filter bank, dB.

Why our own ~60 lines rather than librosa or torchaudio: librosa pulls in numba/llvmlite,
scikit-learn and soxr (hundreds of MB) for one matrix; torchaudio needs PyTorch. The filter
bank below follows the Slaney/Auditory Toolbox definition (librosa's default, torchaudio's
``norm="slaney", mel_scale="slaney"``) and ``benchmarks/image_data.py`` checks it against
torchaudio when that is installed (max abs difference ~1e-8). Resampling is *not* ours:
:mod:`scipy.signal`'s ``resample_poly`` does it (see :mod:`.audio`).

A spectrogram of a signal of ``L`` samples has ``1 + (L - window) // hop`` frames (no padding
at the ends) and ``mels`` bands: ``float32 (frames, mels)``, values ``10·log10(power + 1e-10)``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

#: Added to the mel power before the logarithm (−100 dB floor for silence).
FLOOR = 1e-10

_F_SP = 200.0 / 3          # Hz per mel below 1 kHz (linear part)
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    lin = f / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-12) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    m = np.asarray(m, np.float64)
    lin = m * _F_SP
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, lin)


@lru_cache(maxsize=16)
def mel_filterbank(rate: int, n_fft: int, mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular filters, ``float64 (n_fft // 2 + 1, mels)``: ``power @ bank`` gives mel power.

    Centres equally spaced on the mel scale from ``fmin`` to ``fmax``; each triangle is
    divided by its width in Hz / 2 (area normalisation, so bands of every width weigh alike).
    """
    freqs = np.linspace(0.0, rate / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), mels + 2))
    width = np.diff(edges)
    ramps = edges[:, None] - freqs[None, :]
    rising = -ramps[:-2] / width[:-1, None]
    falling = ramps[2:] / width[1:, None]
    bank = np.maximum(0.0, np.minimum(rising, falling))
    bank *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    bank.setflags(write=False)
    return np.ascontiguousarray(bank.T)


@lru_cache(maxsize=16)
def _hann(n: int) -> np.ndarray:
    # Periodic Hann (as scipy.signal.get_window("hann") and torch.hann_window): frames tile.
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    w.setflags(write=False)
    return w


def n_frames(n_samples: int, window: int, hop: int) -> int:
    return 1 + max(0, n_samples - window) // hop


def log_mel(signal: np.ndarray, rate: int, window: int, hop: int, mels: int,
            fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Log-mel spectrogram ``float32 (frames, mels)`` of a mono ``signal (L,)``.

    ``window`` and ``hop`` are in samples; the FFT size is the window rounded up to a power
    of two (zero-padded frames).
    """
    x = np.asarray(signal, np.float64)
    if x.size < window:
        x = np.pad(x, (0, window - x.size))
    frames = np.lib.stride_tricks.sliding_window_view(x, window)[::hop]
    n_fft = 1 << (window - 1).bit_length()
    spec = np.fft.rfft(frames * _hann(window), n=n_fft)
    power = spec.real ** 2 + spec.imag ** 2
    mel = power @ mel_filterbank(rate, n_fft, mels, float(fmin),
                                 float(fmax if fmax else rate / 2.0))
    return (10.0 * np.log10(mel + FLOOR)).astype(np.float32)
