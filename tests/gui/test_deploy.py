"""File ▸ Deploy… and the Monitor dock, driven like a user: a real server child process."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from tests.core.serve.churn import churn_rows, train_churn, write_churn
from tests.core.serve.server_proc import request

pytestmark = pytest.mark.gui


@pytest.fixture
def window(workflow_window, tmp_path):
    model, _, _ = train_churn(tmp_path)
    w = workflow_window
    w.workflow.session.set_model(model.network, model)
    yield w
    w.deploy.shutdown()


def deploy_action(window):
    return next(a for a in window.menus["file"].actions() if a.text() == "&Deploy…")


def inputs(rows):
    return [{k: v for k, v in r.items() if k != "churn"} for r in rows]


def test_deploy_serves_the_session_model_and_the_monitor_follows_its_log(qtbot, window,
                                                                          tmp_path):
    action = deploy_action(window)
    assert action.isEnabled()
    action.trigger()
    dialog = window.deploy.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.port.setValue(0)  # any free port
    dialog.log.setText(str(tmp_path / "served.db"))
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.deploy.server.url is not None, timeout=30_000)
    url = window.deploy.server.url
    assert url.startswith("http://127.0.0.1:")
    assert url in dialog.url.text()
    assert not dialog.start_button.isEnabled() and dialog.stop_button.isEnabled()
    assert not dialog.port.isEnabled()

    # The curl example is copyable and works as it is.
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    command = QGuiApplication.clipboard().text()
    assert command.startswith(f"curl -s {url}/predict") and '"plan": "basic"' in command
    if shutil.which("curl"):
        out = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30)
        assert json.loads(out.stdout)["prediction"]["class"] in ("no", "yes")

    # Live request count.
    for row in inputs(churn_rows(4, seed=3)):
        assert request(url, "POST", "/predict", row)[0] == 200
    qtbot.waitUntil(lambda: "Requests served: 5 " in dialog.counts.text(), timeout=15_000)

    # The Monitor panel took the server's log as its source; a drifted batch shows up.
    panel = window.deploy.monitor
    assert panel.source == ("log", str(tmp_path / "served.db"))
    drifted = inputs(churn_rows(400, seed=4, age_shift=12.0))
    assert request(url, "POST", "/predict", {"rows": drifted})[0] == 200
    with qtbot.waitSignal(panel.report_shown, timeout=30_000) as blocker:
        qtbot.mouseClick(panel.refresh_button, Qt.MouseButton.LeftButton)
    report = blocker.args[0]
    assert report["rows"] == 405
    rows = {panel.table.item(i, 0).text(): panel.table.item(i, 1).text()
            for i in range(panel.table.rowCount())}
    assert rows["age"] == "drifted" and rows["plan"] == "stable"
    assert "(predictions)" in rows
    assert panel.banner.isVisible() and "Drifted" in panel.banner.label.text()
    age_row = next(i for i in range(panel.table.rowCount())
                   if panel.table.item(i, 0).text() == "age")
    panel.table.selectRow(age_row)
    assert panel.plot.title == "age" and panel.plot.cur_bars is not None
    shown = panel.plot.cur_bars.getData()[1].copy()
    assert shown.tolist() == pytest.approx(
        next(e for e in report["features"] if e["name"] == "age")["histogram"]["current"])

    # Outcomes sent to /feedback appear as accuracy.
    _, data = request(url, "POST", "/predict", inputs(churn_rows(1, seed=5))[0])
    assert request(url, "POST", "/feedback", {"request_id": data["request_id"],
                                              "outcome": "yes"})[0] == 200
    more = inputs(churn_rows(400, seed=6))
    assert request(url, "POST", "/predict", {"rows": more})[0] == 200
    with qtbot.waitSignal(panel.report_shown, timeout=30_000) as blocker:
        panel.refresh()
    assert "Accuracy on 1 known outcomes" in panel.performance.text()
    # A refresh redraws the selected column with the new rows.
    assert panel.plot.title == "age"
    new = next(e for e in blocker.args[0]["features"] if e["name"] == "age")
    assert panel.plot.cur_bars.getData()[1].tolist() == pytest.approx(
        new["histogram"]["current"])
    assert panel.plot.cur_bars.getData()[1].tolist() != pytest.approx(shown.tolist())

    # Stop: the child process ends, the dialog says so.
    process = window.deploy.server.process
    qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.deploy.server.running, timeout=15_000)
    assert process is not None
    assert dialog.status.text() == "Stopped." and dialog.start_button.isEnabled()


def test_monitor_a_new_data_file_with_outcomes_and_thresholds(qtbot, window, tmp_path):
    panel = window.deploy.monitor
    calm = write_churn(tmp_path / "calm.csv", 2000, seed=7)
    with qtbot.waitSignal(panel.report_shown, timeout=30_000) as blocker:
        panel.set_source("data", calm)
    assert panel.labels.currentText() == "churn"  # the model's target column, if present
    report = blocker.args[0]
    assert {e["verdict"] for e in report["features"]} == {"stable"}
    assert "Stable" in panel.banner.label.text()
    assert "Accuracy on 2,000 known outcomes" in panel.performance.text()
    moved = write_churn(tmp_path / "moved.csv", 2000, seed=8, new_plan=0.15)
    with qtbot.waitSignal(panel.report_shown, timeout=30_000) as blocker:
        panel.set_source("data", moved)
    plan = next(e for e in blocker.args[0]["features"] if e["name"] == "plan")
    assert plan["verdict"] == "drifted"
    assert panel.plot.title == "plan"  # the drifted column is selected and plotted
    # Thresholds are settable from the panel and shown under the table.
    with qtbot.waitSignal(panel.report_shown, timeout=30_000) as blocker:
        panel.psi_drift.setValue(9.0)
    assert blocker.args[0]["thresholds"]["psi_drift"] == 9.0
    assert "drifted ≥ 9" in panel.thresholds_label.text()


def test_outcomes_imported_from_a_csv_show_as_accuracy(qtbot, window, tmp_path):
    from nnstudio.core.serve import PredictionLog, Predictor

    model = window.workflow.session.model
    pred = Predictor(model)
    log = PredictionLog(tmp_path / "log.db")
    rows = churn_rows(300, seed=9)
    for i, r in enumerate(inputs(rows)):
        out = pred.predict_rows([r])
        log.append(f"q{i}", pred.fingerprint, [r], out, [out[0]["class"]], 0.2)
    log.close()
    panel = window.deploy.monitor
    with qtbot.waitSignal(panel.report_shown, timeout=30_000):
        panel.set_source("log", tmp_path / "log.db")
    assert panel.performance.text() == "No true outcomes known yet."
    assert panel.import_button.isEnabled()
    truth = tmp_path / "truth.csv"
    truth.write_text("request_id,outcome\n" + "".join(
        f"q{i},{r['churn']}\n" for i, r in enumerate(rows[:200])) + "nope,yes\n")
    imported: list = []
    panel.importer.finished.connect(imported.append)
    with qtbot.waitSignal(panel.report_shown, timeout=30_000) as blocker:
        assert panel.import_outcomes(truth)
    report = blocker.args[0]
    assert imported == [{"recorded": 200, "unknown": 1}]
    assert report["performance"]["rows_with_outcome"] == 200
    assert "Accuracy on 200 known outcomes" in panel.performance.text()


def test_a_bad_source_is_one_message_and_the_window_stays(qtbot, window, tmp_path):
    panel = window.deploy.monitor
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with qtbot.waitSignal(panel.runner.failed, timeout=30_000):
        panel.set_source("log", junk)
    assert "not" in panel.banner.label.text() and panel.banner.isVisible()
    assert panel.refresh_button.isEnabled()


def test_deploy_without_a_model_is_disabled(qtbot, workflow_window):
    w = workflow_window
    assert w.workflow.session.model is None
    assert not deploy_action(w).isEnabled()
