"""Sound files → mono signals → log-mel spectrograms; bad recordings; sound datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.data.audio import AudioOptions, decode_sound, read_signal
from nnstudio.core.data.images import SkipFile
from nnstudio.core.data.spectrogram import hz_to_mel, log_mel, mel_filterbank, mel_to_hz
from nnstudio.core.errors import DataError


def tone(freq: float, rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def test_mel_scale_and_filter_bank():
    f = np.array([0.0, 500.0, 1000.0, 4000.0, 8000.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(f)), f, rtol=1e-12, atol=1e-9)
    assert hz_to_mel(1000.0) == pytest.approx(15.0)  # Slaney: linear to 1 kHz, 15 mels there
    bank = mel_filterbank(16000, 512, 40, 0.0, 8000.0)
    assert bank.shape == (257, 40) and (bank >= 0).all()
    df = 16000 / 512
    # Area normalisation: every triangle covers about 1 (Hz × height) once it spans bins.
    area = bank.sum(axis=0) * df
    np.testing.assert_allclose(area[10:], 1.0, rtol=0.05)
    # Centres increase with the band index.
    peaks = bank.argmax(axis=0)
    assert (np.diff(peaks) >= 0).all() and peaks[-1] > peaks[0]


def test_log_mel_of_a_tone_peaks_in_its_band():
    rate = 16000
    s = log_mel(tone(1000.0, rate, 1.0), rate, 400, 160, 40, 0.0, 8000.0)
    assert s.shape == (1 + (16000 - 400) // 160, 40) and s.dtype == np.float32
    centres = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(8000), 42))[1:-1]
    assert abs(centres[int(s.mean(axis=0).argmax())] - 1000) < 120
    silence = log_mel(np.zeros(16000), rate, 400, 160, 40)
    assert np.allclose(silence, -100.0)


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG"])
def test_stereo_files_are_mixed_resampled_and_fitted(tmp_path, fmt):
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(path, tone(440.0, 22050, 0.6, channels=2), 22050, format=fmt)
    opts = AudioOptions(rate=16000, duration=1.0)
    x = read_signal(str(path), opts)
    assert x.shape == (16000,)
    assert np.abs(x[12000:]).max() == 0  # padded with silence after 0.6 s
    spec = np.abs(np.fft.rfft(x[:9000]))
    assert abs(spec.argmax() * 16000 / 9000 - 440) < 5  # still 440 Hz after resampling
    short = read_signal(str(path), AudioOptions(rate=16000, duration=0.25))
    assert short.shape == (4000,)
    assert decode_sound(str(path), opts).shape == (1, 98, 40)
    seq = decode_sound(str(path), AudioOptions(layout="sequence", mels=32, hop_ms=20))
    assert seq.shape == (49, 32)


def test_bad_recordings_are_skipped_with_the_reason(tmp_path):
    (tmp_path / "zero.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("RIFF? no, just text")
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(8000 * 5), 8000)
    good = tmp_path / "good.wav"
    sf.write(good, tone(300, 8000, 1.0), 8000, subtype="PCM_16")
    (tmp_path / "cut.wav").write_bytes(good.read_bytes()[:30])
    opts = AudioOptions(rate=8000, max_seconds=2.0)
    for name, fragment in (("zero.wav", "zero-byte"), ("text.wav", "not a sound file"),
                           ("long.wav", "too long: 5 s"), ("cut.wav", "not a sound file")):
        with pytest.raises(SkipFile, match=fragment):
            read_signal(str(tmp_path / name), opts)


def test_options_are_checked():
    with pytest.raises(DataError, match=r"sound\.mels"):
        AudioOptions.from_dict({"mels": 2})
    with pytest.raises(DataError, match=r"sound\.layout"):
        AudioOptions.from_dict({"layout": "cube"})
    with pytest.raises(DataError, match="unknown field"):
        AudioOptions.from_dict({"bands": 40})


def test_sound_folders_become_spectrogram_datasets(tmp_path):
    root = tmp_path / "tones"
    rng = np.random.default_rng(0)
    for cls, f in (("low", 300.0), ("high", 2500.0)):
        (root / cls).mkdir(parents=True)
        for i in range(6):
            x = tone(f * (1 + 0.02 * rng.standard_normal()), 16000, 0.5)
            sf.write(root / cls / f"{i}.wav", x, 16000)
    (root / "low" / "broken.wav").write_text("nope")
    p = build_dataset(DatasetSpec(source=str(root), sound={"duration": 0.5}))
    assert p.class_names == ["high", "low"] and p.input_shape == (1, 48, 40)
    assert [Path(s.path).name for s in p.media["skipped"]] == ["broken.wav"]
    assert p.preparation.media["kind"] == "sound"
    assert np.asarray(p.x_train).dtype == np.float32
    # Detected without a "sound" section too.
    q = build_dataset(DatasetSpec(source=str(root)))
    assert q.media["kind"] == "sound"
