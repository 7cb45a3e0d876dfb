"""Bad input gives one readable DataError naming the file (and row/column), never a traceback.

Every malformed file here is written by the test itself.
"""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from nnstudio.core.data import (
    DatasetSpec,
    build_dataset,
    load_idx,
    load_npz,
    load_table,
    preview,
)
from nnstudio.core.errors import DataError


def _error(fn, *args, **kw) -> str:
    with pytest.raises(DataError) as info:
        fn(*args, **kw)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_missing_file(tmp_path):
    msg = _error(load_table, tmp_path / "nope.csv")
    assert "nope.csv" in msg and "not found" in msg


def test_empty_file(write):
    p = write("empty.csv", "")
    assert "empty.csv: is empty" in _error(load_table, p)
    assert "is empty" in _error(preview, p)
    assert "is empty" in _error(load_table, write("blank.csv", "\n\n  \n"))


def test_only_a_header(write):
    p = write("header.csv", "a,b,c\n")
    assert "header.csv: has a header line but no data rows" in _error(load_table, p)
    assert "no data rows" in _error(preview, p)


def test_ragged_row_names_row(write):
    p = write("ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n")
    msg = _error(load_table, p)
    assert "ragged.csv, row 3" in msg and "2 fields but 3 were expected" in msg


def test_ragged_row_with_quotes_names_row(write):
    p = write("ragged.csv", 'a,b\n"x",1\n"y",2,3\n')
    assert "row 3" in _error(load_table, p)


def test_target_column_that_does_not_exist(write):
    p = write("t.csv", "area,price\n1,2\n3,4\n5,6\n")
    msg = _error(build_dataset, DatasetSpec(source=str(p), target="prise"))
    assert "t.csv" in msg and "'prise'" in msg and "did you mean 'price'" in msg


def test_target_with_one_class(write):
    p = write("one.csv", "x,label\n1,spam\n2,spam\n3,spam\n")
    msg = _error(build_dataset, DatasetSpec(source=str(p), target="label"))
    assert "one.csv" in msg and "only one class ('spam')" in msg


def test_junk_in_numeric_column_names_row_and_column(write):
    rows = "".join(f"{i},{i * 3}\n" for i in range(40))
    p = write("junk.csv", f"x,y\n{rows}12,abc\n13,39\n")
    msg = _error(build_dataset, DatasetSpec(source=str(p), target="y"))
    assert "junk.csv, row 42, column 'y'" in msg and "'abc' is not a number" in msg


def test_junk_in_feature_column(write):
    rows = "".join(f"{i},{i * 3}\n" for i in range(40))
    p = write("junk.csv", f"x,y\n{rows}1O,30\n")
    msg = _error(build_dataset, DatasetSpec(source=str(p), target="y"))
    assert "row 42, column 'x'" in msg and "'1O'" in msg


def test_all_missing_feature_column(write):
    p = write("m.csv", "x,empty,y\n1,,2\n2,,4\n3,,6\n")
    msg = _error(build_dataset, DatasetSpec(source=str(p), target="y", features=["x", "empty"]))
    assert "m.csv" in msg and "'empty' is empty" in msg
    # Chosen automatically, it is skipped and reported instead.
    data = build_dataset(DatasetSpec(source=str(p), target="y"))
    assert "empty" in data.skipped_columns


def test_all_missing_target_column(write):
    p = write("m.csv", "x,y\n1,\n2,NA\n3,\n")
    assert "target column 'y' is empty" in _error(
        build_dataset, DatasetSpec(source=str(p), target="y"))


