"""The GUI-side state of a working session: the data, the last run and the trained model.

One :class:`Session` per main window. Panels read it and listen to its signals; they never
talk to each other directly (the dataset wizard sets the data, the training panel the model,
the results, predict and export views follow).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from nnstudio.core.engine.network import Network, NetworkSpec
from nnstudio.core.errors import ProjectError
from nnstudio.core.insight.replay import RunRecord, data_fingerprint
from nnstudio.core.training import TrainingConfig

#: ``() -> (spec, input_shape)``: the network being designed, read when a run starts.
NetworkSource = Callable[[], tuple[NetworkSpec, tuple[int, ...] | None]]


class Session(QObject):
    """Data, training and model state shared by the workflow panels.

    Attributes
    ----------
    dataset_spec:
        The core ``DatasetSpec`` the wizard produced, or ``None``.
    prepared:
        The core ``PreparedData`` (split, prepared arrays), or ``None``.
    network:
        The trained :class:`~nnstudio.core.engine.network.Network` of the last run, or ``None``.
    model:
        The core ``TrainedModel`` (network + preparation) used by predict and export, or
        ``None``.
    training_config:
        The settings of the last run (or the project's), or ``None``.
    outcome:
        The last :class:`~nnstudio.gui.workers.training_worker.TrainingOutcome`.
    results:
        The last evaluation (:class:`~nnstudio.gui.workers.evaluation.Results`), or ``None``.
    run_record:
        The :class:`~nnstudio.core.insight.replay.RunRecord` of the last run (or the
        project's), or ``None``: what "Replay with same initialization" trains again.
    run_record_problem:
        Why the opened project's record could not be read, or ``None``.
    """

    #: The wizard produced new data (a new ``prepared``): no argument.
    dataset_changed = Signal()
    #: A training run started: no argument.
    training_started = Signal()
    #: A training run ended: the ``TrainingOutcome`` (or ``None`` when it failed to run).
    training_finished = Signal(object)
    #: The trained model changed (new run, or cleared by new data): no argument.
    model_changed = Signal()
    #: New evaluation results are available: the ``Results``.
    results_changed = Signal(object)
    #: The last run's record changed (a run ended, a project opened): no argument.
    run_record_changed = Signal()

    def __init__(self, network_source: NetworkSource | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.network_source = network_source
        self.dataset_spec: Any = None
        self.prepared: Any = None
        self.network: Network | None = None
        self.model: Any = None
        self.training_config: TrainingConfig | None = None
        self.outcome: Any = None
        self.results: Any = None
        self.training = False
        self.run_record: RunRecord | None = None
        self.run_record_problem: ProjectError | None = None
        self._fingerprint: _Fingerprint | None = None

    # -- data --------------------------------------------------------------------------------
    @property
    def has_data(self) -> bool:
        return self.prepared is not None

    @property
    def task(self) -> str | None:
        """``"classification"``, ``"regression"`` or ``None`` without data."""
        return None if self.prepared is None else self.prepared.task

    def set_dataset(self, spec: Any, prepared: Any) -> None:
        """Adopt the wizard's result; forgets the model trained on other data."""
        self.dataset_spec, self.prepared = spec, prepared
        self.network = self.model = self.results = self.outcome = None
        # Hashed now in a background thread, so Start and Replay find it ready.
        self._fingerprint = _Fingerprint(prepared) if prepared is not None else None
        self.dataset_changed.emit()
        self.model_changed.emit()

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
        self.network, self.model = network, model
        self.model_changed.emit()

    def set_results(self, results: Any) -> None:
        self.results = results
        self.results_changed.emit(results)

    def set_run_record(self, record: RunRecord | None,
                       problem: ProjectError | None = None) -> None:
        """Keep ``record`` as the last run's (``problem``: why a project's could not be read)."""
        self.run_record, self.run_record_problem = record, problem
        self.run_record_changed.emit()


def split_data(prepared: Any) -> tuple[tuple[Any, Any], tuple[Any, Any] | None]:
    """``(train, validation)`` ``(x, y)`` pairs of a ``PreparedData``; validation is ``None``
    when that split is empty (as a run gets them)."""
    train = (prepared.x_train, prepared.y_train)
    val = (prepared.x_val, prepared.y_val)
    return train, (val if len(val[0]) else None)


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
