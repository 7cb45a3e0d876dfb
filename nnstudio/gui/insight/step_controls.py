"""Step mode: "One batch" and "One epoch" — gradient descent slowed down to be watched.

The buttons drive the running trainer's ``TrainControl``: ``step_batches(1)`` lets exactly
one more optimizer step run, ``step_batches(n)`` the rest of the current epoch, then the
trainer pauses again and every insight view refreshes with the new weights. Pressing a step
button while the run goes pauses it after the step. With no run, the buttons ask whoever
installed a ``start_handler`` (the training panel) to start one, and step it as soon as it
starts.

Embedding in another panel: ``StepControls(source)`` is a plain ``QWidget``; its
:attr:`one_batch_action` / :attr:`one_epoch_action` are ``QAction`` s for toolbars and menus.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from nnstudio.gui.insight import colors
from nnstudio.gui.insight.source import InsightSource


class StepControls(QWidget):
    """Two step buttons and a line saying where training stands."""

    #: A step was requested with no run going: the number of batches wanted.
    start_requested = Signal(int)

    def __init__(self, source: InsightSource, parent: QWidget | None = None):
        super().__init__(parent)
        self.source = source
        #: ``() -> bool``: start a run (the training panel's Start); True when it started.
        self.start_handler: Callable[[], bool] | None = None
        self.one_batch_action = QAction("One batch", self)
        self.one_batch_action.setToolTip(
            "Run exactly one optimizer step (one mini-batch), then pause and refresh every view")
        self.one_batch_action.setShortcut(QKeySequence("Ctrl+."))
        self.one_epoch_action = QAction("One epoch", self)
        self.one_epoch_action.setToolTip(
            "Run to the end of the current epoch (a whole epoch at an epoch's start), then "
            "pause and refresh every view")
        self.one_batch_action.triggered.connect(self.one_batch)
        self.one_epoch_action.triggered.connect(self.one_epoch)
        self.batch_button = QToolButton()
        self.batch_button.setDefaultAction(self.one_batch_action)
        self.epoch_button = QToolButton()
        self.epoch_button.setDefaultAction(self.one_epoch_action)
        self.status = QLabel()
        self.status.setStyleSheet(f"color: {colors.theme().muted};")
        # Its text changes with every snapshot: the width must not follow it (no relayout).
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        # Two lines of fixed height: a long text wraps in a narrow dock instead of being cut,
        # and a new text still causes no relayout.
        self.status.setWordWrap(True)
        self.status.setFixedHeight(2 * self.status.fontMetrics().lineSpacing() + 2)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Step:"))
        layout.addWidget(self.batch_button)
        layout.addWidget(self.epoch_button)
        layout.addWidget(self.status, 1)
        source.run_changed.connect(self.update_state)
        source.snapshot_ready.connect(lambda _s: self.update_state())
        self.update_state()

    # -- actions ---------------------------------------------------------------------------------
    def one_batch(self) -> None:
        """Advance training by exactly one batch."""
        self._step(1)

    def one_epoch(self) -> None:
        """Advance training to the end of the current epoch."""
        self._step(None)

    def _step(self, n: int | None) -> None:
        src = self.source
        if src.training and src.control is not None:
            src.step(n if n is not None else src.batches_to_epoch_end())
            return
        want = n if n is not None else 0  # 0: a whole epoch, known once the run starts
        src.queue_step(want)  # taken by the source the moment the run starts
        self.start_requested.emit(want)
        started = self.start_handler() if self.start_handler is not None else False
        if not started:
            src.cancel_queued_step()
        self.update_state()

    # -- state -------------------------------------------------------------------------------------
    def update_state(self) -> None:
        src = self.source
        can_start = self.start_handler is not None
        enabled = (src.training and not src.stepping) or (not src.training and can_start)
        self.one_batch_action.setEnabled(enabled)
        self.one_epoch_action.setEnabled(enabled)
        if src.stepping:
            text = "stepping…"
        elif src.training and src.paused:
            text = f"paused at {src.position_text()}"
        elif src.training:
            text = f"training · {src.position_text()}"
        elif src.network is not None and src.epoch:
            text = f"finished at {src.position_text()}"
        else:
            text = "Start training (or press a step button) to watch it learn"
            if not can_start:
                text = "Start training, then step through it one batch at a time"
        if self.status.text() != text:
            self.status.setText(text)
