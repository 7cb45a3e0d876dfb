"""Every example of issue 14, reproduced: each ends in one ``error:`` sentence naming the
problem and its place (exit 2) or a clean success — never ``internal error``, a warning or an
output file left behind. The property-based suite (``test_fuzz_cli.py``) searches for more."""

from __future__ import annotations

import io
import json
import re
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
    # The commands take a project with a trained run; this one has none: say so and how.
    err = error_of(work, "evaluate", "p.nnsproj", "--data", "d.csv")
    assert "p.nnsproj: has no trained model yet" in err and "nnstudio train" in err
    assert "pickle" not in err
    # A project file renamed .npz is still not "pickled data".
    (work / "renamed.npz").write_bytes((work / "p.nnsproj").read_bytes())
    err = error_of(work, "evaluate", "renamed.npz", "--data", "d.csv")
    assert "pickle" not in err and "renamed.npz" in err


def test_load_model_on_a_project_file_says_what_it_is(work):
    from nnstudio.core.errors import ProjectError
    from nnstudio.core.io.model_file import load_model

    with pytest.raises(ProjectError, match="is an nnstudio project file, not a model file"):
        load_model(work / "p.nnsproj")


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


# -- layer settings and training settings ----------------------------------------------------


def _set_node(work, index, **settings):
    return _edit_project(work / "p.nnsproj",
                         lambda d: d["network"]["nodes"][index].update(settings))


@pytest.mark.parametrize("raw,expected", [
    ('"units": 1e400', "'units' must be a whole number (got inf)"),
    ('"units": Infinity', "'units' must be a whole number (got inf)"),
    ('"units": 2.5', "'units' must be a whole number (got 2.5)"),
    ('"units": "four"', "'units' must be a whole number (got 'four')"),
    ('"units": "2.5"', "'units' must be a whole number (got '2.5')"),
    ('"units": 1e15', "'units' must be a whole number"),
])
def test_layer_numbers(work, raw, expected):
    text = (work / "p.nnsproj").read_text().replace('"units": 4', raw, 1)
    (work / "p.nnsproj").write_text(text)
    assert expected in error_of(work, "train", "p.nnsproj", "--out", "o.npz")


def test_kernel_size_with_fractions_is_refused_not_rounded(work):
    _edit_project(work / "pi.nnsproj", lambda d: d["network"].update(
        nodes=[{"id": "in", "type": "Input"},
               {"id": "rs", "type": "Reshape", "shape": [1, 4, 4]},
               {"id": "c", "type": "Conv2D", "filters": 2, "kernel_size": [2.5, 2.5]},
               {"id": "f", "type": "Flatten"}, {"id": "o", "type": "Dense", "units": 3},
               {"id": "s", "type": "Softmax"}],
        edges=[["in", "rs"], ["rs", "c"], ["c", "f"], ["f", "o"], ["o", "s"]]))
    err = error_of(work, "train", "pi.nnsproj", "--out", "o.npz")
    assert "network.nodes[2] 'c'" in err and "'kernel_size' must be a whole number or a pair" in err


def test_nodes_that_is_not_a_list(work):
    _edit_project(work / "p.nnsproj", lambda d: d["network"].update(nodes=5))
    err = run_checked(work, "train", "p.nnsproj", "--out", "o.npz", outputs=["o.npz"]).err
    assert "network.nodes" in err


@pytest.mark.parametrize("field,value", [
    ("weight_decay", float("nan")), ("weight_decay", float("inf")),
    ("clip_value", float("inf")), ("clip_value", float("nan")),
    ("clip_norm", float("nan")), ("clip_norm", 0),
])
def test_regularization_settings_must_be_finite(work, field, value):
    _edit_project(work / "p.nnsproj", lambda d: d["training"].__setitem__(field, value))
    err = error_of(work, "train", "p.nnsproj", "--out", "o.npz")
    assert f"training.{field}: must be a number" in err and "learning rate" not in err


def test_cosine_schedule_with_0_epochs(work):
    _edit_project(work / "p.nnsproj", lambda d: d["training"].__setitem__(
        "schedule", {"type": "cosine", "epochs": 0}))
    err = error_of(work, "train", "p.nnsproj", "--out", "o.npz")
    assert "cosine schedule's epochs must be ≥ 1" in err


