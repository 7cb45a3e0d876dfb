"""The server under load (loopback only, bounded) and killed with SIGKILL mid-load."""

from __future__ import annotations

import http.client
import os
import signal
import sqlite3
import threading
import time

import numpy as np
import pytest

from nnstudio.core.serve import connect

from .server_proc import connection, request, start_server, stop_server

CLIENTS, REQUESTS = 50, 200


def row_of(client: int, i: int) -> dict:
    return {"customer": f"{client}-{i}", "age": 20 + (client * 7 + i) % 50,
            "income": 9000 + 137 * i, "plan": ("basic", "plus", "pro")[(client + i) % 3],
            "score": 500 + (i % 200)}


@pytest.mark.slow
def test_50_clients_x_200_requests_all_answered_correctly_and_logged_once(churn, tmp_path):
    model, model_path, _ = churn
    log = tmp_path / "load.db"
    proc, url = start_server(model_path, log)
    answers: dict[str, dict] = {}
    failures: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        conn = connection(url)  # keep-alive, one connection per client
        try:
            for i in range(REQUESTS):
                rid = f"c{c}-r{i}"
                status, data = request(url, "POST", "/predict", row_of(c, i),
                                       headers={"X-Request-ID": rid}, conn=conn)
                with lock:
                    if status != 200 or data.get("request_id") != rid:
                        failures.append(f"{rid}: {status} {data}")
                    else:
                        answers[rid] = data["prediction"]
        except Exception as e:  # a dropped connection is a failure of the test
            with lock:
                failures.append(f"client {c}: {e!r}")
        finally:
            conn.close()

    try:
        threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        _status, health = request(url, "GET", "/health")
    finally:
        stop_server(proc)
    assert not failures, failures[:5]
    assert len(answers) == CLIENTS * REQUESTS
    assert health["requests"] == CLIENTS * REQUESTS
    # Every answer is the model's own prediction for that row.
    keys = [(c, i) for c in range(CLIENTS) for i in range(REQUESTS)]
    expected = model.predict_raw([row_of(c, i) for c, i in keys])
    got = [answers[f"c{c}-r{i}"] for c, i in keys]
    assert [g["class"] for g in got] == expected.values.tolist()
    probs = np.array([[g["probabilities"]["no"], g["probabilities"]["yes"]] for g in got])
    assert np.allclose(probs, expected.probabilities, atol=1e-6)
    # Logged exactly once each.
    con = connect(log)
    n, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT request_id) FROM "
                              "predictions").fetchone()
    con.close()
    assert n == distinct == CLIENTS * REQUESTS


def test_kill_9_mid_load_leaves_every_answered_row_in_an_intact_log(churn, tmp_path):
    log = tmp_path / "killed.db"
    proc, url = start_server(churn[1], log)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(c: int) -> None:
        conn = connection(url)
        i = 0
        while not stop.is_set():
            rid = f"k{c}-{i}"
            try:
                status, _ = request(url, "POST", "/predict", row_of(c, i),
                                    headers={"X-Request-ID": rid}, conn=conn)
            except (OSError, http.client.HTTPException):
                return  # the server is gone (an answer cut short was not an answer)
            if status == 200:
                with lock:
                    answered.append(rid)
            i += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(answered) < 300 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    stop.set()
    for t in threads:
        t.join(30)
    stop_server(proc)
    assert len(answered) >= 300
    con = connect(log)  # opens: a log, not a damaged file
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    logged = {r[0] for r in con.execute("SELECT request_id FROM predictions")}
    con.close()
    assert set(answered) <= logged  # every answered request is in the log
    assert len(logged) - len(answered) <= 8  # at most one unanswered request per client
    # A new server appends to the same log.
    proc, url = start_server(churn[1], log)
    try:
        assert request(url, "POST", "/predict", row_of(0, 0))[0] == 200
    finally:
        stop_server(proc)
    con = sqlite3.connect(log)
    assert con.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == len(logged) + 1
    con.close()


def test_a_server_started_for_a_gui_ends_when_the_gui_is_killed(churn, tmp_path):
    """``--parent-pid``: a killed GUI leaves no orphan server holding the port."""
    import subprocess
    import sys

    from .server_proc import REPO

    launcher = (
        "import os, subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'nnstudio', 'serve', {str(churn[1])!r}, "
        f"'--port', '0', '--log', {str(tmp_path / 'gui.db')!r}, '--parent-pid', "
        "str(os.getpid())], stdout=subprocess.PIPE, text=True)\n"
        "print(p.pid, p.stdout.readline().strip(), flush=True)\n"
        "time.sleep(120)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    gui = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, text=True,
                           env=env)
    line = gui.stdout.readline().split()
    server_pid, url = int(line[0]), line[-1]
    assert request(url, "POST", "/predict", row_of(1, 1))[0] == 200
    os.kill(gui.pid, signal.SIGKILL)
    gui.wait(10)
    gui.stdout.close()

    def alive() -> bool:
        try:
            with open(f"/proc/{server_pid}/status") as f:
                return "\nState:\tZ" not in f.read()
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 15
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive()
    with pytest.raises(OSError):
        request(url, "GET", "/health")
