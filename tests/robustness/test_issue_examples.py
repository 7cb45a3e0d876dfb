"""Every example of issue 14, reproduced: each ends in one ``error:`` sentence naming the
problem and its place (exit 2) or a clean success — never ``internal error``, a warning or an
output file left behind. The property-based suite (``test_fuzz_cli.py``) searches for more."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from .harness import check_invariant, files_in, run_cli


def _edit_project(path: Path, change) -> Path:
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))
    return path


def _append_field(path: Path, name: str, raw_json: str) -> Path:
    text = path.read_text().rstrip()
    path.write_text(text[:-1] + f', "{name}": {raw_json}}}')
    return path


def _model_entries(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _edit_model(src: Path, dest: Path, change) -> Path:
    entries = _model_entries(src)
    change(entries)
    with open(dest, "wb") as f:
        np.savez(f, **entries)
    return dest


def _edit_json_entry(key: str, change):
    def edit(entries):
        text = str(entries[key])
        entries[key] = np.array(change(text))
    return edit


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _with_shape(raw: bytes, old: str, new: str) -> bytes:
    """An .npy whose header declares another shape (same header length)."""
    hlen = struct.unpack("<H", raw[8:10])[0]
    header = raw[10:10 + hlen].decode("latin-1").replace(old, new).rstrip()
    header = header + " " * (hlen - 1 - len(header)) + "\n"
    return raw[:10] + header.encode("latin-1") + raw[10 + hlen:]


def run_checked(work: Path, *argv, outputs=()) -> tuple:
    before = files_in(work)
    outcome = run_cli(*argv)
    check_invariant(outcome, [work / o for o in outputs], work, before)
    return outcome


def error_of(work: Path, *argv, outputs=("o.npz",)) -> str:
    outcome = run_checked(work, *argv, outputs=outputs)
    assert outcome.code == 2, outcome.describe()
    return next(ln for ln in outcome.err.splitlines() if ln.startswith("error: "))


# -- JSON: depth, digits, surrogates --------------------------------------------------------


def test_model_entry_nested_100000_deep(work):
    m = _edit_model(work / "p.npz", work / "deep.npz",
                    lambda e: e.__setitem__("preparation", np.array("[" * 100_000 + "]" * 100_000)))
    err = error_of(work, "evaluate", m, "--data", "d.csv")
    assert "deep.npz" in err and "'preparation'" in err and "nested more than 100" in err


@pytest.mark.parametrize("field", ["gui", "x_mine"])
def test_project_field_nested_700_deep(work, field):
    _append_field(work / "p.nnsproj", field, "[" * 700 + "]" * 700)
    err = error_of(work, "train", work / "p.nnsproj", "--out", work / "o.npz")
    assert "p.nnsproj" in err and "nested more than 100 levels deep at line " in err


def test_project_with_a_5000_digit_integer(work):
    _append_field(work / "p.nnsproj", "x_n", "9" * 5000)
    err = error_of(work, "train", work / "p.nnsproj", "--out", work / "o.npz")
    assert "integer of 5,000 digits" in err


def test_node_id_that_is_a_lone_surrogate(work):
    text = (work / "p.nnsproj").read_text().replace('"id": "h"', '"id": "\\ud800"', 1)
    (work / "p.nnsproj").write_text(text)
    err = error_of(work, "train", work / "p.nnsproj", "--out", work / "o.npz")
    assert "lone UTF-16 surrogate" in err and "network.nodes[1].id" in err


# -- model file entries -------------------------------------------------------------------


def test_model_with_a_non_array_entry(work):
    m = work / "readme.npz"
    m.write_bytes((work / "p.npz").read_bytes())
    with zipfile.ZipFile(m, "a") as z:
        z.writestr("readme.txt", "hello")
    err = error_of(work, "evaluate", m, "--data", "d.csv")
    assert "'readme.txt' that is not a NumPy array" in err


def test_model_entry_declaring_600_million_floats(work):
    m = work / "huge.npz"
    entries = _model_entries(work / "p.npz")
    with zipfile.ZipFile(m, "w") as z:
        for k, v in entries.items():
            raw = _npy_bytes(v)
            if k == "h/b":  # (4,) float32 → declared (600000000,)
                raw = _with_shape(raw, "(4,)", "(600000000,)")
            z.writestr(k + ".npy", raw)
    err = error_of(work, "evaluate", m, "--data", "d.csv")
    assert "'h/b' declares 600,000,000 float32 values (2.4 GB)" in err


def test_project_given_where_a_model_is_needed(work):
    err = error_of(work, "evaluate", "p.nnsproj", "--data", "d.csv")
    assert "project file, not a model file" in err and "nnstudio train" in err
    assert "pickle" not in err


# -- dataset fields: strict types ----------------------------------------------------------


@pytest.mark.parametrize("field,value,expected", [
    ("header", "no", "dataset.header: must be true or false (got 'no')"),
    ("ignore", "abc", "dataset.ignore: must be a list of column names (got 'abc')"),
    ("encoding", 5, "dataset.encoding: must be text (got 5)"),
    ("encoding", "bogus", "dataset.encoding: unknown text encoding 'bogus'"),
    ("source", "~nosuchuser/d.csv", "'~nosuchuser' names no user's home folder"),
    ("source", "a" * 5000 + ".csv", "dataset.source: is not a usable name (5,004 characters)"),
])
def test_dataset_fields(work, field, value, expected):
    _edit_project(work / "p.nnsproj", lambda d: d["dataset"].__setitem__(field, value))
    assert expected in error_of(work, "train", work / "p.nnsproj", "--out", work / "o.npz")


def test_stratify_must_be_a_boolean(work):
    _edit_project(work / "p.nnsproj",
                  lambda d: d["dataset"].__setitem__("split", {"stratify": "false"}))
    err = error_of(work, "train", work / "p.nnsproj", "--out", work / "o.npz")
    assert "dataset.split.stratify: must be true or false (got 'false')" in err


def test_a_5000_character_model_name_on_the_command_line(work):
    err = error_of(work, "evaluate", "a" * 5000 + ".npz", "--data", "d.csv")
    assert "file name is too long" in err and len(err) < 300
