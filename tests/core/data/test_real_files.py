"""The real files in ../shared/datasets: King County houses, salary, MNIST (read in place)."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset, load_idx, load_table, preview

KC = "house/kc_house_data.csv"


def test_king_county_loads_with_quoted_numbers(shared):
    t = load_table(shared / KC)
    assert t.n_rows == 21613 and len(t.columns) == 21
    assert t.columns[:3] == ["id", "date", "price"]
    # "1"-style and "98178"-style quoted numbers are numbers.
    for name in ("id", "floors", "zipcode", "price", "lat"):
        assert t[name].kind == "numeric", name
    assert t["floors"].values[0] == 1.0 and t["zipcode"].values[0] == 98178
    assert t["id"].values[0] == 7129300520
    assert t["date"].kind == "date"
    assert all(t[c].n_missing == 0 for c in t.columns)


def test_king_county_regression_dataset(shared):
    spec = DatasetSpec(source=str(shared / KC), target="price", ignore=["id", "date"])
    data = build_dataset(spec)
    assert data.task == "regression" and data.output_size == 1
    assert "id" not in data.feature_names and "date" not in data.feature_names
    assert data.feature_names[0] == "bedrooms" and len(data.feature_names) == 18
    # zipcode stays a number unless listed under `categorical`.
    assert "zipcode" in data.preparation.output_names()
    n = data.counts
    assert (n["train"], n["validation"], n["test"]) == (15129, 3242, 3242)
    assert data.x_train.dtype == np.float32 and data.x_train.shape == (15129, 18)
    assert data.y_train.dtype == np.float32 and data.y_train.shape == (15129, 1)
    # Targets are standardized on train; decode_target gives dollars back.
    assert abs(float(data.y_train.mean())) < 1e-4
    prices = load_table(shared / KC)["price"].values
    back = data.preparation.decode_target(data.y_test)[:, 0]
    np.testing.assert_allclose(back, prices[data.indices["test"]], rtol=1e-5)


def test_king_county_zipcode_as_category_and_date_as_days(shared):
    spec = DatasetSpec(source=str(shared / KC), target="price", ignore=["id"],
                       features=["sqft_living", "zipcode", "date"], categorical=["zipcode"],
                       date_features=["days"])
    data = build_dataset(spec)
    names = data.preparation.output_names()
    assert names[0] == "sqft_living" and names[-1] == "date"
    zips = [n for n in names if n.startswith("zipcode=")]
    assert len(zips) == 70 and zips[0] == "zipcode=98001"
    assert data.x_train.shape[1] == 72
    assert ("date_to_days", "date") in data.preparation.steps()


def test_king_county_preview_is_cheap_and_says_it_sampled(shared):
    p = preview(shared / KC, n_rows=5)
    assert p.columns[0] == "id" and len(p.rows) == 5 and p.has_header
    assert p.kinds["date"] == "date" and p.kinds["price"] == "numeric"
    assert not p.exact and 15000 < p.estimated_rows < 30000
    assert "first" in p.note


def test_salary_csv(shared):
    t = load_table(shared / "salary/Salary_Data.csv")
    assert t.columns == ["YearsExperience", "Salary"]
    assert t.n_rows >= 30  # the file holds 31 rows (its last row repeats)
    assert t["Salary"].values[0] == 39343.0
    data = build_dataset(DatasetSpec(source=str(shared / "salary/Salary_Data.csv"),
                                     target="Salary"))
    assert data.task == "regression" and data.input_shape == (1,)
    assert sum(data.counts[s] for s in ("train", "validation", "test")) == t.n_rows


def test_mnist_idx(shared):
    d = load_idx(shared / "mnist-t10k/t10k-images-idx3-ubyte.gz",
                 shared / "mnist-t10k/t10k-labels-idx1-ubyte.gz")
    assert d.x.shape == (10000, 28, 28) and d.x.dtype == np.uint8
    assert d.y.shape == (10000,) and d.y.dtype == np.int64
    assert sorted(np.unique(d.y).tolist()) == list(range(10))
    assert d.y[:5].tolist() == [7, 2, 1, 0, 4]
    assert d.x.max() == 255


@pytest.mark.slow
def test_mnist_dataset_stratified(shared):
    spec = DatasetSpec(source=str(shared / "mnist-t10k/t10k-images-idx3-ubyte.gz"),
                       labels=str(shared / "mnist-t10k/t10k-labels-idx1-ubyte.gz"),
                       scaling="minmax")
    data = build_dataset(spec)
    assert data.task == "classification" and data.n_classes == 10
    assert data.class_names == [str(i) for i in range(10)]
    assert data.input_shape == (28, 28) and data.x_train.shape == (7000, 28, 28)
    assert data.y_train.dtype == np.int64
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    per = data.counts["per_class"]
    for split in ("train", "validation", "test"):
        assert all(per[split][c] > 0 for c in data.class_names)
    # Each class keeps its share in each split (to within one row of rounding).
    total = {c: sum(per[s][c] for s in per) for c in data.class_names}
    for c in data.class_names:
        assert abs(per["train"][c] - 0.7 * total[c]) <= 1
