"""The one state of a window's work: project, data, current model, runs, unsaved changes.

One :class:`Session` per main window. It owns the :class:`~nnstudio.core.io.project.Project`
(the design's network section lives in the window's ``GraphDocument`` and is written into the
project on save), the loaded data, the run history (``project.runs``) and which run is the
current model, the last evaluation, and whether anything not undoable on the canvas changed
since the last save. Panels read it and listen to its signals; none keeps a copy of project
state. New, Open, Recover and opening a model file go through :meth:`Session.replace_project`,
which emits :attr:`Session.project_replaced`: every panel resets to what a fresh window shows
for that project, by construction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.engine.network import Network, NetworkSpec
from nnstudio.core.errors import NNStudioError, ProjectError
from nnstudio.core.insight.replay import RunRecord, data_fingerprint
from nnstudio.core.io.project import Project
from nnstudio.core.io.runs import Run, RunHistory
from nnstudio.core.training import TrainingConfig

#: ``() -> (spec, input_shape)``: the network being designed, read when a run starts.
NetworkSource = Callable[[], tuple[NetworkSpec, tuple[int, ...] | None]]


class Session(QObject):
    """Project, data, training and model state shared by every panel.

    Attributes
    ----------
    project:
        The current :class:`~nnstudio.core.io.project.Project` (replaced, never mutated into
        another project, by :meth:`replace_project`).
    dataset_spec:
        The core ``DatasetSpec`` of the loaded data, or ``None``.
    prepared:
        The core ``PreparedData`` (split, prepared arrays), or ``None``.
    network, model:
        The current run's trained :class:`~nnstudio.core.engine.network.Network` and core
        ``TrainedModel`` (what Predict, Results, Export and Inside the network use), or
        ``None``.
    training_config:
        The settings of the run going on or last run (or the project's), or ``None``.
    outcome:
        The last run's :class:`~nnstudio.gui.workers.training_worker.TrainingOutcome`.
    results:
        The current model's evaluation (:class:`~nnstudio.gui.workers.evaluation.Results`),
        or ``None``.
    modified:
        Changes that are not canvas edits (data, settings, runs) since the last save.
    """

    #: New / Open / Recover / a model file: a different project; every panel resets.
    project_replaced = Signal()
    #: New data (a new ``prepared``, or none): no argument.
    dataset_changed = Signal()
    #: A training run started: no argument.
    training_started = Signal()
    #: A training run ended: the ``TrainingOutcome`` (or ``None`` when it failed to run).
    training_finished = Signal(object)
    #: The current model changed (a run finished, a run made current, weights loaded): none.
    model_changed = Signal()
    #: New evaluation results of the current model: the ``Results`` (or ``None``).
    results_changed = Signal(object)
    #: The run list or a run's name, note or kept files changed: no argument.
    runs_changed = Signal()
    #: What Replay would train changed: no argument.
    run_record_changed = Signal()
    #: The unsaved-changes flag (besides canvas edits) changed: the new value.
    modified_changed = Signal(bool)
    #: The project's training settings changed (the panel edits them): no argument.
    settings_changed = Signal()
    #: The current run's weights finished loading in the background: ``(run id, error)``.
    weights_loaded = Signal(str, str)

    def __init__(self, network_source: NetworkSource | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.network_source = network_source
        self.project = Project()
        self.dataset_spec: Any = None
        self.prepared: Any = None
        self.network: Network | None = None
        self.model: Any = None
        self.training_config: TrainingConfig | None = None
        self.outcome: Any = None
        self.results: Any = None
        self.training = False
        self.modified = False
        self._fingerprint: _Fingerprint | None = None
        self._record_cache: tuple[str | None, RunRecord | None] | None = None
        self._loading: _WeightsLoader | None = None
        self.weights_loaded.connect(self._on_weights_loaded)

    # -- the project -----------------------------------------------------------------------------
    @property
    def runs(self) -> RunHistory:
        return self.project.runs

    @property
    def current_run(self) -> Run | None:
        return self.project.runs.current

    def replace_project(self, project: Project) -> None:
        """Make ``project`` the session's: data, model, results and runs of the previous one
        are forgotten; listeners of :attr:`project_replaced` reset (then load its data and
        weights). Not marked modified."""
        self._loading = None  # a load of the previous project's weights is ignored
        self.project = project
        self.dataset_spec = self.prepared = None
        self.network = self.model = self.results = self.outcome = None
        self.training_config = project.training
        self._fingerprint = None
        self._record_cache = None
        self.set_modified(False)
        self.project_replaced.emit()
        self.dataset_changed.emit()
        self.model_changed.emit()
        self.results_changed.emit(None)
        self.runs_changed.emit()
        self.run_record_changed.emit()

    def set_modified(self, modified: bool = True) -> None:
        if modified != self.modified:
            self.modified = modified
            self.modified_changed.emit(modified)

    def set_training_settings(self, cfg: TrainingConfig) -> None:
        """The user changed a training setting: keep it in the project, mark it unsaved."""
        if cfg.to_dict() == self.project.training.to_dict():
            return
        self.project.training = cfg
        self.set_modified(True)
        self.settings_changed.emit()

    # -- data --------------------------------------------------------------------------------
    @property
    def has_data(self) -> bool:
        return self.prepared is not None

    @property
    def task(self) -> str | None:
        """``"classification"``, ``"regression"`` or ``None`` without data."""
        return None if self.prepared is None else self.prepared.task

    def set_dataset(self, spec: Any, prepared: Any, modified: bool = False) -> None:
        """Adopt new data. Data the user chose (``modified``) is a change of the project;
        the current model stays in the run history but is no longer shown when it was
        trained on other data (its data fingerprint differs)."""
        self.dataset_spec, self.prepared = spec, prepared
        if spec is not None:
            self.project.dataset = spec
        self.results = None
        # Hashed now in a background thread, so Start and Replay find it ready.
        self._fingerprint = _Fingerprint(prepared) if prepared is not None else None
        if modified:
            self.set_modified(True)
        self.dataset_changed.emit()
        self.results_changed.emit(None)

    def data_fingerprint(self) -> str:
        """:func:`~nnstudio.core.insight.replay.data_fingerprint` of the training and
        validation splits (``""`` without data); waits for the background hash if needed."""
        return self._fingerprint.result() if self._fingerprint is not None else ""

    # -- training ----------------------------------------------------------------------------
    def mark_training_started(self) -> None:
        self.training = True
        self.training_started.emit()

    def mark_training_finished(self, outcome: Any) -> None:
        self.training = False
        if outcome is not None:
            self.outcome = outcome
        self.training_finished.emit(outcome)

    def set_model(self, network: Network | None, model: Any) -> None:
        """Show ``model`` as the current model (without a run: tests, a bare network)."""
        self.network, self.model = network, model
        self.model_changed.emit()

    def set_results(self, results: Any) -> None:
        self.results = results
        self.results_changed.emit(results)

    # -- runs --------------------------------------------------------------------------------
    def add_run(self, run: Run, make_current: bool | None = None,
                results: Any = None) -> bool:
        """Add a finished run to the history; returns whether it became the current model
        (a diverged run never does unless asked). ``results`` are its evaluation (computed
        with the run). Marks the project modified."""
        runs = self.project.runs
        before = runs.current_id
        runs.add(run, make_current)
        became = runs.current_id == run.id and before != run.id
        self._record_cache = None
        self.set_modified(True)
        if became:
            self._show_current(results)
        self.runs_changed.emit()
        self.run_record_changed.emit()
        return became

    def make_current(self, run_id: str | None) -> None:
        """Make ``run_id`` the current model (``None``: none). Loads its weights if needed
        (in a background thread; :attr:`model_changed` follows)."""
        runs = self.project.runs
        if run_id is not None and runs.get(run_id) is None:
            raise ProjectError(f"there is no run {run_id!r}")
        if runs.current_id == run_id:
            return
        runs.current_id = run_id
        self._record_cache = None
        self.set_modified(True)
        self._show_current()
        self.runs_changed.emit()
        self.run_record_changed.emit()

    def rename_run(self, run_id: str, name: str) -> None:
        run = self._run(run_id)
        name = name.strip() or run.name
        if name != run.name:
            run.name = name
            self.set_modified(True)
            self.runs_changed.emit()

    def set_run_note(self, run_id: str, note: str) -> None:
        run = self._run(run_id)
        if note != run.note:
            run.note = note
            self.set_modified(True)
            self.runs_changed.emit()

    def delete_run(self, run_id: str) -> None:
        """Remove a run (its files go with the next save). Deleting the current run leaves
        no current model."""
        was_current = self.project.runs.current_id == run_id
        self.project.runs.remove(run_id)
        self._record_cache = None
        self.set_modified(True)
        if was_current:
            self._show_current()
        self.runs_changed.emit()
        self.run_record_changed.emit()

    def set_keep_weights(self, n: int | None) -> list[Run]:
        """Keep the weights of only the last ``n`` runs (``None``: all); returns the runs
        whose weights were dropped."""
        runs = self.project.runs
        if runs.keep_weights == n:
            return []
        runs.keep_weights = n
        dropped = runs.prune()
        self._record_cache = None
        self.set_modified(True)
        self.runs_changed.emit()
        self.run_record_changed.emit()
        return dropped

    def _run(self, run_id: str) -> Run:
        run = self.project.runs.get(run_id)
        if run is None:
            raise ProjectError(f"there is no run {run_id!r}")
        return run

    def _show_current(self, results: Any = None) -> None:
        """Show the current run's model: at once when in memory, else after a background
        load; no current run shows no model."""
        run = self.current_run
        self.results = results
        if run is None:
            self.network = self.model = None
            self.model_changed.emit()
            self.results_changed.emit(None)
            return
        if run.model is not None:
            self.model = run.model
            self.network = run.model.network
            self.model_changed.emit()
            self.results_changed.emit(results)
            return
        self.network = self.model = None
        self.model_changed.emit()
        self.results_changed.emit(None)
        self.load_current_weights()

    def load_current_weights(self) -> bool:
        """Read the current run's weights in a background thread (the GUI thread never waits
        for a large file); :attr:`model_changed` follows, or :attr:`weights_loaded` with the
        error. Returns False when there is nothing to load."""
        run = self.current_run
        if run is None:
            return False
        if run.model is not None:  # in memory already (a model file, a run just made)
            if self.model is not run.model:
                self._show_current()
            return False
        self._loading = _WeightsLoader(self, self.project.runs, run)
        return True

    @property
    def loading_weights(self) -> bool:
        return self._loading is not None

    @Slot(str, str)
    def _on_weights_loaded(self, run_id: str, error: str) -> None:
        loader, self._loading = self._loading, None
        run = self.current_run
        if loader is None or run is None or run.id != run_id:
            return  # a stale load (another project, another current run)
        if error:
            self.runs_changed.emit()  # the run shows its problem
            return
        self.model = run.model
        self.network = run.model.network
        self.model_changed.emit()

    # -- replay ------------------------------------------------------------------------------
    @property
    def run_record(self) -> RunRecord | None:
        """The :class:`RunRecord` that Replay trains again (the current run's, else the
        newest run's that kept its start), read from its file the first time."""
        run = self.project.replay_run()
        key = run.id if run is not None else None
        if self._record_cache is None or self._record_cache[0] != key:
            self.project.run_problem = None if run is not None else self.project.run_problem
            record = self.project.replay_record()
            self._record_cache = (key, record)
        return self._record_cache[1]

    @property
    def run_record_problem(self) -> ProjectError | None:
        return self.project.run_problem


def split_data(prepared: Any) -> tuple[tuple[Any, Any], tuple[Any, Any] | None]:
    """``(train, validation)`` ``(x, y)`` pairs of a ``PreparedData``; validation is ``None``
    when that split is empty (as a run gets them)."""
    train = (prepared.x_train, prepared.y_train)
    val = (prepared.x_val, prepared.y_val)
    return train, (val if len(val[0]) else None)


class _WeightsLoader:
    """Reads one run's model file in a daemon thread and reports through the session's
    :attr:`Session.weights_loaded` signal (queued to the GUI thread)."""

    def __init__(self, session: Session, runs: RunHistory, run: Run):
        self._session = session
        threading.Thread(target=self._run, args=(runs, run), name="nnstudio-weights",
                         daemon=True).start()

    def _run(self, runs: RunHistory, run: Run) -> None:
        error = ""
        try:
            runs.load_model(run)
        except NNStudioError as e:
            error = str(e)
        except (MemoryError, OSError, ValueError) as e:  # never a traceback from a file
            error = f"the weights of {run.name} cannot be read ({type(e).__name__})"
            run.problem = error
        self._session.weights_loaded.emit(run.id, error)


class _Fingerprint:
    """The data fingerprint of one ``PreparedData``, hashed in a daemon thread (``hashlib``
    releases the GIL: ≈ 15 ms per 20 MB that the GUI thread does not wait for)."""

    def __init__(self, prepared: Any):
        self._done = threading.Event()
        self._value = ""
        threading.Thread(target=self._run, args=(prepared,), name="nnstudio-fingerprint",
                         daemon=True).start()

    def _run(self, prepared: Any) -> None:
        try:
            self._value = data_fingerprint(*split_data(prepared))
        except Exception:  # odd data: no fingerprint, replays are then not checked
            self._value = ""
        finally:
            self._done.set()

    def result(self) -> str:
        self._done.wait()
        return self._value
