"""A local model server run as a child process (``python -m nnstudio serve``).

The server is a separate process on purpose: the GUI never waits on it (``QProcess`` is
asynchronous), a crash of the server cannot take the window down, and the window keeps its
own event loop free. The session's model is written to a temporary model file that the child
serves; the child prints ``serving … at URL`` once it listens. ``/health`` is polled from a
small Python thread (urllib) whose answers reach the GUI thread through a queued signal.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal, Slot

_READY = re.compile(r"^serving .* at (http://\S+)$")
POLL_S = 1.0


class ServerProcess(QObject):
    """Starts, watches and stops one ``nnstudio serve`` child process.

    Attributes
    ----------
    url:
        ``http://127.0.0.1:PORT`` once running, else ``None``.
    log_path:
        The prediction log the server writes.
    health:
        The last ``/health`` answer (dict), or ``{}``.
    """

    #: The server listens: its URL.
    started = Signal(str)
    #: The server ended: ``None`` when stopped on request, else one line saying why.
    stopped = Signal(object)
    #: A new ``/health`` answer (dict): requests, predictions, rejected...
    health_changed = Signal(dict)
    #: (internal) an answer from the polling thread, relayed to the GUI thread.
    _health_arrived = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.process: QProcess | None = None
        self.url: str | None = None
        self.log_path: Path | None = None
        self.fingerprint: str | None = None
        self.health: dict[str, Any] = {}
        self._stopping = False
        self._stdout = ""
        self._stderr = ""
        self._tmp: str | None = None
        self._poll_stop: threading.Event | None = None
        self._health_arrived.connect(self._on_health)

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self, model: Any, host: str, port: int, log_path: str | Path,
              extra: list[str] | None = None) -> None:
        """Serve ``model`` (a TrainedModel) on ``host:port`` logging to ``log_path``.

        Raises NNStudioError/OSError when the model file cannot be written; a server that
        fails to start reports through :attr:`stopped`.
        """
        from nnstudio.core.io.model_file import save_model
        from nnstudio.core.serve import fingerprint

        if self.process is not None:
            raise RuntimeError("the server is already running")
        self._tmp = tempfile.mkdtemp(prefix="nnstudio-serve-")
        model_path = Path(self._tmp) / "model.npz"
        save_model(model, model_path)
        self.fingerprint = fingerprint(model)
        self.log_path = Path(log_path)
        self.url, self.health = None, {}
        self._stdout = self._stderr = ""
        self._stopping = False
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        root = str(Path(__file__).resolve().parents[3])
        env.insert("PYTHONPATH", root + (":" + env.value("PYTHONPATH")
                                         if env.contains("PYTHONPATH") else ""))
        env.insert("PYTHONUNBUFFERED", "1")
        proc.setProcessEnvironment(env)
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self.process = proc
        args = ["-m", "nnstudio", "serve", str(model_path), "--host", host, "--port",
                str(int(port)), "--log", str(self.log_path),
                "--parent-pid", str(os.getpid())] + list(extra or [])
        if getattr(sys, "frozen", False):  # the bundled app is the nnstudio command itself
            args = args[2:]
        proc.start(sys.executable, args)

    def stop(self) -> None:
        """Ask the server to end (SIGTERM; killed after 3 s if it does not)."""
        proc = self.process
        if proc is None:
            return
        self._stopping = True
        self._stop_polling()
        proc.terminate()
        QTimer.singleShot(3000, lambda p=proc: self._kill_if_running(p))

    def stop_and_wait(self, msecs: int = 5000) -> None:
        """Stop and block until the process is gone (window closing, tests)."""
        proc = self.process
        if proc is None:
            return
        self.stop()
        if not proc.waitForFinished(msecs):
            proc.kill()
            proc.waitForFinished(msecs)

    def _kill_if_running(self, proc: QProcess) -> None:
        if self.process is proc and proc.state() != QProcess.ProcessState.NotRunning:
            proc.kill()

    # -- process events ------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        if self.process is None:
            return
        self._stdout += bytes(self.process.readAllStandardOutput()).decode(errors="replace")
        if self.url is None:
            for line in self._stdout.splitlines():
                m = _READY.match(line.strip())
                if m:
                    self.url = m.group(1)
                    self._start_polling(self.url)
                    self.started.emit(self.url)
                    break

    def _read_stderr(self) -> None:
        if self.process is not None:
            self._stderr += bytes(self.process.readAllStandardError()).decode(errors="replace")

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._finish(f"the server could not be started ({self.process.errorString()})")

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        if self._stopping:
            self._finish(None)
            return
        lines = [ln for ln in self._stderr.splitlines() if ln.startswith("error:")]
        why = lines[-1][len("error:"):].strip() if lines else (
            f"the server stopped unexpectedly (exit status {code})")
        self._finish(why)

    def _finish(self, why: str | None) -> None:
        if self.process is None:
            return
        self._stop_polling()
        self.process.deleteLater()
        self.process = None
        self.url = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        self.stopped.emit(why)

    # -- health ------------------------------------------------------------------------------
    def _start_polling(self, url: str) -> None:
        self._stop_polling()
        stop = threading.Event()
        self._poll_stop = stop
        threading.Thread(target=_poll_health, args=(url, stop, self._health_arrived.emit),
                         daemon=True, name="health-poll").start()

    def _stop_polling(self) -> None:
        if self._poll_stop is not None:
            self._poll_stop.set()
            self._poll_stop = None

    @Slot(object)
    def _on_health(self, data: object) -> None:
        if isinstance(data, dict) and self.url is not None:
            self.health = data
            self.health_changed.emit(data)


def _poll_health(url: str, stop: threading.Event, emit: Any) -> None:
    """Ask ``url/health`` every second until ``stop`` is set (runs in its own thread)."""
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as reply:
                data = json.loads(reply.read().decode())
            if not stop.is_set():
                emit(data)
        except (OSError, ValueError):
            pass
        stop.wait(POLL_S)


def curl_command(url: str, row: dict[str, Any]) -> str:
    """``curl -s URL/predict -H 'Content-Type: application/json' -d '{...}'``."""
    body = json.dumps(row, ensure_ascii=False).replace("'", "'\\''")
    return (f"curl -s {url}/predict -H 'Content-Type: application/json' "
            f"-d '{body}'")
