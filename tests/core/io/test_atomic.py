"""Atomic writes: a failure mid-write leaves no partial file and the old file intact."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nnstudio.core.io import atomic
from nnstudio.core.io.atomic import atomic_dir, atomic_open, atomic_write_bytes, atomic_write_text


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_text_creates_and_replaces(tmp_path):
    p = tmp_path / "a.json"
    atomic_write_text(p, "one")
    assert p.read_text() == "one"
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    atomic_write_bytes(p, b"\x00\x01")
    assert p.read_bytes() == b"\x00\x01"
    assert _leftovers(tmp_path) == []


def test_error_inside_block_keeps_old_file(tmp_path):
    p = tmp_path / "a.json"
    p.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(p) as f:
        f.write("half of the new")
        raise RuntimeError("boom")
    assert p.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_failing_fsync_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "a.bin"
    p.write_bytes(b"old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(p, b"new" * 1000)
    assert p.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_failing_rename_leaves_no_new_file(tmp_path, monkeypatch):
    p = tmp_path / "new.txt"

    def broken_replace(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_text(p, "data")
    assert not p.exists()
    assert list(tmp_path.iterdir()) == []


def test_keyboard_interrupt_mid_write_cleans_up(tmp_path):
    p = tmp_path / "a.txt"
    with pytest.raises(KeyboardInterrupt), atomic_open(p) as f:
        f.write("x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_permissions_of_replaced_file_are_kept(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    os.chmod(p, 0o640)
    atomic_write_text(p, "new")
    assert p.stat().st_mode & 0o777 == 0o640


def test_atomic_dir_builds_and_replaces(tmp_path):
    d = tmp_path / "export"
    with atomic_dir(d) as tmp:
        (tmp / "a.txt").write_text("1")
        assert not d.exists()
    assert (d / "a.txt").read_text() == "1"
    with atomic_dir(d) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in d.iterdir()) == ["b.txt"]
    assert _leftovers(tmp_path) == []


def test_atomic_dir_failure_keeps_old_folder(tmp_path):
    d = tmp_path / "export"
    d.mkdir()
    (d / "old.txt").write_text("old")
    with pytest.raises(ValueError), atomic_dir(d) as tmp:
        (tmp / "new.txt").write_text("new")
        raise ValueError("failed half way")
    assert sorted(p.name for p in d.iterdir()) == ["old.txt"]
    assert _leftovers(tmp_path) == []


def test_atomic_dir_refuses_a_file(tmp_path):
    f = tmp_path / "export"
    f.write_text("a file")
    with pytest.raises(FileExistsError), atomic_dir(f):
        pass
    assert f.read_text() == "a file"


_WRITER = """
import sys, time
from nnstudio.core.io.atomic import atomic_open
with atomic_open(sys.argv[1], "wb") as f:
    f.write(b"x" * 100_000)
    f.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def _temporaries(folder, name):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


def test_temporary_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    import signal
    import subprocess
    import sys

    dest = tmp_path / "model.npz"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(dest)], stdout=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)  # no cleanup can run
    proc.wait()
    left = _temporaries(tmp_path, "model.npz")
    assert len(left) == 1 and f".{proc.pid}." in left[0]
    atomic_write_bytes(dest, b"new")
    assert _temporaries(tmp_path, "model.npz") == []
    assert dest.read_bytes() == b"new"


def test_temporaries_of_a_live_writer_or_of_other_files_are_kept(tmp_path):
    live = tmp_path / f".model.npz.{os.getppid()}.abcdefgh.tmp"  # our parent is alive
    other = tmp_path / ".model.npz.5.999.abcdefgh.tmp"  # the temporary of "model.npz.5"
    mine = tmp_path / "notes.txt"
    for p in (live, other, mine):
        p.write_text("x")
    atomic_write_text(tmp_path / "model.npz", "new")
    assert live.exists() and other.exists() and mine.exists()


def test_stale_temporary_folder_of_an_export_is_removed(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = int(proc.stdout)  # that process has exited
    stale = tmp_path / f".exp.{dead}.k2j4h5g6.tmp"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "weights.npz").write_bytes(b"half")
    with atomic_dir(tmp_path / "exp") as d:
        (d / "predict.py").write_text("print()")
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp"]
