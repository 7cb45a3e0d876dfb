"""Benchmark: serving the house-price example model, and monitoring a log of 1,000,000 rows.

Usage::

    .venv/bin/python benchmarks/serve_latency.py [--requests 2000] [--rounds 3]
        [--monitor-rows 1000000]

1. **In process**: single-row latency (p50, p99) of the request → prediction path
   (``Predictor.predict_rows``: checks, preparation, network, JSON-able output) and of the same
   model's ONNX file in onnxruntime (the same checks, then ``InferenceSession.run``).
2. **Over HTTP on loopback**: the same two predictors behind the same server (Starlette on
   uvicorn, logging every prediction to SQLite, as ``nnstudio serve`` runs), each server a
   child process; latency p50/p99 of one client sending single-row requests on a keep-alive
   connection, and requests/s with 1 and 8 concurrent clients (threads of this process).
3. **Monitor**: ``nnstudio monitor MODEL --log DB --json`` on a log of ``--monitor-rows``
   predictions, in a fresh process: wall time and peak RSS (VmHWM).

Every engine is pinned to one thread (OpenBLAS, onnxruntime intra-op); native and ONNX are
measured alternately, ``--rounds`` times, and the script prints the medians and the median of
the paired ratios (these VMs are noisy and shared). onnxruntime is the peer
(``pip install onnxruntime``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROW = {"area_m2": 120.0, "location": "suburb"}


def train_model(folder: Path) -> tuple[Path, Path]:
    """The house-price example trained as shipped; its model file and its ONNX export."""
    from nnstudio.core.io import load_project, run_training, save_model
    from nnstudio.core.io.onnx_export import export_onnx
    from nnstudio.core.io.pipeline import load_data

    project = load_project(ROOT / "resources" / "examples" / "house_price.nnsproj")
    model = run_training(project, load_data(project))
    npz, onnx_path = folder / "house.npz", folder / "house.onnx"
    save_model(model, npz)
    export_onnx(model, onnx_path)
    return npz, onnx_path


def onnx_predictor(model_path: Path, onnx_path: Path):
    """A Predictor whose prediction runs the ONNX file in onnxruntime (one thread)."""
    import onnxruntime as ort

    from nnstudio.core.io import load_model
    from nnstudio.core.serve import Predictor

    class OnnxPredictor(Predictor):
        def __init__(self, model, path):
            super().__init__(model)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            self.session = ort.InferenceSession(str(path), opts,
                                                providers=["CPUExecutionProvider"])
            prep = model.preparation
            self.numeric = [f["name"] for f in prep.features if f["kind"] != "categorical"]
            self.categorical = [f["name"] for f in prep.features if f["kind"] == "categorical"]

        def predict_rows(self, rows):
            clean = self.checker.clean(rows)
            feeds = {}
            if self.numeric:
                feeds["features"] = np.array([[np.nan if r[c] is None else r[c]
                                               for c in self.numeric] for r in clean], np.float64)
            for c in self.categorical:
                feeds[c] = np.array([[r[c]] for r in clean], dtype=object)
            pred = self.session.run(["prediction"], feeds)[0]
            return [{t: float(v) for t, v in zip(self.targets, row, strict=True)}
                    for row in np.asarray(pred).reshape(len(clean), -1).tolist()]

    return OnnxPredictor(load_model(model_path), onnx_path)


def native_predictor(model_path: Path):
    from nnstudio.core.io import load_model
    from nnstudio.core.serve import Predictor

    return Predictor(load_model(model_path))


def in_process(pred, n: int) -> list[float]:
    """Milliseconds per single-row prediction, ``n`` times (after a warm-up)."""
    for _ in range(50):
        pred.predict_rows([ROW])
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        pred.predict_rows([ROW])
        out.append((time.perf_counter() - t0) * 1e3)
    return out


# -- servers -----------------------------------------------------------------------------------

_SERVER = """
import sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
import serve_latency as b
from pathlib import Path
from nnstudio.core.serve.app import create_app
from nnstudio.core.serve.log import PredictionLog
from nnstudio.core.serve.server import bind
import uvicorn
pred = b.onnx_predictor(Path({model!r}), Path({onnx!r})) if {onnx_mode} else \\
    b.native_predictor(Path({model!r}))
