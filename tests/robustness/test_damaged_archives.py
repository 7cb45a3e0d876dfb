"""Compressed ``.npz`` archives damaged inside an entry (a broken deflate stream, a garbled
``.npy`` header, a bad checksum) — what the structural checks of the archive cannot see.

Data arrays are often saved with ``np.savez_compressed``; a bit flip or a cut download then
surfaces only while an entry is decompressed, as ``zlib.error`` or a ``TokenError`` from
NumPy's header parser. Every reader must turn that into one ``error:`` naming the file.
"""

from __future__ import annotations

import gc
import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.data.npz import load_npz, npz_keys
from nnstudio.core.errors import DataError, ProjectError
from nnstudio.core.io.project import read_npz

from .harness import check_invariant, files_in, run_cli

#: Where the 40 damaged bytes go, as fractions of the file: the first entry's header and
#: deflate stream, the middle of the data, the last entry, the central directory.
PLACES = (0.004, 0.01, 0.02, 0.05, 0.2, 0.5, 0.8, 0.97)


def damage(src: Path, dest: Path, where: float) -> None:
    data = bytearray(src.read_bytes())
    at = min(int(len(data) * where), len(data) - 41)
    data[at:at + 40] = b"\x07" * 40
    dest.write_bytes(bytes(data))


@pytest.fixture
def compressed(tmp_path) -> Path:
    rng = np.random.default_rng(3)
    path = tmp_path / "clean.npz"
    np.savez_compressed(path, x=rng.normal(size=(400, 4, 4)).astype(np.float32),
                        y=rng.integers(0, 3, 400))
    return path


@pytest.mark.parametrize("where", PLACES)
def test_readers_name_the_damaged_file(compressed, tmp_path, where):
    bad = tmp_path / "bad.npz"
    damage(compressed, bad, where)
    for read, error in ((lambda: load_npz(bad), DataError), (lambda: npz_keys(bad), DataError),
                        (lambda: read_npz(bad, "the weights"), ProjectError)):
        try:
            read()
        except error as e:
            assert str(bad) in str(e) and "Traceback" not in str(e)
            assert "TokenError" not in str(e) and "('EOF" not in str(e)


def test_damage_in_an_entry_is_reported_as_damage(compressed, tmp_path):
    """The places above do reach the entries: the readers refuse them, saying why."""
    said = []
    for where in PLACES[:4]:
        bad = tmp_path / f"bad{where}.npz"
        damage(compressed, bad, where)
        with pytest.raises(DataError) as e:
            load_npz(bad)
        said.append(str(e.value))
        with pytest.raises(ProjectError, match="damaged"):
            read_npz(bad, "the weights")
    assert all("damaged" in s for s in said), said
    assert any("header is garbled" in s for s in said) or any("decompressing" in s
                                                              for s in said), said


def test_a_damaged_archive_is_closed_after_the_error(compressed, tmp_path):
    """np.load leaves a zip it cannot open open until collected; read_npz owns the file."""
    data = bytearray(compressed.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the central directory's last entry
    data[central + 4:central + 30] = b"\xff" * 26
    bad = tmp_path / "bad_directory.npz"
    bad.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ProjectError, match=str(bad)):
            read_npz(bad, "the weights")
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.parametrize("where", PLACES)
def test_training_on_damaged_compressed_data_gives_one_error(seed_dir, work, where):
    clean = work / "clean.npz"
    with np.load(seed_dir / "img.npz", allow_pickle=False) as z:
        np.savez_compressed(clean, x=z["x"], y=z["y"])
    damage(clean, work / "img.npz", where)
    project = json.loads((seed_dir / "pi.nnsproj").read_text())
    before = files_in(work)
    out = run_cli("train", "pi.nnsproj", "--epochs", "1", "--out", "m.npz")
    check_invariant(out, [work / "m.npz"], work, before | {"m.npz"})
    assert project["dataset"]["source"] == "img.npz"
    if out.code == 2:
        assert "img.npz" in out.err
