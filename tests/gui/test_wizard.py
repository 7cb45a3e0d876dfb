"""The dataset wizard, end to end in the real main window, on real files."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox, QWizard

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.graph import ReplaceAll
from nnstudio.gui.main_window import MainWindow
from nnstudio.gui.wizards.dataset_source import error_place
from nnstudio.gui.wizards.dataset_wizard import DatasetWizard
from nnstudio.gui.wizards.split_controls import SplitControls

pytestmark = pytest.mark.gui


@pytest.fixture
def answers(monkeypatch):
    """Scripted answers to QMessageBox.question (default: Discard / Yes as fits)."""
    replies: list = []

    def question(parent, title, text, buttons=None, default=None):
        if replies:
            return replies.pop(0)
        if "Unsaved" in title:
            return QMessageBox.StandardButton.Discard
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return replies


@pytest.fixture
def window(qtbot, tmp_path, answers):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, recovery_dir=tmp_path / "recovery")
    w.interactive = False
    qtbot.addWidget(w)
    w.show()
    yield w
    w.workflow.shutdown()


def run_wizard(qtbot, window, set_source, columns=None, shares=None):
    """Drive the wizard page by page like a user; returns the accepted wizard."""
    wiz = window.workflow.open_dataset_wizard()
    qtbot.addWidget(wiz)
    wiz.show()
    set_source(wiz.source_page)
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_PREVIEW, wiz.source_page.path_error.text()
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_COLUMNS
    if columns:
        columns(wiz.columns_page)
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_PREPARE, wiz.columns_page.table_error.text()
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_SPLIT
    if shares:
        shares(wiz.split_page)
    qtbot.waitUntil(lambda: wiz.split_page.counts.rowCount() == 3, timeout=20_000)
    wiz.accept()
    assert wiz.result() == QWizard.DialogCode.Accepted
    return wiz


def test_salary_csv_end_to_end(qtbot, window, datasets):
    path = datasets / "salary" / "Salary_Data.csv"
    wiz = run_wizard(qtbot, window, lambda p: p.set_file(str(path)))
    # the preview showed every column with its type and missing count
    header = wiz.preview_page.table.horizontalHeaderItem(1).text()
    assert "Salary" in header and "numeric" in header and "none missing" in header
    # target defaulted to the last column; the split defaults to 70/15/15
    assert wiz.result_spec.target == "Salary"
    assert wiz.split_page.shares.percents() == (70, 15, 15)
    s = window.workflow.session
    assert s.prepared.task == "regression"
    assert s.prepared.counts["train"] + s.prepared.counts["validation"] \
        + s.prepared.counts["test"] == 31  # the file has 30 people and one repeated line
    assert window.document.input_shape == (1,)
    assert window.project.dataset is wiz.result_spec
    assert window.workflow.actions["train"].isEnabled()


def test_king_county_csv_end_to_end(qtbot, window, datasets):
    path = datasets / "house" / "kc_house_data.csv"

    def columns(page):
        assert page.roles["id"].currentText() == "Ignore"  # a record id is never a feature
        page.set_role("price", "Target")
        page.set_role("date", "Ignore")
        page.set_category("zipcode")
        page.task.setCurrentIndex(page.task.findData("regression"))

    def shares(page):
        page.shares.spins["train"].setValue(80)
        assert page.shares.percents() == (80, 15, 5)
        page.seed.setValue(7)

    wiz = run_wizard(qtbot, window, lambda p: p.set_file(str(path)), columns, shares)
    # every split's row count is on the page
    counts = [int(wiz.split_page.counts.item(i, 0).text().replace(",", "")) for i in range(3)]
    assert sum(counts) == 21_613 and counts[0] == pytest.approx(0.8 * 21_613, abs=2)
    spec = wiz.result_spec
    assert spec.target == "price" and "zipcode" in spec.categorical
    assert set(spec.ignore) >= {"id", "date"}
    assert spec.split.seed == 7
    p = window.workflow.session.prepared
    n_zip = len(next(f for f in p.preparation.features if f["name"] == "zipcode")["categories"])
    assert p.input_shape == (17 + n_zip,)
    assert window.document.input_shape == p.input_shape
    # the one-hot encoding was announced on the preparation page
    assert "zipcode" in wiz.prepare_page.onehot.text()


def test_counts_per_class_and_stratified_split(qtbot, window):
    wiz = run_wizard(qtbot, window, lambda p: p.set_example("blobs"))
    table = wiz.split_page.counts
    assert table.columnCount() == 4  # rows + 3 classes
    per_class = [[int(table.item(i, j).text()) for j in range(1, 4)] for i in range(3)]
    assert per_class[0] == [105, 105, 105]  # stratified: 70 % of each class of 150


def test_data_errors_appear_next_to_the_field(qtbot, window, datasets, tmp_path):
    wiz = window.workflow.open_dataset_wizard()
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.set_file(str(tmp_path / "nope.csv"))
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_SOURCE
    assert wiz.source_page.path_error.text() == "file not found"
    assert wiz.source_page.path_error.isVisible()

    wiz.source_page.set_file(str(datasets / "house" / "kc_house_data.csv"))
    wiz.next()
    wiz.next()
    page = wiz.columns_page
    page.set_role("price", "Target")
    page.task.setCurrentIndex(page.task.findData("classification"))
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_COLUMNS
    shown = page.table_error.text() + page.task_error.text()
    assert "too many classes" in shown and "Traceback" not in shown
    assert "kc_house_data.csv:" not in shown  # no path noise next to a field
    page.task.setCurrentIndex(page.task.findData("auto"))
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_PREPARE


def test_bad_text_in_a_numeric_column_points_at_the_row(qtbot, window, tmp_path):
    csv = tmp_path / "bad.csv"
    rows = ["x,y"] + [f"{i},{2 * i}" for i in range(60)] + ["oops,5"]
    csv.write_text("\n".join(rows) + "\n")
    wiz = window.workflow.open_dataset_wizard()
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.set_file(str(csv))
    wiz.next()
    wiz.next()
    wiz.columns_page.set_role("y", "Target")
    wiz.next()
    text = wiz.columns_page.table_error.text()
    assert wiz.currentId() == DatasetWizard.PAGE_COLUMNS
    assert "row 62" in text and "'x'" in text and "not a number" in text


def test_idx_images_with_their_labels(qtbot, window, datasets):
    images = datasets / "mnist-t10k" / "t10k-images-idx3-ubyte.gz"
    wiz = window.workflow.open_dataset_wizard()
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.set_file(str(images))
    assert wiz.source_page.labels.text().endswith("t10k-labels-idx1-ubyte.gz")
    wiz.next()
    assert "10,000 samples of 28 × 28" in wiz.preview_page.summary.text()
    wiz.next()
    wiz.next()
    wiz.next()
    qtbot.waitUntil(lambda: wiz.split_page.counts.rowCount() == 3, timeout=30_000)
    wiz.accept()
    p = window.workflow.session.prepared
    assert p.task == "classification" and p.input_shape == (28, 28) and p.output_size == 10


def test_output_layer_fix_is_offered_and_undoable(qtbot, window, answers):
    doc = window.document
    net = {"nodes": [{"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 8},
                     {"id": "r", "type": "ReLU"}, {"id": "out", "type": "Dense", "units": 1},
                     {"id": "s", "type": "Sigmoid"}],
           "edges": [["in", "h"], ["h", "r"], ["r", "out"], ["out", "s"]]}
    window.undo_stack.push_command(ReplaceAll(doc, net))
    spec = DatasetSpec(example="blobs")
    answers.append(QMessageBox.StandardButton.Yes)
    window.workflow.adopt_dataset(spec, build_dataset(spec))
    types = [n.type for n in doc.nodes]
    assert doc.node("out").config["units"] == 3 and "Softmax" in types and "Sigmoid" not in types
    assert doc.report.ok
    window.undo_stack.undo()
    assert doc.node("out").config["units"] == 1 and doc.node("s").type == "Sigmoid"


def test_output_fix_declined_changes_nothing(qtbot, window, answers):
    doc = window.document
    net = {"nodes": [{"id": "in", "type": "Input"}, {"id": "out", "type": "Dense", "units": 1}],
           "edges": [["in", "out"]]}
    window.undo_stack.push_command(ReplaceAll(doc, net))
    answers.append(QMessageBox.StandardButton.No)
    spec = DatasetSpec(example="blobs")
    window.workflow.adopt_dataset(spec, build_dataset(spec))
    assert doc.node("out").config["units"] == 1
    assert window.document.input_shape == (2,)


def test_input_declaring_another_shape_adopts_the_data(qtbot, window):
    doc = window.document
    net = {"nodes": [{"id": "in", "type": "Input", "shape": [5]},
                     {"id": "out", "type": "Dense", "units": 1}], "edges": [["in", "out"]]}
    window.undo_stack.push_command(ReplaceAll(doc, net))
    spec = DatasetSpec(example="salary")
    window.workflow.adopt_dataset(spec, build_dataset(spec))
    assert not doc.node("in").config.get("shape")
    assert doc.report.ok


def test_split_controls_stay_linked(qtbot):
    c = SplitControls()
    qtbot.addWidget(c)
    seen = []
    c.shares_changed.connect(seen.append)
    c.spins["validation"].setValue(25)
    assert c.percents() == (70, 25, 5)
    c.spins["test"].setValue(30)
    assert c.percents() == (70, 0, 30)
    c.spins["test"].setValue(60)
    assert c.percents() == (40, 0, 60)
    assert sum(c.percents()) == 100 and seen[-1] == pytest.approx((0.4, 0.0, 0.6))


def test_error_place_routes_by_field():
    from nnstudio.core.errors import DataError

    assert error_place(DataError("x", where="dataset.split")).page == "split"
    assert error_place(DataError("bad", where="dataset.target")).page == "columns"
    place = error_place(DataError("'a' is not a number", where="f.csv, row 3, column 'x'"))
    assert place.page == "columns" and place.column == "x" and place.text.startswith("row 3")
    assert error_place(DataError("file not found", where="/a/b.csv")).page == "source"
