"""Image files → uint8 pixel arrays (Pillow), and the options that say how.

One image becomes a ``uint8 (C, H, W)`` array, channels first as the engine's Conv2D wants:
``C = 1`` (grayscale) or ``3`` (RGB). The steps, in order, are the contract every front end
(training, ``nnstudio predict``, the standalone ``predict.py``) replays:

1. open with Pillow; refuse anything over :data:`MAX_PIXELS` before decoding (a
   decompression bomb), and read only the first frame of an animated GIF/WebP/TIFF;
2. apply the EXIF orientation (a phone photo stored sideways is shown upright);
3. convert the colour: palette and transparent images are composited over **white** (what a
   viewer shows); grayscale uses Pillow's ``L`` (ITU-R 601-2 luma: 0.299 R + 0.587 G +
   0.114 B); 16-bit grayscale is scaled to 0–255;
4. resize to ``(H, W)`` with the stated filter (Pillow's; bilinear by default, antialiased when
   shrinking because Pillow widens the filter's support by the reduction factor). The aspect
   ratio is not kept: every image is stretched to the size, as Keras's
   ``image_dataset_from_directory`` does by default.

Pixel scaling (``standard``: the train split's mean/std; ``minmax``: ÷ 255 for 8-bit images;
``none``) happens later, in the :class:`~nnstudio.core.data.Preparation`.
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff",
                              ".webp"})
#: Larger images are refused before decoding (a 20,000 × 20,000 "decompression bomb").
MAX_PIXELS = 40_000_000
#: The default size (the most common one) is capped to this many pixels a side.
MAX_DEFAULT_SIDE = 128
COLORS = ("auto", "gray", "rgb")
FILTERS = ("nearest", "bilinear", "bicubic", "lanczos", "box")


class SkipFile(Exception):  # noqa: N818 (a reason, not a failure of the program)
    """A file cannot be used; ``str(e)`` is the reason shown next to the file name."""


@dataclass
class ImageOptions:
    """How images are read (the project file's ``dataset.images`` section).

    Attributes
    ----------
    size : (height, width) or None
        None: the most common size among the files, each side capped to
        :data:`MAX_DEFAULT_SIDE` (keeping that size's aspect ratio).
    color : "auto", "gray" or "rgb"
        auto: gray when every probed image is grayscale, else RGB.
    filter : one of :data:`FILTERS`
    path_column : str or None
        For a CSV of paths: the column holding them (default: detected).
    """

    size: tuple[int, int] | None = None
    color: str = "auto"
    filter: str = "bilinear"
    path_column: str | None = None

    def validate(self, where: str = "dataset.images") -> None:
        if self.size is not None:
            ok = (len(self.size) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                              and 4 <= v <= 1024 for v in self.size))
            if not ok:
                raise DataError(f"must be [height, width], each 4 to 1024 (got {self.size!r})",
                                where=f"{where}.size")
        if self.color not in COLORS:
            raise DataError(f"must be one of {', '.join(COLORS)} (got {self.color!r})",
                            where=f"{where}.color")
        if self.filter not in FILTERS:
            raise DataError(f"must be one of {', '.join(FILTERS)} (got {self.filter!r})",
                            where=f"{where}.filter")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"size": None if self.size is None else list(self.size),
                             "color": self.color, "filter": self.filter}
        if self.path_column is not None:
            d["path_column"] = self.path_column
        return d

    @classmethod
    def from_dict(cls, d: dict | None, where: str = "dataset.images") -> ImageOptions:
        d = dict(d or {})
        unknown = sorted(set(d) - {"size", "color", "filter", "path_column"})
        if unknown:
            raise DataError(f"unknown field(s) {', '.join(unknown)}", where=where)
        size = d.get("size")
        if size is not None:
            if not isinstance(size, list | tuple):
                raise DataError(f"must be [height, width] (got {size!r})", where=f"{where}.size")
            size = tuple(size)
        opts = cls(size, d.get("color", "auto"), d.get("filter", "bilinear"),
                   d.get("path_column"))
        opts.validate(where)
        return opts


def _pil():
    from PIL import Image

    return Image


def source_size(source: Any) -> int:
    """Bytes in ``source``: a file path, or an in-memory file (``io.BytesIO``: an upload to
    the model server, decoded without touching the disk)."""
    import os

    if hasattr(source, "getbuffer"):
        return source.getbuffer().nbytes
    return os.path.getsize(source)


def _open(path: Any):
    """An opened (not yet decoded) Pillow image; SkipFile with the reason otherwise.

    ``path`` is a file path or an in-memory file (``io.BytesIO``)."""
    Image = _pil()

    try:
        if source_size(path) == 0:
            raise SkipFile("zero-byte file")
    except OSError as e:
        raise SkipFile(f"cannot be read ({e.strerror or e})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # damaged metadata Pillow skips
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as e:
        raise SkipFile(f"too large to decode safely ({e})") from None
    except Image.DecompressionBombWarning:
        raise SkipFile(f"too large to decode safely (over {MAX_PIXELS:,} pixels)") from None
    except Image.UnidentifiedImageError:
        raise SkipFile("not an image file (Pillow does not recognise its content)") from None
    except OSError as e:
        raise SkipFile(f"cannot be read ({e.strerror or e})") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        img.close()
        raise SkipFile(f"too large: {w:,} × {h:,} pixels (the limit is {MAX_PIXELS:,} "
                       "pixels; a decompression bomb?)")
    return img


def probe(path: str) -> tuple[int, int, bool]:
    """``(height, width, is_gray)`` from the file's header only (fast, nothing decoded)."""
    img = _open(path)
    try:
        w, h = img.size
        gray = img.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
        if img.mode == "P":
            with warnings.catch_warnings():  # getpalette loads: damaged metadata warns
                warnings.simplefilter("ignore", UserWarning)
                pal = img.getpalette() or []
            rgb = np.asarray(pal[: 3 * 256], np.int32).reshape(-1, 3)
            gray = bool(np.all(rgb[:, 0] == rgb[:, 1]) and np.all(rgb[:, 1] == rgb[:, 2]))
        return h, w, gray
    finally:
        img.close()


def default_size(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    """The most common ``(h, w)`` (ties: the first seen), scaled down so no side exceeds
    :data:`MAX_DEFAULT_SIDE` (aspect ratio kept, at least 4 pixels a side)."""
    if not sizes:
        return (32, 32)
    h, w = Counter(sizes).most_common(1)[0][0]
    f = min(1.0, MAX_DEFAULT_SIDE / max(h, w))
    return (max(4, round(h * f)), max(4, round(w * f)))


def choose_color(grays: list[bool]) -> str:
    return "gray" if grays and all(grays) else "rgb"


def decode_image(path: Any, size: tuple[int, int], color: str,
                 filter: str = "bilinear") -> np.ndarray:
    """Decode one image file to ``uint8 (C, H, W)`` (see the module docstring for the steps).

    Raises :class:`SkipFile` with a readable reason for an unusable file.
    """
    Image = _pil()
    from PIL import ImageOps

    img = opened = _open(path)  # ``img`` becomes converted copies; the file is ``opened``
    try:
        try:
            with warnings.catch_warnings():
                # Pillow warns of damaged metadata (corrupt EXIF) it then ignores: the pixels
                # are still read; an unreadable file raises below.
                warnings.simplefilter("ignore", UserWarning)
                img.seek(0)
                img.load()
                ImageOps.exif_transpose(img, in_place=True)  # no copy when nothing to turn
            img = _convert(img, color)
            h, w = size
            if img.size != (w, h):
                img = img.resize((w, h), getattr(Image.Resampling, filter.upper()))
            arr = np.asarray(img, dtype=np.uint8)
        except SkipFile:
            raise
        except (OSError, ValueError, SyntaxError, EOFError) as e:
            raise SkipFile(f"corrupt or truncated image ({e})") from None
        except Image.DecompressionBombError as e:
            raise SkipFile(f"too large to decode safely ({e})") from None
    finally:
        img.close()
        opened.close()
    if arr.ndim == 2:
        return arr[None]
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def _convert(img, color: str):
    """Pillow image in mode ``L`` (gray) or ``RGB``."""
    Image = _pil()
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        with np.errstate(invalid="ignore", over="ignore"):  # NaN is refused just below
            a = np.asarray(img, dtype=np.float64)
        if not np.all(np.isfinite(a)):  # a float TIFF can hold NaN or infinity
            raise SkipFile("holds non-finite pixel values (NaN or infinity)")
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        top = 65535.0 if a.max() > 255 else 255.0
        img = Image.fromarray(np.clip(a * (255.0 / top), 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "RGB" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba).convert("RGB")
    target = "L" if color == "gray" else "RGB"
    return img if img.mode == target else img.convert(target)
