"""The insight views follow the design on the canvas: an edit that breaks the fit between
network and data is said in the views in the trainer's words (no traceback), undoing it
brings the views back."""

from __future__ import annotations

import pytest

from nnstudio.core.graph.commands import SetConfig
from nnstudio.resources import resource_path

pytestmark = pytest.mark.gui


def test_views_follow_edits_and_explain_a_misfit(qtbot, workflow_window, capsys):
    w = workflow_window
    assert w.open_path(resource_path("examples", "xor.nnsproj"), ask=False)
    w.insight_dock.show()
    w.insight_dock.raise_()
    panel = w.insight_panel
    panel.show_view("stats")
    source = panel.source
    qtbot.waitUntil(lambda: panel.stats.last_result is not None, timeout=10_000)
    before = source.network

    w.undo_stack.push_command(SetConfig(w.document, "out", {"units": 1}))
    qtbot.waitUntil(lambda: source.network is not before, timeout=5_000)
    assert tuple(source.network.output_shape) == (1,)
    for view in panel.views:
        assert "do not fit together yet" in view.message, view.key
        assert "end it with Dense 2 + Softmax" in view.message, view.key

    w.undo_stack.undo()
    qtbot.waitUntil(lambda: panel.stats.message == "", timeout=5_000)
    assert tuple(source.network.output_shape) == (2,)
    qtbot.waitUntil(lambda: panel.stats.last_result is not None, timeout=10_000)
    qtbot.waitUntil(source.compute.idle, timeout=10_000)
    assert "Traceback" not in capsys.readouterr().err
