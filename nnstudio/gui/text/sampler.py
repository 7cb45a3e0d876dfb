"""Watch a language model learn to write: a short sample after every epoch.

:class:`EpochSampler` listens to the training runner. When a run on a text corpus starts it
builds a private copy of the network (its own buffers: the training thread keeps using the
live one); after each epoch it copies the live weights into that copy and generates a short
continuation of a fixed prompt (the start of the validation text) in a background thread, then
shows it in :attr:`view`. A sample still being written when the next epoch ends makes that
epoch skip its sample, so sampling never slows training down more than one sample at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit

from nnstudio.core.engine import Network
from nnstudio.core.io.generate import generate

#: Tokens per sample, and the sampling settings (a little conservative: readable early).
LENGTH, TEMPERATURE, TOP_K = 120, 0.8, 10


@dataclass
class _Model:
    """What :func:`generate` needs: a network, the preparation, the task."""

    network: Network
    preparation: Any
    task: str = "language_model"


class EpochSampler(QObject):
    """Samples after every epoch of a language-model run (see the module docstring)."""

    #: A sample is ready: ``(epoch, prompt, text)``.
    sample_ready = Signal(int, str, str)

    def __init__(self, panel: Any):
        super().__init__(panel)
        self.panel = panel
        self.view = QPlainTextEdit()
        self.view.setObjectName("lmSamples")
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(400)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlaceholderText("Samples of the language model appear here after "
                                     "each epoch.")
        self.view.setMaximumHeight(150)
        self.view.setVisible(False)
        self._live: Network | None = None
        self._copy: _Model | None = None
        self.prompt = ""
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None
        panel.runner.started.connect(self._on_started)
        panel.runner.epoch_finished.connect(self._on_epoch)
        self.sample_ready.connect(self._show)

    def _on_started(self) -> None:
        prepared = getattr(self.panel.session, "prepared", None)
        text = getattr(getattr(prepared, "preparation", None), "text", None)
        self._copy = None
        if prepared is None or prepared.task != "language_model" or text is None:
            self.view.setVisible(False)
            return
        job = self.panel.runner.worker.job
        self._live = job.network
        net = job.network
        self._copy = _Model(Network(net.spec, net.input_shape, dtype=net.dtype, seed=0),
                            prepared.preparation)
        x = prepared.x_val if len(prepared.x_val) else prepared.x_train
        sep = " " if text.options["tokens"] == "word" else ""
        ids = [int(i) for i in np.asarray(x[0][:24])]
        self.prompt = text.vocab.decode(ids, sep) or "\n"
        self.view.clear()
        self.view.setVisible(True)

    def _on_epoch(self, event: Any) -> None:
        if self._copy is None or self._live is None or not self._busy.acquire(blocking=False):
            return
        # A snapshot of the weights; the training thread may be mid-step: any torn value is
        # harmless for a sample, and the copy is never trained.
        np.copyto(self._copy.network.params, self._live.params)
        np.copyto(self._copy.network.state, self._live.state)
        model, prompt, epoch = self._copy, self.prompt, int(event.epoch)

        def work() -> None:
            try:
                out = generate(model, prompt, LENGTH, TEMPERATURE, TOP_K, seed=epoch)
                self.sample_ready.emit(epoch, prompt, out.text)
            except Exception as e:
                self.sample_ready.emit(epoch, prompt, f"(no sample: {e})")
            finally:
                self._busy.release()

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def _show(self, epoch: int, prompt: str, text: str) -> None:
        self.view.appendPlainText(f"epoch {epoch}: {prompt}▸{text}")

    def join(self, timeout: float = 10.0) -> None:
        """Wait for a sample being written (tests, closing)."""
        if self._thread is not None:
            self._thread.join(timeout)
