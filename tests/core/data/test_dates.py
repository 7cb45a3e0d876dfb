"""Date columns become the parts a user chose (year, cyclic month/day of year/weekday,
days since 1970 only when asked), and predicting outside the training dates is flagged."""

import datetime as dt

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset, dates
from nnstudio.core.data.preparation import Preparation
from nnstudio.core.errors import DataError


def _days(*ymd):
    return np.array([(dt.date(*d) - dt.date(1970, 1, 1)).days for d in ymd], float)


def test_parts_match_the_calendar():
    when = [(2016, 1, 10), (2012, 12, 31), (2000, 2, 29), (1969, 12, 31)]
    x = dates.expand(_days(*when), ["year", "month", "day_of_year", "weekday"])
    for row, (y, m, d) in zip(x, when, strict=True):
        day = dt.date(y, m, d)
        assert row[0] == y
        a = 2 * np.pi * (m - 1) / 12
        assert row[1:3] == pytest.approx([np.sin(a), np.cos(a)])
        a = 2 * np.pi * (day.timetuple().tm_yday - 1) / 365.25
        assert row[3:5] == pytest.approx([np.sin(a), np.cos(a)])
        a = 2 * np.pi * day.weekday() / 7
        assert row[5:7] == pytest.approx([np.sin(a), np.cos(a)])


def test_december_is_next_to_january():
    x = dates.expand(_days((2015, 12, 15), (2016, 1, 15), (2016, 6, 15)), ["month"])
    near = np.linalg.norm(x[0] - x[1])
    far = np.linalg.norm(x[1] - x[2])
    assert near < 0.6 < far


def test_unknown_and_empty_parts_are_refused():
    with pytest.raises(DataError, match="hour"):
        dates.check_parts(["month", "hour"])
    with pytest.raises(DataError, match="at least one"):
        dates.check_parts([])


def _weather(write, **spec):
    rng = np.random.default_rng(0)
    lines = ["date,temp,rain"]
    start = dt.date(2012, 1, 1)
    for i in range(0, 4 * 365, 3):
        day = start + dt.timedelta(days=i)
        lines.append(f"{day.isoformat()},{rng.normal(10, 5):.1f},{rng.normal(2, 1):.2f}")
    path = write("weather.csv", "\n".join(lines) + "\n")
    return build_dataset(DatasetSpec(source=str(path), target="rain", **spec))


def test_default_is_month_and_weekday_without_the_day_number(write):
    data = _weather(write)
    names = data.preparation.output_names()
    assert names[:4] == ["date:month_sin", "date:month_cos", "date:weekday_sin",
                         "date:weekday_cos"]
    assert "date:days" not in names and "date:year" not in names
    # The same day of two different years is the same input.
    x = data.preparation.transform_raw_rows([{"date": "2012-03-07", "temp": 10},
                                             {"date": "2018-03-07", "temp": 10}])
    assert x[0, :2] == pytest.approx(x[1, :2])


def test_chosen_parts_survive_a_model_file_round_trip(write):
    data = _weather(write, date_features=["year", "day_of_year", "days"])
    prep = data.preparation
    again = Preparation.from_dict(prep.to_dict())
    rows = [{"date": "2013-07-01", "temp": 12}]
    assert np.array_equal(again.transform_raw_rows(rows), prep.transform_raw_rows(rows))
    assert again.output_names()[:4] == ["date:year", "date:day_of_year_sin",
                                        "date:day_of_year_cos", "date:days"]
    assert ("date_parts", "date", ["year", "day_of_year", "days"]) in again.steps()


def test_dates_outside_the_training_range_are_flagged(write):
    prep = _weather(write).preparation
    inside = prep.dates_out_of_range({"date": _days((2013, 5, 1))})
    assert inside == []
    outside = prep.dates_out_of_range({"date": _days((2016, 1, 10), (2013, 5, 1))})
    assert len(outside) == 1
    assert "outside the training range 2012-01-01" in outside[0]
    assert "2016-01-10" in outside[0]


def test_cli_predict_notes_dates_outside_the_training_range(write, tmp_path, capsys):
    from nnstudio.cli import main

    lines = ["date,temp,rain"] + [f"2012-{m:02d}-{d:02d},{m + d / 10},{(m * d) % 7}"
                                  for m in range(1, 13) for d in (3, 17)]
    data = write("w.csv", "\n".join(lines) + "\n")
    project = tmp_path / "w.nnsproj"
    import json

    project.write_text(json.dumps({
        "format": "nnstudio.project", "version": 1,
        "dataset": {"source": str(data), "target": "rain", "task": "regression",
                    "date_features": ["year", "month"]},
        "network": {"nodes": [{"id": "in", "type": "Input"},
                              {"id": "out", "type": "Dense", "units": 1}],
                    "edges": [["in", "out"]]},
        "training": {"epochs": 2, "batch_size": 8}}))
    model = tmp_path / "w.npz"
    assert main(["train", str(project), "--out", str(model)]) == 0
    new = write("new.csv", "date,temp\n2016-01-10,3.5\n2012-05-03,5.3\n")
    capsys.readouterr()
    assert main(["predict", str(model), "--data", str(new), "--out",
                 str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert "note: 1 date in 'date' is outside the training range" in err
    assert "2016-01-10" in err