sock = bind("127.0.0.1", 0)
print("http://127.0.0.1:%d" % sock.getsockname()[1], flush=True)
app = create_app(pred, PredictionLog({log!r}))
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                              lifespan="off")).run(sockets=[sock])
"""


def start_server(model: Path, onnx_path: Path, onnx_mode: bool, log: Path):
    code = _SERVER.format(root=str(ROOT), bench=str(Path(__file__).parent), model=str(model),
                          onnx=str(onnx_path), onnx_mode=onnx_mode, log=str(log))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    for _ in range(200):
        try:
            post(connection(url), "/health", None, "GET")
            break
        except OSError:
            time.sleep(0.05)
    return proc, url


def connection(url: str) -> http.client.HTTPConnection:
    u = urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def post(conn, path: str, body: bytes | None, method: str = "POST") -> bytes:
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{resp.status} {data[:200]!r}")
    return data


def http_latency(url: str, n: int) -> list[float]:
    conn = connection(url)
    body = json.dumps(ROW).encode()
    for _ in range(50):
        post(conn, "/predict", body)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        post(conn, "/predict", body)
        out.append((time.perf_counter() - t0) * 1e3)
    conn.close()
    return out


def throughput(url: str, clients: int, per_client: int) -> float:
    """Requests per second with ``clients`` concurrent keep-alive clients."""
    body = json.dumps(ROW).encode()
    barrier = threading.Barrier(clients + 1)

    def run():
        conn = connection(url)
        post(conn, "/predict", body)
        barrier.wait()
        for _ in range(per_client):
            post(conn, "/predict", body)
        conn.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return clients * per_client / (time.perf_counter() - t0)


# -- monitor ----------------------------------------------------------------------------------


def write_log(path: Path, model_path: Path, rows: int) -> None:
    """A prediction log of ``rows`` single-row requests (drifting halfway), as the server
    writes it, with outcomes for every tenth row."""
    from nnstudio.core.io import load_model
    from nnstudio.core.serve import PredictionLog, Predictor

    pred = Predictor(load_model(model_path))
    log = PredictionLog(path)
    log.close()
    con = sqlite3.connect(path)
    rng = np.random.default_rng(0)
    step = 100_000
    t = time.time()
    for start in range(0, rows, step):
        n = min(step, rows - start)
        area = rng.normal(140 + 20 * (start >= rows // 2), 45, n).clip(30, 400).round(1)
        loc = rng.choice(["city", "suburb", "village"], n)
        batch = [{"area_m2": float(a), "location": str(c)} for a, c in zip(area, loc,
                                                                         strict=True)]
        outs = pred.predict_rows(batch)
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO predictions(time, request_id, row, model, inputs, output, prediction, "
            "latency_ms) VALUES (?, ?, 0, ?, ?, ?, ?, 0.3)",
            ((t + start + i, f"r{start + i}", pred.fingerprint, json.dumps(b), json.dumps(o),
              o["price"]) for i, (b, o) in enumerate(zip(batch, outs, strict=True))))
        con.executemany("INSERT INTO outcomes VALUES (?, 0, ?, ?, 'bench')",
                        ((f"r{start + i}", outs[i]["price"] * 1.05, t)
                         for i in range(0, n, 10)))
        con.execute("COMMIT")
    con.close()


def monitor_run(model_path: Path, log: Path) -> tuple[float, float]:
    """(seconds, peak RSS MB) of ``nnstudio monitor --log`` in a fresh process."""
    code = (f"import sys, runpy; sys.path.insert(0, {str(ROOT)!r}); "
            "sys.argv = ['nnstudio', 'monitor', sys.argv[1], '--log', sys.argv[2], '--json', "
            "'--report', sys.argv[3]]\n"
            "from nnstudio.cli import main\n"
            "rc = main(sys.argv[1:])\n"
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0], "
            "file=sys.stderr)\n"
            "sys.exit(rc)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(model_path), str(log),
                          str(log.with_suffix(".html"))], capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode not in (0, 3):
        raise RuntimeError(out.stderr)
    hwm = next(ln for ln in out.stderr.splitlines() if ln.startswith("VmHWM"))
    report = json.loads(out.stdout)
    verdicts = {e["name"]: e["verdict"] for e in report["features"]}
    print(f"  monitor verdicts: {verdicts}; rows {report['rows']:,}")
    return seconds, int(hwm.split()[1]) / 1024


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--monitor-rows", type=int, default=1_000_000)
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    print(f"load average: {os.getloadavg()} (a shared 2-core VM)")
    tmp = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    model, onnx_path = train_model(tmp)
    preds = {"native": native_predictor(model), "onnx": onnx_predictor(model, onnx_path)}
    a, b = preds["native"].predict_rows([ROW])[0], preds["onnx"].predict_rows([ROW])[0]
    print(f"same prediction: native {a['price']:.2f}, onnx {b['price']:.2f}")
    res: dict[str, dict[str, list[float]]] = {k: {} for k in preds}
    for r in range(args.rounds):
        for name in ("native", "onnx"):
            lat = in_process(preds[name], args.requests)
            proc, url = start_server(model, onnx_path, name == "onnx", tmp / f"{name}{r}.db")
            try:
                hl = http_latency(url, args.requests)
                rps1 = throughput(url, 1, args.requests // 2)
                rps8 = throughput(url, 8, args.requests // 8)
            finally:
                proc.terminate()
                proc.wait(10)
            for key, v in (("proc_p50", pct(lat, 50)), ("proc_p99", pct(lat, 99)),
                           ("http_p50", pct(hl, 50)), ("http_p99", pct(hl, 99)),
                           ("rps1", rps1), ("rps8", rps8)):
                res[name].setdefault(key, []).append(v)
        print(f"round {r + 1}: " + "; ".join(
            f"{n} proc p50 {res[n]['proc_p50'][-1]:.3f} ms, http p50 "
            f"{res[n]['http_p50'][-1]:.2f} ms, {res[n]['rps1'][-1]:.0f}/{res[n]['rps8'][-1]:.0f}"
            " req/s" for n in res))
    print("\nmedians over rounds (ms; requests/s with 1 and 8 clients):")
    print(f"  {'':8} {'proc p50':>9} {'proc p99':>9} {'http p50':>9} {'http p99':>9} "
          f"{'req/s 1':>8} {'req/s 8':>8}")
    for name in res:
        m = {k: statistics.median(v) for k, v in res[name].items()}
        print(f"  {name:8} {m['proc_p50']:9.3f} {m['proc_p99']:9.3f} {m['http_p50']:9.2f} "
              f"{m['http_p99']:9.2f} {m['rps1']:8.0f} {m['rps8']:8.0f}")
    ratio = {k: statistics.median(a / b for a, b in zip(res["native"][k], res["onnx"][k],
                                                         strict=True))
             for k in res["native"]}
    print("  native/onnx (median of paired ratios): " +
          ", ".join(f"{k} {v:.2f}" for k, v in ratio.items()))
    if args.monitor_rows:
        log = tmp / "million.db"
        t0 = time.perf_counter()
        write_log(log, model, args.monitor_rows)
        print(f"\nwrote a log of {args.monitor_rows:,} predictions in "
              f"{time.perf_counter() - t0:.0f} s ({log.stat().st_size / 1e6:.0f} MB)")
        seconds, mb = monitor_run(model, log)
        print(f"nnstudio monitor --log: {seconds:.1f} s, peak RSS {mb:.0f} MB")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
