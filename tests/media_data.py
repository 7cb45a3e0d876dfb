"""Image and sound datasets written by the tests themselves.

* :func:`mnist_folders` writes MNIST test-set digits (``shared/datasets/mnist-t10k``) as class
  folders of PNG and JPEG files, some RGB, some at other sizes;
* :func:`spoken_words` synthesises words with espeak-ng in several voices, speeds and pitches.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

#: Voices for the spoken-word tests; the last (an accent none of the others has) is held out
#: for testing. Some voices sound alike (en-us-nyc says "yes" exactly as en-us; en-gb-x-rp
#: is close to en-gb), so those are not used; en-us+f3 is a higher, female variant.
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f3", "en-gb-x-gbclan")
WORDS = ("yes", "no", "up", "down", "left", "right")


def mnist_arrays(datasets: Path, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` MNIST test images ``uint8 (n, 28, 28)`` and labels ``(n,)``."""
    from nnstudio.core.data import load_idx

    d = datasets / "mnist-t10k"
    data = load_idx(d / "t10k-images-idx3-ubyte.gz", d / "t10k-labels-idx1-ubyte.gz")
    x, y = data.x.astype(np.uint8), data.y.astype(np.int64)
    return (x, y) if n is None else (x[:n], y[:n])


def mnist_folders(root: Path, x: np.ndarray, y: np.ndarray, mixed: bool = True) -> list[str]:
    """Write ``root/<digit>/<i>.png|.jpg``; returns the paths (relative to ``root``) in order.

    With ``mixed``: every 5th image a (high-quality) JPEG, every 7th RGB, every 11th 32×32
    (so the most common size stays 28×28 and the rest is resized).
    """
    from PIL import Image

    rels = []
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        folder = root / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        im = Image.fromarray(img, "L")
        if mixed and i % 7 == 3:
            im = im.convert("RGB")
        if mixed and i % 11 == 5:
            im = im.resize((32, 32), Image.Resampling.BILINEAR)
        ext = ".jpg" if mixed and i % 5 == 2 else ".png"
        rel = f"{int(label)}/{i:05d}{ext}"
        if ext == ".jpg":
            im.save(root / rel, quality=95)
        else:
            im.save(root / rel)
        rels.append(rel)
    return rels


def need_espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed (dev.sh installs it for the tests)")
    return exe


def speak(exe: str, text: str, out: Path, voice: str, speed: int, pitch: int) -> None:
    subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out),
                    text], check=True, capture_output=True, timeout=30)


def spoken_words(root: Path, voices=VOICES, words=WORDS, speeds=(130, 175),
                 pitches=(30, 55, 80)) -> dict[str, list[Path]]:
    """Write ``root/<word>/<voice>_<speed>_<pitch>.wav``; returns the files per voice."""
    exe = need_espeak()
    per_voice: dict[str, list[Path]] = {v: [] for v in voices}
    for word in words:
        (root / word).mkdir(parents=True, exist_ok=True)
        for voice in voices:
            for speed in speeds:
                for pitch in pitches:
                    out = root / word / f"{voice}_{speed}_{pitch}.wav"
                    speak(exe, word, out, voice, speed, pitch)
                    per_voice[voice].append(out)
    return per_voice
