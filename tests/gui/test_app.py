"""Start-up (``--example``, ``--screenshot``, ``--quit-after-shown``), error hook, themes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from nnstudio.gui import app as gui_app
from nnstudio.gui import errors, files
from nnstudio.gui.theme import DARK, LIGHT, apply_theme, current_theme

pytestmark = pytest.mark.gui


@pytest.fixture
def sandboxed_run(monkeypatch, tmp_path, dialogs, qapp):
    """``run()`` in this process, its files sandboxed and its event loop stubbed.

    A real ``QApplication.exec()`` ended by ``quit()`` leaves Qt's "quit now" flag set, and
    every later event loop in the test session (``qtbot.waitUntil``...) would return at once;
    the real loop is exercised in a subprocess instead (:func:`test_command_line_start`).
    """
    monkeypatch.setattr(files, "make_settings", lambda path=None: files.QSettings(
        str(tmp_path / "settings.ini"), files.QSettings.Format.IniFormat))
    monkeypatch.setenv("NNSTUDIO_RECOVERY_DIR", str(tmp_path / "recovery"))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    quits = []
    monkeypatch.setattr(QApplication, "quit", lambda *a: quits.append(True))

    def fake_exec(*args):
        for _ in range(50):  # until run() asks to quit (after its screenshot), at most 5 s
            QTest.qWait(100)
            if quits:
                break
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    yield quits
    w = gui_app.last_window
    if w is not None:
        w.undo_stack.setClean()
        w.close()
        w.deleteLater()
        gui_app.last_window = None


def _window():
    return gui_app.last_window


def test_run_opens_the_default_example_and_quits(sandboxed_run, tmp_path):
    example = files.example_path(None)
    assert example.is_file()
    shot = tmp_path / "shot.png"
    assert gui_app.run(example="default", screenshot=str(shot), quit_after_shown=True) == 0
    assert sandboxed_run  # quit was asked for
    assert shot.is_file() and shot.stat().st_size > 10_000
    window = _window()
    assert window.project.path == example
    assert len(window.document) > 0
    assert window.windowTitle().startswith("house_price.nnsproj")


def test_run_with_a_project_file(sandboxed_run, tmp_path):
    from nnstudio.core.io.project import Project, save_project

    path = tmp_path / "p.nnsproj"
    save_project(Project(), path)
    assert gui_app.run(project=str(path), quit_after_shown=True) == 0
    assert _window().project.path == path


def test_run_with_an_unknown_example_reports_it(sandboxed_run, capsys):
    assert gui_app.run(example="no_such_example", quit_after_shown=True) == 0
    assert "no example named 'no_such_example'" in capsys.readouterr().err


def test_excepthook_shows_a_short_message_and_logs_the_traceback(
        window, dialogs, monkeypatch, tmp_path):
    log = tmp_path / "nnstudio.log"
    monkeypatch.setattr(errors, "log_path", lambda: log)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    errors.install_excepthook(window)
    try:
        raise ValueError("boom")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    (text,) = dialogs.texts()
    assert "ValueError: boom" in text and "Traceback" not in text and str(log) in text
    assert "Traceback" in log.read_text() and "boom" in log.read_text()


def test_excepthook_shows_user_errors_as_they_are(window, dialogs, monkeypatch):
    from nnstudio.core.errors import DataError

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    errors.install_excepthook(window)
    err = DataError("column 'price' has text", "data.csv")
    sys.excepthook(DataError, err, None)
    assert dialogs.texts() == ["data.csv: column 'price' has text"]


def test_light_and_dark_themes(window, qapp):
    window.set_theme("dark")
    assert current_theme() is DARK
    assert qapp.palette().window().color().name() == DARK.window
    assert window.actions.themes["dark"].isChecked()
    assert window.settings.value("theme") == "dark"
    window.grab()  # paints every item in the dark theme
    window.set_theme("light")
    assert current_theme() is LIGHT
    apply_theme(qapp, "light")


def test_command_line_start(tmp_path):
    """``nnstudio --example --screenshot PNG --quit-after-shown`` in a real process."""
    shot = tmp_path / "start.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path),
           "NNSTUDIO_RECOVERY_DIR": str(tmp_path / "recovery"), "HOME": str(tmp_path)}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "nnstudio", "--example", "--screenshot", str(shot),
         "--quit-after-shown"], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower()
    assert shot.is_file() and shot.stat().st_size > 10_000
