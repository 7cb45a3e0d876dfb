"""Augmentation of training images: random flips, shifts, rotations, brightness and contrast.

Applied only to the training split, batch by batch, to the raw pixel values (0–255) before
the pixel scaling; validation, test and prediction never see it. Off by default; seeded, so a
run with the same seed draws the same transforms; the settings are stored in the project's
dataset section and in the model file's preparation (``media.augment``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError


@dataclass
class AugmentOptions:
    """Augmentation settings (the project file's ``dataset.augment``).

    Attributes
    ----------
    flip : bool
        Mirror left-right with probability 1/2 (not for digits or text!).
    shift : float
        Largest shift, as a fraction of the height/width (0.1 = up to 10 %).
    rotate : float
        Largest rotation in degrees, either way.
    brightness : float
        Largest brightness change, as a fraction of the pixel range (0.1 = ±25.5).
    contrast : float
        Largest contrast change (0.2 = the contrast scaled by 0.8 to 1.2).
    seed : int
    """

    flip: bool = False
    shift: float = 0.0
    rotate: float = 0.0
    brightness: float = 0.0
    contrast: float = 0.0
    seed: int = 0

    @property
    def active(self) -> bool:
        return bool(self.flip or self.shift or self.rotate or self.brightness or self.contrast)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None, where: str = "dataset.augment") -> AugmentOptions:
        d = dict(d or {})
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise DataError(f"unknown field(s) {', '.join(unknown)}", where=where)
        limits = {"shift": 0.5, "rotate": 180.0, "brightness": 1.0, "contrast": 0.9}
        for key, top in limits.items():
            v = d.get(key, 0.0)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= top:
                raise DataError(f"must be a number from 0 to {top:g} (got {v!r})",
                                where=f"{where}.{key}")
        seed = d.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise DataError(f"must be a whole number >= 0 (got {seed!r})", where=f"{where}.seed")
        return cls(bool(d.get("flip", False)), float(d.get("shift", 0.0)),
                   float(d.get("rotate", 0.0)), float(d.get("brightness", 0.0)),
                   float(d.get("contrast", 0.0)), seed)


class Augmenter:
    """Callable that augments a float batch ``(B, C, H, W)`` of raw pixels in place."""

    def __init__(self, options: AugmentOptions, value_range: tuple[float, float] = (0, 255)):
        self.o = options
        self.rng = np.random.default_rng(options.seed)
        self.lo, self.hi = value_range

    def __call__(self, x: np.ndarray, key: np.ndarray | None = None) -> np.ndarray:
        """Augment ``x`` in place. With ``key`` (the batch's sample positions) the random
        draws depend only on the seed and the key — no state carried between calls."""
        import zlib

        o = self.o
        if key is None:
            rng = self.rng
        else:
            crc = zlib.crc32(np.ascontiguousarray(key, np.int64).tobytes())
            rng = np.random.default_rng([o.seed, crc, len(key)])
        b = x.shape[0]
        if o.flip:
            m = rng.random(b) < 0.5
            x[m] = x[m][..., ::-1]
        if o.shift or o.rotate:
            self._affine(x, rng)
        if o.brightness or o.contrast:
            span = self.hi - self.lo
            gain = 1.0 + rng.uniform(-o.contrast, o.contrast, b).astype(x.dtype)
            bias = (rng.uniform(-o.brightness, o.brightness, b) * span).astype(x.dtype)
            mean = x.mean(axis=(1, 2, 3), keepdims=True)
            x -= mean
            x *= gain[:, None, None, None]
            x += mean + bias[:, None, None, None]
            np.clip(x, self.lo, self.hi, out=x)
        return x

    def _affine(self, x: np.ndarray, rng: np.random.Generator) -> None:
        """Rotate about the centre and shift, nearest-neighbour, edges repeated."""
        b, _, h, w = x.shape
        o = self.o
        ang = np.deg2rad(rng.uniform(-o.rotate, o.rotate, b))
        ty = rng.uniform(-o.shift, o.shift, b) * h
        tx = rng.uniform(-o.shift, o.shift, b) * w
        cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        yy = yy[None] - cy - ty[:, None, None]
        xx = xx[None] - cx - tx[:, None, None]
        cos, sin = np.cos(ang)[:, None, None], np.sin(ang)[:, None, None]
        # Inverse map: each output pixel takes the input pixel it came from.
        sy = np.clip(np.rint(cos * yy - sin * xx + cy), 0, h - 1).astype(np.intp)
        sx = np.clip(np.rint(sin * yy + cos * xx + cx), 0, w - 1).astype(np.intp)
        flat = sy * w + sx  # (B, H, W)
        src = x.reshape(b, x.shape[1], h * w).copy()
        for i in range(b):
            x[i] = src[i][:, flat[i]]
