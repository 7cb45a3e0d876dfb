"""File dialogs start in the folder last chosen for that kind of file, else the project's
folder, else home — never the process's working directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QWidget

from nnstudio.gui.dialog_folders import remember, start_folder, start_path


@pytest.fixture
def window(workflow_window):
    return workflow_window


def test_a_dialog_starts_in_the_project_folder_then_where_the_user_went(window, tmp_path,
                                                                        monkeypatch):
    project = tmp_path / "work" / "houses.nnsproj"
    project.parent.mkdir()
    window.project.path = str(project)
    elsewhere = tmp_path / "new data"
    elsewhere.mkdir()
    (elsewhere / "new.csv").write_text("a,b\n1,2\n")
    starts: list[str] = []

    def ask(parent, title, start, *args, **kwargs):
        starts.append(start)
        return str(elsewhere / "new.csv"), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(ask))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    panel = window.workflow.predict
    panel._ask_predict_file()  # the save question is cancelled: nothing is written
    panel._ask_predict_file()
    assert starts == [str(project.parent), str(elsewhere)]
    assert start_folder(panel, "predict") == elsewhere
    # Another kind of file still starts in the project's folder.
    assert start_path(panel, "chart", "results.png") == str(project.parent / "results.png")
    # A remembered folder that is gone falls back to the project's folder.
    elsewhere.joinpath("new.csv").unlink()
    elsewhere.rmdir()
    assert start_folder(panel, "predict") == project.parent


def test_without_a_project_or_window_home(window, tmp_path):
    window.project.path = None
    assert start_folder(window.workflow.predict, "predict") == Path.home()
    lone = QWidget()
    assert start_folder(lone, "predict") == Path.home()
    remember(lone, "predict", str(tmp_path))  # nowhere to keep it: no error
    lone.deleteLater()
