"""Image files → uint8 arrays, class folders and CSVs of paths, bad files, the cache."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.data.image_cache import DecodeCancelled
from nnstudio.core.data.images import SkipFile, decode_image, default_size
from nnstudio.core.errors import DataError


def save(path: Path, arr: np.ndarray, mode: str | None = None, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, mode).save(path, **kw)
    return path


def shapes(root: Path, n: int = 6, size: int = 16, seed: int = 0) -> None:
    """Two classes a network can tell apart: bright squares and dark squares."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        save(root / "bright" / f"{i}.png", rng.integers(150, 256, (size, size), dtype=np.uint8))
        save(root / "dark" / f"{i}.png", rng.integers(0, 100, (size, size), dtype=np.uint8))


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A tiny PNG whose header claims ``width × height`` (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


# -- decoding ---------------------------------------------------------------------------------

def test_colour_conversions_and_resize(tmp_path):
    rgb = np.zeros((10, 20, 3), np.uint8)
    rgb[..., 0] = 200
    p = save(tmp_path / "rgb.png", rgb)
    a = decode_image(str(p), (10, 20), "rgb")
    assert a.shape == (3, 10, 20) and a.dtype == np.uint8
    assert (a[0] == 200).all() and (a[1:] == 0).all()
    g = decode_image(str(p), (5, 10), "gray")
    assert g.shape == (1, 5, 10)
    assert abs(int(g[0, 2, 5]) - round(0.299 * 200)) <= 1  # ITU-R 601-2 luma
    # Transparent pixels are composited over white, not black.
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[:2, :, :] = (0, 0, 255, 255)
    q = save(tmp_path / "rgba.png", rgba)
    b = decode_image(str(q), (4, 4), "rgb")
    assert (b[:, 2:] == 255).all() and (b[2, :2] == 255).all() and (b[0, :2] == 0).all()
    # A palette GIF and a 16-bit grayscale PNG.
    pal = Image.fromarray(rgb).convert("P")
    pal.save(tmp_path / "p.gif")
    assert decode_image(str(tmp_path / "p.gif"), (10, 20), "rgb").shape == (3, 10, 20)
    deep = (np.arange(16 * 16).reshape(16, 16) * 256).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    d = decode_image(str(tmp_path / "deep.png"), (16, 16), "gray")
    assert d.max() > 200 and d.min() == 0


@pytest.mark.parametrize("ext", ["jpg", "bmp", "tiff", "webp"])
def test_other_formats(tmp_path, ext):
    arr = np.full((8, 8, 3), 128, np.uint8)
    p = save(tmp_path / f"x.{ext}", arr)
    a = decode_image(str(p), (8, 8), "rgb")
    assert abs(a.astype(int) - 128).max() <= 3


def test_bad_files_are_skipped_with_the_reason(tmp_path):
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image at all")
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    good = save(tmp_path / "good.png", noise)
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[:2000])
    bomb = png_claiming(tmp_path / "bomb.png", 20000, 20000)
    cases = {"zero.png": "zero-byte", "text.png": "not an image", "cut.png": "truncated",
             bomb.name: "too large"}
    for name, fragment in cases.items():
        with pytest.raises(SkipFile, match=fragment):
            decode_image(str(tmp_path / name), (8, 8), "gray")


def test_default_size_is_the_most_common_capped():
    assert default_size([(28, 28)] * 3 + [(32, 32)]) == (28, 28)
    assert default_size([(1000, 500)] * 2) == (128, 64)


# -- datasets ---------------------------------------------------------------------------------

def test_class_folders_build_lazy_splits(tmp_path):
    shapes(tmp_path / "d", n=10)
    p = build_dataset(DatasetSpec(source=str(tmp_path / "d")))
    assert p.class_names == ["bright", "dark"]
    assert p.input_shape == (1, 16, 16)
    assert p.counts["train"] + p.counts["validation"] + p.counts["test"] == 20
    x = np.asarray(p.x_train)
    assert x.dtype == np.float32 and x.shape == (p.counts["train"], 1, 16, 16)
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1) < 0.05  # standard scaling
    np.testing.assert_array_equal(p.x_train[2:5], x[2:5])
    assert p.preparation.to_dict()["media"] == {"kind": "image", "size": [16, 16],
                                                "color": "gray", "filter": "bilinear"}


def test_bad_files_in_a_folder_are_reported_not_fatal(tmp_path):
    root = tmp_path / "d"
    shapes(root, n=5)
    (root / "dark" / "zero.png").write_bytes(b"")
    (root / "dark" / "notes.png").write_text("hello")
    png_claiming(root / "bright" / "huge.png", 20000, 20000)
    (root / "empty").mkdir()
    os.symlink(root / "bright", root / "bright" / "loop")  # a symlink loop
    p = build_dataset(DatasetSpec(source=str(root)))
    reasons = {Path(s.path).name: s.reason for s in p.media["skipped"]}
    assert "zero-byte" in reasons["zero.png"]
    assert "not an image" in reasons["notes.png"]
    assert "too large" in reasons["huge.png"]
    assert "empty class folder" in reasons["empty"]
    assert "symlink loop" in reasons["loop"]
    assert p.class_names == ["bright", "dark"]
    assert sum(p.counts[s] for s in ("train", "validation", "test")) == 10


