"""A background thread for the insight computations, latest request wins.

The thread is a daemon Python thread, not a ``QThread``: it never holds up the application's
exit nor crashes it when a window is destroyed mid-computation. Results travel to the GUI
thread through :attr:`ComputeThread.finished_job`, a signal of a ``QObject`` that lives in the
GUI thread, so connected slots run there (queued).

The views ask for numbers (a decision grid, layer stats, a loss slice) with
:meth:`ComputeThread.submit`; the thread runs them one at a time on its own *twin* of the
network, loaded with the weights of the :class:`Snapshot` the request carries, and emits
:attr:`ComputeThread.finished_job` (queued to the GUI thread). A new request for a key
replaces the one still waiting under that key, so a slow computation never builds a queue:
the views always get the newest weights, at the rate the machine can afford.

The GUI thread only copies the weights (microseconds for a small network) and draws.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from nnstudio.core.engine.network import Network, NetworkSpec
from nnstudio.core.errors import NNStudioError

log = logging.getLogger("nnstudio.insight")


class JobError(Exception):
    """An insight job broke on something other than a readable
    :class:`~nnstudio.core.errors.NNStudioError`; ``str()`` is one line (type and message)."""


@dataclass(frozen=True, eq=False)
class Blueprint:
    """What it takes to build a twin of a network in another thread (copied once)."""

    spec: NetworkSpec
    input_shape: tuple[int, ...]
    dtype: Any
    ident: int
    #: Several Inputs: each Input's columns of the sample (``Network.input_columns``).
    input_columns: Any = None

    @classmethod
    def of(cls, net: Network) -> Blueprint:
        import copy

        return cls(copy.deepcopy(net.spec), tuple(net.input_shape), net.dtype, id(net),
                   copy.deepcopy(getattr(net, "input_columns", None)))


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The weights at one moment of training (copies, safe to read from any thread).

    ``step`` counts optimizer steps seen by the views (monotonic within a run); ``epoch``
    and ``batch`` say where training stood (``0, 0`` before the first step).
    """

    blueprint: Blueprint
    params: np.ndarray
    state: np.ndarray
    epoch: int = 0
    batch: int = 0
    n_batches: int = 0
    step: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def take(cls, net: Network, blueprint: Blueprint, **where: Any) -> Snapshot:
        return cls(blueprint, net.params.copy(), net.state.copy(), **where)


class Twins:
    """The compute thread's networks, one per blueprint, loaded on demand."""

    def __init__(self) -> None:
        self._nets: OrderedDict[int, tuple[Blueprint, Network]] = OrderedDict()

    def load(self, snapshot: Snapshot) -> Network:
        bp = snapshot.blueprint
        entry = self._nets.get(bp.ident)
        if entry is None or entry[0] is not bp:
            net = Network(bp.spec, bp.input_shape, dtype=bp.dtype, seed=None,
                          input_columns=bp.input_columns)
            self._nets[bp.ident] = (bp, net)
            while len(self._nets) > 3:
                self._nets.popitem(last=False)
        else:
            net = entry[1]
        net.params[...] = snapshot.params
        net.state[...] = snapshot.state
        return net


@dataclass
class _Job:
    key: str
    fn: Callable[..., Any]
    snapshot: Snapshot | None
    args: tuple
    token: Any


class ComputeThread(QObject):
    """Runs insight jobs off the GUI thread (in one daemon thread it starts on demand).

    ``fn(net, *args)`` runs with ``net`` a twin holding the snapshot's weights (or ``None``
    when the job has no snapshot); its return value arrives in :attr:`finished_job`.
    """

    #: ``(key, token, result)`` of a job that ended; ``result`` is an
    #: :class:`~nnstudio.core.errors.NNStudioError` or a :class:`JobError` when it failed.
    finished_job = Signal(str, object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._pending: OrderedDict[str, _Job] = OrderedDict()
        self._stopping = False
        self._twins = Twins()
        self.busy_key: str | None = None
        #: Wall-clock seconds each job took, by key (the latest 50), for the measured costs.
        self.timings: dict[str, list[float]] = {}
        #: CPU seconds of the compute thread per job (independent of other threads' load).
        self.cpu_times: dict[str, list[float]] = {}

    def submit(
        self, key: str, fn: Callable[..., Any], snapshot: Snapshot | None = None, *args: Any,
        token: Any = None,
    ) -> None:
        """Queue ``fn(twin, *args)`` under ``key``, replacing a waiting job of that key."""
        with self._cond:
            if self._stopping:
                return
            self._pending.pop(key, None)
            self._pending[key] = _Job(key, fn, snapshot, args, token)
            self._cond.notify()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="nnstudio-insight",
                                                daemon=True)
                self._thread.start()

    def pending(self, key: str) -> bool:
        """True while a job of ``key`` waits or runs."""
        with self._cond:
            return key in self._pending or self.busy_key == key

    def cancel(self, key: str) -> None:
        with self._cond:
            self._pending.pop(key, None)

    def isRunning(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:  # the thread's body
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                _, job = self._pending.popitem(last=False)
                self.busy_key = job.key
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                net = self._twins.load(job.snapshot) if job.snapshot is not None else None
                with np.errstate(all="ignore"):
                    result: Any = job.fn(net, *job.args)
            except NNStudioError as e:  # network and data do not fit: the view says so
                result = e
            except Exception as e:  # shown in the view as one line, never kills the thread
                # No traceback on stderr: the view says what failed; the trace goes to the
                # log for whoever enables it (logging.getLogger("nnstudio.insight")).
                log.debug("insight job %r failed", job.key, exc_info=True)
                result = JobError(f"{type(e).__name__}: {e}")
            for table, value in ((self.timings, time.perf_counter() - t0),
                                 (self.cpu_times, time.thread_time() - c0)):
                table.setdefault(job.key, []).append(value)
                del table[job.key][:-50]
            with self._cond:
                self.busy_key = None
                stopping = self._stopping
            if stopping:
                return
            try:
                self.finished_job.emit(job.key, job.token, result)
            except RuntimeError:  # the receiving objects are gone (window closed)
                return

    def shutdown(self, timeout: float = 5.0) -> None:
        """Drop waiting jobs, let the running one end, and join the thread."""
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def idle(self) -> bool:
        """True when nothing waits or runs (tests wait for it)."""
        with self._cond:
            return not self._pending and self.busy_key is None
