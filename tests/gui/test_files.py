"""Files: save → reopen, broken files, the unsaved-changes prompt, recent files, recovery."""

from __future__ import annotations

import json
import os
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from nnstudio.core.graph import SetConfig
from nnstudio.core.io.project import load_project
from nnstudio.gui.files import read_project
from nnstudio.gui.recovery import META_KEY

from .editor_helpers import build_chain

pytestmark = pytest.mark.gui
Btn = QMessageBox.StandardButton


def _design(window):
    window.document.set_input_shape((4,))
    window.apply_template("mlp_classifier")
    window.push(SetConfig(window.document, "dense_1", {"units": 12}))
    window.push(SetConfig(window.document, "dense_3", {"kernel_initializer": "he_normal"}))


def test_save_and_reopen_gives_the_identical_graph(window, make_window, tmp_path):
    _design(window)
    assert window.isWindowModified()
    path = tmp_path / "net.nnsproj"
    assert window.save_to(path)
    assert not window.isWindowModified()
    assert window.windowTitle() == "net.nnsproj[*] — nnstudio"
    saved = window.document.to_network_dict()
    assert load_project(path).network == saved  # the real project file format
    other = make_window()
    assert other.open_path(path)
    assert other.document.to_network_dict() == saved
    assert other.project.path == path
    assert not other.isWindowModified() and other.undo_stack.count() == 0
    assert set(other.scene.node_items) == {n["id"] for n in saved["nodes"]}
    assert set(other.scene.edge_items) == {tuple(e) for e in saved["edges"]}


def test_title_shows_the_unsaved_mark(window, tmp_path):
    assert window.windowTitle() == "Untitled[*] — nnstudio"
    assert not window.isWindowModified()
    build_chain(window, ("Input", {}))
    assert window.isWindowModified()
    window.undo_stack.undo()
    assert not window.isWindowModified()
    window.mark_modified()
    assert window.isWindowModified()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{ not json", "is not valid JSON"),
        ('{"format": "nnstudio.project", "version": 99, "network": {}}', "newer nnstudio"),
        ('{"format": "nnstudio.project", "version": 1, "network": {"nodes": [{"id": "a"}]}}',
         "unknown layer type"),
    ],
)
def test_opening_a_broken_file_shows_a_message_and_changes_nothing(
        window, dialogs, tmp_path, content, expected):
    _design(window)
    window.save_to(tmp_path / "good.nnsproj")
    before = window.document.to_network_dict()
    count = window.undo_stack.count()
    bad = tmp_path / "bad.nnsproj"
    bad.write_text(content, encoding="utf-8")
    assert not window.open_path(bad, ask=False)
    (text,) = dialogs.texts()
    assert expected in text and "Traceback" not in text
    assert window.document.to_network_dict() == before
    assert window.undo_stack.count() == count
    assert window.project.path == tmp_path / "good.nnsproj"


def test_a_design_with_graph_problems_still_opens(window, make_window, tmp_path, dialogs):
    build_chain(window, ("Input", {}), ("Dense", {}))
    build_chain(window, ("ReLU", {}))  # not connected: two outputs, one unconnected layer
    path = tmp_path / "wip.nnsproj"
    assert window.save_to(path)
    other = make_window()
    assert other.open_path(path)
    assert not dialogs.texts()
    assert other.document.to_network_dict() == window.document.to_network_dict()
    assert other.scene.node_items["relu_1"].error  # shown on the canvas instead


def test_missing_file_message(window, dialogs, tmp_path):
    assert not window.open_path(tmp_path / "nope.nnsproj", ask=False)
    assert "no such file" in dialogs.texts()[0]


def test_close_with_unsaved_changes_asks_save_discard_cancel(make_window, dialogs, tmp_path):
    w = make_window()
    build_chain(w, ("Input", {}))
    dialogs.answers = [Btn.Cancel]
    assert not w.close()
    assert w.isVisible()
    assert dialogs.shown[-1][1] == "Unsaved changes"
    dialogs.answers = [Btn.Discard]
    assert w.close()

    w = make_window()
    build_chain(w, ("Input", {}), ("Dense", {}))
    path = tmp_path / "saved.nnsproj"
    w.project.path = path
    dialogs.answers = [Btn.Save]
    assert w.close()
    assert read_project(path).network == w.document.to_network_dict()


def test_new_asks_first_and_cancel_keeps_the_design(window, dialogs):
    build_chain(window, ("Input", {}), ("Dense", {}))
    before = window.document.to_network_dict()
    dialogs.answers = [Btn.Cancel]
    assert not window.new_project()
    assert window.document.to_network_dict() == before
    dialogs.answers = [Btn.Discard]
    assert window.new_project()
    assert [n.type for n in window.document.nodes] == ["Input"]
    assert window.project.path is None and not window.isWindowModified()


def test_open_asks_to_save_unsaved_changes(window, dialogs, tmp_path):
    build_chain(window, ("Input", {}))
    window.save_to(tmp_path / "a.nnsproj")
    build_chain(window, ("Dense", {}))
    dialogs.answers = [Btn.Cancel]
    assert not window.open_path(tmp_path / "a.nnsproj")
    assert len(window.document) == 2


