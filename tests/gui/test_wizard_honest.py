"""The dataset wizard says what it does: date parts, decimal commas, a fresh start per file,
why Next is disabled, an empty file; the Predict panel clears an old result on error and
shows what it filled in."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.graph import ReplaceAll
from nnstudio.gui.wizards.dataset_wizard import DatasetWizard

pytestmark = pytest.mark.gui


@pytest.fixture
def window(workflow_window):
    return workflow_window


def _weather(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["date;temp;humidity;weather"]
    for i in range(0, 3 * 365, 2):
        day = dt.date(2012, 1, 1) + dt.timedelta(days=i)
        t = rng.normal(12, 6)
        lines.append(f"{day};{t:.1f};{rng.normal(60, 10):.1f};{'rain' if t < 10 else 'sun'}"
                     .replace(".", ","))
    path = tmp_path / "weather.csv"
    path.write_text("\n".join(lines).replace(",", ".", 0) + "\n")
    return path


def _open(qtbot, window, path):
    wiz = window.workflow.open_dataset_wizard()
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.set_file(str(path))
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_PREVIEW, wiz.source_page.path_error.text()
    return wiz


def test_dates_and_decimal_commas_are_offered_and_described(qtbot, window, tmp_path):
    # dates written 2012-01-01 are not affected by the comma replacement above
    wiz = _open(qtbot, window, _weather(tmp_path))
    page = wiz.preview_page
    assert page.number_formats.isVisible() and page.number_formats.isChecked()
    assert "temp" in page.number_formats.text() and "decimal comma" in page.number_formats.text()
    assert "numeric (39,1)" in page.table.horizontalHeaderItem(1).text()
    wiz.next()
    cols = wiz.columns_page
    assert cols.table.item(1, cols.COL_KIND).text() == "numeric (decimal comma)"
    wiz.next()
    prep = wiz.prepare_page
    assert wiz.currentId() == DatasetWizard.PAGE_PREPARE, cols.table_error.text()
    assert prep.dates_row.isVisible()
    assert prep.chosen_date_parts() == ["month", "weekday"]
    assert prep.dates_text.text().startswith("date → month (sin, cos), weekday (sin, cos): 4")
    prep.date_parts["year"].setChecked(True)
    assert "date → year, month (sin, cos), weekday (sin, cos): 5 inputs" in \
        prep.dates_text.text()
    assert "outside the training range" in prep.dates_text.text()
    for box in prep.date_parts.values():
        box.setChecked(False)
    assert not wiz.button(wiz.WizardButton.NextButton).isEnabled()
    assert "at least one part" in prep.dates_text.text()
    prep.date_parts["day_of_year"].setChecked(True)
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_SPLIT
    names = wiz.prepared.preparation.output_names()
    assert names[:2] == ["date:day_of_year_sin", "date:day_of_year_cos"]
    assert "temp" in names and "humidity" in names  # numbers, not 500 categories
    assert any("decimal comma" in n for n in wiz.prepared.notes)
    assert "decimal comma" in prep.skipped.text()
    wiz.reject()


def test_a_new_file_starts_fresh_and_next_says_what_is_missing(qtbot, window, tmp_path,
                                                               datasets):
    salary = datasets / "salary" / "Salary_Data.csv"
    spec = DatasetSpec(source=str(salary), target="YearsExperience")
    window.workflow.adopt_dataset(spec, build_dataset(spec))
    other = tmp_path / "other.csv"
    other.write_text("a,b,c\n" + "".join(f"{i},{i * 2},{i % 3}\n" for i in range(30)))
    wiz = _open(qtbot, window, other)
    wiz.next()
    cols = wiz.columns_page
    # the project's roles (target YearsExperience) do not leak into the new file
    assert cols.target() == "c" and cols.features() == ["a", "b"]
    assert cols.missing_hint.text() == ""
    cols.set_role("c", "Ignore")
    assert not wiz.button(wiz.WizardButton.NextButton).isEnabled()
    assert "choose the column to predict" in cols.missing_hint.text()
    cols.set_role("c", "Target")
    cols.set_role("a", "Ignore")
    cols.set_role("b", "Ignore")
    assert "at least one column as a Feature" in cols.missing_hint.text()
    wiz.reject()
    # the project's own file keeps its roles
    wiz = _open(qtbot, window, salary)
    wiz.next()
    assert wiz.columns_page.target() == "YearsExperience"
    wiz.reject()


def test_an_empty_file_says_so_and_next_stays(qtbot, window, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    wiz = window.workflow.open_dataset_wizard()
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.set_file(str(empty))
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_SOURCE
    assert "empty" in wiz.source_page.path_error.text()
    wiz.reject()


def test_categorical_fill_offers_only_what_is_done(qtbot, window, tmp_path):
    path = tmp_path / "pets.csv"
    rows = ["kind,weight,y"] + [f"{'cat' if i % 3 else ('' if i % 4 else 'dog')},"
                                f"{3 + i % 5},{i % 2}" for i in range(40)]
    path.write_text("\n".join(rows) + "\n")
    wiz = _open(qtbot, window, path)
    wiz.next()
    wiz.next()
    prep = wiz.prepare_page
    combo = prep.per_column_combos["kind"]
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert "Fill with the mean" not in texts and "Fill with the median" not in texts
    assert "Fill with the most frequent category" in texts
    # the page-wide "mean" on a categorical column says what it really does
    assert not prep.fill_notes.isVisible()
    prep.missing.setCurrentIndex(prep.missing.findData("mean"))
    assert prep.fill_notes.isVisible()
    assert "kind: mean of a category does not exist: filled with its most frequent" in \
        prep.fill_notes.text()
    wiz.next()
    assert wiz.prepared.preparation.fill_notes() == {
        "kind": "mean of a category does not exist: filled with the most frequent, 'cat'"}
    wiz.reject()


REGRESSOR = {
    "nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 8},
              {"id": "a", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 1}],
    "edges": [["in", "h"], ["h", "a"], ["a", "out"]],
}


def test_predict_clears_the_result_on_error_and_shows_filled_values(qtbot, window, tmp_path):
    path = tmp_path / "sales.csv"
    rng = np.random.default_rng(2)
    lines = ["day,area,price"]
    for i in range(120):
        day = dt.date(2020, 1, 1) + dt.timedelta(days=i)
        area = "" if i % 10 == 0 else f"{rng.uniform(50, 150):.0f}"
        lines.append(f"{day},{area},{rng.uniform(100, 300):.0f}")
    path.write_text("\n".join(lines) + "\n")
    spec = DatasetSpec(source=str(path), target="price", missing="mean",
                       date_features=["year", "month"])
    window.undo_stack.push_command(ReplaceAll(window.document, REGRESSOR))
    window.workflow.adopt_dataset(spec, build_dataset(spec))
    panel = window.workflow.training
    panel.epochs.setValue(3)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=120_000):
        panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    predict = window.workflow.predict
    predict.set_value("day", "2020-02-01")
    predict.set_value("area", "100")
    assert predict.predict() is not None
    assert predict.result.text() != "–"
    predict.set_value("area", "lots")
    assert predict.predict() is None
    assert "not a number" in predict.error.text()
    assert predict.result.text() == "–" and predict.last is None
    predict.set_value("area", "")
    assert predict.predict() is not None
    feats = {f["name"]: f for f in window.workflow.session.prepared.preparation.features}
    mean = feats["area"]["mean"]
    shown = predict.fields["area"].placeholderText()
    assert shown.startswith("filled: ") and float(shown.split()[1]) == pytest.approx(mean)
    assert f"area was empty: filled with {shown.split()[1]}" in predict.result_detail.text()
    predict.set_value("area", "100")
    predict.set_value("day", "2024-06-01")
    assert predict.predict() is not None
    first = str(np.datetime64(int(feats["day"]["min"]), "D"))
    last = str(np.datetime64(int(feats["day"]["max"]), "D"))
    assert f"outside the training range {first} … {last}" in predict.result_detail.text()
