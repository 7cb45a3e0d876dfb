"""A run whose loss explodes without reaching inf, or ends worse than a constant guess, is
reported as diverged in the training panel (issue 14), not as "Finished"."""

from __future__ import annotations

import pytest

from .test_training_panel import CLASSIFIER, load

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("optimizer,lr,words", [
    ("adam", 1e5, "more than 1000 times where it started"),
    ("adam", 10.0, "worse than where it started"),
])
def test_finite_divergence_is_an_error_banner(qtbot, workflow_window, optimizer, lr, words):
    window = workflow_window
    load(window, "xor", CLASSIFIER)
    panel = window.workflow.training
    panel.optimizer.setCurrentIndex(panel.optimizer.findData(optimizer))
    panel.learning_rate.setValue(lr)
    assert panel.learning_rate.value() == pytest.approx(lr)
    panel.epochs.setValue(30)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=60_000) as b:
        assert panel.start()
    fin = b.args[0].finished
    assert fin.reason == "diverged"
    assert panel.banner.kind == "error"
    assert words in fin.message and "a constant guess" in fin.message
    text = panel.banner.text()  # elided to the panel's width
    assert text.startswith("Training diverged and was stopped Training ")
    assert fin.message[:40].capitalize() in text
    assert "diverged after" in panel.status.text().lower()
    assert not window.design_locked and panel.start_button.isEnabled()
