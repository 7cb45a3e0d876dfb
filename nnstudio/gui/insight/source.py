"""Where the insight views get their network, data and fresh weights from.

:class:`InsightSource` follows a training run (a ``TrainingRunner``'s signals) or a network
set directly, and turns its events into throttled :class:`~.compute.Snapshot` s: at most one
every ``interval_ms`` while training, one at once after a step, an epoch, or the end of a
run. It also records the weight path for the loss landscape and drives step mode through
the run's :class:`~nnstudio.core.training.TrainControl`.
"""

from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from nnstudio.core.engine.network import Network
from nnstudio.core.errors import NNStudioError
from nnstudio.core.insight.dataview import InsightData
from nnstudio.core.insight.landscape import WeightPath
from nnstudio.core.insight.stats import StatsHistory
from nnstudio.core.training import TrainingConfig, check_fit, is_classification
from nnstudio.gui.insight.compute import Blueprint, ComputeThread, Snapshot

#: The weight path is recorded for networks up to this many parameters.
PATH_MAX_PARAMS = 20_000
#: Least seconds between two points of the weight path taken on training events.
PATH_INTERVAL = 0.02


class InsightSource(QObject):
    """Network, data, settings and the weights over time, for every insight view.

    Parameters
    ----------
    interval_ms:
        Least time between two snapshots while training (the views' refresh rate).
    """

    #: A different network (or none): views rebuild their selectors. No argument.
    network_changed = Signal()
    #: Different data. No argument.
    data_changed = Signal()
    #: New weights to show: a :class:`~.compute.Snapshot`.
    snapshot_ready = Signal(object)
    #: Training started, paused, resumed, stepped or finished. No argument.
    run_changed = Signal()
    #: An epoch ended: the core ``EpochEnd``.
    epoch_ended = Signal(object)

    def __init__(self, parent: QObject | None = None, interval_ms: int = 250):
        super().__init__(parent)
        self.network: Network | None = None
        self.blueprint: Blueprint | None = None
        self.data: InsightData | None = None
        self.config: TrainingConfig | None = None
        self.runner: Any = None
        self.latest: Snapshot | None = None
        self.path = WeightPath()
        self.history = StatsHistory()
        self.compute = ComputeThread(self)
        self.epoch = 0
        self.batch = 0
        self.n_batches = 0
        self.step_count = 0
        self.training = False
        #: Whether the panel is on screen (hidden: only cheap bookkeeping happens).
        self.shown = False
        #: The two display features the maps use (the boundary view sets them).
        self.plot_features: tuple[int, int] = (0, 1)
        self._dirty = False
        self._last_path = 0.0
        self._fit_key: tuple = ()
        self._fit_text = ""
        self._stepping = False
        self._queued_step = 0
        self._events_since_step = 0
        self._step_size = 0
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_ms))
        self._timer.timeout.connect(self._tick)
        self._pause_poll = QTimer(self)
        self._pause_poll.setInterval(10)
        self._pause_poll.timeout.connect(self._check_paused)

    # -- inputs ------------------------------------------------------------------------------
    def set_network(self, network: Network | None, config: TrainingConfig | None = None,
                    initial=None) -> None:
        """Show ``network`` (not training, or about to): resets the path and history.

        ``initial`` are the weights the path starts from (default: the network's now).
        """
        if config is not None:
            self.config = config
        if network is not self.network:
            self.network = network
            self._fit_key = ()  # holds the old network: let a closed project's arrays go
            self.blueprint = Blueprint.of(network) if network is not None else None
            self.path.clear()
            self.history.clear()
            self.epoch = self.batch = self.step_count = 0
            self.latest = None
            self.network_changed.emit()
            if network is not None and network.n_params <= PATH_MAX_PARAMS:
                self.path.record(network.params if initial is None else initial, 0)
        self.refresh()

    def set_data(self, data: InsightData | None) -> None:
        self.data = data
        self._fit_key = ()
        self.data_changed.emit()
        self.refresh()

    @property
    def compatible(self) -> bool:
        """True when the network can take the data (views compute only then)."""
        return self.network is not None and self.data is not None and not self.mismatch_text()

    def mismatch_text(self) -> str:
        """Why network and data do not fit (yet), in the trainer's words; ``""`` when they do.

        Cached per (network, data, loss): the views ask on every snapshot.
        """
        net, data = self.network, self.data
        if net is None or data is None:
            return ""
        # By identity, not id(): a new network may get the id of a freed one.
        old = self._fit_key
        loss = self.loss
        if not old or old[0] is not net or old[1] is not data or old[2] != loss:
            self._fit_key = (net, data, loss)
            try:
                heads = self.heads()
                if heads is not None:  # several outputs: each Output and its target
                    heads.check_fit(data.y_train, "the data")
                else:
                    check_fit(net, loss, data.x_train, data.y_train, "the data")
                self._fit_text = ""
            except NNStudioError as e:
                self._fit_text = (f"The network and the data do not fit together yet: {e}. "
                                  "The views show the network once they do.")
        return self._fit_text

    @property
    def several(self) -> list[str]:
        """``["Inputs", "outputs"]``, what the network has several of (``[]`` for one Input
        and one output); views drawing one input and one output say so instead."""
        net, data = self.network, self.data
        if net is None:
            return []
        return [what for what, yes in (
            ("Inputs", getattr(net, "input_columns", None) is not None),
            ("outputs", getattr(net, "multi_output", False)
             or getattr(data, "heads", None) is not None)) if yes]

    def heads(self):
        """The :class:`~nnstudio.core.training.heads.Heads` pairing the network's Output
        layers with the data's prepared targets (``None`` for data of one target); raises
        :class:`NNStudioError` naming the Output at fault."""
        data, net = self.data, self.network
        if data is None or net is None or data.heads is None:
            if net is not None and getattr(net, "multi_output", False):
                raise NNStudioError("the network has several outputs but the data was "
                                    "prepared for one target: name each Output's target")
            return None
        from nnstudio.core.training.heads import Heads

        return Heads.build(net, data.heads)

    @property
    def loss(self) -> str:
        """The loss of the run, or the one the task implies (also when the settings are
        another task's: a project's classification loss after regression data came in)."""
        if self.config is not None and (
            self.data is None
            or is_classification(self.config.loss) == (self.data.task == "classification")
        ):
            return self.config.loss
        if self.data is not None and self.data.task == "classification":
            one = self.network is not None and self.network.output_shape is not None \
                and tuple(self.network.output_shape) == (1,)
            return "binary_cross_entropy" if one else "cross_entropy"
        return "mse"

    @property
    def learning_rate(self) -> float:
        return self.config.learning_rate if self.config is not None else 0.01

    # -- a training run -----------------------------------------------------------------------
    def attach_runner(self, runner: Any) -> None:
        """Follow a ``TrainingRunner`` (``started``, ``progressed``, ``epoch_finished``,
        ``finished``, ``failed``, ``pause_changed`` signals)."""
        if runner is self.runner or runner is None:
            return
        self.runner = runner
        runner.started.connect(self._on_started)
        runner.progressed.connect(self.on_progress)
        runner.epoch_finished.connect(self.on_epoch)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)
        if hasattr(runner, "pause_changed"):
            runner.pause_changed.connect(lambda _p: self.run_changed.emit())
        if getattr(runner, "running", False):
            self._on_started()

    @property
    def control(self) -> Any:
        """The running trainer's ``TrainControl``, or ``None``."""
        return getattr(self.runner, "control", None) if self.training else None

    @property
    def paused(self) -> bool:
        c = self.control
        return bool(c is not None and c.paused)

    def queue_step(self, n_batches: int) -> None:
        """Step the next run as soon as it starts: ``n`` batches, or ``0`` for one epoch."""
        self._queued_step = -1 if n_batches <= 0 else int(n_batches)

    @property
    def step_queued(self) -> bool:
        return bool(self._queued_step)

    def cancel_queued_step(self) -> None:
        self._queued_step = 0

    @Slot()
    def _on_started(self) -> None:
        worker = getattr(self.runner, "worker", None)
        job = getattr(worker, "job", None)
        # The runner emits `started` before its trainer thread starts, so these are the
        # initial weights (the path's start), and a queued step applies before any batch.
        initial = job.network.params.copy() if job is not None else None
        self.training = True
        self.n_batches = 0
        if job is not None:
            n = len(job.train_data[0])
            self.n_batches = math.ceil(n / max(1, min(job.config.batch_size, n))) if n else 0
        if self._queued_step:
            n = self._queued_step if self._queued_step > 0 else max(1, self.n_batches)
            self._queued_step = 0
            self.epoch = self.batch = 0
            self.step(n)
        if job is not None:
            # A new run restarts the path even on the same network object.
            self.network = None
            self.set_network(job.network, job.config, initial=initial)
        self._timer.start()
        self.run_changed.emit()

    @Slot(object)
    def on_progress(self, progress: Any) -> None:
        """A (coalesced) batch progress event: where training stands."""
        if (progress.epoch, progress.batch) < (self.epoch, self.batch):
            return  # older than what an epoch end already told
        self.epoch, self.batch = progress.epoch, progress.batch
        self.n_batches = progress.n_batches
        self._events_since_step += 1
        self._mark()

    @Slot(object)
    def on_epoch(self, event: Any) -> None:
        """An epoch ended: a snapshot at the next tick (at once without a running timer)."""
        self.epoch = event.epoch
        if self.n_batches:
            self.batch = self.n_batches
        self._events_since_step += 1
        self._mark()
        if not self._timer.isActive():
            self._tick(force=True)
        self.epoch_ended.emit(event)

    @Slot(object)
    def _on_finished(self, outcome: Any) -> None:
        self.training = False
        self._stepping = False
        self._pause_poll.stop()
        self._timer.stop()
        self._mark()
        self._tick(force=True)
        self.run_changed.emit()

    @Slot(str)
    def _on_failed(self, _message: str) -> None:
        self._on_finished(None)

    # -- step mode ------------------------------------------------------------------------------
    def batches_to_epoch_end(self) -> int:
        """Batches left in the current epoch (a whole epoch at an epoch's end)."""
        n = self.n_batches or 1
        done = self.batch % n if self.batch else 0
        return n - done

    def step(self, n_batches: int) -> bool:
        """Let the paused run do exactly ``n_batches`` more steps; views refresh when done.

        Returns False when no run can step (none running).
        """
        control = self.control
        if control is None:
            return False
        self._step_size = max(1, int(n_batches))
        self.runner.step(self._step_size)  # through the runner, which tells its panels
        self._stepping = True
        self._events_since_step = 0
        self._pause_poll.start()
        self.run_changed.emit()
        return True

    @Slot()
    def _check_paused(self) -> None:
        control = self.control
        if control is None or not self._stepping:
            self._pause_poll.stop()
            return
        if control.paused:  # the trainer used its budget and waits: weights are final
            self._pause_poll.stop()
            # The trainer posted its last events before pausing: let them arrive first.
            QTimer.singleShot(0, self._finish_step)

    @Slot()
    def _finish_step(self) -> None:
        if self._stepping:
            self._stepping = False
            if self._events_since_step == 0 and self.n_batches:
                g = (max(self.epoch, 1) - 1) * self.n_batches + self.batch + self._step_size
                self.epoch, self.batch = divmod(g - 1, self.n_batches)
                self.epoch += 1
                self.batch += 1
            self._mark()
            self._tick(force=True)
            self.run_changed.emit()

    @property
    def stepping(self) -> bool:
        return self._stepping

    # -- snapshots ---------------------------------------------------------------------------
    def _mark(self) -> None:
        """Training moved: the next tick takes a snapshot; the weight path gets a point at
        most every :data:`PATH_INTERVAL` seconds (events cost next to nothing)."""
        self._dirty = True
        now = time.perf_counter()
        if now - self._last_path >= PATH_INTERVAL:
            self._last_path = now
            self._record_path()

    def _record_path(self) -> None:
        net = self.network
        if net is not None and net.n_params <= PATH_MAX_PARAMS:
            step = (self.epoch - 1) * max(self.n_batches, 1) + self.batch if self.epoch else 0
            self.path.record(net.params, step)

    @Slot()
    def _tick(self, force: bool = False) -> None:
        if self._dirty or force:
            self._dirty = False
            self._record_path()
            self.refresh()

    def refresh(self) -> None:
        """Take a snapshot of the current weights now and hand it to the views."""
        net = self.network
        if net is None or self.blueprint is None:
            self.latest = None
            return
        self.step_count += 1
        self.latest = Snapshot.take(
            net, self.blueprint, epoch=self.epoch, batch=self.batch,
            n_batches=self.n_batches, step=self.step_count,
        )
        self.snapshot_ready.emit(self.latest)

    def position_text(self) -> str:
        """``"epoch 3 · batch 4/10"`` or ``"before training"``."""
        if not self.epoch:
            return "before training" if self.training or self.network is not None else ""
        n = f"/{self.n_batches}" if self.n_batches else ""
        return f"epoch {self.epoch} · batch {self.batch}{n}"

    def shutdown(self) -> None:
        """Stop timers and join the compute thread (the window is closing)."""
        self._timer.stop()
        self._pause_poll.stop()
        self.compute.shutdown()
