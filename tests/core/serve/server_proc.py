"""Run ``python -m nnstudio serve`` as a real subprocess and talk to it with http.client."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[3]


def start_server(model: Path, log: Path | None, *extra: str, timeout: float = 30.0):
    """``(process, url)`` of a server on a free loopback port, once it listens."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1")
    args = [sys.executable, "-m", "nnstudio", "serve", str(model), "--port", "0"]
    args += ["--log", str(log)] if log is not None else ["--no-log"]
    proc = subprocess.Popen(args + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + timeout
    line = proc.stdout.readline()
    if "serving" not in line:
        proc.kill()
        raise AssertionError(f"server did not start: {line!r} {proc.stderr.read()[:2000]}")
    url = line.rsplit(" at ", 1)[1].strip()
    while time.monotonic() < deadline:  # the socket listens before uvicorn serves
        try:
            status, _ = request(url, "GET", "/health")
            if status == 200:
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("server did not answer /health")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


def connection(url: str) -> http.client.HTTPConnection:
    u = urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def request(url: str, method: str, path: str, body: bytes | str | dict | list | None = None,
            headers: dict | None = None, conn: http.client.HTTPConnection | None = None):
    """``(status, parsed JSON or text)``."""
    own = conn is None
    conn = conn or connection(url)
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    if isinstance(body, dict | list):
        body = json.dumps(body)
    try:
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            data = json.loads(raw)
        except ValueError:
            data = raw.decode(errors="replace")
        return resp.status, data
    finally:
        if own:
            conn.close()
