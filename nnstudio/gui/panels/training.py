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

The settings form is :mod:`~nnstudio.gui.panels.training_settings`; the status line and the
banner's words :mod:`~nnstudio.gui.panels.training_status`; which metric the plots show and a
stored run's curves :mod:`~nnstudio.gui.panels.training_curves`; the checks before a run
:mod:`~nnstudio.gui.panels.training_checks`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.engine.network import Network
from nnstudio.core.errors import NNStudioError
from nnstudio.core.insight.replay import RunRecord
from nnstudio.core.io.runs import run_from_model
from nnstudio.core.training import TrainingConfig, TrainingFinished
from nnstudio.gui import design_data
from nnstudio.gui.panels import training_checks, training_curves, training_status
from nnstudio.gui.panels.training_settings import (
    FIELDS,
    TrainingSettingsForm,
    settings_column,
)
from nnstudio.gui.panels.training_status import sentence as _sentence
from nnstudio.gui.panels.workflow_widgets import (
    Banner,
    ElidedLabel,
    ThinProgress,
    hbox,
)
from nnstudio.gui.plots.training_plots import TrainingPlots
from nnstudio.gui.session import Session
from nnstudio.gui.workers import evaluation
from nnstudio.gui.workers.network_builder import OFF_THREAD_PARAMS, NetworkBuilder
from nnstudio.gui.workers.training_worker import (
    BatchProgress,
    TrainingJob,
    TrainingOutcome,
    TrainingRunner,
    elapsed_text,
)

#: Delay between pressing Start and the trainer thread starting (see :meth:`TrainingPanel.start`).
LAUNCH_DELAY_MS = 40


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
        self._finishing = False  # a run is handing its model over: its live curves stay
        self._curves_of: str | None = None  # the stored run whose curves the plots show
        #: ``() -> dict``: the design's network section with canvas positions (the window's
        #: document); kept with each run so "make current" brings the layout back.
        self.architecture_source: Any = None
        self._architecture: dict | None = None
        self._build()
        self.settings_box.edited.connect(self._on_settings_edited)
        session.dataset_changed.connect(self._on_dataset_changed)
        session.run_record_changed.connect(self._on_run_record_changed)
        session.project_replaced.connect(self._on_project_replaced)
        session.model_changed.connect(self._on_model_changed)
        self._on_dataset_changed()
    # -- building ----------------------------------------------------------------------------
    def _build(self) -> None:
        self.settings_box = TrainingSettingsForm(self.session)
        for name in FIELDS:  # the form's fields, here as before (the panel's API)
            setattr(self, name, getattr(self.settings_box, name))

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

        left = settings_column(self.settings_box, (
            hbox(self.start_button, self.pause_button, self.stop_button),
            hbox(self.continue_button, self.replay_button)))

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
    def resolved_loss(self) -> str:
        """The loss a run would use now (``Automatic`` resolved)."""
        return self.settings_box.resolved_loss()

    def _refresh_auto_label(self) -> None:
        self.settings_box.refresh_auto_label()

    def config(self) -> TrainingConfig:
        """The settings as a :class:`~nnstudio.core.training.TrainingConfig` (validated)."""
        return self.settings_box.config()

    def set_config(self, cfg: TrainingConfig, loss_auto: bool = True) -> None:
        """Show ``cfg`` in the fields (``loss_auto`` keeps the loss on Automatic); not an
        edit of the project's settings."""
        self.settings_box.set_config(cfg, loss_auto)

    def show_project_settings(self) -> None:
        """Show the project's settings; the loss stays on Automatic when that gives the
        project's loss."""
        self.settings_box.show_project_settings()

    def _on_settings_edited(self) -> None:
        if self.running:
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
            fit = training_checks.training_fit(spec, prepared, cfg)
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
        net = training_checks.copy_network(model.network)
        split = getattr(getattr(s.dataset_spec, "split", None), "to_dict", dict)()
        record = RunRecord.capture(net, cfg, split=split,
                                   split_indices=getattr(prepared, "indices", None),
                                   data_fp=s.data_fingerprint())
        return self._begin(net, cfg, train_data, val_data, record, "Continuing…", kind,
                           parent=run.id)

    def _continue_problem(self, run, model, prepared) -> str:
        """Why the current model cannot be trained further on this design and data."""
        return training_checks.continue_problem(run, model, prepared,
                                                self.session.network_source)

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
        problem = training_checks.replay_problem(
            record, prepared, train_data, val_data, self.session.data_fingerprint(),
            self.session.network_source)
        if problem is not None:
            return self._refuse(*problem)
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
        return training_checks.run_data(prepared)

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
        self.plots.reset(training_curves.task_metric(prepared.task), cfg.epochs,
                         design_data.output_keys(heads))
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
        self.replay_button.setToolTip(training_status.replay_tip(record))

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
        report = training_status.run_report(outcome, run, kept)
        if report.complete:
            self.progress.setValue(1000)
        self.status.setText(report.status)
        self.banner.show_message(report.kind, report.title, report.message)

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
            self.status.setText(training_status.ready_line(prepared, n))
            if not len(self.plots.history):  # no run's curves on show: title for the task
                self.plots.set_metric(training_curves.idle_metric(prepared.task))
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
        metric = training_curves.history_metric(run.history)
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
        return training_status.run_line(run)

    def show_history(self, history: dict, metric: str, best_epoch: int = 0,
                     outputs: list[str] | None = None) -> None:
        """Draw a stored run's per-epoch curves (``Run.history``); ``outputs``: the
        per-output validation metrics of a network with several outputs."""
        training_curves.show_history(self.plots, history, metric, best_epoch, outputs)
