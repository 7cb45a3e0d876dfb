"""``nnstudio serve`` as a real process: predictions, the log, feedback, every bad request."""

from __future__ import annotations

import json
import socket
import sqlite3
from urllib.parse import urlsplit

import numpy as np
import pytest

from nnstudio.core.serve import Predictor

from .server_proc import request

ROW = {"customer": "c-1", "age": 52.5, "income": 18000, "plan": "basic", "score": 540}


def good(url):
    status, data = request(url, "POST", "/predict", ROW)
    assert status == 200, data
    return data


def test_one_row_is_predicted_in_the_users_terms(server, churn):
    url, _ = server
    data = good(url)
    model = churn[0]
    expected = model.predict_raw([ROW])
    p = data["prediction"]
    assert p["class"] == expected.values[0]
    assert set(p["probabilities"]) == {"no", "yes"}
    assert np.allclose([p["probabilities"]["no"], p["probabilities"]["yes"]],
                       expected.probabilities[0], atol=1e-6)
    assert data["model"] == Predictor(model).fingerprint
    assert urlsplit(url).hostname == "127.0.0.1"  # loopback unless --host says otherwise


def test_a_batch_is_logged_row_by_row(server, churn):
    url, log = server
    rows = [dict(ROW, customer=f"b{i}", age=30 + i) for i in range(3)]
    status, data = request(url, "POST", "/predict", {"rows": rows},
                           headers={"X-Request-ID": "batch-1"})
    assert status == 200 and data["request_id"] == "batch-1"
    assert [p["class"] for p in data["predictions"]] == \
        churn[0].predict_raw(rows).values.tolist()
    con = sqlite3.connect(log)
    got = con.execute("SELECT row, model, inputs, output, prediction, latency_ms FROM "
                      "predictions WHERE request_id = 'batch-1' ORDER BY row").fetchall()
    con.close()
    assert [g[0] for g in got] == [0, 1, 2]
    assert all(g[1] == data["model"] for g in got)
    assert [json.loads(g[2]) for g in got] == rows  # the raw rows as sent, id included
    assert [json.loads(g[3]) for g in got] == data["predictions"]
    assert [g[4] for g in got] == [p["class"] for p in data["predictions"]]
    assert all(g[5] > 0 for g in got)


def test_a_missing_value_is_filled_where_training_filled_it(server):
    url, _ = server
    status, data = request(url, "POST", "/predict", dict(ROW, score=None))
    assert status == 200, data
    status, data = request(url, "POST", "/predict", dict(ROW, age=None))
    assert status == 422 and "row" not in data["error"] and "'age'" in data["error"]
    assert "without filling" in data["error"]


BIG_ROWS = {"rows": [dict(ROW, customer="x" * 500)] * 45}  # > 20,000 bytes, < 50 rows

BAD = [
    ("malformed JSON", b'{"age": 40,', {}, 400, "malformed JSON"),
    ("empty body", b"", {}, 400, "empty"),
    ("not UTF-8", b'{"plan": "\xff"}', {}, 400, "UTF-8"),
    ("NaN", b'{"age": NaN, "income": 1, "plan": "pro", "score": 1}', {}, 400, "NaN"),
    ("Infinity", b'{"age": Infinity, "income": 1, "plan": "pro", "score": 1}', {}, 400,
     "Infinity"),
    ("missing column", {k: v for k, v in ROW.items() if k != "income"}, {}, 422,
     "column 'income': the column is missing"),
    ("wrong type", dict(ROW, age="old"), {}, 422, "column 'age': wrong type"),
    ("boolean", dict(ROW, income=True), {}, 422, "column 'income': wrong type"),
    ("list value", dict(ROW, plan=["pro"]), {}, 422, "column 'plan': wrong type"),
    ("unknown category", dict(ROW, plan="enterprise"), {}, 422,
     "unknown category \"enterprise\" (allowed: basic, plus, pro)"),
    ("text NaN in a numeric column", dict(ROW, income="inf"), {}, 422, "not a finite number"),
    ("batch row error", {"rows": [ROW, dict(ROW, age="x")]}, {}, 422, "row 2, column 'age'"),
    ("not an object", b"42", {}, 422, "a JSON number"),
    ("empty batch", {"rows": []}, {}, 422, "empty"),
    ("too many rows", {"rows": [ROW] * 51}, {}, 413, "at most 50"),
    ("oversize body", BIG_ROWS, {}, 413, "at most 20,000"),
    ("wrong content type", json.dumps(ROW), {"Content-Type": "text/plain"}, 415,
     "'text/plain' is not supported"),
    ("no content type", json.dumps(ROW), {"Content-Type": ""}, 415, "not supported"),
    ("bad request id", ROW, {"X-Request-ID": "a b"}, 400, "X-Request-ID"),
]


