"""Thread-safe stop and pause flags that the trainer checks between batches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TrainControl:
    """Stop/pause/step requests from another thread (the GUI) to a running trainer.

    ``pause()`` makes the trainer block between batches until ``resume()`` or ``stop()``;
    ``step_batches(n)`` lets exactly ``n`` more batches run and then pauses again (the
    "one batch" / "one epoch" buttons).
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._budget: int | None = None  # batches allowed before pausing again
        #: Called in the trainer's thread each time :meth:`checkpoint` is about to block
        #: (paused, or a step budget used up): the GUI worker sends the progress it held back,
        #: so a paused run shows exactly where it stands. ``None``: nothing to do.
        self.before_wait: Callable[[], None] | None = None
        #: Seconds the trainer spent waiting (paused, or between steps): the trainer's
        #: elapsed time leaves them out, so "elapsed" and "time left" count work only.
        self.waited = 0.0

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused trainer so it can see the stop

    def pause(self) -> None:
        with self._lock:
            self._budget = None
            self._running.clear()

    def resume(self) -> None:
        with self._lock:
            self._budget = None
            self._running.set()

    def step_batches(self, n: int) -> None:
        """Run ``n`` more batches, then pause."""
        with self._lock:
            self._budget = max(1, int(n))
            self._running.set()

    def checkpoint(self) -> bool:
        """Called by the trainer before each batch: wait while paused; False means stop.

        A step budget is taken after waking, so a step requested while the trainer already
        waits runs exactly that many batches.
        """
        while True:
            with self._lock:
                if self._stop.is_set():
                    return False
                if self._running.is_set():
                    if self._budget is None:
                        return True
                    if self._budget > 0:
                        self._budget -= 1
                        return True
                    self._budget = None
                    self._running.clear()
            hook = self.before_wait
            if hook is not None and not self._running.is_set():
                hook()
            t0 = time.perf_counter()
            self._running.wait()
            self.waited += time.perf_counter() - t0