def test_folders_that_cannot_work_are_one_clear_error(tmp_path):
    shapes(tmp_path / "one", n=3)
    import shutil

    shutil.rmtree(tmp_path / "one" / "dark")
    with pytest.raises(DataError, match=r"only one class folder.*'bright'"):
        build_dataset(DatasetSpec(source=str(tmp_path / "one")))
    (tmp_path / "flat").mkdir()
    save(tmp_path / "flat" / "a.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(DataError, match="no class folders"):
        build_dataset(DatasetSpec(source=str(tmp_path / "flat"), images={}))
    bad = tmp_path / "bad"
    for c in ("a", "b"):
        (bad / c).mkdir(parents=True)
        (bad / c / "x.png").write_text("text")
    with pytest.raises(DataError, match="none of its 2 files could be read"):
        build_dataset(DatasetSpec(source=str(bad)))


def test_csv_of_paths_with_labels_and_regression(tmp_path):
    rng = np.random.default_rng(1)
    rows = ["path,label,brightness"]
    for i in range(30):
        level = int(rng.integers(0, 256))
        save(tmp_path / "imgs" / f"{i}.png", np.full((8, 8), level, np.uint8))
        rows.append(f"imgs/{i}.png,{'light' if level > 127 else 'dark'},{level}")
    rows.append("imgs/missing.png,dark,3")
    rows.append("/nonexistent/outside.png,dark,4")
    csv = tmp_path / "list.csv"
    csv.write_text("\n".join(rows) + "\n")
    p = build_dataset(DatasetSpec(source=str(csv), target="label", images={}))
    assert p.class_names == ["dark", "light"]
    reasons = [s.reason for s in p.media["skipped"]]
    assert sum("file not found" in r for r in reasons) == 2
    assert any("row 32" in r for r in reasons)
    r = build_dataset(DatasetSpec(source=str(csv), target="brightness", images={}))
    assert r.task == "regression" and r.y_train.shape[1] == 1
    # The stored target statistics undo the standardization.
    back = r.preparation.decode_target(r.y_train)[:, 0]
    px = np.asarray(r.preparation.media and r.x_train)[:, 0, 0, 0]
    px = px * r.preparation.array["divisor"] + r.preparation.array["offset"]
    np.testing.assert_allclose(back, px, atol=1e-3)
    with pytest.raises(DataError, match="no target column 'nope'"):
        build_dataset(DatasetSpec(source=str(csv), target="nope", images={}))


def test_cache_is_reused_and_a_changed_file_decoded_again(tmp_path):
    root = tmp_path / "d"
    shapes(root, n=4)
    first = build_dataset(DatasetSpec(source=str(root)))
    assert first.media["decoded_now"] == 8
    again = build_dataset(DatasetSpec(source=str(root)))
    assert again.media["decoded_now"] == 0
    np.testing.assert_array_equal(np.asarray(first.media["raw"]), np.asarray(again.media["raw"]))
    target = root / "dark" / "0.png"
    save(target, np.full((16, 16), 7, np.uint8))
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    changed = build_dataset(DatasetSpec(source=str(root)))
    assert changed.media["decoded_now"] == 1
    row = changed.media["files"].index(str(target))
    assert (np.asarray(changed.media["raw"][row]) == 7).all()


def test_cancelled_decoding_leaves_no_cache(tmp_path):
    root = tmp_path / "d"
    shapes(root, n=20)
    with pytest.raises(DecodeCancelled):
        build_dataset(DatasetSpec(source=str(root)), cancelled=lambda: True)
    p = build_dataset(DatasetSpec(source=str(root)))
    assert p.media["decoded_now"] == 40


def test_spec_options_round_trip_and_are_checked(tmp_path):
    d = {"source": "imgs", "images": {"size": [32, 48], "color": "rgb", "filter": "lanczos"},
         "augment": {"flip": True, "rotate": 10, "seed": 3}}
    spec = DatasetSpec.from_dict(d, tmp_path)
    back = spec.to_dict(tmp_path)
    assert back["images"] == d["images"] and back["augment"] == d["augment"]
    for bad, where in (({"size": [2, 2]}, "images.size"), ({"color": "cmyk"}, "images.color"),
                       ({"zoom": 1}, "unknown field")):
        with pytest.raises(DataError, match=where):
            DatasetSpec.from_dict({"source": "x", "images": bad}, tmp_path)
    with pytest.raises(DataError, match=r"augment\.rotate"):
        DatasetSpec.from_dict({"source": "x", "augment": {"rotate": 400}}, tmp_path)


def test_exif_orientation_is_applied(tmp_path):
    a = np.zeros((10, 20), np.uint8)
    a[:, :5] = 255  # a bright left edge, stored sideways by a "camera"
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    im.save(tmp_path / "side.jpg", exif=exif, quality=100)
    d = decode_image(str(tmp_path / "side.jpg"), (20, 10), "gray")
    assert d.shape == (1, 20, 10)
    assert d[0, :4].mean() > 240 and d[0, -4:].mean() < 15  # the edge is now on top
