"""Sound files → fixed-length mono signals → log-mel spectrograms.

Reading uses **soundfile** (libsndfile, shipped inside its wheel): WAV in every PCM/float
width, FLAC and OGG/Vorbis through one call, with the header (rate, channels, length) readable
before any sample is decoded — so a one-hour recording is refused without reading it. The
standard library's ``wave`` reads only uncompressed integer PCM WAV (no FLAC, no OGG, no float
WAV), which is why it is not used.

The steps, the contract every front end replays:

1. read the header; refuse a file longer than ``max_seconds`` (default 60 s);
2. decode to float64, mix the channels to mono (their mean);
3. resample to ``rate`` with ``scipy.signal.resample_poly`` (polyphase, Kaiser-windowed
   anti-aliasing filter) when the file's rate differs;
4. trim to ``duration`` seconds (the first ``duration`` s) or pad the end with silence;
5. log-mel spectrogram (:func:`.spectrogram.log_mel`): ``window_ms`` and ``hop_ms`` frames,
   ``mels`` bands from ``fmin`` to ``fmax`` Hz;
6. layout ``image`` → ``(1, frames, mels)`` for Conv2D, ``sequence`` → ``(frames, mels)`` for
   an LSTM/GRU (time steps × features).

The dB values are then scaled like any array (the train split's mean/std, by default) by the
:class:`~nnstudio.core.data.Preparation`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

from .images import SkipFile
from .spectrogram import log_mel, n_frames

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga"})
LAYOUTS = ("image", "sequence")
#: Larger sample values are damage, not sound (float files hold ±1; unscaled PCM ±32,768).
MAX_AMPLITUDE = 1e6
#: Sample rates a recording may have: outside, the header is damaged.
FILE_RATES = (1000, 768_000)
#: Largest term of the up/down ratio :func:`resample` filters with (filter: 20× taps).
MAX_RATIO_TERM = 4096


@dataclass
class AudioOptions:
    """How recordings are read (the project file's ``dataset.sound`` section)."""

    rate: int = 16000
    duration: float = 1.0
    window_ms: float = 25.0
    hop_ms: float = 10.0
    mels: int = 40
    fmin: float = 20.0
    fmax: float | None = None
    layout: str = "image"
    max_seconds: float = 60.0

    @property
    def window(self) -> int:
        return max(8, round(self.rate * self.window_ms / 1000.0))

    @property
    def hop(self) -> int:
        return max(1, round(self.rate * self.hop_ms / 1000.0))

    @property
    def n_samples(self) -> int:
        return round(self.rate * self.duration)

    @property
    def frames(self) -> int:
        return n_frames(self.n_samples, self.window, self.hop)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        if self.layout == "image":
            return (1, self.frames, self.mels)
        return (self.frames, self.mels)

    def validate(self, where: str = "dataset.sound") -> None:
        def bad(name: str, text: str) -> DataError:
            return DataError(f"{text} (got {getattr(self, name)!r})", where=f"{where}.{name}")

        if not isinstance(self.rate, int) or not 1000 <= self.rate <= 192000:
            raise bad("rate", "must be a whole number of Hz from 1000 to 192000")
        if not 0.05 <= self.duration <= self.max_seconds:
            raise bad("duration", f"must be from 0.05 to {self.max_seconds:g} seconds")
        if not 1 <= self.window_ms <= 1000:
            raise bad("window_ms", "must be from 1 to 1000 ms")
        if not 0.5 <= self.hop_ms <= self.window_ms:
            raise bad("hop_ms", "must be from 0.5 ms to the window length")
        if not isinstance(self.mels, int) or not 4 <= self.mels <= 256:
            raise bad("mels", "must be a whole number from 4 to 256")
        top = self.fmax if self.fmax is not None else self.rate / 2
        if not 0 <= self.fmin < top <= self.rate / 2:
            raise bad("fmin", f"and fmax must satisfy 0 <= fmin < fmax <= {self.rate / 2:g} Hz")
        if self.layout not in LAYOUTS:
            raise bad("layout", f"must be one of {', '.join(LAYOUTS)}")
        if self.n_samples < self.window:
            raise bad("duration", "is shorter than one window")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict | None, where: str = "dataset.sound") -> AudioOptions:
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise DataError(f"unknown field(s) {', '.join(unknown)}", where=where)
        try:
            opts = cls(**d)
            for name in ("duration", "window_ms", "hop_ms", "fmin", "max_seconds"):
                setattr(opts, name, float(getattr(opts, name)))
            if opts.fmax is not None:
                opts.fmax = float(opts.fmax)
        except (TypeError, ValueError):
            raise DataError("the sound settings must be numbers", where=where) from None
        opts.validate(where)
        return opts


