"""Write the built-in image and sound examples (run from the repository; the output is shipped).

``shapes/<circle|square|triangle>/NNN.png``
    300 pictures of 32 × 32 pixels drawn with Pillow here: one light shape of random size,
    place, rotation and tint on a darker background, a little noise. Made by this script; no
    licence beyond the project's own.
``words/<yes|no|up|down>/<voice>_<speed>_<pitch>.flac``
    160 one-second recordings of four words spoken by espeak-ng (five English voices, two
    speeds, four pitches), 16 kHz mono FLAC. espeak-ng is GPL-3.0 software; the sounds it
    produces are not covered by its licence and are shipped under the project's.

    python resources/examples/make_media_examples.py          # both
    python resources/examples/make_media_examples.py shapes   # one
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHAPES = ("circle", "square", "triangle")
WORDS = ("yes", "no", "up", "down")
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us-nyc")


def make_shapes(root: Path, per_class: int = 100, size: int = 32, seed: int = 0) -> None:
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    if root.exists():
        shutil.rmtree(root)
    for cls in SHAPES:
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            # A light shape on a darker background, each with a random tint.
            bg = tuple(int(v) for v in rng.integers(0, 90, 3))
            fg = tuple(int(v) for v in np.array(bg) + rng.integers(110, 166, 3))
            scale = 4  # drawn large, then shrunk: smooth edges
            big = Image.new("RGB", (size * scale, size * scale), bg)
            d = ImageDraw.Draw(big)
            r = rng.uniform(0.28, 0.42) * size * scale
            cx, cy = rng.uniform(r, size * scale - r, 2)
            turn = rng.uniform(0, 2 * np.pi)
            if cls == "circle":
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
            else:
                k = 4 if cls == "square" else 3
                angles = turn + np.arange(k) * 2 * np.pi / k
                d.polygon([(cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles], fill=fg)
            img = big.resize((size, size), Image.Resampling.BOX)
            noisy = np.asarray(img, np.int16) + rng.integers(-8, 9, (size, size, 3))
            Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(
                root / cls / f"{i:03d}.png", optimize=True)


def make_words(root: Path) -> None:
    import soundfile as sf

    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    from nnstudio.core.data.audio import resample

    if root.exists():
        shutil.rmtree(root)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "w.wav"
        for word in WORDS:
            (root / word).mkdir(parents=True)
            for voice in VOICES:
                for speed in (140, 180):
                    for pitch in (25, 45, 65, 85):
                        subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch),
                                        "-w", str(wav), word], check=True, capture_output=True)
                        x, rate = sf.read(wav, dtype="float64")
                        x = resample(x, rate, 16000)[:16000]
                        sf.write(root / word / f"{voice}_{speed}_{pitch}.flac", x, 16000,
                                 subtype="PCM_16")


if __name__ == "__main__":
    which = sys.argv[1:] or ["shapes", "words"]
    if "shapes" in which:
        make_shapes(HERE / "shapes")
    if "words" in which:
        make_words(HERE / "words")