def test_cosine_schedule_on_a_run_of_0_epochs_trains_nothing_cleanly(work):
    _edit_project(work / "p.nnsproj", lambda d: d["training"].update(
        epochs=0, schedule={"type": "cosine"}))
    assert run_checked(work, "train", "p.nnsproj", "--out", "o.npz").code == 0


# -- preparation entries -------------------------------------------------------------------


@pytest.mark.parametrize("old,new,expected", [
    (r'"divisor": [-0-9.e]+', '"divisor": 1e400', "features[0] 'a'.divisor: must be a finite"),
    (r'"divisor": [-0-9.e]+', '"divisor": 0', "other than 0 (got 0)"),
    (r'"kind": "numeric"', '"kind": 7', "features[0] 'a'.kind: must be one of"),
    (r'"class_names": \["no", "yes"\]', '"class_names": ["no"]',
     "the network has 2 output(s) for 1 classes"),
])
def test_preparation_entries(work, old, new, expected):
    m = _edit_model(work / "p.npz", work / "m.npz",
                    _edit_json_entry("preparation", lambda t: re.sub(old, new, t, count=1)))
    assert expected in error_of(work, "evaluate", m, "--data", "d.csv")


# -- data files ------------------------------------------------------------------------------


def _csv_lines(work):
    return (work / "d.csv").read_text().splitlines()


