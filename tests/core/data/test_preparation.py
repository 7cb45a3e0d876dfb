"""Preparation: fitted on train only, one-hot with unseen categories, round trips, decoding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, Preparation, Table, build_dataset, load_table


@pytest.fixture
def houses(write):
    rng = np.random.default_rng(5)
    n = 200
    loc = rng.choice(["city", "suburb", "village"], n)
    area = np.round(rng.uniform(40, 250, n), 1)
    rooms = rng.integers(1, 7, n).astype(float)
    rooms[::17] = np.nan  # some missing
    price = np.round(area * 3000 + rng.normal(0, 1e4, n))
    lines = ["id,area,rooms,location,price"]
    for i in range(n):
        r = "" if np.isnan(rooms[i]) else f"{rooms[i]:g}"
        lines.append(f"{i},{area[i]},{r},{loc[i]},{price[i]:g}")
    return write("houses.csv", "\n".join(lines) + "\n")


def _spec(path, **kw):
    kw.setdefault("target", "price")
    kw.setdefault("ignore", ["id"])
    return DatasetSpec(source=str(path), **kw)


def test_scaler_is_fitted_on_train_rows_only(houses):
    data = build_dataset(_spec(houses, missing="mean"))
    table = load_table(houses)
    train_rows = data.indices["train"]
    area = table["area"].values
    info = {f["name"]: f for f in data.preparation.features}
    assert info["area"]["mean"] == pytest.approx(area[train_rows].mean(), rel=1e-12)
    assert info["area"]["mean"] != pytest.approx(area.mean(), rel=1e-6)
    assert info["area"]["std"] == pytest.approx(area[train_rows].std(), rel=1e-12)
    # The fill value of a missing number is the train mean too.
    rooms = table["rooms"].values[train_rows]
    assert info["rooms"]["fill"] == pytest.approx(np.nanmean(rooms))
    # Standardized train columns: mean 0, std 1.
    col = data.preparation.output_names().index("area")
    assert abs(data.x_train[:, col].mean()) < 1e-5
    assert data.x_train[:, col].std() == pytest.approx(1.0, abs=1e-5)


def test_minmax_and_none_scaling(houses):
    data = build_dataset(_spec(houses, scaling="minmax", missing="median"))
    col = data.preparation.output_names().index("area")
    assert data.x_train[:, col].min() == 0.0 and data.x_train[:, col].max() == 1.0
    raw = build_dataset(_spec(houses, scaling="none", missing="median"))
    table = load_table(houses)
    np.testing.assert_allclose(raw.x_train[:, col], table["area"].values[raw.indices["train"]],
                               rtol=1e-6)


def test_drop_missing_reports_rows(houses):
    data = build_dataset(_spec(houses))  # missing="drop" by default
    lines = data.dropped_rows["missing value in 'rooms'"]
    assert lines.tolist() == [2 + i for i in range(0, 200, 17)]  # line = row + header
    assert data.counts["dropped"] == lines.size
    assert sum(data.counts[s] for s in ("train", "validation", "test")) == 200 - lines.size


def test_column_order_rule(houses):
    data = build_dataset(_spec(houses, missing="most_frequent"))
    assert data.feature_names == ["area", "rooms", "location"]
    assert data.preparation.output_names() == [
        "area", "rooms", "location=city", "location=suburb", "location=village"]
    spec = _spec(houses, features=["location", "area"])
    assert build_dataset(spec).preparation.output_names() == [
        "location=city", "location=suburb", "location=village", "area"]


def test_one_hot_unseen_category_at_predict_time(houses):
    data = build_dataset(_spec(houses, missing="mean"))
    prep = data.preparation
    x = prep.transform_raw_rows([
        {"area": "100", "rooms": 3, "location": "suburb"},
        {"area": 100.0, "rooms": "3", "location": "mountain"},  # never seen in training
        {"area": "100", "rooms": "", "location": "city"},  # missing -> train mean
    ])
    assert x.shape == (3, 5) and x.dtype == np.float32
    assert x[0, 2:].tolist() == [0.0, 1.0, 0.0]
    assert x[1, 2:].tolist() == [0.0, 0.0, 0.0]
    assert x[2, 1] == pytest.approx(0.0, abs=1e-6)  # filled with the mean = 0 once standardized
    new = Table.from_columns({"area": [90.0], "rooms": [2.0], "location": ["mountain"]})
    assert prep.unknown_categories(new) == {"location": ["mountain"]}


def test_to_dict_from_dict_round_trip_gives_identical_transforms(houses):
    data = build_dataset(_spec(houses, missing="median"))
    prep = data.preparation
    text = json.dumps(prep.to_dict())  # pure JSON
    again = Preparation.from_dict(json.loads(text))
    table = load_table(houses)
    np.testing.assert_array_equal(prep.transform_features(table), again.transform_features(table))
    np.testing.assert_array_equal(prep.transform_target(table), again.transform_target(table))
    assert again.steps() == prep.steps()
    assert again.output_names() == prep.output_names()
    rows = [{"area": "55", "rooms": "2", "location": "village"}]
    np.testing.assert_array_equal(prep.transform_raw_rows(rows), again.transform_raw_rows(rows))


def test_transform_features_matches_built_splits(houses):
    data = build_dataset(_spec(houses, missing="mean"))
    table = load_table(houses)
    x = data.preparation.transform_features(table)
    np.testing.assert_array_equal(x[data.indices["test"]], data.x_test)


def test_regression_target_scaling_is_undone_by_decode(houses):
    data = build_dataset(_spec(houses, missing="mean"))
    prices = load_table(houses)["price"].values
    stats = data.preparation.target_stats[0]
    assert stats["mean"] == pytest.approx(prices[data.indices["train"]].mean())
    np.testing.assert_allclose(data.preparation.decode_target(data.y_val)[:, 0],
                               prices[data.indices["validation"]], rtol=1e-5)
    plain = build_dataset(_spec(houses, missing="mean", target_scaling="none"))
    np.testing.assert_allclose(plain.y_train[:, 0], prices[plain.indices["train"]], rtol=1e-6)


def test_multi_output_regression(houses):
    data = build_dataset(_spec(houses, target=["price", "area"], missing="mean"))
    assert data.task == "regression" and data.output_size == 2
    assert data.y_train.shape == (data.counts["train"], 2)
    assert data.feature_names == ["rooms", "location"]


def test_class_labels_encoded_and_decoded():
    data = build_dataset(DatasetSpec(example="spam"))
    prep = data.preparation
    assert data.class_names == ["ham", "spam"] and data.y_train.dtype == np.int64
    assert prep.decode_target(np.array([1, 0])).tolist() == ["spam", "ham"]
    assert prep.decode_target(np.array([[0.2, 0.8], [0.9, 0.1]])).tolist() == ["spam", "ham"]
    assert prep.decode_target(np.array([[0.7], [0.2]])).tolist() == ["spam", "ham"]
    table = Table.from_columns({"label": ["ham", "spam", "ham"]})
    assert prep.transform_target(table).tolist() == [0, 1, 0]


def test_numeric_class_names_sort_numerically(write):
    rows = "".join(f"{i},{[2, 10, 1][i % 3]}\n" for i in range(60))
    data = build_dataset(DatasetSpec(source=str(write("c.csv", "x,grade\n" + rows)),
                                     target="grade"))
    assert data.task == "classification" and data.class_names == ["1", "2", "10"]


def test_task_inference_and_override(houses):
    assert build_dataset(_spec(houses, missing="mean")).task == "regression"
    data = build_dataset(_spec(houses, target="location", missing="mean"))
    assert data.task == "classification" and data.n_classes == 3
    forced = build_dataset(_spec(houses, target="rooms", missing="mean", task="regression"))
    assert forced.task == "regression"
    auto = build_dataset(_spec(houses, target="rooms", missing="mean"))
    assert auto.task == "classification"  # 6 distinct whole numbers


def test_feature_info_and_steps(houses):
    prep = build_dataset(_spec(houses, missing="most_frequent")).preparation
    info = {i["name"]: i for i in prep.feature_info()}
    assert info["location"]["kind"] == "categorical"
    assert info["location"]["categories"] == ["city", "suburb", "village"]
    assert info["area"]["kind"] == "numeric" and info["area"]["min"] >= 40
    steps = prep.steps()
    assert [s[:2] for s in steps[:2]] == [("fill", "area"), ("standardize", "area")]
    assert ("onehot", "location", ["city", "suburb", "village"]) in steps
    assert steps[-1][0] == "destandardize"


def test_date_feature_becomes_days_when_asked(write):
    lines = ["when,y"] + [f"2020-01-{d:02d},{d * 2}" for d in range(1, 31)]
    data = build_dataset(DatasetSpec(source=str(write("d.csv", "\n".join(lines) + "\n")),
                                     target="y", scaling="none", date_features=["days"]))
    assert data.feature_names == ["when"]
    x = data.preparation.transform_raw_rows([{"when": "2020-01-02"}])
    assert x[0, 0] == pytest.approx(18263.0)  # days from 1970-01-01


def test_array_preparation_round_trip():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50, 4, 4)).astype(np.uint8)
    prep = Preparation.fit_arrays(x[:30], "classification", ["a", "b"], scaling="minmax")
    out = prep.transform_features(x)
    assert out.dtype == np.float32 and out.shape == (50, 4, 4)
    again = Preparation.from_dict(json.loads(json.dumps(prep.to_dict())))
    np.testing.assert_array_equal(again.transform_features(x), out)
