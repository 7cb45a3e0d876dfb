"""Per-sample statistics of texts, images and sounds: what monitoring compares for them.

A text, an image or a recording is not a table column, so monitoring watches a few numbers
computed from each sample (the *derived columns*), the same way at training time (the
reference), in the server (stored in the prediction log with every request) and for a new
data file:

text column ``message``
    ``message: tokens`` — tokens per text (after the model's normalisation and tokenizer);
    ``message: unknown tokens`` — tokens outside the vocabulary (counted over all tokens);
    ``message: token distribution`` — the share of each of the training split's most
    frequent tokens (the rest of the vocabulary as one ``(other)`` bin).
image (the decoded ``uint8 (C, H, W)`` array at the model's size, and the file's header)
    ``image: brightness`` (mean luma 0–255: ITU-R 601 weights for RGB), ``image: contrast``
    (standard deviation of the luma), ``image: red|green|blue`` (channel means, RGB models),
    ``image: width|height`` (the file's own pixel size, before resizing).
sound (the decoded mono signal at the model's rate, its header and its log-mel spectrogram)
    ``sound: duration`` (the recording's length in seconds), ``sound: loudness`` (RMS level of
    the recorded part of the clip, dBFS), ``sound: spectral centroid`` (Hz, the power-weighted
    mean of the mel bands' centre frequencies), ``sound: spectral level`` (mean log-mel dB).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

#: Most frequent training tokens kept in a reference's token distribution.
TOP_TOKENS = 50
OTHER = "(other)"
IMAGE_STATS = ("brightness", "contrast", "red", "green", "blue", "width", "height")
SOUND_STATS = ("duration", "loudness", "spectral centroid", "spectral level")
UNITS = {"brightness": "0–255", "contrast": "0–255", "red": "0–255", "green": "0–255",
         "blue": "0–255", "width": "px", "height": "px", "duration": "s", "loudness": "dBFS",
         "spectral centroid": "Hz", "spectral level": "dB"}


# -- texts ---------------------------------------------------------------------------------------

def text_token_stats(text_prep: Any, texts: Iterable[str]) -> tuple[np.ndarray, int, int,
                                                                    Counter]:
    """``(tokens per text float64 (N,), unknown tokens, all tokens, known-token counts)``."""
    index = text_prep.vocab.index
    lengths = []
    unknown = total = 0
    counts: Counter[str] = Counter()
    for t in texts:
        toks = text_prep.tokens_of("" if t is None else str(t))
        lengths.append(len(toks))
        total += len(toks)
        known = [k for k in toks if k in index]
        unknown += len(toks) - len(known)
        counts.update(known)
    return np.asarray(lengths, np.float64), unknown, total, counts


def fold_tokens(counts: Counter, top: Sequence[str]) -> dict[str, int]:
    """Counts of the ``top`` tokens and of every other (known) token as ``(other)``."""
    keep = set(top)
    out = {t: int(counts.get(t, 0)) for t in top}
    out[OTHER] = int(sum(n for t, n in counts.items() if t not in keep))
    return out


# -- images --------------------------------------------------------------------------------------

def image_stats(raw: np.ndarray) -> dict[str, np.ndarray]:
    """Brightness, contrast and channel means of decoded images ``uint8 (N, C, H, W)``
    (float64 (N,) each; no colour for gray models)."""
    x = np.asarray(raw, np.float32)
    if x.ndim == 3:
        x = x[None]
    out: dict[str, np.ndarray] = {}
    if x.shape[1] == 3:
        luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
        means = x.mean(axis=(2, 3), dtype=np.float64)
        out["red"], out["green"], out["blue"] = means[:, 0], means[:, 1], means[:, 2]
    else:
        luma = x[:, 0]
    flat = luma.reshape(len(x), -1)
    out["brightness"] = flat.mean(axis=1, dtype=np.float64)
    out["contrast"] = flat.std(axis=1, dtype=np.float64)
    return out


def image_summary(data: bytes | None, raw: np.ndarray, width: int, height: int,
                  fmt: str | None) -> dict[str, Any]:
    """What the prediction log keeps of one image: SHA-256, bytes, format, the file's size,
    the decoded shape and the statistics (not the pixels)."""
    stats = {k: round(float(v[0]), 3) for k, v in image_stats(raw[None]).items()}
    out: dict[str, Any] = {}
    if data is not None:
        out.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    out.update(format=fmt, width=int(width), height=int(height), shape=list(raw.shape),
               **stats)
    return out


def image_header(source: Any) -> tuple[int, int, str | None]:
    """``(width, height, format)`` from an image's header (a path or ``io.BytesIO``)."""
    from PIL import Image

    with Image.open(source) as img:
        return int(img.size[0]), int(img.size[1]), img.format


# -- sounds --------------------------------------------------------------------------------------

def _band_centres(opts: Any) -> np.ndarray:
    from nnstudio.core.data.spectrogram import hz_to_mel, mel_to_hz

    top = opts.fmax if opts.fmax else opts.rate / 2.0
    edges = np.linspace(float(hz_to_mel(opts.fmin)), float(hz_to_mel(top)), opts.mels + 2)
    return np.asarray(mel_to_hz(edges[1:-1]), np.float64)


def sound_stats(signal: np.ndarray, samples: int, seconds: float, spec: np.ndarray,
                opts: Any) -> dict[str, float]:
    """Duration, loudness and spectral statistics of one decoded recording.

    ``signal`` is the clip ``(n_samples,)`` of which the first ``samples`` are recorded (the
    rest is padding), ``spec`` its log-mel spectrogram (any layout, mels last).
    """
    part = np.asarray(signal[:max(1, samples)], np.float64)
    rms = float(np.sqrt(np.mean(part * part)))
    s = np.asarray(spec, np.float64).reshape(-1, opts.mels)
    power = np.power(10.0, s / 10.0).mean(axis=0)
    centres = _band_centres(opts)
    centroid = float((power * centres).sum() / power.sum()) if power.sum() > 0 else 0.0
    return {"duration": float(seconds), "loudness": 20.0 * np.log10(max(rms, 1e-6)),
            "spectral centroid": centroid, "spectral level": float(s.mean())}


def decode_sound_with_stats(source: Any, opts: Any) -> tuple[np.ndarray, dict[str, float]]:
    """A recording (path or ``io.BytesIO``) → ``(spectrogram, stats)``: the model's decoder
    (:func:`~nnstudio.core.data.audio.read_signal`, then the log-mel) plus
    :func:`sound_stats`. Raises ``SkipFile`` for an unusable file."""
    from nnstudio.core.data.audio import read_signal, spectrogram

    info: dict[str, Any] = {}
    signal = read_signal(source, opts, info)
    spec = spectrogram(signal, opts)
    return spec, sound_stats(signal, info["samples"], info["seconds"], spec, opts)


def sound_summary(data: bytes | None, spec: np.ndarray, stats: dict[str, float],
                  ) -> dict[str, Any]:
    """What the prediction log keeps of one recording (not the samples)."""
    out: dict[str, Any] = {}
    if data is not None:
        out.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    out["shape"] = list(spec.shape)
    out.update({k: round(float(v), 4) for k, v in stats.items()})
    return out


def stat_columns(kind: str, rgb: bool = True) -> list[str]:
    """The statistics monitored for ``kind`` ``image`` or ``sound``."""
    if kind == "sound":
        return list(SOUND_STATS)
    return [s for s in IMAGE_STATS if rgb or s not in ("red", "green", "blue")]
