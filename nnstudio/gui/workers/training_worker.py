"""Train in a worker thread: a QObject that iterates the core trainer and emits queued signals.

The GUI thread never computes an epoch. :class:`TrainingWorker` lives in a ``QThread`` and
walks :func:`nnstudio.core.training.train`; per-batch events are *coalesced* — at most one
:class:`BatchProgress` every ``interval`` seconds (100 ms) — so a tiny network doing tens of
thousands of batches a second cannot flood the GUI's event queue, while every
:class:`~nnstudio.core.training.EpochEnd` is forwarded. What the coalescing held back is sent
when the trainer is about to wait (paused, or a step budget used up: the control's
``before_wait`` hook) and when the run ends, so a paused run shows exactly where it
stands. After the run the optional ``after`` callable (metrics on the train, validation and
test splits) also runs in the worker thread.

:class:`TrainingRunner` owns the thread: ``start``/``pause``/``resume``/``stop`` for the
panel, and :meth:`TrainingRunner.shutdown` for a window that closes mid-run (stop, then
``thread.quit(); thread.wait()`` — the quit is called directly, never through a signal queued
to the GUI thread, so the wait cannot dead-lock).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.engine.network import Network
from nnstudio.core.errors import NNStudioError
from nnstudio.core.training import (
    BatchEnd,
    EpochEnd,
    TrainControl,
    TrainingConfig,
    TrainingFinished,
    train,
)
from nnstudio.gui.workers.threads import ThreadOwner

#: Weight of the newest batch in the smoothed (exponential moving average) batch loss.
SMOOTHING = 0.05


@dataclass(frozen=True)
class BatchProgress:
    """Where a run stands, sent at most every ``interval`` seconds — and once more when the
    trainer pauses or the run ends, for the last batch.

    ``points_x``/``points_y`` are new samples of the smoothed batch loss since the previous
    message, with x in epochs (``epoch − 1 + batch / n_batches``).
    """

    epoch: int
    epochs: int
    batch: int
    n_batches: int
    loss: float
    smoothed_loss: float
    learning_rate: float
    elapsed: float
    points_x: tuple[float, ...] = ()
    points_y: tuple[float, ...] = ()

    @property
    def fraction(self) -> float:
        """Share of all batches done, 0–1."""
        total = self.epochs * self.n_batches
        return ((self.epoch - 1) * self.n_batches + self.batch) / total if total else 1.0

    @property
    def seconds_left(self) -> float:
        """Estimate of the time to the last epoch at the pace so far (``nan`` at the start)."""
        f = self.fraction
        return self.elapsed * (1 - f) / f if f > 0 else math.nan


@dataclass
class TrainingJob:
    """Everything a run needs; built on the GUI thread, used only by the worker after.

    ``after(network, finished)`` runs in the worker thread once training ended (unless the run
    was aborted by a closing window) and its return value travels in :class:`TrainingOutcome`.
    """

    network: Network
    config: TrainingConfig
    train_data: tuple[np.ndarray, np.ndarray]
    val_data: tuple[np.ndarray, np.ndarray] | None = None
    after: Callable[[Network, TrainingFinished], Any] | None = None
    #: A network with several outputs: its :class:`~nnstudio.core.training.heads.Heads`
    #: (a loss per Output layer; ``y`` holds one column per target).
    heads: Any = None


@dataclass
class TrainingOutcome:
    """What a finished run hands back to the GUI thread."""

    finished: TrainingFinished
    network: Network
    results: Any = None
    results_error: str = ""
    epochs: list[EpochEnd] = field(default_factory=list)


class TrainingWorker(QObject):
    """Iterates the core trainer in its thread and reports through queued signals.

    Parameters
    ----------
    job:
        The network, settings and data of the run.
    control:
        The stop/pause flags the trainer checks before each batch.
    interval:
        Least time in seconds between two :attr:`progressed` signals.
    """

    #: Coalesced batch progress (a :class:`BatchProgress`), at most every ``interval`` s.
    progressed = Signal(object)
    #: An epoch ended (a :class:`~nnstudio.core.training.EpochEnd`); never coalesced.
    epoch_finished = Signal(object)
    #: The run ended (a :class:`TrainingOutcome`), whatever the reason.
    finished = Signal(object)
    #: The run could not start or broke: a readable message (never a traceback for
    #: :class:`~nnstudio.core.errors.NNStudioError`).
    failed = Signal(str)
    #: The trainer is about to wait (paused, or a step's batches done).
    waiting = Signal()

    def __init__(self, job: TrainingJob, control: TrainControl, interval: float = 0.1):
        super().__init__()
        self.job = job
        self.control = control
        self.interval = float(interval)
        #: Set by :meth:`TrainingRunner.shutdown`: skip the metrics after a stop.
        self.aborted = False
        self._on_done: Callable[[], None] | None = None

    @Slot()
    def run(self) -> None:
        """Train to the end (or a stop), then run ``job.after``; always ends the thread."""
        try:
            # A diverging run overflows on purpose; the trainer detects it and says so.
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
                    blas_threads_for_training():
                self._run()
        except NNStudioError as e:
            self.failed.emit(str(e))
        except MemoryError:
            self.failed.emit("not enough memory for this network and batch size; "
                             "try a smaller batch size or fewer units")
        except Exception as e:  # a bug: say what, keep the trace for the log
            traceback.print_exc()
            self.failed.emit(f"training failed unexpectedly: {type(e).__name__}: {e}")
        finally:
            if self._on_done is not None:
                self._on_done()

    def _run(self) -> None:
        job = self.job
        interval = self.interval
        ema = math.nan
        weight = 0.0  # debiasing of the EMA, as TensorBoard's smoothing
        decay = 1.0 - SMOOTHING
        raw = 0.0
        last_emit = -math.inf
        xs: list[float] = []
        ys: list[float] = []
        epochs = job.config.epochs
        epoch_events: list[EpochEnd] = []
        ev: Any = None
        last_batch: BatchEnd | None = None
        unsent = False  # a batch ended since the last progress message

        def flush() -> None:
            """Send what the coalescing held back: the last batch, exactly."""
            nonlocal xs, ys, unsent
            if last_batch is None or not (unsent or xs):
                return
            if unsent:
                b = last_batch
                x = b.epoch - 1 + b.batch / b.n_batches
                if not xs or xs[-1] != x:
                    xs.append(x)
                    ys.append(ema)
            self.progressed.emit(self._progress(last_batch, epochs, ema, xs, ys))
            xs, ys = [], []
            unsent = False

        control = self.control

        def before_wait() -> None:
            # Paused, or a step budget used up: the progress bar and the batch-loss curve
            # must show where the trainer stands while it waits, not up to 100 ms before;
            # and a step's end pauses the run without anyone pressing Pause: say so.
            flush()
            self.waiting.emit()

        control.before_wait = before_wait
        try:
            for ev in train(job.network, job.config, job.train_data, job.val_data, control,
                            heads=job.heads):
                if ev.__class__ is BatchEnd:
                    value = ev.loss
                    if value == value:  # not NaN
                        raw = raw * decay + value * SMOOTHING
                        weight = weight * decay + SMOOTHING
                        ema = raw / weight
                    last_batch = ev
                    if ev.elapsed - last_emit >= interval:
                        last_emit = ev.elapsed
                        xs.append(ev.epoch - 1 + ev.batch / ev.n_batches)
                        ys.append(ema)
                        self.progressed.emit(self._progress(ev, epochs, ema, xs, ys))
                        xs, ys = [], []
                        unsent = False
                    else:
                        unsent = True
                elif ev.__class__ is EpochEnd:
                    epoch_events.append(ev)
                    if last_batch is not None and (not xs or xs[-1] != ev.epoch):
                        xs.append(float(ev.epoch))  # sent with the next progress message
                        ys.append(ema)
                    self.epoch_finished.emit(ev)
        finally:
            control.before_wait = None
        flush()  # the last samples of the smoothed curve; where a stop left the run
        finished: TrainingFinished = ev
        outcome = TrainingOutcome(finished, job.network, epochs=epoch_events)
        if job.after is not None and not self.aborted:
            try:
                outcome.results = job.after(job.network, finished)
            except NNStudioError as e:
                outcome.results_error = str(e)
        self.finished.emit(outcome)

    @staticmethod
    def _progress(ev: BatchEnd, epochs: int, ema: float, xs, ys) -> BatchProgress:
        return BatchProgress(
            ev.epoch, epochs, ev.batch, ev.n_batches, ev.loss, ema, ev.learning_rate,
            ev.elapsed, tuple(xs), tuple(ys),
        )


class TrainingRunner(ThreadOwner):
    """Owns the worker thread of one run at a time and relays its signals.

    The relayed signals are emitted on the GUI thread (the runner lives there), so slots
    connected to them — lambdas included — always run on the GUI thread.
    """

    #: A run started (no argument). Emitted before the trainer thread starts, so a slot may
    #: read ``runner.worker.job`` (the initial weights) or call ``runner.control`` methods.
    started = Signal()
    #: Coalesced :class:`BatchProgress`.
    progressed = Signal(object)
    #: An :class:`~nnstudio.core.training.EpochEnd`.
    epoch_finished = Signal(object)
    #: The run ended: a :class:`TrainingOutcome`.
    finished = Signal(object)
    # ``failed`` (the run failed to start or broke: a readable message) from ThreadOwner.
    #: Paused (True) or resumed (False).
    pause_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, interval: float = 0.1):
        super().__init__(parent)
        self.interval = interval
        self.control: TrainControl | None = None
        self._said_paused = False  # what pause_changed last said


    # -- state ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True from :meth:`start` until the worker's last signal was delivered."""
        return self.worker is not None

    @property
    def paused(self) -> bool:
        return self.control is not None and self.control.paused

    # -- commands ------------------------------------------------------------------------
    def start(self, job: TrainingJob) -> None:
        """Run ``job`` in a new thread; raises ``RuntimeError`` when one is still running."""
        if self.running:
            raise RuntimeError("a training run is already in progress")
        self.control = TrainControl()
        worker = TrainingWorker(job, self.control, self.interval)
        thread = self._launch(worker, "nnstudio-training")
        worker.progressed.connect(self._relay_progress)
        worker.epoch_finished.connect(self._relay_epoch)
        worker.finished.connect(self._relay_finished)
        worker.failed.connect(self._relay_failed)
        worker.waiting.connect(self._relay_waiting)
        self._said_paused = False
        # Listeners of ``started`` may read the job (the initial weights, for the insight
        # views' path): tell them before the trainer can take its first step.
        # A listener's stop() is seen by the trainer before its first batch (the run then
        # finishes as "stopped"); after a listener's shutdown() there is nothing to run.
        self.started.emit()
        if self.worker is worker:
            thread.start()

    def pause(self) -> None:
        if self.control is not None and not self.control.paused:
            self.control.pause()
            self._say_paused(True)

    def resume(self) -> None:
        if self.control is not None and self.control.paused:
            self.control.resume()
            self._say_paused(False)

    def step(self, n_batches: int) -> bool:
        """Let exactly ``n_batches`` more batches run, then pause (the step buttons); the
        run reads as paused again when the trainer waits. False when no run is going."""
        if self.control is None:
            return False
        self.control.step_batches(n_batches)
        self._say_paused(False)
        return True

    def _say_paused(self, paused: bool) -> None:
        if paused != self._said_paused:
            self._said_paused = paused
            self.pause_changed.emit(paused)

    def stop(self) -> None:
        """Ask the trainer to stop before its next batch; ``finished`` follows."""
        if self.control is not None:
            self.control.stop()

    def shutdown(self) -> None:
        """Stop and join the thread now (window closing): returns with no thread running."""
        if self.worker is not None:
            self.worker.aborted = True
        if self.control is not None:
            self.control.stop()
        self._join_all()
        self.worker = None

    # -- relays (GUI thread) ----------------------------------------------------------------
    @Slot(object)
    def _relay_progress(self, progress: BatchProgress) -> None:
        if self.sender() is self.worker:
            self.progressed.emit(progress)

    @Slot()
    def _relay_waiting(self) -> None:
        if self.sender() is self.worker and self.control is not None and self.control.paused:
            self._say_paused(True)

    @Slot(object)
    def _relay_epoch(self, event: EpochEnd) -> None:
        if self.sender() is self.worker:
            self.epoch_finished.emit(event)

    @Slot(object)
    def _relay_finished(self, outcome: TrainingOutcome) -> None:
        if self.sender() is self.worker:
            self._retire()
            self.finished.emit(outcome)

    def _retire(self) -> None:
        super()._retire()
        self.control = None


def blas_threads_for_training():
    """Limit NumPy's BLAS to all cores but one while a run goes (restored after).

    The GUI thread needs a core too: with every core busy, OpenBLAS's spinning worker threads
    and the GUI fight over them, and a run on 2 vCPUs measured 12× slower (MNIST MLP, 40 s
    against 3.2 s). Uses ``threadpoolctl`` when it is installed; otherwise changes nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=max(1, (os.cpu_count() or 2) - 1), user_api="blas")


def elapsed_text(seconds: float) -> str:
    """``"1:05"`` or ``"1:02:05"`` for a duration in seconds (``"–"`` when unknown)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def now() -> float:
    """Monotonic seconds (``time.perf_counter``), for callers that time the GUI."""
    return time.perf_counter()
