"""The Training panel's settings form: loss, optimizer, schedule, regularization, run size.

:class:`TrainingSettingsForm` holds the fields and turns them into a
:class:`~nnstudio.core.training.TrainingConfig` and back. It never writes the project: an edit
by the user emits :attr:`TrainingSettingsForm.edited` (the panel writes it into
``session.project.training``); showing settings (:meth:`TrainingSettingsForm.set_config`) is
not an edit and emits nothing.

The loss field's first choice is "Automatic" (resolved from the task and the output size,
:func:`auto_loss`), or "Set by each Output layer" for a design whose Output layers name their
targets (each carries its own loss and weight).
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.errors import NNStudioError
from nnstudio.core.training import TrainingConfig
from nnstudio.gui import design_data
from nnstudio.gui.panels.workflow_widgets import CompactDoubleSpinBox, section_title
from nnstudio.gui.session import Session

LOSS_NAMES = {
    "cross_entropy": "Cross-entropy",
    "binary_cross_entropy": "Binary cross-entropy",
    "mse": "Mean squared error",
    "mae": "Mean absolute error",
}
OPTIMIZER_NAMES = {
    "adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "sgd_momentum": "SGD with momentum",
    "rmsprop": "RMSprop",
}
SCHEDULE_NAMES = {
    "constant": "Constant",
    "step": "Halve every 10 epochs",
    "exponential": "Decay 5 % per epoch",
    "cosine": "Cosine to zero",
}
SCHEDULES = {
    "constant": None,
    "step": {"type": "step", "step_size": 10, "gamma": 0.5},
    "exponential": {"type": "exponential", "gamma": 0.95},
    "cosine": {"type": "cosine"},
}

#: The form's fields (the Training panel shows them under the same names).
FIELDS = ("loss", "optimizer", "learning_rate", "schedule", "batch_size", "epochs",
          "early_stopping", "patience", "seed", "weight_decay", "clip_norm", "clip_value")

AUTO_TIP = "Automatic picks the loss from the task and the output layer"


def auto_loss(task: str | None, output_units: int | None) -> str:
    """The loss that fits a task and the network's output size.

    Classification: binary cross-entropy for one sigmoid output, cross-entropy otherwise;
    regression (and no data yet): mean squared error.
    """
    if task == "classification":
        return "binary_cross_entropy" if output_units == 1 else "cross_entropy"
    if task == "language_model":  # cross-entropy at every position
        return "cross_entropy"
    return "mse"


class TrainingSettingsForm(QWidget):
    """The settings fields in one form (objective, optimizer, regularization, run).

    Parameters
    ----------
    session:
        Read for the task, the data's input shape and the design (``network_source``), which
        the automatic loss depends on.
    """

    #: The user changed a field (not emitted while settings are only being shown).
    edited = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._syncing = False  # showing settings: not an edit
        self._build()
        for box in (self.loss, self.optimizer, self.schedule):
            box.currentIndexChanged.connect(self._on_edited)
        for box in (self.learning_rate, self.batch_size, self.epochs, self.patience, self.seed,
                    self.weight_decay, self.clip_norm, self.clip_value):
            box.valueChanged.connect(self._on_edited)
        self.early_stopping.toggled.connect(self._on_edited)

    def _build(self) -> None:
        self.loss = QComboBox()
        self.loss.addItem("Automatic", "auto")
        for key, name in LOSS_NAMES.items():
            self.loss.addItem(name, key)
        self.loss.setToolTip(AUTO_TIP)
        self.optimizer = QComboBox()
        for key, name in OPTIMIZER_NAMES.items():
            self.optimizer.addItem(name, key)
        self.learning_rate = CompactDoubleSpinBox()
        self.learning_rate.setDecimals(7)
        self.learning_rate.setRange(1e-7, 1e6)
        self.learning_rate.setValue(0.001)
        self.schedule = QComboBox()
        for key, name in SCHEDULE_NAMES.items():
            self.schedule.addItem(name, key)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 1_000_000)
        self.batch_size.setValue(32)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 1_000_000)
        self.epochs.setValue(50)
        self.early_stopping = QCheckBox("Stop when validation loss stalls")
        self.patience = QSpinBox()
        self.patience.setRange(1, 100_000)
        self.patience.setValue(20)  # the default of TrainingConfig.early_stopping
        self.patience.setSuffix(" epochs")
        self.patience.setEnabled(False)
        self.early_stopping.toggled.connect(self.patience.setEnabled)
        self.weight_decay = _optional_number(
            "Weight decay (L2 penalty λ): every step adds λ·w to each weight's gradient, "
            "pulling weights towards 0 (with AdamW: its decoupled decay; Off keeps AdamW's "
            "0.01)", 1.0)
        self.clip_norm = _optional_number(
            "Clip the gradient norm: scale the whole gradient down when its norm is above "
            "this (tames exploding gradients without changing their direction)", 1e6)
        self.clip_value = _optional_number(
            "Clip gradient values: each gradient entry is clipped to ± this value", 1e6)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setToolTip("Same seed, same data, same settings: the same run, bit for bit")

        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow(section_title("Objective"))
        form.addRow("Loss", self.loss)
        form.addRow(section_title("Optimizer"))
        form.addRow("Method", self.optimizer)
        form.addRow("Learning rate", self.learning_rate)
        form.addRow("Schedule", self.schedule)
        form.addRow(section_title("Regularization"))
        # Short labels: the settings column is narrow; the tooltips say the rest.
        form.addRow("Weight decay", self.weight_decay)
        form.addRow("Clip norm", self.clip_norm)
        form.addRow("Clip value", self.clip_value)
        form.addRow(section_title("Run"))
        form.addRow("Batch size", self.batch_size)
        form.addRow("Epochs", self.epochs)
        form.addRow(self.early_stopping)
        form.addRow("Patience", self.patience)
        form.addRow("Seed", self.seed)

    def _on_edited(self, *_args) -> None:
        if not self._syncing:
            self.edited.emit()

    # -- the loss ------------------------------------------------------------------------------
    def _output_units(self) -> int | None:
        src = self.session.network_source
        prepared = self.session.prepared
        if src is None:
            return None
        try:
            spec, shape = src()
            shape = tuple(prepared.input_shape) if prepared is not None else shape
            from nnstudio.core.engine.network import infer_shapes

            report = infer_shapes(spec, shape)
            outs = [n for n, s in report.nodes.items() if s.shape is not None]
            succ = spec.successors()
            out = [n for n in outs if not succ.get(n)]
            if out:
                return math.prod(report.nodes[out[0]].shape)
        except (NNStudioError, KeyError, ValueError):
            return None
        return None

    def auto_loss(self) -> str:
        """What "Automatic" gives now (the task and the design's output size)."""
        return auto_loss(self.session.task, self._output_units())

    def resolved_loss(self) -> str:
        """The loss a run would use now (``Automatic`` resolved)."""
        chosen = self.loss.currentData()
        if chosen != "auto":
            return chosen
        return self.auto_loss()

    def refresh_auto_label(self) -> None:
        """Say what "Automatic" gives, or that each Output layer sets its loss."""
        if self.outputs_set_losses():
            self.loss.setItemText(0, "Set by each Output layer")
            syncing, self._syncing = self._syncing, True
            try:  # what is shown, not an edit of the project's settings
                self.loss.setCurrentIndex(0)
            finally:
                self._syncing = syncing
            self.loss.setEnabled(False)
            self.loss.setToolTip("each Output layer sets its loss (and its weight in the "
                                 "total): select an Output on the canvas to change it")
            return
        self.loss.setEnabled(True)
        self.loss.setToolTip(AUTO_TIP)
        name = LOSS_NAMES[self.auto_loss()]
        self.loss.setItemText(0, f"Auto: {name.lower()}")

    def outputs_set_losses(self) -> bool:
        """The design's Output layers name their targets: each sets its own loss."""
        src = self.session.network_source
        if src is None:
            return False
        try:
            spec, _ = src()
        except (NNStudioError, KeyError, ValueError):
            return False
        return design_data.names_targets(spec)

    # -- settings <-> TrainingConfig ----------------------------------------------------------
    def config(self) -> TrainingConfig:
        """The settings as a :class:`~nnstudio.core.training.TrainingConfig` (validated)."""
        opt = self.optimizer.currentData()
        optimizer: dict[str, Any] = {"type": "sgd" if opt == "sgd_momentum" else opt,
                                     "learning_rate": float(self.learning_rate.value())}
        if opt == "sgd_momentum":
            optimizer["momentum"] = 0.9
        cfg = TrainingConfig(
            loss=self.resolved_loss(),
            optimizer=optimizer,
            batch_size=int(self.batch_size.value()),
            epochs=int(self.epochs.value()),
            seed=int(self.seed.value()),
            early_stopping=(
                {"patience": int(self.patience.value())} if self.early_stopping.isChecked()
                else None
            ),
            schedule=SCHEDULES[self.schedule.currentData()],
            weight_decay=float(self.weight_decay.value()),
            clip_norm=float(self.clip_norm.value()) or None,  # 0 shows "Off"
            clip_value=float(self.clip_value.value()) or None,
        )
        cfg.validate()
        return cfg

    def set_config(self, cfg: TrainingConfig, loss_auto: bool = True) -> None:
        """Show ``cfg`` in the fields (``loss_auto`` keeps the loss on Automatic); not an
        edit of the project's settings."""
        syncing, self._syncing = self._syncing, True
        try:
            self._show_config(cfg, loss_auto)
        finally:
            self._syncing = syncing
        if self.outputs_set_losses():  # the loss field says so, whatever the file held
            self.refresh_auto_label()

    def _show_config(self, cfg: TrainingConfig, loss_auto: bool) -> None:
        if loss_auto:
            self.loss.setCurrentIndex(0)
        else:
            self.loss.setCurrentIndex(max(0, self.loss.findData(cfg.loss)))
        opt = str(cfg.optimizer.get("type", "adam")).lower()
        if opt == "sgd" and cfg.optimizer.get("momentum"):
            opt = "sgd_momentum"
        self.optimizer.setCurrentIndex(max(0, self.optimizer.findData(opt)))
        self.learning_rate.setValue(cfg.learning_rate)
        self.batch_size.setValue(cfg.batch_size)
        self.epochs.setValue(cfg.epochs)
        self.seed.setValue(cfg.seed)
        self.early_stopping.setChecked(cfg.early_stopping is not None)
        if cfg.early_stopping:
            self.patience.setValue(int(cfg.early_stopping.get("patience", 10)))
        kind = (cfg.schedule or {}).get("type", "constant")
        self.schedule.setCurrentIndex(max(0, self.schedule.findData(kind)))
        self.weight_decay.setValue(float(cfg.weight_decay or 0.0))
        self.clip_norm.setValue(float(cfg.clip_norm or 0.0))
        self.clip_value.setValue(float(cfg.clip_value or 0.0))

    def show_project_settings(self) -> None:
        """Show the project's settings; the loss stays on Automatic when that gives the
        project's loss."""
        cfg = self.session.project.training
        self.set_config(cfg)
        if cfg.loss != self.auto_loss():
            self.set_config(cfg, loss_auto=False)


def settings_column(form: TrainingSettingsForm, button_rows) -> QWidget:
    """The panel's left column: the form in a scroll area, the run's buttons (``button_rows``:
    layouts) below it, in view however short the dock."""
    settings = QWidget()
    settings_layout = QVBoxLayout(settings)
    settings_layout.setContentsMargins(8, 8, 8, 0)
    settings_layout.addWidget(form)
    settings_layout.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidget(settings)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    left = QWidget()
    left.setMinimumWidth(250)  # the window works at 1024 px (issue 20)
    for combo in settings.findChildren(QComboBox):  # a long choice must not widen it
        combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(10)
    left_layout = QVBoxLayout(left)
    left_layout.setContentsMargins(0, 0, 0, 8)
    left_layout.setSpacing(6)
    left_layout.addWidget(scroll, 1)
    buttons = QVBoxLayout()
    buttons.setContentsMargins(8, 0, 8, 0)
    for row in button_rows:
        buttons.addLayout(row)
    left_layout.addLayout(buttons)
    return left


def _optional_number(tip: str, maximum: float) -> CompactDoubleSpinBox:
    """A setting that is off at 0 (shown as "Off")."""
    box = CompactDoubleSpinBox()
    box.setDecimals(7)
    box.setRange(0.0, maximum)
    box.setValue(0.0)
    box.setSpecialValueText("Off")
    box.setToolTip(tip)
    return box
