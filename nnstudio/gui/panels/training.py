"""The training panel: settings, Start / Pause / Stop, progress, and the live plots.

Training runs in a :class:`~nnstudio.gui.workers.training_worker.TrainingRunner` thread; this
panel only reads the settings, builds the run (the network from the design, the data from
the session) and shows what the worker reports. While a run goes the settings are disabled
and the session announces it (the workflow locks the design).

Every run is recorded as it starts (:class:`~nnstudio.core.insight.replay.RunRecord`: initial
weights, seed, split, settings, data fingerprint) — on the GUI thread, before the trainer
thread exists, so the weights are exactly the run's start. When the run ends it joins the
session's run history (:class:`~nnstudio.core.io.runs.Run`, saved with the project) with its
curves, metrics and weights; it becomes the current model unless it diverged. "Replay with
same initialization" trains the current run again from its recorded start; "Continue
training" trains the current model further as a new run whose parent is the current one; the
step buttons of Inside the network continue from the current model too.

The settings are the project's (``session.project.training``): an edit is written there at
once and marks the project modified; a new project's settings and its current run's curves
are shown when the session's project is replaced.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.engine.network import Network
from nnstudio.core.errors import NNStudioError
from nnstudio.core.insight.replay import RunRecord
from nnstudio.core.io.runs import network_fingerprint, run_from_model
from nnstudio.core.training import EpochEnd, TrainingConfig, TrainingFinished
from nnstudio.core.training.memory import check_training_fits, estimate_training_memory
from nnstudio.gui import design_data
from nnstudio.gui.panels.workflow_widgets import (
    Banner,
    CompactDoubleSpinBox,
    ElidedLabel,
    ThinProgress,
    hbox,
    section_title,
)
from nnstudio.gui.plots.training_plots import TrainingPlots
from nnstudio.gui.session import Session, split_data
from nnstudio.gui.workers import evaluation
from nnstudio.gui.workers.network_builder import OFF_THREAD_PARAMS, NetworkBuilder
from nnstudio.gui.workers.training_worker import (
    BatchProgress,
    TrainingJob,
    TrainingOutcome,
    TrainingRunner,
    elapsed_text,
)

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


#: Delay between pressing Start and the trainer thread starting (see :meth:`TrainingPanel.start`).
LAUNCH_DELAY_MS = 40


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


class TrainingPanel(QWidget):
    """Settings on the left, progress and live plots on the right.

    Parameters
    ----------
    session:
        Provides the data (``session.prepared``), the design (``session.network_source``)
        and receives the trained model and the results.
    """

    #: A run started (no argument).
    run_started = Signal()
    #: A run ended: the :class:`~nnstudio.gui.workers.training_worker.TrainingOutcome`.
    run_finished = Signal(object)
    #: A run could not start or broke: the message shown.
    run_failed = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.runner = TrainingRunner(self)
        self.runner.progressed.connect(self._on_progress)
        self.runner.epoch_finished.connect(self._on_epoch)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.pause_changed.connect(self._on_pause_changed)
        self._loss_in_use = "mse"
        self._pending_job: TrainingJob | None = None
        self.builder = NetworkBuilder(self)
        self.builder.built.connect(self._on_built)
        self.builder.failed.connect(self._on_build_failed)
        self._built_for = None
        #: The record of the run going on (it joins the session's runs when it ends).
        self._run_record: RunRecord | None = None
        #: ``(kind, parent id, start time)`` of the run going on.
        self._run_info: tuple[str, str | None, str] = ("train", None, "")
        self._syncing = False  # showing the project's settings: not an edit
        self._finishing = False  # a run is handing its model over: its live curves stay
        self._curves_of: str | None = None  # the stored run whose curves the plots show
        #: ``() -> dict``: the design's network section with canvas positions (the window's
        #: document); kept with each run so "make current" brings the layout back.
        self.architecture_source: Any = None
        self._architecture: dict | None = None
        self._build()
        for box in (self.loss, self.optimizer, self.schedule):
            box.currentIndexChanged.connect(self._on_settings_edited)
        for box in (self.learning_rate, self.batch_size, self.epochs, self.patience, self.seed,
                    self.weight_decay, self.clip_norm, self.clip_value):
            box.valueChanged.connect(self._on_settings_edited)
        self.early_stopping.toggled.connect(self._on_settings_edited)
        session.dataset_changed.connect(self._on_dataset_changed)
        session.run_record_changed.connect(self._on_run_record_changed)
        session.project_replaced.connect(self._on_project_replaced)
        session.model_changed.connect(self._on_model_changed)
        self._on_dataset_changed()

    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.loss = QComboBox()
        self.loss.addItem("Automatic", "auto")
        for key, name in LOSS_NAMES.items():
            self.loss.addItem(name, key)
        self.loss.setToolTip("Automatic picks the loss from the task and the output layer")
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

        form = QFormLayout()
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
        self.settings_box = QWidget()
        self.settings_box.setLayout(form)

        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.setToolTip("Train the network on the training split (F5)")
        self.start_button.clicked.connect(lambda _checked=False: self.start())
        self.pause_button = QPushButton("Pause")
        self.pause_button.setEnabled(False)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip("Stop after the current batch and keep the weights so far")
        self.stop_button.clicked.connect(self.stop)
        self.replay_button = QPushButton("Replay")
        self.replay_button.setEnabled(False)
        self.replay_button.clicked.connect(self.replay)
        self.continue_button = QPushButton("Continue")
        self.continue_button.setEnabled(False)
        self.continue_button.setToolTip(
            "Train the current model further from its weights (a new run whose parent is "
            "the current one), with the settings above")
        self.continue_button.clicked.connect(lambda _checked=False: self.continue_training())

        settings = QWidget()
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(8, 8, 8, 0)
        settings_layout.addWidget(self.settings_box)
        settings_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # The run's buttons stay in view below the settings, however short the dock.
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
        buttons.addLayout(hbox(self.start_button, self.pause_button, self.stop_button))
        buttons.addLayout(hbox(self.continue_button, self.replay_button))
        left_layout.addLayout(buttons)

        self.progress = ThinProgress()
        self.progress.setRange(0, 1000)
        self.status = ElidedLabel("Ready")
        self.status.setObjectName("trainingStatus")
        self.time_left = ElidedLabel("")
        self.time_left.setObjectName("trainingTimeLeft")
        self.time_left.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.banner = Banner()
        self.plots = TrainingPlots()

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 8, 8, 8)
        right_layout.setSpacing(6)
        # The status line changes ten times a second: its width must not follow the text, or
        # every change re-splits the panel (settings column and plots resized and repainted)
        # whenever the dock is narrow. Fixed shares of the row, text elided if it must be.
        for label in (self.status, self.time_left):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        status_row = hbox(self.status, self.time_left)
        status_row.setStretch(0, 3)
        status_row.setStretch(1, 2)
        right_layout.addLayout(status_row)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.plots, 1)
        from nnstudio.gui.text.sampler import EpochSampler

        self.sampler = EpochSampler(self)  # language models: a sample after every epoch
        right_layout.addWidget(self.sampler.view)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([310, 800])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    # -- settings ----------------------------------------------------------------------------
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

    def resolved_loss(self) -> str:
        """The loss a run would use now (``Automatic`` resolved)."""
        chosen = self.loss.currentData()
        if chosen != "auto":
            return chosen
        return auto_loss(self.session.task, self._output_units())

    def _refresh_auto_label(self) -> None:
        if self._outputs_set_losses():
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
        self.loss.setToolTip("Automatic picks the loss from the task and the output layer")
        name = LOSS_NAMES[auto_loss(self.session.task, self._output_units())]
        self.loss.setItemText(0, f"Auto: {name.lower()}")

    def _outputs_set_losses(self) -> bool:
        """The design's Output layers name their targets: each sets its own loss."""
        src = self.session.network_source
        if src is None:
            return False
        try:
            spec, _ = src()
        except (NNStudioError, KeyError, ValueError):
            return False
        return design_data.names_targets(spec)

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
        if self._outputs_set_losses():  # the loss field says so, whatever the file held
            self._refresh_auto_label()

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
        if cfg.loss != auto_loss(self.session.task, self._output_units()):
            self.set_config(cfg, loss_auto=False)

    def _on_settings_edited(self, *_args) -> None:
        if self._syncing or self.running:
            return
        try:
            cfg = self.config()
        except NNStudioError:
            return  # a combination the next edit fixes; Start says what is wrong
        self.session.set_training_settings(cfg)

    # -- running -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True from :meth:`start` until the run's end was reported."""
        return (self.runner.running or self._pending_job is not None
                or self.builder.busy)

    def start(self, kind: str = "train") -> bool:
        """Start a run from new weights with the current settings; False (and a message)
        when it cannot. The current model stays in the run history."""
        if self.running or self.session.training:
            return False
        self.banner.clear()
        prepared = self.session.prepared
        if prepared is None:
            return self._refuse("No data yet", "Load a dataset first (Data ▸ Load dataset…).")
        if self.session.network_source is None:
            return self._refuse("No network", "There is no network to train.")
        try:
            cfg = self.config()
            spec, _ = self.session.network_source()
            # The columns each Input takes (several Inputs): a bad choice names its Input.
            columns = design_data.columns_for(spec, prepared)
            # Refuse a network with nothing to learn or too big for memory, before building.
            fit = _training_fit(spec, prepared, cfg)
            train_data, val_data = self._run_data(prepared)
            if fit.params >= OFF_THREAD_PARAMS:  # seconds of NumPy: not on the GUI thread
                self._built_for = (cfg, train_data, val_data, kind)
                self.builder.start(spec, tuple(prepared.input_shape), cfg.seed, columns)
                self.status.setText(f"Building the network ({fit.params:,} parameters)…")
                self._set_running(True)
                return True
            net = Network(spec, tuple(prepared.input_shape), seed=cfg.seed,
                          input_columns=columns)
        except NNStudioError as e:
            return self._refuse("Cannot start training", str(e))
        return self._start_built(net, cfg, train_data, val_data, kind)

    def _on_built(self, net: Network) -> None:
        cfg, train_data, val_data, kind = self._built_for
        self._built_for = None
        self._start_built(net, cfg, train_data, val_data, kind)

    def _on_build_failed(self, message: str) -> None:
        self._built_for = None
        self._set_running(False)
        self._refuse("Cannot start training", message)

    def _start_built(self, net: Network, cfg: TrainingConfig, train_data, val_data,
                     kind: str = "train") -> bool:
        prepared = self.session.prepared
        # Recorded here, before the trainer thread exists: these are the run's first weights.
        split = getattr(getattr(self.session.dataset_spec, "split", None), "to_dict", dict)()
        record = RunRecord.capture(net, cfg, split=split,
                                   split_indices=getattr(prepared, "indices", None),
                                   data_fp=self.session.data_fingerprint())
        return self._begin(net, cfg, train_data, val_data, record, "Starting…", kind)

    def continue_training(self, kind: str = "continue") -> bool:
        """Train the current model further (a copy of its weights; the current run is kept
        as it is) with the current settings, as a new run whose parent is the current run.

        Refuses, saying why, without a current model or when the design or the data are not
        the current run's.
        """
        if self.running or self.session.training:
            return False
        self.banner.clear()
        s = self.session
        run, model, prepared = s.current_run, s.model, s.prepared
        if run is None or model is None:
            return self._refuse("Nothing to continue", "Train the network first (Start): "
                                "Continue trains the current model further.")
        if prepared is None:
            return self._refuse("No data yet", "Load the data of the current model first "
                                "(Data ▸ Load dataset…).")
        try:
            cfg = self.config()
            train_data, val_data = self._run_data(prepared)
        except NNStudioError as e:
            return self._refuse("Cannot continue training", str(e))
        problem = self._continue_problem(run, model, prepared)
        if problem:
            return self._refuse("Cannot continue training", problem)
        net = _copy_network(model.network)
        split = getattr(getattr(s.dataset_spec, "split", None), "to_dict", dict)()
        record = RunRecord.capture(net, cfg, split=split,
                                   split_indices=getattr(prepared, "indices", None),
                                   data_fp=s.data_fingerprint())
        return self._begin(net, cfg, train_data, val_data, record, "Continuing…", kind,
                           parent=run.id)

    def _continue_problem(self, run, model, prepared) -> str:
        """Why the current model cannot be trained further on this design and data."""
        if tuple(model.input_shape) != tuple(prepared.input_shape):
            return (f"the current model ({run.name}) takes inputs of shape "
                    f"{tuple(model.input_shape)}, the loaded data has "
                    f"{tuple(prepared.input_shape)}. Press Start to train a new model.")
        if self.session.network_source is not None:
            spec, _ = self.session.network_source()
            if network_fingerprint(spec.to_dict()) != network_fingerprint(
                    model.network.spec.to_dict()):
                return (f"the network on the canvas is not the current model's ({run.name}); "
                        "make that run current again to continue it (Runs panel), or press "
                        "Start to train the changed design from new weights.")
        return ""

    def can_continue(self) -> bool:
        s = self.session
        return (s.current_run is not None and s.model is not None and s.prepared is not None
                and not self.running
                and not self._continue_problem(s.current_run, s.model, s.prepared))

    def step_start(self) -> bool:
        """The step buttons of Inside the network with no run going: continue the current
        model (a "step" run of its own), or start from new weights when there is none to
        continue."""
        if self.can_continue():
            return self.continue_training(kind="step")
        return self.start(kind="step")

    def replay(self) -> bool:
        """Train the last recorded run again: its initial weights, seed, split and settings.

        Refuses, saying why in the banner, when the data or the network changed since.
        """
        if self.running or self.session.training:
            return False
        self.banner.clear()
        record = self.session.run_record
        prepared = self.session.prepared
        if record is None:
            return self._refuse("Nothing to replay", "Train once first: every run records "
                                "how it started.")
        if prepared is None:
            return self._refuse("No data yet", "Load the recorded run's data first "
                                "(Data ▸ Load dataset…).")
        try:
            train_data, val_data = self._run_data(prepared)
        except NNStudioError as e:
            return self._refuse("Cannot replay", str(e))
        if record.data_changed(train_data, val_data, self.session.data_fingerprint()):
            return self._refuse(
                "Cannot replay: the data changed",
                "The training or validation data are not the recorded run's (another file, "
                "split or preparation), so the curves would differ. Load that data again to "
                "replay, or press Start for a new run.")
        changes = []
        if self.session.network_source is not None:
            spec, _ = self.session.network_source()
            changes = record.network_changes(spec, tuple(prepared.input_shape))
        if changes:
            more = f" (and {len(changes) - 3} more)" if len(changes) > 3 else ""
            return self._refuse(
                "Cannot replay: the network changed",
                f"The network is not the recorded run's: {'; '.join(changes[:3])}{more}. "
                "Undo the change to replay, or press Start for a new run.")
        try:
            net = record.start_network()
            cfg = record.config()
        except NNStudioError as e:
            return self._refuse("Cannot replay", str(e))
        # Show the settings that run, leaving the loss on Automatic when that is what it gives.
        auto = self.loss.currentData() == "auto" and self.resolved_loss() == cfg.loss
        self.set_config(cfg, loss_auto=auto)
        return self._begin(net, cfg, train_data, val_data, record, "Replaying…", "replay")

    @staticmethod
    def _run_data(prepared):
        train_data, val_data = split_data(prepared)
        if not len(train_data[0]):
            raise NNStudioError("the training split is empty; give it a larger share")
        return train_data, val_data

    def _begin(self, net: Network, cfg: TrainingConfig, train_data, val_data,
               record: RunRecord, status: str, kind: str = "train",
               parent: str | None = None) -> bool:
        from nnstudio.core.io.runs import now_iso

        prepared = self.session.prepared
        try:  # several outputs: a loss per Output layer (None for one output)
            heads = design_data.heads_of(net, prepared)
        except NNStudioError as e:
            self._set_running(False)
            return self._refuse("Cannot start training", str(e))
        self._run_info = (kind, parent, now_iso())
        # The design with its canvas positions, as it trains (it is locked until the end).
        src = self.architecture_source
        self._architecture = src() if src is not None else None
        self.banner.clear()
        self._loss_in_use = cfg.loss
        metric = "accuracy" if prepared.task in ("classification", "language_model") else "r2"
        self.plots.reset(metric, cfg.epochs, design_data.output_keys(heads))
        self._curves_of = None
        self.progress.setValue(0)
        self.status.setText(status)
        self.time_left.setText("")

        def after(network: Network, finished: TrainingFinished):
            return evaluation.evaluate_all(network, prepared, cfg.loss)

        self.session.training_config = cfg
        self._run_record = record
        self._pending_job = TrainingJob(net, cfg, train_data, val_data, after=after,
                                        heads=heads)
        self._set_running(True)
        self.session.mark_training_started()
        self.run_started.emit()
        # The trainer starts a moment later: the repaints the start causes (locked design,
        # cleared plots) happen first, without a trainer thread competing for the GIL.
        QTimer.singleShot(LAUNCH_DELAY_MS, self, self._launch)
        return True

    def _launch(self) -> None:
        job, self._pending_job = self._pending_job, None
        if job is not None:
            self.runner.start(job)

    def toggle_pause(self) -> None:
        if self.runner.paused:
            self.runner.resume()
        else:
            self.runner.pause()

    def pause(self) -> None:
        self.runner.pause()

    def resume(self) -> None:
        self.runner.resume()

    def stop(self) -> None:
        """Stop after the current batch; the run finishes with the weights so far."""
        if self.builder.busy:  # still building the network: drop it
            self.builder.cancel()
            self._built_for = None
            self._set_running(False)
            self.status.setText("Stopped before the first batch")
        elif self._pending_job is not None:  # not begun yet: nothing to keep
            self._pending_job = None
            self._run_record = None
            self._set_running(False)
            self.status.setText("Stopped before the first batch")
            self.session.mark_training_finished(None)
        elif self.running:
            self.status.setText("Stopping…")
            self.runner.stop()

    def shutdown(self) -> None:
        """Stop and join the worker thread at once (the window is closing)."""
        self._pending_job = None
        self.builder.shutdown()
        self.runner.shutdown()

    # -- worker reports ----------------------------------------------------------------------
    def _set_running(self, running: bool) -> None:
        self.settings_box.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")
        self._update_replay_button()

    def _update_replay_button(self) -> None:
        record, prepared = self.session.run_record, self.session.prepared
        self.replay_button.setEnabled(
            record is not None and prepared is not None and not self.running)
        self.continue_button.setEnabled(self.can_continue())
        if record is None:
            tip = "Every run records how it started; train once to replay it"
        else:
            tip = (f"Train again from the recorded start ({record.training.get('epochs')} "
                   f"epochs, seed {record.seed}): the same initial weights, batches and "
                   "settings give the same curves")
        self.replay_button.setToolTip(tip)

    def _on_run_record_changed(self) -> None:
        self._update_replay_button()
        problem = self.session.run_record_problem
        if problem is not None and not (self.banner.text() and self.banner.kind == "error"):
            self.banner.show_message(
                "info", "The recorded run could not be read",
                f"{_sentence(str(problem))} The project opened without it; the next run is "
                "recorded again.")

    def _on_pause_changed(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        if paused:
            self.status.setText(self.status.text().split(" · paused")[0] + " · paused")

    def _on_progress(self, p: BatchProgress) -> None:
        self.plots.add_progress(p)
        self.progress.setValue(int(1000 * p.fraction))
        text = (f"Epoch {p.epoch}/{p.epochs} · batch {p.batch}/{p.n_batches} · "
                f"loss {p.smoothed_loss:.4g}")
        if self.runner.paused:
            text += " · paused"
        self.status.setText(text)
        self.time_left.setText(
            f"{elapsed_text(p.elapsed)} elapsed · {elapsed_text(p.seconds_left)} left"
        )

    def _on_epoch(self, event) -> None:
        self.plots.add_epoch(event)

    def _on_finished(self, outcome: TrainingOutcome) -> None:
        """The run ended: show it at once, hand out the model and results in later turns of
        the event loop (each step is short, so the window never freezes for their sum)."""
        self.plots.flush()
        record, self._run_record = self._run_record, None
        self._set_running(False)
        fin = outcome.finished
        self.time_left.setText(f"{elapsed_text(fin.elapsed)} of training")
        model = self._make_model(outcome)
        previous = self.session.current_run
        became = False
        if model is not None and record is not None:
            kind, parent, started = self._run_info
            run = run_from_model(self.session.runs, model, kind, record=record, parent=parent,
                                 started=started, seconds=fin.elapsed,
                                 data_fp=record.data_fingerprint, network=self._architecture)
            self._finishing = True
            try:
                became = self.session.add_run(run, results=outcome.results)
            finally:
                self._finishing = False
            self._report(outcome, run, None if became else previous)
            if became:
                self.status.setText(self._run_line(run))
        else:
            self._report(outcome)
        if not became and self.session.model is not None:
            self._show_run_status()
        QTimer.singleShot(0, self, lambda: self._finish_run(outcome))

    def _finish_run(self, outcome: TrainingOutcome) -> None:
        self.session.mark_training_finished(outcome)
        self.run_finished.emit(outcome)

    def _make_model(self, outcome: TrainingOutcome):
        """The core ``TrainedModel`` for predict/export (``None`` when it cannot be built)."""
        try:
            model = evaluation.trained_model(
                outcome.network, self.session.prepared, self.session.training_config,
                self.session.dataset_spec, outcome,
            )
        except NNStudioError:
            return None
        if self._architecture is not None:
            model.architecture = self._architecture
        return model

    def _report(self, outcome: TrainingOutcome, run=None, kept=None) -> None:
        fin = outcome.finished
        summary = self._summary(outcome)
        name = f"{run.name}: " if run is not None else ""
        if fin.reason == "diverged":
            self.status.setText(f"{name}diverged after {fin.epochs_run} epoch(s)")
            still = (f" It is kept in the run history, marked diverged; the current model is "
                     f"still {kept.name}." if kept is not None else "")
            self.banner.show_message(
                "error", "Training diverged and was stopped",
                f"{_sentence(fin.message)}{still} Then press Start again.",
            )
        elif fin.reason == "stopped":
            self.status.setText(f"{name}stopped after {fin.epochs_run} epoch(s)")
            self.banner.show_message(
                "info", "Stopped", f"You stopped the run after {fin.epochs_run} complete "
                f"epoch(s); the weights of the last complete epoch were kept. {summary}",
            )
        elif fin.reason == "early_stopping":
            self.progress.setValue(1000)
            self.status.setText(f"{name}stopped early after {fin.epochs_run} epochs")
            self.banner.show_message("success", "Finished (early stopping)",
                                     f"{_sentence(fin.message)} {summary}")
        else:
            self.progress.setValue(1000)
            self.status.setText(f"{name}finished {fin.epochs_run} epochs")
            self.banner.show_message("success", "Finished", summary)
        if outcome.results_error:
            self.banner.show_message(self.banner.kind, self.banner.title,
                                     self.banner.message + " " + outcome.results_error)

    def _summary(self, outcome: TrainingOutcome) -> str:
        res = outcome.results
        if res is None:
            return ""
        parts = []
        for split in ("validation", "test"):
            r = res.splits.get(split)
            if r is None:
                continue
            if res.outputs is not None:
                parts.append(f"{split}: {design_data.outputs_summary(r.metrics)}")
            elif res.task == "classification":
                parts.append(f"{split} accuracy {100 * r.metrics['accuracy']:.1f} %")
            else:
                parts.append(f"{split} R² {r.metrics['r2']:.3f}")
        return ("Scores: " + ", ".join(parts) + ".") if parts else ""

    def _on_failed(self, message: str) -> None:
        self._run_record = None
        self._pending_job = None
        self._set_running(False)
        self.status.setText("Not trained")
        self._show_error("Training could not run", message)
        self.session.mark_training_finished(None)
        self.run_failed.emit(message)

    def _refuse(self, title: str, message: str) -> bool:
        self._show_error(title, message)
        self.run_failed.emit(message)
        return False

    def _show_error(self, title: str, message: str) -> None:
        self.banner.show_message("error", title, _sentence(message))

    def _on_dataset_changed(self) -> None:
        self._refresh_auto_label()
        prepared = self.session.prepared
        self.start_button.setEnabled(prepared is not None and not self.running)
        self._update_replay_button()
        if prepared is not None:
            n = evaluation.split_size(prepared, "train")
            if n and self.batch_size.value() > n:
                self.batch_size.setValue(max(1, min(32, n)))
            text = f"Ready · {n:,} training samples"
            if getattr(prepared.preparation, "heads", None) is not None:
                text += (" · targets from the Output layers: "
                         + design_data.targets_line(prepared))
            self.status.setText(text)
            if not len(self.plots.history):  # no run's curves on show: title for the task
                self.plots.set_metric("outputs" if prepared.task == "multi_output" else
                                      "accuracy" if prepared.task in (
                                          "classification", "language_model") else "r2")
        else:
            self.status.setText("Load a dataset to train (Data ▸ Load dataset…)")

    def refresh(self) -> None:
        """Re-read the design (the automatic loss depends on the output layer)."""
        self._refresh_auto_label()
        self._update_replay_button()

    # -- the session's project and current run -------------------------------------------------
    def _on_project_replaced(self) -> None:
        """Another project: exactly what a fresh panel shows for it (its settings; its current
        run's curves once its weights are there)."""
        self.banner.clear()
        self.plots.reset(None, None)
        self._curves_of = None
        self.progress.setValue(0)
        self.time_left.setText("")
        self.time_left.setToolTip("")
        self.show_project_settings()
        self._on_dataset_changed()
        self._show_run_status()

    def _on_model_changed(self) -> None:
        if not self.running and not self._finishing:
            self._show_run_status()
        self._update_replay_button()

    def _show_run_status(self) -> None:
        """The current run's curves and a line about it (nothing without one)."""
        run = self.session.current_run
        if run is None or self.running:
            return
        metric = "accuracy" if ("accuracy" in run.history or "val_accuracy" in run.history) \
            else "r2"
        if self._curves_of != run.id:  # drawn once per run, not again when its weights arrive
            self.show_history(run.history, metric, run.best_epoch,
                              design_data.history_output_keys(run.history))
            self._curves_of = run.id
        self.progress.setValue(1000 if run.reason in ("completed", "early_stopping") else 0)
        self.status.setText(self._run_line(run))
        self.time_left.setText(f"{elapsed_text(run.seconds)} of training")

    @staticmethod
    def _run_line(run) -> str:
        """``Current model: Run 3 · 40 epoch(s) · validation accuracy 97.5 %``."""
        label, value = run.headline("validation")
        score = ""
        outputs = design_data.outputs_summary(run.metrics.get("validation") or {})
        if outputs:
            score = f" · validation {outputs}"
        elif label == "accuracy":
            score = f" · validation accuracy {100 * value:.1f} %"
        elif label == "r2":
            score = f" · validation R² {value:.3f}"
        return f"Current model: {run.name} · {run.epochs} epoch(s){score}"

    def show_history(self, history: dict, metric: str, best_epoch: int = 0,
                     outputs: list[str] | None = None) -> None:
        """Draw a stored run's per-epoch curves (``Run.history``); ``outputs``: the
        per-output validation metrics of a network with several outputs."""
        n = len(history.get("loss", []))
        outputs = list(outputs or [])
        self.plots.reset(metric, n or None, outputs)

        def col(name: str, i: int) -> float:
            values = history.get(name) or []
            return float(values[i]) if i < len(values) else math.nan

        for i in range(n):
            m = {metric: col(metric, i)} if metric in history else {}
            vm = {metric: col("val_" + metric, i)} if "val_" + metric in history else {}
            vm.update({key: col("val_" + key, i) for key in outputs})
            self.plots.add_epoch(EpochEnd(i + 1, n, col("loss", i), col("val_loss", i), m, vm,
                                          col("learning_rate", i), 0.0, False, best_epoch))
        self.plots.flush()


def _copy_network(net: Network) -> Network:
    """An independent network with ``net``'s weights and state (a run trains its own)."""
    copy = Network(net.spec, tuple(net.input_shape), dtype=net.dtype, seed=0,
                   input_columns=net.input_columns)
    copy.load_state_dict(net.state_dict())
    return copy


def _training_fit(spec, prepared, cfg):
    """The memory estimate of a run (its Inputs' columns included); refuses a network with
    nothing to learn or too big for this machine."""
    report = design_data.shape_report(spec, prepared)
    opt = dict(cfg.optimizer or {})
    kind = str(opt.get("type", "adam")).lower()
    if kind == "sgd" and opt.get("momentum"):
        kind = "sgd_momentum"
    estimate = estimate_training_memory(report, int(cfg.batch_size), kind, spec=spec)
    check_training_fits(estimate)
    return estimate


def _optional_number(tip: str, maximum: float) -> CompactDoubleSpinBox:
    """A setting that is off at 0 (shown as "Off")."""
    box = CompactDoubleSpinBox()
    box.setDecimals(7)
    box.setRange(0.0, maximum)
    box.setValue(0.0)
    box.setSpecialValueText("Off")
    box.setToolTip(tip)
    return box


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
