"""File ▸ Deploy and the Monitor dock with an image model and a text model: the curl example
fits the model (a file upload, a text field) and the Monitor lists the image statistics."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess

import pytest
from PySide6.QtCore import Qt

from tests.core.serve.media_models import train_images, train_text, write_images

pytestmark = pytest.mark.gui


def deploy_action(window):
    return next(a for a in window.menus["file"].actions() if a.text() == "&Deploy…")


def test_an_image_model_is_deployed_with_an_upload_example_and_monitored(
        qtbot, workflow_window, tmp_path):
    window = workflow_window
    model, _, root = train_images(tmp_path, 300)
    window.workflow.session.set_model(model.network, model)
    narrowest = window.deploy.monitor.minimumSizeHint().width()
    try:
        deploy_action(window).trigger()
        dialog = window.deploy.dialog
        dialog.port.setValue(0)
        dialog.log.setText(str(tmp_path / "served.db"))
        assert dialog.curl.toPlainText().endswith("/predict -F file=@cat.png")
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: window.deploy.server.url is not None, timeout=30_000)
        url = window.deploy.server.url
        command = dialog.curl.toPlainText()
        assert command == f"curl -s {url}/predict -F file=@cat.png"
        files = write_images(tmp_path / "new", 60, seed=5, brighter=70)
        if shutil.which("curl"):  # the example works as it is, with a real file for cat.png
            for f in files:
                out = subprocess.run(shlex.split(command.replace("cat.png", str(f))),
                                     capture_output=True, text=True, timeout=30)
                assert json.loads(out.stdout)["prediction"]["class"] in ("blue", "red")
        else:  # pragma: no cover - dev.sh installs curl
            pytest.skip("curl is not installed")
        qtbot.waitUntil(lambda: "Requests served: 60 " in dialog.counts.text(), timeout=15_000)
        panel = window.deploy.monitor
        with qtbot.waitSignal(panel.report_shown, timeout=30_000) as blocker:
            qtbot.mouseClick(panel.refresh_button, Qt.MouseButton.LeftButton)
        assert blocker.args[0]["rows"] == 60
        rows = {panel.table.item(i, 0).text(): panel.table.item(i, 1).text()
                for i in range(panel.table.rowCount())}
        assert rows["image: brightness"] == "drifted" and "image: width" in rows
        assert panel.plot.title in rows and panel.plot.cur_bars is not None
        assert panel.minimumSizeHint().width() <= narrowest  # the new rows widen nothing
        qtbot.mouseClick(dialog.stop_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.deploy.server.running, timeout=15_000)
        # A folder of new images (class folders give the outcomes).
        with qtbot.waitSignal(panel.report_shown, timeout=30_000) as blocker:
            panel.set_source("data", root)
        assert panel.labels.currentText() == "class folders"
        assert {e["verdict"] for e in blocker.args[0]["features"]} == {"stable"}
        assert "Accuracy on 300 known outcomes" in panel.performance.text()
    finally:
        window.deploy.shutdown()


def test_a_text_models_curl_example_has_its_text_field(qtbot, workflow_window, tmp_path):
    window = workflow_window
    model = train_text(tmp_path)[0]
    window.workflow.session.set_model(model.network, model)
    try:
        deploy_action(window).trigger()
        command = window.deploy.dialog.curl.toPlainText()
        body = json.loads(shlex.split(command)[-1])
        assert set(body) == {"hour", "message"} and isinstance(body["message"], str)
        assert len(body["message"].split()) == 4
    finally:
        window.deploy.shutdown()