def test_evaluate_csv_whose_feature_column_is_empty(work):
    lines = _csv_lines(work)
    rows = [",".join([""] + ln.split(",")[1:]) for ln in lines[1:]]
    (work / "e.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    err = error_of(work, "evaluate", "p.npz", "--data", "e.csv")
    assert "e.csv, row 2, column 'a': a value is missing" in err


def test_evaluate_csv_whose_date_is_text(work):
    lines = _csv_lines(work)
    rows = [",".join(ln.split(",")[:2] + ["soon"] + ln.split(",")[3:]) for ln in lines[1:]]
    (work / "e.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    err = error_of(work, "evaluate", "p.npz", "--data", "e.csv")
    assert "column 'day': 'soon' is not a date" in err


@pytest.mark.parametrize("cut", [0.5, 0.73, 0.9])
def test_csv_truncated_mid_row(work, cut):
    text = (work / "d.csv").read_text()
    (work / "t.csv").write_text(text[: int(len(text) * cut)])
    run_checked(work, "evaluate", "p.npz", "--data", "t.csv")
    run_checked(work, "predict", "p.npz", "--data", "t.csv", "--out", "o.csv",
                outputs=["o.csv"])


def test_csv_with_a_deleted_field(work):
    lines = _csv_lines(work)
    lines[7] = ",".join(lines[7].split(",")[:1] + lines[7].split(",")[2:])
    (work / "t.csv").write_text("\n".join(lines) + "\n")
    err = error_of(work, "evaluate", "p.npz", "--data", "t.csv")
    assert "t.csv, row 8: has 3 fields but 4 were expected" in err


def test_npz_with_a_0d_target(work):
    x = np.load(work / "img.npz")["x"]
    np.savez(work / "y0.npz", x=x, y=np.array(3))
    err = error_of(work, "evaluate", "pi.npz", "--data", "y0.npz")
    assert "array 'y' holds a single value, not one target per sample" in err


def test_npz_with_a_1mb_header(work):
    raw = _npy_bytes(np.zeros(3))
    hlen = struct.unpack("<H", raw[8:10])[0]
    header = raw[10:10 + hlen].rstrip()
    big = header + b" " * (1_000_000 - len(header)) + b"\n"
    raw2 = b"\x93NUMPY\x02\x00" + struct.pack("<I", len(big)) + big + raw[10 + hlen:]
    with zipfile.ZipFile(work / "h.npz", "w") as z:
        z.writestr("x.npy", raw2)
        z.writestr("y.npy", raw2)
    outcome = run_checked(work, "evaluate", "pi.npz", "--data", "h.npz")
    assert outcome.code == 2 and len(outcome.err.strip().splitlines()) == 1
    assert "array 'x' is damaged (Header info length (1000001) is large" in outcome.err


def test_idx_header_claiming_2_to_the_64_items(work):
    raw = (work / "img-idx3-ubyte").read_bytes()
    (work / "big-idx3-ubyte").write_bytes(raw[:4] + b"\xff" * 12 + raw[16:])
    err = error_of(work, "evaluate", "pi.npz", "--data", "big-idx3-ubyte",
                   "--labels", "lab-idx1-ubyte")
    assert "is truncated: 4294967295x4294967295x4294967295 values need" in err


@pytest.mark.parametrize("bad", [float("nan"), 2.5])
def test_idx_float_labels_are_not_cast(work, bad):
    from .seeds import write_idx

    y = np.frombuffer((work / "lab-idx1-ubyte").read_bytes()[8:], np.uint8).astype(">f4")
    y[4] = bad
    write_idx(work / "f-idx1-ubyte", y)
    err = error_of(work, "evaluate", "pi.npz", "--data", "img-idx3-ubyte",
                   "--labels", "f-idx1-ubyte")
    assert "f-idx1-ubyte" in err and ("sample 5" in err or "label 5 is 2.5" in err)


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_nan_pixels_are_refused_like_train_does(work, command):
    with np.load(work / "img.npz") as z:
        x, y = z["x"].astype(np.float32), z["y"]
    x[3, 1, 2] = np.nan
    np.savez(work / "nan.npz", x=x, y=y)
    extra = ["--out", "o.csv"] if command == "predict" else []
    err = error_of(work, command, "pi.npz", "--data", "nan.npz", *extra, outputs=["o.csv"])
    assert "array 'x': sample 4 holds nan" in err
    _edit_project(work / "pi.nnsproj", lambda d: d["dataset"].update(source="nan.npz"))
    assert "sample 4 holds nan" in error_of(work, "train", "pi.nnsproj", "--out", "o.npz")


def test_encoding_utf16_on_a_utf8_file(work):
    _edit_project(work / "p.nnsproj", lambda d: d["dataset"].update(encoding="utf-16"))
    err = error_of(work, "train", "p.nnsproj", "--out", "o.npz")
    assert "cannot be read as utf-16 text" in err


# -- writing -------------------------------------------------------------------------------


@pytest.mark.parametrize("errno_name", ["EROFS", "ENOSPC"])
def test_predict_out_on_a_read_only_or_full_file_system(work, monkeypatch, errno_name):
    import errno
    import os

    from nnstudio.core.io import atomic

    def refuse(*args, **kwargs):
        raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    err = error_of(work, "predict", "p.npz", "--data", "d.csv", "--out", "o.csv",
                   outputs=["o.csv"])
    words = {"EROFS": "read-only", "ENOSPC": "the disk is full"}[errno_name]
    assert "o.csv: cannot be written" in err and words in err


def test_network_too_large_for_memory_names_its_size(work, monkeypatch):
    from nnstudio.core import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 1_000_000_000)  # 1 GB free
    _edit_project(work / "p.nnsproj", lambda d: d["network"]["nodes"][1].update(units=100_000))
    _edit_project(work / "p.nnsproj", lambda d: d["network"]["nodes"].insert(
        3, {"id": "h2", "type": "Dense", "units": 100_000}))
    _edit_project(work / "p.nnsproj", lambda d: d["network"].update(
        edges=[["in", "h"], ["h", "r"], ["r", "h2"], ["h2", "o"], ["o", "s"]]))
    err = error_of(work, "train", "p.nnsproj", "--out", "o.npz")
    # 100,000 × 100,000 weights (plus a few per input column): about 10 billion parameters.
    assert re.search(r"the network \(10,00\d,\d{3},\d{3} parameters; ≈ 280 GB", err), err
    assert "of memory but only 1 GB is available" in err and "at batch size 16" in err


# -- divergence that never reaches inf -------------------------------------------------------


@pytest.mark.parametrize("optimizer,lr", [("adam", 1e6), ("sgd", 1e3), ("rmsprop", 1e8)])
def test_train_reports_a_finite_divergence_and_writes_no_model(work, optimizer, lr):
    _edit_project(work / "p.nnsproj", lambda d: d["training"].update(
        optimizer={"type": optimizer, "learning_rate": lr}, epochs=30))
    err = error_of(work, "train", "p.nnsproj", "--out", "o.npz")
    assert "training diverged at epoch 1" in err and "a constant guess (0.69" in err


# -- regressions found by the property tests (test_fuzz_cli.py) ------------------------------


def test_model_whose_layer_record_is_a_number(work):
    def edit(text):
        arch = json.loads(text)
        arch["nodes"][3] = 7
        return json.dumps(arch)

    m = _edit_model(work / "p.npz", work / "m.npz", _edit_json_entry("architecture", edit))
    err = error_of(work, "evaluate", m, "--data", "d.csv")
    assert "holds a network that cannot be rebuilt: network.nodes[3]: must be an object" in err
    assert err.count("cannot be rebuilt") == 1


@pytest.mark.parametrize("cell,words", [("1e400", "inf is not a finite number"),
                                        ("-1e999", "-inf is not a finite number"),
                                        ("inf", "inf'? is not a (finite )?number")])
def test_infinite_numbers_in_a_csv(work, cell, words):
    lines = _csv_lines(work)
    lines[5] = ",".join([cell] + lines[5].split(",")[1:])
    (work / "d.csv").write_text("\n".join(lines) + "\n")
    for argv in (["train", "p.nnsproj", "--out", "o.npz"],
                 ["evaluate", "p.npz", "--data", "d.csv"],
                 ["predict", "p.npz", "--data", "d.csv", "--out", "o.csv"]):
        err = error_of(work, *argv, outputs=["o.npz", "o.csv"])
        assert "d.csv, row 6, column 'a'" in err and re.search(words, err)


def test_infinite_regression_target_in_evaluate(work):
    lines = (work / "r.csv").read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:2] + ["1e400"])
    (work / "r.csv").write_text("\n".join(lines) + "\n")
    err = error_of(work, "evaluate", "pr.npz", "--data", "r.csv")
    assert "r.csv, row 4, column 'y'" in err and "not a finite number" in err