@pytest.mark.parametrize("body, headers, status, text", [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_a_bad_request_gets_a_one_line_4xx_and_the_server_keeps_serving(
        server, body, headers, status, text):
    url, _ = server
    got, data = request(url, "POST", "/predict", body, headers=headers)
    assert got == status, data
    assert isinstance(data, dict) and text in data["error"], data
    assert "\n" not in data["error"] and "Traceback" not in data["error"]
    good(url)


def test_a_claimed_1_gb_body_is_refused_before_it_is_read(server):
    url, _ = server
    u = urlsplit(url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1073741824\r\n\r\n{\"age\": ")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"1,073,741,824 bytes" in reply
    good(url)


def test_refused_requests_are_logged_with_their_kind_column_and_value(server):
    url, log = server
    status, data = request(url, "POST", "/predict", dict(ROW, plan="platinum"),
                           headers={"X-Request-ID": "refused-1"})
    assert status == 422
    con = sqlite3.connect(log)
    got = con.execute("SELECT status, kind, column_name, value, message FROM rejected WHERE "
                      "request_id = 'refused-1'").fetchall()
    kinds = {k for (k,) in con.execute("SELECT DISTINCT kind FROM rejected")}
    con.close()
    assert got == [(422, "unknown_category", "plan", "platinum", data["error"])]
    assert {"missing_column", "wrong_type", "unknown_category", None} <= kinds


def test_wrong_paths_methods_and_reused_ids(server):
    url, _ = server
    status, data = request(url, "GET", "/predict")
    assert status == 405 and data["error"] == "GET is not allowed on /predict"
    status, data = request(url, "GET", "/nothing")
    assert status == 404 and "no such endpoint" in data["error"]
    assert request(url, "POST", "/predict", ROW, headers={"X-Request-ID": "once"})[0] == 200
    status, data = request(url, "POST", "/predict", ROW, headers={"X-Request-ID": "once"})
    assert status == 409 and "was used before" in data["error"]


def test_health_model_schema_and_openapi(server, churn):
    url, _ = server
    status, health = request(url, "GET", "/health")
    assert status == 200 and health["status"] == "ok" and health["requests"] >= 0
    status, schema = request(url, "GET", "/model")
    assert status == 200
    inputs = {i["name"]: i for i in schema["inputs"]}
    assert list(inputs) == ["age", "income", "plan", "score"]
    assert inputs["plan"] == {"name": "plan", "type": "category",
                              "categories": ["basic", "plus", "pro"], "missing_allowed": False}
    assert inputs["age"]["type"] == "number" and inputs["score"]["missing_allowed"] is True
    assert schema["classes"] == ["no", "yes"] and schema["task"] == "classification"
    assert schema["fingerprint"] == Predictor(churn[0]).fingerprint
    assert schema["metrics"]["test"]["accuracy"] == pytest.approx(
        churn[0].summary["metrics"]["test"]["accuracy"])
    status, spec = request(url, "GET", "/openapi.json")
    assert status == 200 and spec["openapi"] == "3.1.0"
    row = spec["components"]["schemas"]["Row"]
    assert row["properties"]["plan"]["enum"] == ["basic", "plus", "pro"]
    assert set(row["required"]) == {"age", "income", "plan", "score"}
    assert "/feedback" in spec["paths"]


def test_feedback_records_outcomes(server):
    url, log = server
    rid = good(url)["request_id"]
    status, data = request(url, "POST", "/feedback", {"request_id": rid, "outcome": "yes"})
    assert status == 200 and data["recorded"] == 1
    status, data = request(url, "POST", "/feedback", {"request_id": "nope", "outcome": "yes"})
    assert status == 404 and "'nope'" in data["error"]
    status, data = request(url, "POST", "/feedback", {"request_id": rid, "outcome": "maybe"})
    assert status == 422 and "unknown class 'maybe'" in data["error"]
    status, data = request(url, "POST", "/feedback", {"outcome": "yes"})
    assert status == 422 and "'request_id' is missing" in data["error"]
    con = sqlite3.connect(log)
    assert con.execute("SELECT outcome, source FROM outcomes WHERE request_id = ?",
                       (rid,)).fetchall() == [("yes", "feedback")]
    con.close()


def test_outcomes_are_imported_from_a_csv(server, tmp_path, capsys):
    from nnstudio.cli import main

    url, log = server
    ids = [good(url)["request_id"] for _ in range(3)]
    csv_path = tmp_path / "truth.csv"
    csv_path.write_text("request_id,outcome\n" + "".join(f"{r},no\n" for r in ids) +
                        "unknown-id,yes\n")
    assert main(["outcomes", "--log", str(log), "--csv", str(csv_path)]) == 0
    out = capsys.readouterr()
    assert "recorded 3 outcome(s)" in out.out and "1 id(s) match no logged" in out.err
    con = sqlite3.connect(log)
    got = con.execute(f"SELECT COUNT(*) FROM outcomes WHERE request_id IN "
                      f"({','.join('?' * 3)}) AND outcome = 'no'", ids).fetchone()[0]
    con.close()
    assert got == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("id,truth\nx,1\n")
    assert main(["outcomes", "--log", str(log), "--csv", str(bad)]) == 2
    assert "no column named 'request_id'" in capsys.readouterr().err


def test_a_log_that_is_not_a_log_is_refused(tmp_path, churn, capsys):
    from nnstudio.cli import main

    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t(x)")
    con.close()
    assert main(["serve", str(churn[1]), "--log", str(other), "--port", "0"]) == 2
    assert "not an nnstudio prediction log" in capsys.readouterr().err


def test_the_listening_socket_is_tcp_so_nagle_is_off_on_connections():
    """asyncio sets TCP_NODELAY only on sockets whose proto is TCP; without it a keep-alive
    client waits for a delayed ACK on every response."""
    import asyncio

    from nnstudio.core.serve.server import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"
        port = sock.getsockname()[1]

        async def accept_one() -> int:
            flags = []

            def on_conn(reader, writer):
                s = writer.get_extra_info("socket")
                flags.append(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                writer.close()

            server = await asyncio.start_server(on_conn, sock=sock)
            _r, w = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if flags:
                    break
                await asyncio.sleep(0.01)
            w.close()
            server.close()
            return flags[0]

        assert asyncio.run(accept_one()) != 0
    finally:
        sock.close()
