"""The GUI-side state of a working session: the data, the last run and the trained model.

One :class:`Session` per main window. Panels read it and listen to its signals; they never
talk to each other directly (the dataset wizard sets the data, the training panel the model,
the results, predict and export views follow).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from nnstudio.core.engine.network import Network, NetworkSpec
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
        self.dataset_changed.emit()
        self.model_changed.emit()

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
