"""Hypothesis strategies for the media and text readers (issue 14, point 4).

Images: encoded files (PNG, JPEG, BMP, GIF, TIFF, WebP) in odd modes (palette, 16-bit, CMYK,
LA, 1-bit, float, RGBA), cut or with bytes flipped, zero bytes, text named ``.png``, headers
claiming huge dimensions (decompression bombs), extreme aspect ratios; CSVs of paths with
missing, empty, outside, absolute, ``~user``, NUL-holding or folder paths; symbolic-link loops.
Sound: WAV/FLAC/OGG cut, flipped, with a sample rate of 0 or 4 GHz, no frames, a data size
of 4 GB, eight channels, NaN samples, or text named ``.wav``. Text: cells of random Unicode
(lone surrogates, NUL, right-to-left marks), 100 kB cells, empty columns; corpora of invalid
UTF-8, one repeated character or a few bytes.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from hypothesis import strategies as st

from .strategies import mutated_bytes

# -- images ------------------------------------------------------------------------------------

#: (Pillow mode, file format) pairs Pillow writes: the odd modes a reader meets.
IMAGE_KINDS = [("L", "PNG"), ("RGB", "JPEG"), ("L", "BMP"), ("P", "GIF"), ("P", "PNG"),
               ("I;16", "PNG"), ("CMYK", "JPEG"), ("LA", "PNG"), ("1", "PNG"), ("RGBA", "PNG"),
               ("F", "TIFF"), ("I", "TIFF"), ("CMYK", "TIFF"), ("RGB", "WEBP"), ("1", "BMP"),
               ("P", "BMP"), ("RGBA", "GIF"), ("YCbCr", "JPEG"), ("LAB", "TIFF")]
IMAGE_EXT = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "GIF": ".gif", "TIFF": ".tif",
             "WEBP": ".webp"}


def encode_image(mode: str, fmt: str, h: int, w: int, seed: int, frames: int = 1) -> bytes:
    """An image of random pixels in ``mode``, encoded as ``fmt``."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    if mode in ("I;16", "I", "F"):
        dtype = {"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode]
        arr = rng.integers(0, 65535, (h, w)).astype(dtype)
        if mode == "F" and seed % 3 == 0:
            arr.flat[0] = np.nan  # NaN pixels in a float TIFF
        im = Image.fromarray(arr)  # uint16 → I;16, int32 → I, float32 → F
    else:
        im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")
        im = im.convert(mode)
    buf = io.BytesIO()
    if frames > 1 and fmt == "GIF":
        im.save(buf, fmt, save_all=True, append_images=[im.rotate(90)] * (frames - 1))
    else:
        im.save(buf, fmt)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_claiming(width: int, height: int, depth: int = 8, color: int = 0) -> bytes:
    """A tiny PNG whose header claims ``width × height`` pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _chunk(b"IEND", b""))


def bmp_claiming(width: int, height: int) -> bytes:
    """A BMP header claiming ``width × height`` 8-bit pixels, with 16 bytes of data."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 16, 0, 0, 54) + info + b"\x80" * 16


def gif_claiming(width: int, height: int) -> bytes:
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
            + b",\x00\x00\x00\x00" + struct.pack("<HH", width, height) + b"\x00\x02\x02D\x01\x00;")