def test_recent_files_are_remembered(window, make_window, tmp_path):
    build_chain(window, ("Input", {}))
    for name in ("one", "two"):
        window.save_to(tmp_path / f"{name}.nnsproj")
    other = make_window()
    recent = other.recent_files()
    assert recent[:2] == [str((tmp_path / "two.nnsproj").resolve()),
                          str((tmp_path / "one.nnsproj").resolve())]
    other.menus["recent"].aboutToShow.emit()
    texts = [a.text() for a in other.menus["recent"].actions()]
    assert str((tmp_path / "two.nnsproj").resolve()) in texts


def test_window_layout_is_remembered(make_window):
    w = make_window()
    w.resize(1000, 700)
    w.docks["palette"].hide()
    w.close()
    again = make_window(show=False)
    assert again.settings.value("window/geometry") is not None
    assert again.settings.value("window/state") is not None


def test_saved_layout_comes_back_and_an_older_one_does_not_float_new_docks(make_window, qtbot):
    w = make_window(workflow_panels=True)
    w.docks["palette"].hide()
    w.close()
    again = make_window(workflow_panels=True)
    qtbot.waitUntil(lambda: not again.docks["palette"].isVisible(), timeout=3000)
    state = again.saveState()
    again.close()
    # The layout of a version without the Monitor and Gallery docks: after restoreState they
    # would float over the canvas; the window lays its docks out afresh instead.
    settings = again.settings
    settings.setValue("window/state", state)
    settings.setValue("window/docks", sorted(set(again.docks) - {"monitor", "gallery"}))
    old = make_window(workflow_panels=True)
    qtbot.wait(50)
    for name, dock in old.docks.items():
        assert not dock.isFloating(), name
    assert old.docks["palette"].isVisible()  # the older layout was not applied
    bottom = Qt.DockWidgetArea.BottomDockWidgetArea
    assert old.dockWidgetArea(old.docks["monitor"]) == bottom
    assert old.docks["monitor"] in old.tabifiedDockWidgets(old.docks["training"])


def test_autosave_writes_a_recovery_file_and_restore_brings_it_back(
        window, make_window, dialogs, tmp_path):
    _design(window)
    path = window.recovery.autosave()
    assert path is not None and path.is_file()
    assert path.parent == tmp_path / "recovery"
    record = json.loads(path.read_text())
    assert record[META_KEY]["source"] is None
    design = window.document.to_network_dict()
    # the app "crashes": the file stays; a new window offers it
    restored = make_window()
    dialogs.answers = [Btn.Yes]
    assert restored.offer_recovery()
    assert restored.document.to_network_dict() == design
    assert restored.isWindowModified()  # it is not saved anywhere yet
    assert META_KEY not in restored.project.meta
    assert restored.save_to(tmp_path / "rescued.nnsproj")
    assert not path.exists()  # a clean save removes it


def test_declined_recovery_is_discarded(window, make_window, dialogs):
    from nnstudio.core.io.project import run_arrays_path

    build_chain(window, ("Input", {}))
    path = window.recovery.autosave()
    arrays = run_arrays_path(path)  # where a recorded run's initial weights would be
    arrays.write_bytes(b"PK")
    other = make_window()
    dialogs.answers = [Btn.No]
    assert not other.offer_recovery()
    assert not path.exists() and not arrays.exists()
    assert not other.offer_recovery()  # no second question


def test_recovery_is_offered_only_when_newer_than_the_saved_file(window, tmp_path):
    build_chain(window, ("Input", {}))
    window.save_to(tmp_path / "p.nnsproj")
    build_chain(window, ("Dense", {}))
    path = window.recovery.autosave()
    assert json.loads(path.read_text())[META_KEY]["source"] == str(
        (tmp_path / "p.nnsproj").resolve())
    assert window.recovery.pending() == path
    later = time.time() + 10
    os.utime(tmp_path / "p.nnsproj", (later, later))
    assert window.recovery.pending() is None


def test_no_recovery_file_without_changes_and_after_a_clean_close(make_window):
    w = make_window()
    assert w.recovery.autosave() is None and not w.recovery.path.exists()
    build_chain(w, ("Input", {}))
    assert w.recovery.autosave().exists()
    w.undo_stack.setClean()
    w.close()
    assert not w.recovery.path.exists()


def test_restored_design_saves_to_its_original_file(window, make_window, dialogs, tmp_path):
    build_chain(window, ("Input", {}))
    window.save_to(tmp_path / "orig.nnsproj")
    build_chain(window, ("Dense", {}))
    window.recovery.autosave()
    other = make_window()
    dialogs.answers = [Btn.Yes]
    assert other.offer_recovery()
    assert other.project.path == tmp_path / "orig.nnsproj"
    assert other.save()
    assert read_project(tmp_path / "orig.nnsproj").network == window.document.to_network_dict()


def test_autosave_runs_on_a_timer(window, qtbot):
    assert window.recovery.timer.isActive()
    assert window.recovery.timer.interval() == 60_000
    window.recovery.timer.setInterval(20)
    build_chain(window, ("Input", {}))
    qtbot.waitUntil(window.recovery.path.exists, timeout=2000)
