"""Help: Getting Started walks the nine steps on an example in the real window (each step
ticked only when really done), the shortcuts come from the actions, the guide is offline."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.gui.help.guide import GuideDialog
from nnstudio.gui.help.shortcuts import show_shortcuts
from nnstudio.gui.help.tour import STEPS, show_tour
from nnstudio.resources import resource_path

pytestmark = pytest.mark.gui


@pytest.fixture
def window(workflow_window):
    return workflow_window


def test_help_menu_has_getting_started_shortcuts_and_guide(window):
    texts = [a.text() for a in window.menus["help"].actions()]
    assert texts[:3] == ["&Getting Started…", "&Keyboard Shortcuts…", "&User Guide (offline)…"]
    assert window.actions.getting_started.shortcut() == QKeySequence(
        QKeySequence.StandardKey.HelpContents)


def test_getting_started_ticks_the_nine_steps_as_the_user_does_them(qtbot, window, tmp_path):
    tour = show_tour(window)
    qtbot.addWidget(tour)
    assert len(STEPS) == 9
    assert tour.done_steps() == [False] * 9 or sum(tour.done_steps()) <= 1
    # 1: "Show me" opens the example (the one thing the tour does for the user).
    overlay = tour.show_step(0)
    qtbot.wait(50)
    assert str(window.project.path).endswith("house_price.nnsproj")
    done = tour.done_steps()
    assert done[0]
    # 2-3: the example's data is loaded and split (the wizard's result).
    if not done[1]:
        spec = DatasetSpec(example="house_price")
        window.workflow.adopt_dataset(spec, build_dataset(spec))
    assert tour.done_steps()[1:3] == [True, True]
    # 4: the example's network is valid; 5: not trained yet.
    assert tour.done_steps()[3] and not tour.done_steps()[4]
    overlay = tour.show_step(4)  # points at the real Start button
    assert overlay is not None and overlay.target is window.workflow.training.start_button
    panel = window.workflow.training
    panel.epochs.setValue(3)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=120_000):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    tour.refresh()
    assert tour.done_steps()[4] and not tour.done_steps()[5]
    # 6-7: open Results, then pick the test split.
    tour.show_step(5)
    qtbot.waitUntil(lambda: tour.done_steps()[5], timeout=5000)
    results = window.workflow.results
    qtbot.waitUntil(lambda: results.split.findData("test") >= 0, timeout=10_000)
    results.split.setCurrentIndex(results.split.findData("validation"))
    assert not tour.done_steps()[6]
    results.split.setCurrentIndex(results.split.findData("test"))
    assert tour.done_steps()[6]
    # 8: export from the real dialog.
    dialog = window.workflow.open_export_dialog()
    qtbot.addWidget(dialog)
    dialog.path.setText(str(tmp_path / "house.npz"))
    tour.refresh()
    assert not tour.done_steps()[7]
    assert dialog.export()
    assert tour.done_steps()[7]
    # 9: a prediction in the Predict panel.
    window.workflow.predict.predict()
    tour.refresh()
    assert tour.done_steps() == [True] * 9
    assert "9 of 9 steps done" in tour.progress.text()
    assert all(m.text() == "✓" for m in tour.marks)


def test_shortcuts_come_from_the_actions(qtbot, window):
    dialog = show_shortcuts(window)
    qtbot.addWidget(dialog)
    rows = {dialog.table.item(i, 1).text(): dialog.table.item(i, 0).text()
            for i in range(dialog.table.rowCount())}
    assert rows["Start Training"] == QKeySequence("F5").toString(
        QKeySequence.SequenceFormat.NativeText)
    assert "Export Model" in rows and "Undo" in rows
    assert "Ctrl+Z" in rows["Undo"]
    assert any("Zoom the canvas" in what for what in rows)


def test_offline_guide_opens_and_follows_its_links(qtbot):
    assert resource_path("docs", "guide.md").is_file()
    dialog = GuideDialog()
    qtbot.addWidget(dialog)
    assert dialog.page == "guide.md"
    assert "nine steps" in dialog.browser.toPlainText()
    from PySide6.QtCore import QUrl

    dialog.browser.anchorClicked.emit(QUrl("steps.md"))
    assert dialog.page == "steps.md" and "Split it" in dialog.browser.toPlainText()
    dialog.browser.anchorClicked.emit(QUrl("https://example.org/"))
    assert dialog.page == "steps.md"  # nothing online
