"""Property-based robustness of the image and sound datasets (issue 14, point 4).

A folder of class folders (``imgs/``, ``snd/``) or a CSV of paths (``list.csv``) gets broken
files added or put in place of good ones (see :mod:`.media_strategies`), and a symbolic-link
loop now and then; ``nnstudio train|evaluate|predict`` then run on it. Invariant
(:mod:`.harness`): success, or exit 2 with one ``error:`` sentence — never ``internal error``,
a warning or a file left behind. A bad file is skipped with its reason (a ``note:`` line) or
refused in one sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import media_strategies as ms
from .fuzzrun import Workdir, report, run_and_check
from .media_seeds import examples, image_seeds, sound_seeds


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("media-seeds")
    image_seeds(folder)
    sound_seeds(folder)
    return folder


def _place(d: Path, root: str, draw, ext: str, content: bytes) -> Path:
    """Write ``content`` over a seed file, or as a new file in a class folder, a new class
    folder or the top folder."""
    where = draw(st.sampled_from(["replace", "replace", "class", "newclass", "top"]))
    if where == "replace":
        olds = sorted(p for p in (d / root).rglob("*") if p.is_file())
        p = draw(st.sampled_from(olds))
        p = p.with_suffix(ext)
        for old in p.parent.glob(p.stem + ".*"):
            old.unlink()
    elif where == "class":
        classes = sorted(c.name for c in (d / root).iterdir() if c.is_dir())
        p = d / root / draw(st.sampled_from(classes)) / f"new{ext}"
    elif where == "newclass":
        p = d / root / "other" / f"new{ext}"
    else:
        p = d / root / f"new{ext}"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(content)
    return p


def _links(d: Path, root: str, draw) -> None:
    """Symbolic links: a folder loop, a link to itself, to a device, dangling."""
    cls = d / root / sorted(c.name for c in (d / root).iterdir() if c.is_dir())[0]
    for kind in draw(st.lists(st.sampled_from(["loop", "self", "device", "dangling", "up"]),
                              max_size=2, unique=True)):
        if kind == "loop":
            (cls / "loop").symlink_to("..", target_is_directory=True)
        elif kind == "self":
            (cls / "self.png").symlink_to("self.png")
        elif kind == "device":
            (cls / "dev.wav" if root == "snd" else cls / "dev.png").symlink_to("/dev/zero")
        elif kind == "dangling":
            (cls / "gone.png").symlink_to("nosuch.png")
        else:
            (d / root / "up").symlink_to(d / root, target_is_directory=True)


def _set_options(project: Path, section: str, options: dict) -> None:
    d = json.loads(project.read_text())
    d["dataset"][section] = options
    project.write_text(json.dumps(d, allow_nan=True))


@settings(max_examples=examples(250))
@given(data=st.data())
def test_mutated_image_datasets(media_dir, data):
    command = data.draw(st.sampled_from(["train", "train-csv", "evaluate", "predict",
                                         "predict-csv", "predict-file"]), label="command")
    with Workdir(media_dir) as d:
        placed = [_place(d, "imgs", data.draw, *data.draw(ms.image_bytes(), label="image"))
                  for _ in range(data.draw(st.integers(0, 3)))]
        if data.draw(st.booleans(), label="links"):
            _links(d, "imgs", data.draw)
        if command.endswith("csv") and data.draw(st.booleans(), label="csv"):
            (d / "list.csv").write_bytes(data.draw(ms.path_csv(
                (media_dir / "list.csv").read_text())))
        if command.startswith("train") and data.draw(st.integers(0, 3), label="opts") == 0:
            name = "pimg.nnsproj" if command == "train" else "pcsv.nnsproj"
            _set_options(d / name, "images", data.draw(ms.IMAGE_OPTIONS, label="images"))
        if command == "train":
            run_and_check(d, "images/train", "train", "pimg.nnsproj", "--out", "o.npz",
                          "--quiet", outputs=["o.npz"])
        elif command == "train-csv":
            run_and_check(d, "images/train-csv", "train", "pcsv.nnsproj", "--out", "o.npz",
                          "--quiet", outputs=["o.npz"])
        elif command == "evaluate":
            run_and_check(d, "images/evaluate", "evaluate", "img.npz", "--data", "imgs")
        else:
            src = {"predict": "imgs", "predict-csv": "list.csv",
                   "predict-file": placed[0] if placed else "imgs/dark/0.png"}[command]
            run_and_check(d, f"images/{command}", "predict", "img.npz", "--data", src,
                          "--out", "o.csv", outputs=["o.csv"])


@settings(max_examples=examples(200))
@given(data=st.data())
def test_mutated_sound_datasets(media_dir, data):
    command = data.draw(st.sampled_from(["train", "evaluate", "predict", "predict-file"]),
                        label="command")
    with Workdir(media_dir) as d:
        placed = [_place(d, "snd", data.draw, *data.draw(ms.sound_bytes(), label="sound"))
                  for _ in range(data.draw(st.integers(1, 3)))]
        if data.draw(st.integers(0, 4), label="links") == 0:
            _links(d, "snd", data.draw)
        if command == "train" and data.draw(st.integers(0, 2), label="opts") == 0:
            _set_options(d / "psnd.nnsproj", "sound", data.draw(ms.SOUND_OPTIONS, label="sound"))
        if command == "train":
            run_and_check(d, "sound/train", "train", "psnd.nnsproj", "--out", "o.npz",
                          "--quiet", outputs=["o.npz"])
        elif command == "evaluate":
            run_and_check(d, "sound/evaluate", "evaluate", "snd.npz", "--data", "snd")
        else:
            src = "snd" if command == "predict" else placed[0]
            run_and_check(d, f"sound/{command}", "predict", "snd.npz", "--data", src,
                          "--out", "o.csv", outputs=["o.csv"])


def test_report_media_counts():
    """Not a check: prints how many commands the property tests ran, by outcome (``-s``)."""
    report("image and sound datasets", ("images/", "sound/"))