def test_csv_with_a_deleted_target_and_a_bad_number_below(work):
    """Rows without a target are skipped first; the bad number's text must still be named
    (it was an IndexError in ``_check_kinds``: the texts did not follow the rows kept)."""
    lines = _csv_lines(work)
    lines[1] = ",".join(lines[1].split(",")[:3] + [""])  # no target: skipped by evaluate
    lines[2] = ",".join(lines[2].split(",")[:1] + ["abc"] + lines[2].split(",")[2:])
    (work / "e.csv").write_text("\n".join(lines) + "\n")
    err = error_of(work, "evaluate", "p.npz", "--data", "e.csv")
    assert "e.csv, row 3, column 'b': 'abc' is not a number" in err


def test_table_take_keeps_the_texts_of_invalid_values():
    from nnstudio.core.data.table import Column, Table

    col = Column("b", "numeric", np.array([1.0, np.nan, 3.0, np.nan]), np.array([1, 3]),
                 ["abc", "xyz"])
    t = Table([col]).take(np.array([False, False, True, True]))
    assert t["b"].invalid_rows.tolist() == [1] and t["b"].invalid_values == ["xyz"]


@pytest.mark.parametrize("key", ["mean", "min", "max", "median", "std"])
def test_preparation_statistics_must_be_numbers(work, key):
    """Found by the GUI property test: a text 'mean' reached the predict panel's form."""
    def edit(text):
        prep = json.loads(text)
        prep["features"][0][key] = "Dense"
        return json.dumps(prep)

    m = _edit_model(work / "p.npz", work / "m.npz", _edit_json_entry("preparation", edit))
    err = error_of(work, "evaluate", m, "--data", "d.csv")
    assert f"features[0] 'a'.{key}: must be a number (got 'Dense')" in err


@pytest.mark.parametrize("change,words", [
    (lambda t: t["history"].update(loss="abc"), "history.loss must be a list of numbers"),
    (lambda t: t["history"].update(loss=[0.5, None]), "history.loss must be a list of numbers"),
    (lambda t: t["summary"].update(metrics={"train": {"loss": "x"}}), "summary.metrics"),
    (lambda t: t["summary"].update(epochs=-3), "summary.epochs must be a whole number"),
    (lambda t: t["summary"].update(reason=7), "summary.reason must be text"),
])
def test_training_record_is_shown_so_it_is_checked(work, change, words):
    def edit(text):
        record = json.loads(text)
        change(record)
        return json.dumps(record)

    m = _edit_model(work / "p.npz", work / "m.npz", _edit_json_entry("training", edit))
    assert words in error_of(work, "evaluate", m, "--data", "d.csv")
