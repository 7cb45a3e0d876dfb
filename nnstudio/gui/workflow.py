"""The workflow after the design: data, training, results, prediction and export.

:func:`install` is called at the end of ``MainWindow.__init__``. It creates the window's
:class:`~nnstudio.gui.session.Session`, the Training / Results / Predict docks, the Data and
Training menus, File ▸ Export, toolbar buttons, and wires them to the window:

* the dataset wizard's result becomes the session's data, the network's Input adopts the
  data's shape, and an output layer that does not fit the task is fixed (after asking) by one
  undoable command;
* the design is locked while a run goes;
* a project's dataset is loaded with it, then its current run's weights (in a background
  thread) and the current model is scored on every split (in a worker thread) — so Results,
  Predict and Inside the network show the saved model without retraining;
* a run made current (Runs panel) brings back its network, settings and weights, undoably;
* leaving the work while a run goes asks to stop it first (the partial run is kept).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import QDeadlineTimer, QEvent, QEventLoop, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox

from nnstudio.core.errors import NNStudioError
from nnstudio.core.graph.commands import Command, ReplaceAll, SetConfig
from nnstudio.core.training import TrainingConfig
from nnstudio.gui import insight
from nnstudio.gui.icons import SvgIconEngine
from nnstudio.gui.panels.export_dialog import ExportDialog
from nnstudio.gui.panels.predict import PredictPanel
from nnstudio.gui.panels.results import ResultsPanel
from nnstudio.gui.panels.runs import RunsPanel
from nnstudio.gui.panels.training import TrainingPanel
from nnstudio.gui.theme import current_theme
from nnstudio.gui.wizards.dataset_wizard import DatasetWizard
from nnstudio.gui.wizards.output_fix import output_fix_command, output_mismatch
from nnstudio.gui.workers.data_loader import DataLoader

if TYPE_CHECKING:
    from nnstudio.gui.main_window import MainWindow

#: Icons of the workflow actions (24×24 stroke drawings, ``currentColor``).
_ICONS = {
    "data": '<ellipse cx="12" cy="5" rx="8" ry="3"/><path d="M4 5v14c0 1.7 3.6 3 8 3s8-1.3 '
            '8-3V5"/><path d="M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3"/>',
    "train": '<path d="M7 4.5v15l12-7.5z"/>',
    "pause": '<path d="M8 5v14M16 5v14"/>',
    "stop": '<rect x="6" y="6" width="12" height="12" rx="1.5"/>',
    "export": '<path d="M12 3v12M7 8l5-5 5 5"/><path d="M5 14v5a2 2 0 0 0 2 2h10a2 2 0 0 0 '
              '2-2v-5"/>',
}


def workflow_icon(name: str) -> QIcon:
    """A workflow action icon in the theme's text colour."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" '
           f'stroke="{current_theme().text}" stroke-width="1.8" stroke-linecap="round" '
           f'stroke-linejoin="round">{_ICONS[name]}</svg>')
    return QIcon(SvgIconEngine(svg.encode()))


