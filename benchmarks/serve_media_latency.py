"""Benchmark: serving an image, a sound and a text classifier — latency per request.

Usage::

    .venv/bin/python benchmarks/serve_media_latency.py [--requests 300] [--rounds 3]

Three small models are trained on data this script writes (96×96 JPEG photos of noise read
at 64×64 RGB; 1 s WAV recordings at 44.1 kHz read at 16 kHz as 40-band log-mel spectrograms;
the spam/ham messages of the tests as TF-IDF), then for each:

1. **in process**: ``Predictor.read_request`` + ``predict_inputs`` on one request body
   (multipart parsing, decoding with the training decoder, statistics for the log,
   preparation, network, JSON-able output) — p50 and p99;
2. **over HTTP on loopback**: the same body to ``nnstudio serve`` (a child process, logging
   to SQLite) on one keep-alive connection — p50 and p99; images also as base64 JSON.

Everything is pinned to one thread (OpenBLAS); rounds alternate the kinds and the script prints
the median over rounds. These VMs are shared and noisy: read the figures as orders of
magnitude, with the load average printed alongside.
"""

from __future__ import annotations

import argparse
import base64
import csv
import http.client
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _mlp(flatten: bool) -> dict:
    nodes = [{"id": "in", "type": "Input"}] + \
        ([{"id": "f", "type": "Flatten"}] if flatten else []) + \
        [{"id": "h", "type": "Dense", "units": 32}, {"id": "r", "type": "ReLU"},
         {"id": "o", "type": "Dense", "units": 2}, {"id": "s", "type": "Softmax"}]
    return {"nodes": nodes, "edges": [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]}


def train(folder: Path, dataset: dict, flatten: bool, name: str) -> Path:
    from nnstudio.core.io.model_file import save_model
    from nnstudio.core.io.pipeline import load_data, run_training
    from nnstudio.core.io.project import Project

    project = Project.from_dict({
        "format": "nnstudio.project", "version": 1, "dataset": dataset,
        "network": _mlp(flatten),
        "training": {"loss": "cross_entropy", "batch_size": 32, "epochs": 3, "seed": 0}},
        base_dir=folder, where=name)
    model = run_training(project, load_data(project))
    save_model(model, folder / f"{name}.npz")
    return folder / f"{name}.npz"


def write_data(folder: Path) -> dict[str, tuple[Path, bytes, str]]:
    """Training data and one sample request body per kind."""
    import soundfile as sf
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(120):
        cls = ("red", "blue")[i % 2]
        img = rng.integers(0, 120, (96, 96, 3))
        img[..., 0 if cls == "red" else 2] += 120
        (folder / "img" / cls).mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.astype(np.uint8)).save(folder / "img" / cls / f"{i}.jpg",
                                                   quality=90)
    for i in range(60):
        cls = ("low", "high")[i % 2]
        t = np.arange(44100) / 44100
        x = 0.1 * np.sin(2 * np.pi * (300 if cls == "low" else 2500) * t)
        (folder / "snd" / cls).mkdir(parents=True, exist_ok=True)
        sf.write(folder / "snd" / cls / f"{i}.wav", x, 44100, subtype="PCM_16")
    from tests.core.text.corpora import write_messages_csv

    write_messages_csv(folder / "sms.csv", 400, with_length=True)
    models = {
        "image": train(folder, {"source": str(folder / "img"), "images": {"size": [64, 64]}},
                       True, "img"),
        "sound": train(folder, {"source": str(folder / "snd"), "sound": {"duration": 1.0}},
                       True, "snd"),
        "text": train(folder, {"source": str(folder / "sms.csv"), "target": "label",
                               "text": {"encoding": "tfidf"}}, False, "sms"),
    }
    jpg = (folder / "img" / "red" / "0.jpg").read_bytes()
    wav = (folder / "snd" / "low" / "0.wav").read_bytes()
    boundary = "nnstudiobench"

    def form(name: str, data: bytes) -> bytes:
        return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + data + f"\r\n--{boundary}--\r\n".encode()

    with open(folder / "sms.csv", newline="") as f:
        row = next(csv.DictReader(f))
    mp = f"multipart/form-data; boundary={boundary}"
    return {
        "image multipart": (models["image"], form("cat.jpg", jpg), mp),
        "image base64": (models["image"], json.dumps(
            {"image": base64.b64encode(jpg).decode()}).encode(), "application/json"),
        "sound multipart": (models["sound"], form("clip.wav", wav), mp),
        "text row": (models["text"], json.dumps(
            {"message": row["message"], "hour": int(row["hour"])}).encode(),
            "application/json"),
    }


def in_process(model_path: Path, body: bytes, ctype: str, n: int) -> list[float]:
    from nnstudio.core.io.model_file import load_model
    from nnstudio.core.serve import Predictor

    pred = Predictor(load_model(model_path))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        inputs, _logged, _ = pred.read_request(ctype, body)
        pred.predict_inputs(inputs)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def start(model_path: Path, log: Path) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "nnstudio", "serve", str(model_path),
                             "--port", "0", "--log", str(log)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline()
    url = line.rsplit(" at ", 1)[1].strip()
    time.sleep(0.3)
    return proc, url


def over_http(url: str, body: bytes, ctype: str, n: int) -> list[float]:
    u = urlsplit(url)
    con = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        con.request("POST", "/predict", body, {"Content-Type": ctype})
        reply = con.getresponse()
        data = reply.read()
        times.append((time.perf_counter() - t0) * 1e3)
        assert reply.status == 200, data[:200]
    con.close()
    return times


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = write_data(folder)
        servers = {}
        for name, (model, _body, _ct) in cases.items():
            servers[name] = start(model, folder / f"{name.replace(' ', '_')}.db")
        results: dict[str, dict[str, list[float]]] = {n: {"p50 in": [], "p99 in": [],
                                                          "p50 http": [], "p99 http": []}
                                                      for n in cases}
        try:
            for _ in range(args.rounds):
                for name, (model, body, ctype) in cases.items():
                    a = in_process(model, body, ctype, args.requests)
                    b = over_http(servers[name][1], body, ctype, args.requests)
                    r = results[name]
                    r["p50 in"].append(pct(a, 50))
                    r["p99 in"].append(pct(a, 99))
                    r["p50 http"].append(pct(b, 50))
                    r["p99 http"].append(pct(b, 99))
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(10)
        print(f"load average {os.getloadavg()[0]:.2f} (shared machine); "
              f"{args.requests} requests x {args.rounds} rounds, medians over rounds (ms)")
        print(f"{'request':<18} {'body':>9} {'p50 in':>8} {'p99 in':>8} {'p50 http':>9} "
              f"{'p99 http':>9}")
        for name, (_m, body, _c) in cases.items():
            r = {k: statistics.median(v) for k, v in results[name].items()}
            print(f"{name:<18} {len(body):>9,} {r['p50 in']:>8.2f} {r['p99 in']:>8.2f} "
                  f"{r['p50 http']:>9.2f} {r['p99 http']:>9.2f}")


if __name__ == "__main__":
    main()