@st.composite
def image_bytes(draw) -> tuple[str, bytes]:
    """``(extension, content)`` of one image file, valid or broken."""
    kind = draw(st.sampled_from(["valid", "valid", "damaged", "damaged", "zero", "text",
                                 "bomb", "tiny", "aspect", "animated"]))
    mode, fmt = draw(st.sampled_from(IMAGE_KINDS))
    ext = IMAGE_EXT[fmt]
    seed = draw(st.integers(0, 1000))
    if kind == "valid":
        return ext, encode_image(mode, fmt, draw(st.integers(1, 12)), draw(st.integers(1, 12)),
                                 seed)
    if kind == "damaged":
        return ext, draw(mutated_bytes(encode_image(mode, fmt, 8, 8, seed)))
    if kind == "zero":
        return draw(st.sampled_from([".png", ".jpg", ".gif"])), b""
    if kind == "text":
        return draw(st.sampled_from([".png", ".jpeg", ".bmp"])), draw(st.sampled_from(
            [b"not an image\n", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM", b"\xff\xd8\xff",
             b"II*\x00", b"RIFF\x00\x00\x00\x00WEBP"]))
    if kind == "bomb":
        w, h = draw(st.sampled_from([(2**31 - 1, 2**31 - 1), (100_000, 100_000), (1, 2**30),
                                     (0, 0), (0, 5), (65535, 65535)]))
        which = draw(st.sampled_from(["png", "bmp", "gif"]))
        if which == "png":
            return ".png", png_claiming(w, h, *draw(st.sampled_from([(8, 0), (16, 2),
                                                                     (1, 0), (8, 3)])))
        if which == "bmp":
            return ".bmp", bmp_claiming(min(w, 2**31 - 1), draw(st.sampled_from([h, -h])))
        return ".gif", gif_claiming(min(w, 65535), min(h, 65535))
    if kind == "tiny":
        return ext, encode_image(mode, fmt, 1, 1, seed)
    if kind == "aspect":
        h, w = draw(st.sampled_from([(1, 3000), (3000, 1), (2, 1500)]))
        return ".png", encode_image("L", "PNG", h, w, seed)
    return ".gif", encode_image("P", "GIF", 8, 8, seed, frames=draw(st.integers(2, 4)))


#: Path cells of a CSV of image paths: missing files, folders, outside, absolute, odd text.
BAD_PATHS = ["", "nosuch.png", "imgs", "imgs/dark", "../outside.png", "/etc/passwd",
             "/dev/zero", "/", "~nosuchuser/a.png", "~/nosuch.png", "a\x00b.png",
             "imgs//dark/0.png",
             "imgs/dark/0.png/", "x" * 300 + ".png", "é✓名.png", "\ud800.png", " imgs/dark/0.png",
             "file:///etc/passwd", "C:\\x\\0.png", "imgs/loop/loop/0.png", "nan", "1e400"]


@st.composite
def path_csv(draw, seed_text: str) -> bytes:
    """The seed CSV of paths with cells replaced (bad paths, labels) and rows cut."""
    rows = [r.split(",") for r in seed_text.splitlines()]
    for _ in range(draw(st.integers(1, 4))):
        if len(rows) < 2:
            break
        i = draw(st.integers(1, len(rows) - 1))
        op = draw(st.sampled_from(["path", "path", "label", "drop", "header", "cut"]))
        if op == "path":
            rows[i][0] = draw(st.sampled_from(BAD_PATHS) | st.text(max_size=8))
        elif op == "label":
            rows[i][1:] = [draw(st.sampled_from(["", "nan", "1e400", "\x00", "dark", "bright",
                                               "3", "-1"]) | st.text(max_size=4))]
        elif op == "drop":
            rows[i] = rows[i][:1]
        elif op == "header":
            rows[0] = [draw(st.sampled_from(["file", "label", "", "x"])) for _ in rows[0]]
        elif len(rows) > 2:
            del rows[i:]
    text = "\n".join(",".join(r) for r in rows) + "\n"
    return text.encode("utf-8", "surrogatepass")


# -- sound -------------------------------------------------------------------------------------

SOUND_KINDS = [("WAV", "PCM_16", ".wav"), ("WAV", "FLOAT", ".wav"), ("WAV", "PCM_U8", ".wav"),
               ("FLAC", "PCM_16", ".flac"), ("OGG", "VORBIS", ".ogg"), ("WAV", "DOUBLE", ".wav"),
               ("WAV", "ULAW", ".wav")]


