"""DatasetSpec round trip, built-in examples, IDX/NPZ loading, preview."""

from __future__ import annotations

import gzip
import struct
import time

import numpy as np
import pytest

from nnstudio.core.data import (
    EXAMPLES,
    DatasetSpec,
    SplitSpec,
    Table,
    build_dataset,
    load_idx,
    load_npz,
    npz_keys,
    preview,
)

# ----------------------------------------------------------------------------- spec


def test_spec_round_trip_with_relative_source(tmp_path):
    project = tmp_path / "proj"
    d = {"source": "data/houses.csv", "target": "price", "ignore": ["id", "date"],
         "categorical": ["zipcode"], "task": "regression", "scaling": "minmax",
         "missing": "median", "missing_per_column": {"rooms": "most_frequent"},
         "split": {"train": 0.8, "validation": 0.1, "test": 0.1, "seed": 7}}
    spec = DatasetSpec.from_dict(d, base_dir=project)
    assert spec.source == str(project / "data" / "houses.csv")
    assert spec.split == SplitSpec(0.8, 0.1, 0.1, seed=7)
    out = spec.to_dict(base_dir=project)
    assert out["source"] == "data/houses.csv"
    assert DatasetSpec.from_dict(out, base_dir=project) == spec


def test_spec_defaults():
    spec = DatasetSpec.from_dict({"example": "xor"})
    assert spec.split.fractions == (0.7, 0.15, 0.15) and spec.split.seed == 0
    assert (spec.task, spec.scaling, spec.missing) == ("auto", "standard", "drop")
    assert spec.targets == []


def test_spec_relative_source_resolved_by_build(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(20)))
    data = build_dataset(DatasetSpec(source="d.csv", target="y"), base_dir=tmp_path)
    assert data.counts["train"] == 14

# ----------------------------------------------------------------------------- examples


def test_example_names():
    assert set(EXAMPLES) == {"salary", "house_price", "dose_response", "spam", "xor",
                             "circles", "moons", "spirals", "blobs"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_are_deterministic_and_build(name):
    ex = EXAMPLES[name]
    a, b, c = ex.make(seed=0), ex.make(seed=0), ex.make(seed=1)
    assert isinstance(a, Table) and ex.target in a.columns
    for col in a.columns:
        np.testing.assert_array_equal(a[col].values, b[col].values)
    assert any(not np.array_equal(a[col].values, c[col].values) for col in a.columns)
    data = build_dataset(DatasetSpec(example=name))
    assert data.task == ex.task
    if name in ("xor", "circles", "moons", "spirals", "blobs"):
        assert 200 <= a.n_rows <= 600 and data.input_shape == (2,)
    if ex.task == "classification":
        assert all(n > 0 for n in data.counts["per_class"]["test"].values())


def test_example_sizes_and_stories():
    assert 30 <= EXAMPLES["salary"].make().n_rows <= 100
    house = EXAMPLES["house_price"].make()
    assert 200 <= house.n_rows <= 900 and house["location"].kind == "categorical"
    assert build_dataset(DatasetSpec(example="house_price")).input_shape == (4,)
    assert build_dataset(DatasetSpec(example="blobs")).n_classes == 3
    assert build_dataset(DatasetSpec(example="dose_response")).class_names == [
        "not recovered", "recovered"]

# ----------------------------------------------------------------------------- IDX / NPZ


def _idx(arr: np.ndarray, code: int = 0x08) -> bytes:
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_idx_written_here(tmp_path, gz):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (12, 5, 4)).astype(np.uint8)
    labels = np.arange(12) % 3
    wrap = gzip.compress if gz else (lambda b: b)
    ip, lp = tmp_path / "i-idx3-ubyte", tmp_path / "l-idx1-ubyte"
    ip.write_bytes(wrap(_idx(imgs)))
    lp.write_bytes(wrap(_idx(labels.astype(np.uint8))))
    d = load_idx(ip, lp)
    np.testing.assert_array_equal(d.x, imgs)
    np.testing.assert_array_equal(d.y, labels)
    data = build_dataset(DatasetSpec(source=str(ip), labels=str(lp)))
    assert data.input_shape == (5, 4) and data.n_classes == 3


def test_idx_float_dtype(tmp_path):
    arr = np.linspace(0, 1, 24).reshape(2, 3, 4)
    p = tmp_path / "f.idx"
    p.write_bytes(_idx(arr, 0x0E))
    np.testing.assert_array_equal(load_idx(p).x, arr)


def test_npz_keys_and_load(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, images=np.zeros((6, 3, 3), np.uint8), labels=np.arange(6) % 2,
             extra=np.ones(2))
    keys = {k["name"]: k for k in npz_keys(p)}
    assert keys["images"]["shape"] == (6, 3, 3) and keys["images"]["dtype"] == "uint8"
    assert not keys["labels"]["pickled"]
    d = load_npz(p)  # usual names found without asking
    assert d.x.shape == (6, 3, 3) and d.y.tolist() == [0, 1, 0, 1, 0, 1]
    d = load_npz(p, x_key="labels", y_key="images")
    assert d.x.shape == (6, 1) and d.y.shape == (6, 3, 3)


def test_npz_regression_build(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.1
    p = tmp_path / "r.npz"
    np.savez(p, x=x, y=y)
    data = build_dataset(DatasetSpec(source=str(p)))
    assert data.task == "regression" and data.y_train.shape == (70, 1)
    assert data.input_shape == (3,)
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-5)  # per feature

# ----------------------------------------------------------------------------- preview


def test_preview_reads_only_the_start(tmp_path):
    p = tmp_path / "big.csv"
    line = "1.5,2,abc,2014-01-01\n"
    with open(p, "w") as f:
        f.write("a,b,c,d\n")
        f.write(line * 2_000_000)  # ~40 MB
    t = time.perf_counter()
    pv = preview(p, n_rows=10)
    assert time.perf_counter() - t < 2.0  # reading all 40 MB would take far longer
    assert pv.kinds == {"a": "numeric", "b": "numeric", "c": "categorical", "d": "date"}
    assert len(pv.rows) == 10 and pv.rows[0] == ["1.5", "2", "abc", "2014-01-01"]
    assert not pv.exact and abs(pv.estimated_rows - 2_000_000) < 20_000
    assert pv.n_distinct["c"] == 1 and pv.n_missing["a"] == 0
    assert pv.size_bytes == p.stat().st_size and pv.delimiter == ","


def test_preview_never_reads_past_its_sample(tmp_path):
    p = tmp_path / "tail.csv"
    good = "a,b\n" + "1,x\n" * 100_000  # 400 kB, more than the sample
    p.write_bytes(good.encode() + b"\x00\xff" * 1000)  # the tail would be refused as binary
    pv = preview(p)
    assert pv.kinds == {"a": "numeric", "b": "categorical"} and not pv.exact


def test_preview_small_file_is_exact_and_reports_problems(write):
    p = write("s.csv", "a,b\n" + "".join(f"{i},{i}\n" for i in range(30)) + "x,1\n1,2,3\n")
    pv = preview(p)
    assert pv.exact and pv.n_sampled == 32 and pv.estimated_rows == 32
    # Rows are numbered as the preview grid numbers them: data rows from 1.
    assert any("row 31, column 'a'" in m for m in pv.problems)
    assert any("row 32 has 3 fields" in m for m in pv.problems)
    assert pv.note == "counts over all 32 rows"


def test_preview_top_values(write):
    p = write("t.csv", "k,n\n" + "a,1\n" * 5 + "b,2\n" * 3 + "c,3\n")
    assert preview(p).top_values["k"] == [("a", 5), ("b", 3), ("c", 1)]