class Workflow(QObject):
    """The data → train → results → predict → export part of a main window.

    Attributes
    ----------
    session:
        The shared :class:`~nnstudio.gui.session.Session`.
    training, results, predict:
        The three panels (each in a dock of :attr:`docks`).
    actions:
        ``{"load_data", "train", "continue", "pause", "stop", "replay", "evaluate",
        "export"}`` → ``QAction``.
    """

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.training = TrainingPanel(self.session)
        self.training.architecture_source = window.document.to_network_dict
        self.results = ResultsPanel(self.session)
        self.predict = PredictPanel(self.session)
        self.data_loader = DataLoader(self)
        self._data_project = None  # the project whose data is loading
        self.data_loader.loaded.connect(self._on_data_loaded)
        self.data_loader.failed.connect(self._on_data_failed)
        self._data_options: dict = {}  # the build_dataset options of the load going on
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.docks = {
            "training": window.add_dock(self.training, "Training", bottom, "training"),
            "results": window.add_dock(self.results, "Results", bottom, "results"),
            "predict": window.add_dock(self.predict, "Predict",
                                       Qt.DockWidgetArea.RightDockWidgetArea, "predict"),
        }
        window.tabifyDockWidget(self.docks["training"], self.docks["results"])
        # Runs panel (issue 13): the run history, tabbed with Training and Results.
        self.runs = RunsPanel(self.session, make_current=self.make_run_current)
        self.runs.message.connect(lambda text: window.show_message(text, 8000))
        self.docks["runs"] = window.add_dock(self.runs, "Runs", bottom, "runs")
        window.tabifyDockWidget(self.docks["results"], self.docks["runs"])
        if "properties" in window.docks:
            window.tabifyDockWidget(window.docks["properties"], self.docks["predict"])
            window.docks["properties"].raise_()
        self.docks["training"].raise_()
        self._build_actions()
        window.default_layout = self._default_layout  # when no saved layout fits the docks

        s = self.session
        s.training_started.connect(self._on_training_started)
        s.training_finished.connect(self._on_training_finished)
        s.dataset_changed.connect(self._update_actions)
        s.model_changed.connect(self._update_actions)
        s.model_changed.connect(self._schedule_scoring)
        s.dataset_changed.connect(self._schedule_scoring)
        s.run_record_changed.connect(self._update_actions)
        s.weights_loaded.connect(self._on_weights_loaded)
        self.training.runner.pause_changed.connect(self._on_pause_changed)
        self.results.busy_changed.connect(lambda _busy: self._update_actions())
        window.project_loaded.connect(self._on_project_loaded)
        window.document.changed.connect(self._update_actions)
        window.project_about_to_save.connect(self._on_about_to_save)
        window.document.changed.connect(self.training.refresh)
        if hasattr(window, "properties"):  # the memory estimate uses the training settings
            tp = self.training
            window.properties.training_settings = lambda: (
                tp.batch_size.value(), str(tp.optimizer.currentData() or "adam"))
            for box in (tp.batch_size, tp.optimizer):
                signal = getattr(box, "valueChanged", None) or box.currentIndexChanged
                signal.connect(window.properties._update_memory)
        # Several Inputs / Output layers naming targets: the data follow the design.
        from nnstudio.gui.data_follows_design import DataFollowsDesign

        self.follow = DataFollowsDesign(self)
        window.installEventFilter(self)
        self._update_actions()

    # -- actions and menus ---------------------------------------------------------------------
    def _action(self, text: str, slot, icon: str | None, keys=(), tip: str = "") -> QAction:
        act = QAction(text, self.window)
        if icon:
            act.setIcon(workflow_icon(icon))
        if keys:
            act.setShortcuts([QKeySequence(k) for k in keys])
        if tip:
            act.setToolTip(tip)
            act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        return act

    def _build_actions(self) -> None:
        w = self.window
        self.actions = a = {
            "load_data": self._action("&Load Dataset…", self.open_dataset_wizard, "data",
                                      ["Ctrl+Shift+D"], "Load, prepare and split a dataset"),
            "train": self._action("&Start Training", self.start_training, "train", ["F5"],
                                  "Train the network from new weights on the loaded data "
                                  "(F5); the current model stays in the run history"),
            "continue": self._action("&Continue Training", self.continue_training, None,
                                     ["Ctrl+F5"], "Train the current model further, as a "
                                     "new run (Ctrl+F5)"),
            "pause": self._action("&Pause", self.training.toggle_pause, "pause", ["F6"],
                                  "Pause or resume the run (F6)"),
            "stop": self._action("S&top", self.training.stop, "stop", ["Shift+F5"],
                                 "Stop the run and keep the weights so far (Shift+F5)"),
            "replay": self._action("&Replay with Same Initialization", self.replay_training,
                                   None, [], "Train the last run again from its recorded "
                                   "start: the same curves, bit for bit"),
            "evaluate": self._action("&Evaluate on All Splits", self.evaluate, None, [],
                                     "Score the trained model on train, validation and test"),
            "export": self._action("&Export Model…", self.open_export_dialog, "export",
                                   ["Ctrl+E"], "Save the trained model: .npz, ONNX or a "
                                   "standalone NumPy folder"),
        }
        bar = w.menuBar()
        before = w.menus["help"].menuAction() if "help" in w.menus else None
        data = w.menus["data"] = _insert_menu(bar, "&Data", before)
        data.addAction(a["load_data"])
        a["load_corpus"] = self._action("Load Text &Corpus…", self.open_corpus_dialog, None, [],
                                        "A plain .txt file as next-token data for a language "
                                        "model (tiny GPT)")
        data.addAction(a["load_corpus"])
        train = w.menus["training"] = _insert_menu(bar, "T&raining", before)
        train.addActions([a["train"], a["continue"], a["pause"], a["stop"], a["replay"]])
        train.addSeparator()
        train.addAction(a["evaluate"])
        train.addSeparator()
        for key, title in (("training", "Show &Training"), ("results", "Show &Results"),
                           ("predict", "Show &Predict")):
            train.addAction(title, lambda k=key: self.show_dock(k))
        train.addAction("Show R&uns", lambda: self.show_dock("runs"))  # Runs panel
        if "file" in w.menus:
            file_menu = w.menus["file"]
            quit_action = getattr(w.actions, "quit", None)
            if quit_action is not None and quit_action in file_menu.actions():
                file_menu.insertAction(quit_action, a["export"])
                file_menu.insertSeparator(quit_action)
            else:
                file_menu.addAction(a["export"])
        tb = getattr(w, "toolbar", None)
        if tb is not None:
            tb.addSeparator()
            for key in ("load_data", "train", "pause", "stop", "export"):
                tb.addAction(a[key])
            for key in ("load_data", "train"):
                button = tb.widgetForAction(a[key])
                if button is not None:
                    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        a["load_data"].setIconText("Data")
        a["train"].setIconText("Train")

    def _update_actions(self) -> None:
        running = self.training.running
        s = self.session
        self.actions["load_data"].setEnabled(not running)
        self.actions["train"].setEnabled(s.has_data and not running)
        self.actions["continue"].setEnabled(self.training.can_continue())
        self.actions["pause"].setEnabled(running)
        self.actions["stop"].setEnabled(running)
        self.actions["replay"].setEnabled(
            s.run_record is not None and s.has_data and not running)
        self.actions["evaluate"].setEnabled(s.network is not None and not running
                                            and not self.results.busy)
        self.actions["export"].setEnabled(s.network is not None and not running)
        if self.data_loader.busy or (hasattr(self, "follow") and self.follow.busy):
            # the project's data (or data prepared for the design) are on their way
            self.actions["train"].setEnabled(False)
            self.actions["continue"].setEnabled(False)

    def _default_layout(self) -> None:
        """First start: a tall enough Training dock, the editor's side docks at their width."""
        w = self.window
        w.resizeDocks([self.docks["training"]], [max(380, int(w.height() * 0.45))],
                      Qt.Orientation.Vertical)
        side = [w.docks[k] for k in ("palette", "properties") if k in w.docks]
        if side:
            w.resizeDocks(side, [230, 300][: len(side)], Qt.Orientation.Horizontal)
        QTimer.singleShot(0, w.canvas.zoom_to_fit)

    def show_dock(self, key: str) -> None:
        dock = self.docks[key]
        dock.show()
        dock.raise_()

    # -- data -----------------------------------------------------------------------------------
    def open_corpus_dialog(self):
        """Data ▸ Load Text Corpus… (see ``wizards/corpus_dialog.py``)."""
        from nnstudio.gui.wizards.corpus_dialog import CorpusDialog

        dialog = CorpusDialog(self.window, preset=self.session.dataset_spec)
        dialog.dataset_accepted.connect(self.adopt_dataset)
        if self.window.interactive:
            dialog.exec()
        return dialog

    def open_dataset_wizard(self) -> DatasetWizard:
        """Show the dataset wizard (modal); its result is adopted when accepted."""
        preset = self.session.dataset_spec
        if (getattr(preset, "images", None) is not None
                or getattr(preset, "sound", None) is not None):
            preset = None  # images/sounds: Data ▸ Load Images or Sounds… presets those
        wizard = DatasetWizard(self.window, preset=preset)
        from nnstudio.gui.design_data import output_target_names

        wizard.columns_page.set_output_targets(output_target_names(self.window.document.spec()))
        wizard.dataset_accepted.connect(self.adopt_dataset)
        if self.window.interactive:
            wizard.exec()
        return wizard

    def adopt_dataset(self, spec, prepared, ask: bool = True) -> None:
        """Use new data: session, Input shape, output layer check, project."""
        w = self.window
        self.session.set_dataset(spec, prepared, modified=True)
        w.output_units = int(prepared.output_size)
        self._fit_input(tuple(prepared.input_shape))
        w.document.set_input_shape(tuple(prepared.input_shape))
        w.mark_modified(True)
        self.training.refresh()
        from nnstudio.gui.design_data import names_targets

        if names_targets(w.document.spec()):  # the Output layers name the targets
            self.follow.check()  # prepares the data for them (in a background thread)
        else:
            self._offer_output_fix(prepared, ask)
        w.show_message(f"Data loaded: {prepared.summary()}", 8000)
        self.show_dock("training")

    def _fit_input(self, shape: tuple[int, ...]) -> None:
        """An Input that declares another shape than the data's forgets it (undoable)."""
        doc = self.window.document
        for node in doc.nodes:
            declared = node.config.get("shape") if node.type == "Input" else None
            if declared and tuple(declared) != shape:
                self.window.undo_stack.push_command(SetConfig(doc, node.id, {"shape": None}))

    def _offer_output_fix(self, prepared, ask: bool) -> bool:
        doc = self.window.document
        task, k = prepared.task, int(prepared.output_size)
        if task == "language_model":  # a distribution over the vocabulary at each position
            task = "classification"
        problem = output_mismatch(doc, task, k)
        if problem is None:
            return False
        command = output_fix_command(doc, task, k)
        if command is None:
            return False
        if ask:
            answer = QMessageBox.question(
                self.window, "Fix the output layer?",
                f"{problem}\n\nChange it now? (You can undo this.)",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            if answer != QMessageBox.StandardButton.Yes:
                self.window.show_message(problem, 10000)
                return False
        try:
            self.window.undo_stack.push_command(command)
        except NNStudioError as e:
            self.window.show_error("Cannot fix the output layer", str(e))
            return False
        self.window.show_message(command.text, 8000)
        self.training.refresh()
        return True

    def load_project_data(self, wait: bool | None = None) -> bool:
        """Build the project's dataset (if any) into the session; False on a data error.

        Small data (a built-in example, files up to :data:`QUICK_BYTES`) loads at once; larger
        data loads in a background thread (``wait=False``) while the window stays usable — a
        banner says so and offers Cancel — and joins the session when it is ready.
        """
        project = self.window.project
        if project.dataset is None:
            return False
        if wait is None:
            wait = _quick_to_load(project)
        self._data_options = self.follow.options(project.dataset)
        project.dataset = self.follow.spec_for(project.dataset, self._data_options)
        if not wait:
            self.data_loader.start(project.dataset, project.base_dir, **self._data_options)
            self._data_project = project
            name = _data_name(project)
            self.training.status.setText("Loading data…")
            self.training.banner.show_message(
                "info", "Loading the project's data…",
                f"{name}: reading and preparing it. The design, the runs and the settings can "
                "be used meanwhile; training starts once the data is there.",
                action=("Cancel", self.cancel_data_load))
            self._update_actions()
            return True
        from nnstudio.core.data import build_dataset
        from nnstudio.core.data.media_dataset import media_kind
        from nnstudio.gui.media_workflow import build_with_progress

        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            if media_kind(project.dataset, project.base_dir) is not None:  # decoded in a thread
                prepared = build_with_progress(self.window, project.dataset, project.base_dir)
            else:
                prepared = build_dataset(project.dataset, project.base_dir,
                                         **self._data_options)
        except NNStudioError as e:
            self._data_failed(str(e))
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self._adopt_project_data(prepared)
        return True

    def cancel_data_load(self) -> None:
        """Stop waiting for the project's data (the project stays open without it)."""
        if self.data_loader.busy:
            self.data_loader.cancel()
            self._data_project = None
            self.training.banner.show_message(
                "info", "Data not loaded",
                "Loading was cancelled. Use Data ▸ Load Dataset… to load data.")
            self.training.status.setText("Load a dataset to train (Data ▸ Load dataset…)")
            self._update_actions()

    def _on_data_loaded(self, _token: int, prepared) -> None:
        if self._data_project is not self.window.project:
            return  # another project opened meanwhile
        self._data_project = None
        self.training.banner.clear()
        self._adopt_project_data(prepared)
        self.training.show_project_settings()

    def _on_data_failed(self, _token: int, message: str) -> None:
        if self._data_project is self.window.project:
            self._data_project = None
            self._data_failed(message)

    def _data_failed(self, message: str) -> None:
        self.window.show_message(f"The project's data could not be loaded: {message}", 15000)
        self.training.banner.show_message(
            "error", "The project's data could not be loaded",
            f"{message}. Use Data ▸ Load Dataset… to choose it again.")
        self.training.status.setText("Load a dataset to train (Data ▸ Load dataset…)")
        self._update_actions()

    def adopt_prepared(self, prepared, spec=None) -> None:
        """The loaded data, prepared again (for the design's Output layers and Inputs) from
        ``spec`` (default: the project's dataset)."""
        if spec is not None:
            self.window.project.dataset = spec
        self._adopt_project_data(prepared)

    def _adopt_project_data(self, prepared) -> None:
        project = self.window.project
        if self._data_options:
            self.follow.note_built(prepared, self._data_options)
            self._data_options = {}
        self.session.set_dataset(project.dataset, prepared)
        self.window.output_units = int(prepared.output_size)
        self.window.document.set_input_shape(tuple(prepared.input_shape))
        self.training.refresh()
        self._update_actions()

    def _on_project_loaded(self, project) -> None:
        """The session holds a new project (the panels have reset): load its data, show its
        settings, then read the current run's weights in the background."""
        if self.training.running:
            self.training.shutdown()
        self.data_loader.cancel()  # the previous project's data, if it is still loading
        self._data_project = None
        if project.dataset is not None:
            self.load_project_data()
        self.training.show_project_settings()
        self.session.load_current_weights()
        self._update_actions()

    def _on_weights_loaded(self, _run_id: str, error: str) -> None:
        if error:
            self.training.banner.show_message(
                "error", "The current model's weights could not be read",
                f"{error}. The design and the run history opened without them; train again "
                "or make another run current (Runs panel).")

    def _on_about_to_save(self, project) -> None:
        if self.session.dataset_spec is not None:
            project.dataset = self.session.dataset_spec
        if not self.training.running:
            with contextlib.suppress(NNStudioError):
                project.training = self.training.config()

    def _schedule_scoring(self) -> None:
        # After the other listeners of this change ran: a run's own results arrive with it.
        QTimer.singleShot(0, self, self._score_current_model)

    def _score_current_model(self) -> None:
        """The current model has no results yet (opened, made current): score it on the
        loaded data in a worker thread; without data show the metrics its run recorded."""
        s = self.session
        if s.model is None or s.results is not None or s.training or self.results.busy:
            return
        if s.prepared is not None and tuple(s.prepared.input_shape) == tuple(
                s.model.input_shape):
            self.results.evaluate_now()
        elif s.current_run is not None:
            from nnstudio.gui.workers.evaluation import results_from_run

            s.set_results(results_from_run(s.current_run, s.model))

    # -- training -------------------------------------------------------------------------------
    def start_training(self) -> bool:
        self.show_dock("training")
        return self.training.start()

    def replay_training(self) -> bool:
        self.show_dock("training")
        return self.training.replay()

    def continue_training(self) -> bool:
        self.show_dock("training")
        return self.training.continue_training()

    def make_run_current(self, run_id: str) -> bool:
        """Make a run the current model: its network comes back on the canvas, its settings
        in the Training panel, its weights everywhere — one undoable step (Edit ▸ Undo)."""
        if self.training.running:
            return False
        run = self.session.runs.get(run_id)
        if run is None or run_id == self.session.runs.current_id:
            return False
        if not run.has_weights and run.model is None:
            self.window.show_error("Cannot make the run current",
                                   f"The weights of {run.name} were not kept; only its curves "
                                   "and metrics are.")
            return False
        try:
            command = MakeRunCurrent(self, run_id)
            self.window.undo_stack.push_command(command)
        except NNStudioError as e:
            self.window.show_error("Cannot make the run current", str(e))
            return False
        self.window.show_message(f"{run.name} is the current model (Edit ▸ Undo to go back).")
        return True

    def stop_training_first(self) -> bool:
        """Leaving the work while a run goes: ask to stop it; True when nothing runs (any
        more). A stopped run is kept in the history as a stopped run."""
        if not self.training.running:
            return True
        if self.window.interactive:
            answer = QMessageBox.question(
                self.window, "Training is running",
                "Training is running. Stop it and go on?\n\nThe run so far is kept in the "
                "run history as a stopped run.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        return self.stop_and_wait()

    def stop_and_wait(self, timeout_ms: int = 30_000) -> bool:
        """Stop the run and process events until it has ended and joined the history."""
        self.training.stop()
        deadline = QDeadlineTimer(timeout_ms)
        while (self.training.running or self.session.training) and not deadline.hasExpired():
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        return not self.training.running

    def _on_training_started(self) -> None:
        self.window.set_design_locked(True)
        self.window.show_message("Training… the design is locked until the run ends.", 4000)
        self._update_actions()

    def _on_training_finished(self, outcome) -> None:
        self.window.set_design_locked(False)
        self._update_actions()
        if outcome is None:
            return
        fin = outcome.finished
        if fin.reason == "diverged":
            self.window.show_message("Training diverged — see the Training panel.", 10000)
        else:
            self.window.show_message(
                f"Training {'stopped' if fin.reason == 'stopped' else 'finished'} after "
                f"{fin.epochs_run} epoch(s).", 8000)

    def _on_pause_changed(self, paused: bool) -> None:
        self.actions["pause"].setText("&Resume" if paused else "&Pause")
        self.actions["pause"].setIcon(workflow_icon("train" if paused else "pause"))

    def evaluate(self) -> None:
        """Score the model on every split again (in a worker thread; the panel shows it)."""
        if self.results.evaluate_now():
            self.show_dock("results")

    # -- export ---------------------------------------------------------------------------------
    def open_export_dialog(self) -> ExportDialog | None:
        if self.session.model is None:
            self.window.show_error("Nothing to export", "Train the network first.")
            return None
        dialog = ExportDialog(self.session, self.window)
        if self.window.interactive:
            dialog.exec()
        return dialog

    # -- closing --------------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.window and event.type() == QEvent.Type.Close:
            # Let the window decide (it may ask to save); stop the run only if it closes.
            self.window.closeEvent(event)
            if event.isAccepted():
                self.shutdown()
            return True
        return False

    def shutdown(self) -> None:
        """Stop a run and join its thread (the window is closing)."""
        self.training.shutdown()
        self.results.shutdown()
        self.session.training = False
        if getattr(self.window, "deploy", None) is not None:
            self.window.deploy.shutdown()  # the model server and the monitor's thread
        if getattr(self.window, "interop", None) is not None:
            self.window.interop.runner.shutdown()  # File ▸ Import ONNX / Run (gui/interop.py)


class MakeRunCurrent(Command):
    """Undoable "make this run current": the network, the training settings and the current
    run change together."""

    def __init__(self, workflow: Workflow, run_id: str):
        window = workflow.window
        super().__init__(window.document)
        self.workflow = workflow
        session = workflow.session
        run = session.runs.get(run_id)
        self.text = f"Make {run.name} Current"
        self.new_id, self.old_id = run_id, session.runs.current_id
        self.old_settings = session.project.training
        try:
            self.new_settings = TrainingConfig.from_dict(dict(run.settings))
        except (NNStudioError, TypeError, ValueError):
            self.new_settings = self.old_settings
        network = run.network or window.document.to_network_dict()
        self.replace = ReplaceAll(window.document, network, self.text)

    def do(self) -> None:
        self.replace.do()
        self._show(self.new_id, self.new_settings)

    def undo(self) -> None:
        self.replace.undo()
        self._show(self.old_id, self.old_settings)

    def _show(self, run_id, settings) -> None:
        session = self.workflow.session
        session.project.training = settings
        self.workflow.training.show_project_settings()
        session.make_current(run_id)
        self.workflow.training.refresh()


#: Data files up to this size load at once on Open; larger ones in a background thread.
QUICK_BYTES = 256 * 1024


def _source_files(project) -> list:
    from pathlib import Path

    spec = project.dataset
    files = []
    for name in (getattr(spec, "source", None), getattr(spec, "labels", None)):
        if name:
            p = Path(name)
            if not p.is_absolute() and project.base_dir is not None:
                p = project.base_dir / p
            files.append(p)
    return files


def _quick_to_load(project) -> bool:
    """A built-in example or small files: loading takes less than a frame or two."""
    total = 0
    for p in _source_files(project):
        try:
            total += p.stat().st_size if p.is_file() else QUICK_BYTES + 1
        except OSError:
            return True  # missing: the (quick) error says so at once
    return total <= QUICK_BYTES


def _data_name(project) -> str:
    files = _source_files(project)
    return files[0].name if files else "the data"


def _insert_menu(bar, title: str, before):
    from PySide6.QtWidgets import QMenu

    menu = QMenu(title, bar)
    if before is not None:
        bar.insertMenu(before, menu)
    else:
        bar.addMenu(menu)
    return menu


def install(window: MainWindow) -> Workflow:
    """Add the workflow docks, menus and actions to ``window``; returns the
    :class:`Workflow` (also ``window.workflow``)."""
    wf = Workflow(window)
    window.workflow = wf
    window.session = wf.session
    insight.install(window, wf.session)  # the "Inside the network" dock
    from nnstudio.gui import deploy

    deploy.install(window, wf.session)  # File ▸ Deploy… and the Monitor dock

    from nnstudio.gui import media_workflow

    media_workflow.install(wf)  # images and sounds: wizard, gallery, predict a file
    from nnstudio.gui.dock_tabs import keep_tab_names

    keep_tab_names(window)  # whole tab names at 1024 × 640 (no "Pr…")
    if "help" in getattr(window, "menus", {}) and hasattr(window.actions, "about"):
        from nnstudio.gui import help as help_menu

        help_menu.install(window)  # Getting Started, shortcuts, the offline guide
    from nnstudio.gui import interop

    interop.install(window)  # File ▸ Import ONNX… / Import Run…
    return wf

