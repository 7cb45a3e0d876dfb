"""GUI test fixtures: a main window with its settings, recovery folder and dialogs sandboxed."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import QMessageBox

QStandardPaths.setTestModeEnabled(True)


class Dialogs:
    """Records message boxes instead of showing them; answers questions from a queue."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str, str]] = []
        self.answers: list[QMessageBox.StandardButton] = []

    def question(self, parent, title, text, *args, **kwargs):
        self.shown.append(("question", title, text))
        if not self.answers:
            raise AssertionError(f"unexpected question: {title}: {text}")
        return self.answers.pop(0)

    def warning(self, parent, title, text, *args, **kwargs):
        self.shown.append(("warning", title, text))
        return QMessageBox.StandardButton.Ok

    def texts(self, kind: str = "warning") -> list[str]:
        return [t for k, _, t in self.shown if k == kind]


@pytest.fixture
def dialogs(monkeypatch) -> Dialogs:
    """Message boxes never block a test: warnings are recorded, questions answered."""
    d = Dialogs()
    monkeypatch.setattr(QMessageBox, "question", d.question)
    monkeypatch.setattr(QMessageBox, "warning", d.warning)
    monkeypatch.setattr(QMessageBox, "critical", d.warning)
    monkeypatch.setattr(QMessageBox, "about", d.warning)
    return d


@pytest.fixture
def make_window(qtbot, tmp_path, dialogs):
    """Build main windows sharing one settings file and one recovery folder."""
    from nnstudio.gui.files import make_settings
    from nnstudio.gui.main_window import MainWindow

    def make(show: bool = True, workflow_panels: bool = False):
        w = MainWindow(make_settings(tmp_path / "settings.ini"),
                       recovery_dir=tmp_path / "recovery", workflow_panels=workflow_panels)
        qtbot.addWidget(w, before_close_func=_forget_changes)
        w.resize(1200, 800)
        if show:
            w.show()
            qtbot.waitExposed(w)
        return w

    return make


def _forget_changes(w) -> None:
    """Close without the unsaved-changes question (qtbot closes windows after a test)."""
    try:
        w.undo_stack.setClean()
        w.session.set_modified(False)
        w.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # later tests restyle fewer widgets
    except RuntimeError:  # already deleted
        pass


@pytest.fixture
def window(make_window):
    """A shown main window with an empty design (no layers, no undo history)."""
    from nnstudio.core.io.project import Project

    w = make_window()
    w.set_project(Project(network={"nodes": [], "edges": []}))
    return w


@pytest.fixture
def workflow_window(qtbot, tmp_path, monkeypatch):
    """The full main window with the workflow panels; "Unsaved changes" questions are
    answered Discard, any other question No."""
    from PySide6.QtCore import QSettings

    from nnstudio.gui.main_window import MainWindow

    def question(parent, title, text, *args, **kwargs):
        return QMessageBox.StandardButton.Discard if "Unsaved" in title \
            else QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings, recovery_dir=tmp_path / "recovery")
    w.interactive = False
    qtbot.addWidget(w)
    w.show()
    yield w
    w.workflow.shutdown()
    if getattr(w, "insight_panel", None) is not None:
        w.insight_panel.shutdown()


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_gui_thread(qapp):
    """As the app does (``collect_on_gui_thread``): Python's garbage collector runs only on
    this thread — a collection started by a worker thread once destroyed a previous test's
    menu there and deadlocked — and what a test leaves is collected here after it."""
    import gc

    from nnstudio.gui.app import collect_on_gui_thread

    collect_on_gui_thread(qapp)
    gc.disable()  # (again: a previous test's teardown enabled it for the non-GUI tests)
    yield
    gc.collect()
    gc.enable()