def test_binary_file_renamed_csv(write):
    p = write("image.csv", bytes(range(256)) * 10)
    assert "image.csv: looks like a binary file" in _error(load_table, p)
    png = write("pic.csv", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    assert "PNG image" in _error(load_table, png)
    gz = write("data.csv", gzip.compress(b"a,b\n1,2\n"))
    assert "gzip-compressed" in _error(load_table, gz)


def test_invalid_utf8_after_the_sniffed_part_names_row(write):
    head = "a,b\n" + "".join(f"x{i},{i}\n" for i in range(40000))
    p = write("enc.csv", head.encode() + b"\xff\xfe,1\n")
    msg = _error(load_table, p)
    assert "enc.csv" in msg and "not valid utf-8" in msg.lower() and "row 40002" in msg


def _idx(dims, dtype_code=0x08, data=None):
    header = bytes([0, 0, dtype_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    if data is None:
        data = bytes(int(np.prod(dims)))
    return header + data


def test_truncated_idx(write):
    p = write("imgs-idx3-ubyte", _idx((10, 28, 28))[:-100])
    msg = _error(load_idx, p)
    assert "imgs-idx3-ubyte: is truncated" in msg and "7,840 bytes" in msg


def test_truncated_gzipped_idx(write):
    full = gzip.compress(_idx((10, 28, 28), data=bytes(range(256)) * 30 + bytes(160)))
    p = write("imgs-idx3-ubyte.gz", full[: len(full) // 2])
    assert "truncated or corrupt" in _error(load_idx, p)


def test_idx_label_count_mismatch(write):
    imgs = write("i-idx3-ubyte", _idx((5, 2, 2)))
    labs = write("l-idx1-ubyte", _idx((4,)))
    assert "4 labels for 5 images" in _error(load_idx, imgs, labs)


def test_not_an_idx_file(write):
    assert "not an IDX file" in _error(load_idx, write("x-idx3-ubyte", b"hello world"))


def test_npz_with_pickled_objects(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    msg = _error(load_npz, p)
    assert "evil.npz" in msg and "pickled Python objects" in msg


def test_npz_missing_key_and_not_a_zip(tmp_path, write):
    p = tmp_path / "a.npz"
    np.savez(p, features=np.zeros((3, 2)), labels=np.arange(3))
    assert "no array named 'inputs'" in _error(load_npz, p, x_key="inputs")
    assert "is not a valid .npz archive" in _error(load_npz, write("b.npz", b"not a zip"))


def test_spec_errors_name_the_field():
    def bad(d):
        return _error(DatasetSpec.from_dict, d, "/tmp")

    assert bad({"source": "a.csv", "split": {"train": 0.8, "validation": 0.15,
                                              "test": 0.15}}) == \
        "dataset.split: fractions must sum to 1 (got 1.1)"
    assert bad({"source": "a.csv", "task": "clustering"}).startswith("dataset.task:")
    assert bad({"source": "a.csv", "scaling": "log"}).startswith("dataset.scaling:")
    assert bad({"source": "a.csv", "missing_per_column": {"x": "zero"}}).startswith(
        "dataset.missing_per_column.x:")
    assert bad({"source": "a.csv", "colour": 1}) == "dataset: unknown field(s) colour"
    assert "either a source file or a built-in example" in bad({})
    assert bad({"example": "xor", "split": {"seed": -1}}).startswith("dataset.split:")


def test_feature_also_ignored(write):
    p = write("t.csv", "x,y\n1,2\n3,4\n5,6\n")
    msg = _error(build_dataset, DatasetSpec(source=str(p), target="y", features=["x"],
                                            ignore=["x"]))
    assert "cannot be both feature and ignored" in msg


def test_unknown_example():
    assert "unknown example 'iris'" in _error(build_dataset, DatasetSpec(example="iris"))


def test_regression_on_text_target(write):
    p = write("t.csv", "x,y\n1,a\n2,b\n3,c\n")
    msg = _error(build_dataset, DatasetSpec(source=str(p), target="y", task="regression"))
    assert "cannot be a regression target" in msg


def test_missing_value_at_predict_time_when_trained_with_drop():
    data = build_dataset(DatasetSpec(example="salary"))
    msg = _error(data.preparation.transform_raw_rows, [{"YearsExperience": "3"},
                                                       {"YearsExperience": ""}])
    assert msg.startswith("input, row 2, column 'YearsExperience'")
    msg = _error(data.preparation.transform_raw_rows, [{"YearsExperience": "three"}])
    assert msg == "row 1, column 'YearsExperience': 'three' is not a number"
