"""Build a large network off the GUI thread.

Allocating and initializing a network of a hundred million parameters takes seconds of
NumPy (random draws into a flat buffer of hundreds of MB): on the GUI thread the window
would stop repainting. :class:`NetworkBuilder` builds it in a ``QThread`` and hands it back
on the GUI thread (threads handled as in :mod:`nnstudio.gui.workers.threads`).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from nnstudio.core.engine.network import Network
from nnstudio.core.errors import NNStudioError
from nnstudio.gui.workers.evaluation_runner import one_line
from nnstudio.gui.workers.threads import ThreadOwner

#: Networks with at least this many parameters are built in a worker thread.
OFF_THREAD_PARAMS = 2_000_000


class _BuildWorker(QObject):
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, spec: Any, input_shape: tuple, seed: int | None,
                 input_columns: dict | None = None):
        super().__init__()
        self.spec, self.input_shape, self.seed = spec, input_shape, seed
        self.input_columns = input_columns
        self._on_done: Callable[[], None] | None = None
        #: The thread that built the network (tests check it was not the GUI's).
        self.built_in: int | None = None

    @Slot()
    def run(self) -> None:
        try:
            self.built_in = threading.get_ident()
            net = Network(self.spec, self.input_shape, seed=self.seed,
                          input_columns=self.input_columns)
        except NNStudioError as e:
            self.failed.emit(one_line(str(e)))
        except MemoryError:
            self.failed.emit("not enough memory to build this network: make it smaller")
        except Exception as e:  # a bug: say what, keep the trace for the log
            traceback.print_exc()
            self.failed.emit(one_line(f"building the network failed: {type(e).__name__}: {e}"))
        else:
            self.finished.emit(net)
        finally:
            if self._on_done is not None:
                self._on_done()


class NetworkBuilder(ThreadOwner):
    """One build at a time; ``built(network)`` or ``failed(message)`` on the GUI thread."""

    built = Signal(object)

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def start(self, spec: Any, input_shape: tuple, seed: int | None,
              input_columns: dict | None = None) -> bool:
        if self.busy:
            return False
        worker = _BuildWorker(spec, tuple(input_shape), seed, input_columns)
        thread = self._launch(worker, "nnstudio-build-network")
        worker.finished.connect(self._relay_built)
        worker.failed.connect(self._relay_failed)
        self.last_worker = worker
        thread.start()
        return True

    def cancel(self) -> None:
        """Drop the build going on (its network is thrown away when it arrives)."""
        self._retire()

    def shutdown(self) -> None:
        self.worker = None
        self._join_all()
        self.thread = None

    @Slot(object)
    def _relay_built(self, network: Any) -> None:
        if self.sender() is self.worker:
            self._retire()
            self.built.emit(network)
