"""The workflow after the design: data, training, results, prediction and export.

:func:`install` is called at the end of ``MainWindow.__init__``. It creates the window's
:class:`~nnstudio.gui.session.Session`, the Training / Results / Predict docks, the Data and
Training menus, File ▸ Export, toolbar buttons, and wires them to the window:

* the dataset wizard's result becomes the session's data, the network's Input adopts the
  data's shape, and an output layer that does not fit the task is fixed (after asking) by one
  undoable command;
* the design is locked while a run goes;
* a project's dataset and training settings are loaded with it and saved with it;
* closing the window mid-run stops the worker and joins its thread.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import QMessageBox

from nnstudio.core.errors import NNStudioError
from nnstudio.core.graph.commands import SetConfig
from nnstudio.gui import insight
from nnstudio.gui.icons import SvgIconEngine
from nnstudio.gui.panels.export_dialog import ExportDialog
from nnstudio.gui.panels.predict import PredictPanel
from nnstudio.gui.panels.results import ResultsPanel
from nnstudio.gui.panels.training import TrainingPanel, auto_loss
from nnstudio.gui.session import Session
from nnstudio.gui.theme import current_theme
from nnstudio.gui.wizards.dataset_wizard import DatasetWizard
from nnstudio.gui.wizards.output_fix import output_fix_command, output_mismatch

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
        ``{"load_data", "train", "pause", "stop", "replay", "evaluate", "export"}`` →
        ``QAction``.
    """

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.session = Session(self._network_source, self)
        self.training = TrainingPanel(self.session)
        self.results = ResultsPanel(self.session)
        self.predict = PredictPanel(self.session)
        self._architecture: dict | None = None
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.docks = {
            "training": window.add_dock(self.training, "Training", bottom, "training"),
            "results": window.add_dock(self.results, "Results", bottom, "results"),
            "predict": window.add_dock(self.predict, "Predict",
                                       Qt.DockWidgetArea.RightDockWidgetArea, "predict"),
        }
        window.tabifyDockWidget(self.docks["training"], self.docks["results"])
        if "properties" in window.docks:
            window.tabifyDockWidget(window.docks["properties"], self.docks["predict"])
            window.docks["properties"].raise_()
        self.docks["training"].raise_()
        self._build_actions()
        state = window.settings.value("window/state")
        if not isinstance(state, QByteArray) or state.isEmpty():
            QTimer.singleShot(0, self._default_layout)

        s = self.session
        s.training_started.connect(self._on_training_started)
        s.training_finished.connect(self._on_training_finished)
        s.dataset_changed.connect(self._update_actions)
        s.model_changed.connect(self._update_actions)
        s.run_record_changed.connect(self._update_actions)
        self.training.runner.pause_changed.connect(self._on_pause_changed)
        self.results.busy_changed.connect(lambda _busy: self._update_actions())
        self.training.run_started.connect(self._remember_architecture)
        window.project_loaded.connect(self._on_project_loaded)
        window.project_about_to_save.connect(self._on_about_to_save)
        window.document.changed.connect(self.training.refresh)
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
                                  "Train the network on the loaded data (F5)"),
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
        train.addActions([a["train"], a["pause"], a["stop"], a["replay"]])
        train.addSeparator()
        train.addAction(a["evaluate"])
        train.addSeparator()
        for key, title in (("training", "Show &Training"), ("results", "Show &Results"),
                           ("predict", "Show &Predict")):
            train.addAction(title, lambda k=key: self.show_dock(k))
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
        self.actions["pause"].setEnabled(running)
        self.actions["stop"].setEnabled(running)
        self.actions["replay"].setEnabled(
            s.run_record is not None and s.has_data and not running)
        self.actions["evaluate"].setEnabled(s.network is not None and not running
                                            and not self.results.busy)
        self.actions["export"].setEnabled(s.network is not None and not running)

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

    # -- the network ---------------------------------------------------------------------------
    def _network_source(self):
        doc = self.window.document
        return doc.spec(), doc.input_shape

    def _remember_architecture(self) -> None:
        self._architecture = self.window.document.to_network_dict()

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
        wizard = DatasetWizard(self.window, preset=self.session.dataset_spec)
        wizard.dataset_accepted.connect(self.adopt_dataset)
        if self.window.interactive:
            wizard.exec()
        return wizard

    def adopt_dataset(self, spec, prepared, ask: bool = True) -> None:
        """Use new data: session, Input shape, output layer check, project."""
        w = self.window
        self.session.set_dataset(spec, prepared)
        w.project.dataset = spec
        w.output_units = int(prepared.output_size)
        self._fit_input(tuple(prepared.input_shape))
        w.document.set_input_shape(tuple(prepared.input_shape))
        w.mark_modified(True)
        self.training.refresh()
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

    def load_project_data(self) -> bool:
        """Build the project's dataset (if any) into the session; False on a data error."""
        project = self.window.project
        if project.dataset is None:
            return False
        from nnstudio.core.data import build_dataset

        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            prepared = build_dataset(project.dataset, project.base_dir)
        except NNStudioError as e:
            self.window.show_message(f"The project's data could not be loaded: {e}", 15000)
            self.training.banner.show_message(
                "error", "The project's data could not be loaded",
                f"{e}. Use Data ▸ Load Dataset… to choose it again.")
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.session.set_dataset(project.dataset, prepared)
        self.window.output_units = int(prepared.output_size)
        self.window.document.set_input_shape(tuple(prepared.input_shape))
        self.training.refresh()
        return True

    def _on_project_loaded(self, project) -> None:
        if self.training.running:
            self.training.shutdown()
        self.session.set_dataset(None, None)
        cfg = project.training
        self.training.set_config(cfg)
        self.session.training_config = cfg
        if project.dataset is not None and self.load_project_data():
            auto = auto_loss(self.session.task, self.training._output_units())
            if cfg.loss != auto:  # the file asks for another loss than the automatic one
                self.training.loss.setCurrentIndex(self.training.loss.findData(cfg.loss))
            else:
                self.training.loss.setCurrentIndex(0)

    def _on_about_to_save(self, project) -> None:
        if self.session.dataset_spec is not None:
            project.dataset = self.session.dataset_spec
        with contextlib.suppress(NNStudioError):
            project.training = self.training.config()

    # -- training -------------------------------------------------------------------------------
    def start_training(self) -> bool:
        self.show_dock("training")
        return self.training.start()

    def replay_training(self) -> bool:
        self.show_dock("training")
        return self.training.replay()

    def _on_training_started(self) -> None:
        self.window.set_design_locked(True)
        self.window.show_message("Training… the design is locked until the run ends.", 4000)
        self._update_actions()

    def _on_training_finished(self, outcome) -> None:
        self.window.set_design_locked(False)
        self._update_actions()
        if outcome is None:
            return
        model = self.session.model
        if model is not None and self._architecture is not None:
            model.architecture = self._architecture
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
    return wf