def encode_sound(fmt: str, subtype: str, rate: int, frames: int, channels: int, seed: int,
                 nan: bool = False) -> bytes:
    import soundfile as sf

    rng = np.random.default_rng(seed)
    x = 0.3 * rng.standard_normal((frames, channels))
    if nan and frames:
        x[frames // 2, 0] = np.nan
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def _wav_with(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@st.composite
def sound_bytes(draw) -> tuple[str, bytes]:
    """``(extension, content)`` of one recording, valid or broken."""
    kind = draw(st.sampled_from(["valid", "damaged", "damaged", "zero", "text", "rate",
                                 "frames0", "huge", "odd"]))
    fmt, subtype, ext = draw(st.sampled_from(SOUND_KINDS))
    seed = draw(st.integers(0, 1000))
    if kind == "valid":
        return ext, encode_sound(fmt, subtype, draw(st.sampled_from([8000, 11025, 44100])),
                                 draw(st.integers(1, 3000)), draw(st.integers(1, 2)), seed)
    if kind == "damaged":
        data = encode_sound(fmt, subtype, 8000, 1000, 1, seed)
        return ext, draw(mutated_bytes(data))
    if kind == "zero":
        return ext, b""
    if kind == "text":
        return ".wav", draw(st.sampled_from([b"RIFF? no, just text", b"RIFF", b"fLaC",
                                             b"OggS", b"RIFF\xff\xff\xff\xffWAVEfmt "]))
    if kind == "frames0":
        return ext, encode_sound("WAV" if ext == ".wav" else fmt, subtype if ext != ".ogg"
                                 else "VORBIS", 8000, 0, 1, seed)
    wav = encode_sound("WAV", "PCM_16", 8000, 800, 1, seed)
    if kind == "rate":  # the fmt chunk's sample rate (offset 24) and byte rate (28)
        rate = draw(st.sampled_from([0, 1, 3, 2**31 - 1, 2**32 - 1, 384000]))
        return ".wav", _wav_with(_wav_with(wav, 24, "<I", rate), 28, "<I", rate * 2 % 2**32)
    if kind == "huge":  # RIFF size (4) and data size (40) of 4 GB
        wav = _wav_with(wav, 40, "<I", draw(st.sampled_from([2**32 - 1, 2**31, 0])))
        return ".wav", _wav_with(wav, 4, "<I", 2**32 - 1) if draw(st.booleans()) else wav
    channels = draw(st.sampled_from([8, 64]))
    return ".wav", encode_sound("WAV", "PCM_16", 8000, 200, channels, seed,
                                nan=draw(st.booleans()))


@st.composite
def float_nan_wav(draw) -> bytes:
    return encode_sound("WAV", "FLOAT", 8000, 400, 1, draw(st.integers(0, 9)), nan=True)


# -- text --------------------------------------------------------------------------------------

NASTY_TEXT_CELLS = ["", " ", "\x00", "\u202e\u05d0\u05d1 abc", "\ud800", "\udfff x", "é✓名",
                    "\ufeff", "a" * 100_000, "word " * 20_000, "\r", "\u2028", "🙂" * 50,
                    "\x1b[31m", "NaN", "1e400", "\t", "\\", "\u0000\u0000"]


def text_cell() -> st.SearchStrategy:
    return st.one_of(st.sampled_from(NASTY_TEXT_CELLS), st.text(max_size=30),
                     st.text(st.characters(codec="utf-8"), max_size=10))


@st.composite
def text_csv(draw, seed_text: str) -> bytes:
    """The seed CSV (a text column and a label) with text cells replaced, a column emptied,
    rows dropped, or invalid UTF-8; quoted as a CSV writer does."""
    import csv

    rows = list(csv.reader(io.StringIO(seed_text)))
    for _ in range(draw(st.integers(1, 4))):
        if len(rows) < 2:
            break
        i = draw(st.integers(1, len(rows) - 1))
        op = draw(st.sampled_from(["cell", "cell", "cell", "column", "label", "rows"]))
        if op == "cell":
            rows[i][0] = draw(text_cell())
        elif op == "column":
            j = draw(st.integers(0, len(rows[0]) - 1))
            for r in rows[1:]:
                if j < len(r):
                    r[j] = ""
        elif op == "label":
            rows[i][-1] = draw(text_cell())
        elif len(rows) > 3:
            del rows[draw(st.integers(1, len(rows) - 2)):]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    data = buf.getvalue().encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        data = draw(mutated_bytes(data))
    return data


#: ``dataset.text`` settings: valid and not.
TEXT_OPTIONS = st.fixed_dictionaries({}, optional={
    "encoding": st.sampled_from(["bag", "tfidf", "sequence", "counts", "", None, 3]),
    "tokens": st.sampled_from(["word", "char", "byte", "bpe", None]),
    "max_size": st.sampled_from([1, 2, 50, 0, -1, 10**12, 2.5, "10", None]),
    "min_count": st.sampled_from([1, 2, 0, 10**9, -3, 1.5]),
    "length": st.sampled_from([1, 4, 16, 0, -2, 10**9, 1e400, "8"]),
    "lowercase": st.sampled_from([True, False, "no", 1]),
})


@st.composite
def corpus_bytes(draw, seed_text: str) -> bytes:
    kind = draw(st.sampled_from(["mutated", "invalid", "tiny", "repeat", "unicode", "empty"]))
    if kind == "mutated":
        return draw(mutated_bytes(seed_text.encode("utf-8")))
    if kind == "invalid":
        return seed_text.encode("utf-8")[:200] + draw(st.sampled_from(
            [b"\xe9", b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + b" more text"
    if kind == "tiny":
        return draw(st.binary(max_size=12))
    if kind == "repeat":
        return draw(st.sampled_from(["a", " ", "\n", "é", "\x00"])).encode() * \
            draw(st.integers(1, 500))
    if kind == "unicode":
        return draw(st.text(min_size=1, max_size=400)).encode("utf-8", "surrogatepass")
    return b""


# -- dataset options ---------------------------------------------------------------------------

_ODD = st.sampled_from([None, "", "x", -1, 0, 2.5, 1e400, float("nan"), True, [], {}, 2**63])

#: ``dataset.images`` settings: valid and not. (Sizes stay small: the network's input is
#: 8×8, so most valid draws then stop at the shape check, as a user's edit would.)
IMAGE_OPTIONS = st.fixed_dictionaries({}, optional={
    "size": st.sampled_from([[8, 8], [4, 4], [3, 3], [8], [8, 8, 8], [1025, 8], [8.0, 8],
                             "8x8", None]) | _ODD,
    "color": st.sampled_from(["auto", "gray", "rgb", "RGB", "cmyk"]) | _ODD,
    "filter": st.sampled_from(["bilinear", "nearest", "bicubic", "lanczos", "box",
                               "hamming", "BILINEAR"]) | _ODD,
    "path_column": st.sampled_from(["file", "label", "nosuch"]) | _ODD,
    "augment": _ODD,
})

#: ``dataset.sound`` settings around the seed's (8 kHz, 0.25 s, 16 mels).
SOUND_OPTIONS = st.fixed_dictionaries({
    "rate": st.sampled_from([8000] * 4 + [16000, 1000, 192000, 999, 8000.0, "8000"]) | _ODD,
    "duration": st.sampled_from([0.25] * 4 + [0.05, 0.01, 60, 61, "1"]) | _ODD,
    "mels": st.sampled_from([16] * 4 + [4, 3, 256, 257, 16.0]) | _ODD,
}, optional={
    "window_ms": st.sampled_from([25, 1, 1000, 0.5, 1001]) | _ODD,
    "hop_ms": st.sampled_from([10, 0.5, 25, 30, 0.1]) | _ODD,
    "fmin": st.sampled_from([0, 20, 3999, 4000, -1]) | _ODD,
    "fmax": st.sampled_from([None, 4000, 100, 20, 8000]) | _ODD,
    "layout": st.sampled_from(["image", "sequence", "cube"]) | _ODD,
    "max_seconds": st.sampled_from([60, 0.1, 1e9, 0]) | _ODD,
})