def read_signal(path: Any, opts: AudioOptions, info: dict | None = None) -> np.ndarray:
    """Mono float64 signal ``(opts.n_samples,)`` at ``opts.rate`` (steps 1–4 above).

    ``path`` is a file path or an in-memory file (``io.BytesIO``). ``info``, when given,
    receives ``seconds`` (the recording's whole length), ``rate`` and ``channels`` from the
    header and ``samples``, how many of the returned samples are the recording (the rest is
    padding): monitoring's duration and loudness.

    Raises :class:`SkipFile` with the reason for an unusable file.
    """
    import soundfile as sf

    from .images import source_size

    try:
        if source_size(path) == 0:
            raise SkipFile("zero-byte file")
    except OSError as e:
        raise SkipFile(f"cannot be read ({e.strerror or e})") from None
    try:
        f = sf.SoundFile(path)  # the header only: rate, channels, length
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise SkipFile(f"not a sound file soundfile can read ({_short(e)})") from None
    with f:
        rate, frames = f.samplerate, f.frames
        if rate <= 0 or frames < 0:
            raise SkipFile("the file's header is invalid")
        if not FILE_RATES[0] <= rate <= FILE_RATES[1]:
            raise SkipFile(f"has a sample rate of {rate:,} Hz (a damaged header? recordings "
                           f"of {FILE_RATES[0]:,} to {FILE_RATES[1]:,} Hz are read)")
        seconds = frames / rate
        if seconds > opts.max_seconds:
            raise SkipFile(f"too long: {seconds:,.0f} s (the limit is {opts.max_seconds:g} s)")
        if frames == 0:
            raise SkipFile("the recording is empty (no samples)")
        # Read only what the clip needs (plus a little for the resampling filter's edge).
        need = min(frames, int(np.ceil(opts.duration * rate)) + 64)
        try:
            data = f.read(need, dtype="float64", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, ValueError) as e:
            raise SkipFile(f"corrupt or truncated recording ({_short(e)})") from None
    if data.size == 0:
        raise SkipFile("the recording is empty (no samples)")
    if not np.all(np.isfinite(data)):  # before the mix: inf + -inf would warn
        raise SkipFile("holds non-finite samples (NaN or infinity)")
    peak = float(np.max(np.abs(data)))
    if peak > MAX_AMPLITUDE:  # a damaged float file: its power overflows, losses are NaN
        raise SkipFile(f"holds sample values up to {peak:.3g}, not sound (a recording's "
                       f"values lie within ±1, or ±32,768 unscaled)")
    if info is not None:
        info.update(seconds=seconds, rate=rate, channels=int(data.shape[1]),
                    samples=min(opts.n_samples, round(data.shape[0] * opts.rate / rate)))
    x = data.mean(axis=1)
    if rate != opts.rate:
        x = resample(x, rate, opts.rate)
    n = opts.n_samples
    if x.size >= n:
        return x[:n]
    return np.pad(x, (0, n - x.size))


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """``x`` resampled from ``rate_in`` to ``rate_out`` Hz (scipy's polyphase filter).

    The same as ``resample_poly(x, up, down)`` with its default Kaiser window, but the
    filter is designed once per rate pair (designing it took 10 ms of a 14 ms call).
    """
    from fractions import Fraction

    try:
        from scipy.signal import resample_poly
    except ImportError:  # the installed app leaves SciPy out (packaging/README.md)
        raise DataError(
            f"a recording at {int(rate_in):,} Hz must be resampled to the project's "
            f"{int(rate_out):,} Hz, which needs SciPy, and this installation of nnstudio has "
            f"none: set the sound rate to {int(rate_in):,} Hz, or install nnstudio with pip "
            "(which brings SciPy)") from None

    ratio = Fraction(int(rate_out), int(rate_in))
    if max(ratio.numerator, ratio.denominator) > MAX_RATIO_TERM:
        # A rate that does not reduce (44,101 Hz: 8000/44101) would need a filter of 20 ×
        # 44,101 taps, a damaged header's 2**31 Hz one of 40 billion: resample by the nearest
        # ratio of small terms instead (off by less than 1e-6, far below hearing).
        if ratio >= 1:
            ratio = 1 / (1 / ratio).limit_denominator(MAX_RATIO_TERM)
        else:
            ratio = ratio.limit_denominator(MAX_RATIO_TERM)
        if ratio == 0:
            ratio = Fraction(1, MAX_RATIO_TERM)
    up, down = ratio.numerator, ratio.denominator
    # resample_poly scales the filter it is given in place: pass a copy.
    return resample_poly(x, up, down, window=_antialias(up, down).copy())


@lru_cache(maxsize=8)
def _antialias(up: int, down: int) -> np.ndarray:
    """The FIR filter resample_poly designs by default for ``up``/``down``."""
    from scipy.signal import firwin

    rate = max(up, down)
    return firwin(2 * 10 * rate + 1, 1.0 / rate, window=("kaiser", 5.0))


def spectrogram(signal: np.ndarray, opts: AudioOptions) -> np.ndarray:
    """Log-mel spectrogram of a prepared signal in the layout of ``opts``: float32
    ``(1, frames, mels)`` or ``(frames, mels)``."""
    s = log_mel(signal, opts.rate, opts.window, opts.hop, opts.mels, opts.fmin, opts.fmax)
    return s[None] if opts.layout == "image" else s


def decode_sound(path: Any, opts: AudioOptions) -> np.ndarray:
    """A sound file straight to its spectrogram (steps 1–6)."""
    return spectrogram(read_signal(path, opts), opts)


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:160]
