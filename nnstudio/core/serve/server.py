"""Running the API on uvicorn: bind (127.0.0.1 unless told), announce the URL, serve."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from nnstudio.core.errors import NNStudioError
from nnstudio.core.io.model_file import TrainedModel

from .app import create_app
from .log import PredictionLog
from .predictor import Predictor
from .validate import Limits


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP spelled out: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and with Nagle on, a keep-alive client waits 40 ms per response for a
    # delayed ACK (measured: 44 ms p50 instead of ~1 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise NNStudioError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(model: TrainedModel, host: str = "127.0.0.1", port: int = 8000,
          log_path: str | Path | None = None, limits: Limits | None = None,
          on_ready: Callable[[str, Predictor], None] | None = None,
          parent_pid: int | None = None) -> None:
    """Serve ``model`` until interrupted (SIGINT/SIGTERM end it cleanly).

    ``on_ready(url, predictor)`` is called once the socket listens, before serving. With
    ``parent_pid`` the server also ends when that process is gone (the GUI that started it
    was killed), so no orphan keeps the port.
    """
    import uvicorn

    predictor = Predictor(model, limits)
    log = PredictionLog(log_path) if log_path is not None else None
    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    app = create_app(predictor, log)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_keep_alive=30, h11_max_incomplete_event_size=64 * 1024)
    server = uvicorn.Server(config)
    if parent_pid is not None:
        threading.Thread(target=_exit_with_parent, args=(server, parent_pid), daemon=True,
                         name="parent-watch").start()
    if on_ready is not None:
        on_ready(f"http://{shown}:{real_port}", predictor)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if log is not None:
            log.close()


def _exit_with_parent(server: object, parent_pid: int) -> None:
    while not getattr(server, "should_exit", False):
        if os.getppid() != parent_pid:  # re-parented: the parent died
            server.should_exit = True  # type: ignore[attr-defined]
            return
        time.sleep(0.5)
