"""Benchmark: nnstudio's NumPy engine against PyTorch CPU and scikit-learn, training speed.

Usage::

    .venv/bin/python benchmarks/engine_vs_peers.py [--rounds 5] [--only a64,a256,b,c,d]
                                                    [--threads 1] [--reps 3] [--alloc]

Workloads (samples per second of training; the same network, loss, optimizer and batch size
for every engine):

* ``a64``/``a256`` — MNIST-shaped MLP 784-256-128-10 ReLU, softmax cross-entropy, Adam
  (lr 1e-3), batch 64 / 256, on the 10,000 MNIST test images. Peers: PyTorch, scikit-learn's
  ``MLPClassifier`` (``partial_fit``, one epoch per call).
* ``b`` — a TensorFlow-Playground network: 2 inputs, two hidden layers of 8 tanh, one
  sigmoid output with binary cross-entropy, plain SGD (lr 0.03, Playground's default),
  500 samples (two spirals), batch 10. Peers: PyTorch (scikit-learn for information).
* ``c`` — CNN ``1x28x28 → Conv 8 3x3 → ReLU → MaxPool 2 → Conv 16 3x3 → ReLU → MaxPool 2
  → Dense 10``, softmax cross-entropy, Adam, batch 64, 3,000 MNIST images. Peer: PyTorch.
* ``d`` — LSTM over 28 steps of 28 inputs (an image read row by row), 64 hidden units, then
  Dense 10, softmax cross-entropy, Adam, batch 64, 3,000 MNIST images. Peer: PyTorch.

Method (see ``shared/ENVIRONMENT.md``: two threads are unreliable on these VMs): every engine
is pinned to ``--threads`` threads (threadpoolctl for NumPy's OpenBLAS,
``torch.set_num_threads``). Each round is a fresh process (the script re-invokes itself)
that builds every engine for one workload, runs a warm-up epoch of each, then alternates
``--reps`` timed epochs engine by engine; the round's figure per engine is the median of
its reps and its ratio the quotient of those medians (a *paired* ratio: both engines saw
the same machine state). The report gives, per workload, the median over rounds of each
engine's samples/second and the median (min–max) of the paired ratios.

Our engine runs through the real thing: a :class:`~nnstudio.core.engine.Network` trained by
the :func:`~nnstudio.core.training.train` generator (shuffling, batching into preallocated
buffers, fused softmax/cross-entropy, the Adam/SGD step on the flat parameter buffer, the
per-batch loss and the per-epoch accuracy); timed epochs are epochs 2, 3, ... of one
generator (the first is the warm-up). PyTorch runs the usual loop (``randperm``, index,
``zero_grad``, forward, loss, ``backward``, ``step``, ``loss.item()``; no accuracy).

``--alloc`` also reports what one steady-state epoch of our engine allocates (tracemalloc:
bytes still held at its end and the largest transient peak), against the size of one batch.

Peers (benchmarks only; never needed by nnstudio):
``.venv/bin/pip install torch==2.13.0 scikit-learn threadpoolctl`` — torch pinned to the CPU
wheel; a plain ``torch`` requirement downloads a multi-GB CUDA build.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "datasets" / "mnist-t10k"
WORKLOADS = ("a64", "a256", "b", "c", "d", "e", "f", "g", "h")
TITLES = {
    "a64": "(a) MLP 784-256-128-10 ReLU, Adam, batch 64",
    "a256": "(a) MLP 784-256-128-10 ReLU, Adam, batch 256",
    "b": "(b) Playground 2-8-8-1 tanh, SGD, 500 samples, batch 10",
    "c": "(c) CNN Conv8-Pool-Conv16-Pool-Dense10, Adam, batch 64",
    "d": "(d) LSTM 28x28 → 64 → Dense 10, Adam, batch 64",
    "e": "(e) BatchNorm MLP 784-256-BN-128-BN-10 ReLU, Adam, batch 64",
    "f": "(f) BatchNorm CNN Conv8-BN-Pool-Conv16-BN-Pool-Dense10, Adam, batch 64",
    "g": "(g) depthwise-separable CNN Conv16-Pool-DW3x3-Conv32 1x1-Pool-Dense10, batch 64",
    "h": "(h) Conv1D sequence model 28x28 → Conv1D 32 k3-Pool-Conv1D 32 k3-Dense10, batch 64",
}
#: Goals: (peer, minimum ratio ours/peer); against PyTorch the "must" figures of issue 15.
GOALS = {
    "a64": [("torch", 1.5), ("sklearn", 1.25)],
    "a256": [("torch", 1.2), ("sklearn", 1.25)],
    "b": [("torch", 8.0)],
    "c": [("torch", 1.3)],
    "d": [("torch", 1.1)],
    "e": [("torch", 1.0)],
    "f": [("torch", 1.0)],
    "g": [("torch", 1.0)],
    "h": [("torch", 1.0)],
}


# -- data -----------------------------------------------------------------------------------
def mnist(n: int):
    """``n`` MNIST images ``(n, 28, 28)`` float32 in [0, 1] and labels; random when absent."""
    import numpy as np

    try:
        sys.path.insert(0, str(ROOT))
        from nnstudio.core.data import load_idx

        d = load_idx(MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz")
        x, y = d.x[:n].astype(np.float32) / 255.0, d.y[:n].astype(np.int64)
    except Exception:  # the shared data folder is missing: same shapes, random values
        rng = np.random.default_rng(0)
        x = rng.random((n, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, n)
    return np.ascontiguousarray(x), y


def spirals(n: int = 500, seed: int = 0):
    """Playground's two spirals: ``(n, 2)`` float32 points and 0/1 labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    half = n // 2
    r = np.linspace(0.0, 5.0, half)
    out, labels = [], []
    for label, delta in ((0, 0.0), (1, np.pi)):
        t = 1.75 * r / 5.0 * 2 * np.pi + delta
        pts = np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + rng.normal(0, 0.1, (half, 2))
        out.append(pts)
        labels.append(np.full(half, label))
    return np.concatenate(out).astype(np.float32), np.concatenate(labels).astype(np.int64)


def workload_data(name: str):
    """``(x, y, batch_size)`` for a workload; ``x`` in the layout our Input takes."""
    if name in ("a64", "a256"):
        x, y = mnist(10_000)
        return x.reshape(len(x), 784), y, int(name[1:])
    if name == "b":
        x, y = spirals(500)
        return x, y, 10
    if name == "e":
        x, y = mnist(10_000)
        return x.reshape(len(x), 784), y, 64
    x, y = mnist(3_000)
    if name in ("c", "f", "g"):
        return x.reshape(len(x), 1, 28, 28), y, 64
    return x, y, 64


# -- our engine -----------------------------------------------------------------------------
def our_spec(name: str):
    from nnstudio.core.engine import NetworkSpec

    if name in ("a64", "a256"):
        layers = [("Dense", {"units": 256}), ("ReLU", {}), ("Dense", {"units": 128}),
                  ("ReLU", {}), ("Dense", {"units": 10}), ("Softmax", {})]
    elif name == "b":
        layers = [("Dense", {"units": 8}), ("Tanh", {}), ("Dense", {"units": 8}), ("Tanh", {}),
                  ("Dense", {"units": 1}), ("Sigmoid", {})]
    elif name == "c":
        layers = [("Conv2D", {"filters": 8, "kernel_size": 3}), ("ReLU", {}),
                  ("MaxPool2D", {"pool_size": 2}), ("Conv2D", {"filters": 16, "kernel_size": 3}),
                  ("ReLU", {}), ("MaxPool2D", {"pool_size": 2}), ("Flatten", {}),
                  ("Dense", {"units": 10}), ("Softmax", {})]
    elif name == "e":
        layers = [("Dense", {"units": 256}), ("BatchNorm", {}), ("ReLU", {}),
                  ("Dense", {"units": 128}), ("BatchNorm", {}), ("ReLU", {}),
                  ("Dense", {"units": 10}), ("Softmax", {})]
    elif name == "f":
        layers = [("Conv2D", {"filters": 8, "kernel_size": 3}), ("BatchNorm", {}), ("ReLU", {}),
                  ("MaxPool2D", {"pool_size": 2}), ("Conv2D", {"filters": 16, "kernel_size": 3}),
                  ("BatchNorm", {}), ("ReLU", {}), ("MaxPool2D", {"pool_size": 2}),
                  ("Flatten", {}), ("Dense", {"units": 10}), ("Softmax", {})]
    elif name == "g":
        layers = [("Conv2D", {"filters": 16, "kernel_size": 3}), ("ReLU", {}),
                  ("MaxPool2D", {"pool_size": 2}), ("DepthwiseConv2D", {"kernel_size": 3}),
                  ("Conv2D", {"filters": 32, "kernel_size": 1}), ("ReLU", {}),
                  ("MaxPool2D", {"pool_size": 2}), ("Flatten", {}), ("Dense", {"units": 10}),
                  ("Softmax", {})]
    elif name == "h":
        layers = [("Conv1D", {"filters": 32, "kernel_size": 3}), ("ReLU", {}),
                  ("MaxPool1D", {"pool_size": 2}), ("Conv1D", {"filters": 32, "kernel_size": 3}),
                  ("ReLU", {}), ("Flatten", {}), ("Dense", {"units": 10}), ("Softmax", {})]
    else:
        layers = [("LSTM", {"units": 64}), ("Dense", {"units": 10}), ("Softmax", {})]
    nodes = [{"id": "in", "type": "Input"}]
    nodes += [{"id": f"l{i}", "type": t, **cfg} for i, (t, cfg) in enumerate(layers)]
    edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
    return NetworkSpec.from_dict({"nodes": nodes, "edges": edges})


class Ours:
    """Our Network trained by the real ``train()`` generator, paused between timed epochs."""

    label = "nnstudio"

    def __init__(self, name, x, y, bs, epochs):
        from nnstudio.core.engine import Network
        from nnstudio.core.training import TrainingConfig, train

        self.net = Network(our_spec(name), x.shape[1:], seed=0)
        if name == "b":
            cfg = TrainingConfig(loss="binary_cross_entropy", batch_size=bs, epochs=epochs,
                                 optimizer={"type": "sgd", "learning_rate": 0.03},
                                 early_stopping=None)
        else:
            cfg = TrainingConfig(loss="cross_entropy", batch_size=bs, epochs=epochs,
                                 optimizer={"type": "adam", "learning_rate": 1e-3},
                                 early_stopping=None)
        self.events = train(self.net, cfg, (x, y))
        self.n = len(x)

    def epoch(self) -> tuple[float, float]:
        """Run one epoch; return its samples/second by the wall clock and by CPU time."""
        from nnstudio.core.training import EpochEnd

        t, c = time.perf_counter(), time.process_time()
        for event in self.events:
            if isinstance(event, EpochEnd):
                break
        return _rates(self.n, t, c)


# -- PyTorch --------------------------------------------------------------------------------
class Torch:
    label = "torch"

    def __init__(self, name, x, y, bs):
        import torch
        from torch import nn

        torch.manual_seed(0)
        if name in ("a64", "a256"):
            model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                  nn.Linear(128, 10))
        elif name == "b":
            model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                                  nn.Linear(8, 1))
        elif name == "c":
            model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(400, 10))
        elif name == "e":
            model = nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(),
                                  nn.Linear(256, 128), nn.BatchNorm1d(128), nn.ReLU(),
                                  nn.Linear(128, 10))
        elif name == "f":
            model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16),
                                  nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 10))
        elif name == "g":
            model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 16, 3, groups=16), nn.Conv2d(16, 32, 1),
                                  nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(800, 10))
        elif name == "h":
            model = _TorchConv1D()
        else:
            model = _TorchLSTM()
        self.model = model
        if name == "b":
            self.opt = torch.optim.SGD(model.parameters(), lr=0.03)
            self.loss = nn.BCEWithLogitsLoss()
            self.y = torch.from_numpy(y.astype("float32")).reshape(-1, 1)
        else:
            self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            self.loss = nn.CrossEntropyLoss()
            self.y = torch.from_numpy(y)
        self.x = torch.from_numpy(x)
        self.bs, self.n = bs, len(x)
        self.torch = torch

    def epoch(self) -> tuple[float, float]:
        torch, model, opt, lossf, bs = self.torch, self.model, self.opt, self.loss, self.bs
        t, c = time.perf_counter(), time.process_time()
        perm = torch.randperm(self.n)
        total = 0.0
        for start in range(0, self.n, bs):
            idx = perm[start:start + bs]
            xb, yb = self.x[idx], self.y[idx]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        return _rates(self.n, t, c)


def _TorchConv1D():
    """Sequences (N, T, F) as our Conv1D reads them; PyTorch's convolutions want (N, F, T)."""
    from torch import nn

    class Conv1DNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv1d(28, 32, 3), nn.ReLU(), nn.MaxPool1d(2),
                                      nn.Conv1d(32, 32, 3), nn.ReLU())
            self.head = nn.Linear(32 * 11, 10)

        def forward(self, x):
            h = self.body(x.transpose(1, 2))  # (N, 32, 11)
            return self.head(h.transpose(1, 2).flatten(1))  # flattened (T, F) like ours

    return Conv1DNet()


def _TorchLSTM():
    from torch import nn

    class LSTMNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 64, batch_first=True)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])

    return LSTMNet()


# -- scikit-learn ---------------------------------------------------------------------------
class Sklearn:
    label = "sklearn"

    def __init__(self, name, x, y, bs):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        if name == "b":
            self.model = MLPClassifier((8, 8), activation="tanh", solver="sgd",
                                       learning_rate_init=0.03, momentum=0.0,
                                       nesterovs_momentum=False, batch_size=bs, alpha=0.0,
                                       random_state=0)
        else:
            self.model = MLPClassifier((256, 128), activation="relu", solver="adam",
                                       learning_rate_init=1e-3, batch_size=bs, alpha=0.0,
                                       random_state=0)
        self.x, self.y, self.n = x, y, len(x)
        self.classes = sorted(set(y.tolist()))

    def epoch(self) -> tuple[float, float]:
        t, c = time.perf_counter(), time.process_time()
        self.model.partial_fit(self.x, self.y, classes=self.classes)
        return _rates(self.n, t, c)


# -- one round (a child process) ------------------------------------------------------------
def _rates(n: int, t0: float, c0: float) -> tuple[float, float]:
    """Samples/second since ``(perf_counter, process_time) = (t0, c0)``."""
    return n / (time.perf_counter() - t0), n / max(time.process_time() - c0, 1e-9)


def pin_threads(threads: int):
    from threadpoolctl import threadpool_limits

    # threadpoolctl limits the BLAS libraries loaded so far: load SciPy's OpenBLAS (the
    # recurrent layers' products, nnstudio.core.engine.small_gemm) before limiting.
    import nnstudio.core.engine  # noqa: F401

    limits = threadpool_limits(threads)
    try:
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
    except ImportError:
        pass
    return limits


def run_round(name: str, reps: int, threads: int, alloc: bool) -> dict:
    sys.path.insert(0, str(ROOT))
    x, y, bs = workload_data(name)
    _limits = pin_threads(threads)
    engines = [Ours(name, x, y, bs, epochs=1 + reps + (1 if alloc else 0))]
    for cls in (Torch, Sklearn):
        if cls is Sklearn and name not in ("a64", "a256", "b"):
            continue
        try:
            engines.append(cls(name, x, y, bs))
        except ImportError as e:
            print(f"skipping {cls.label}: {e}", file=sys.stderr)
    for e in engines:  # warm-up epoch
        e.epoch()
    wall: dict[str, list[float]] = {e.label: [] for e in engines}
    cpu: dict[str, list[float]] = {e.label: [] for e in engines}
    for _ in range(reps):
        for e in engines:
            w, c = e.epoch()
            wall[e.label].append(w)
            cpu[e.label].append(c)
    out = {"workload": name, "threads": threads,
           "rates": {k: statistics.median(v) for k, v in wall.items()},
           "cpu_rates": {k: statistics.median(v) for k, v in cpu.items()}}
    if alloc:
        out["alloc"] = measure_alloc(engines[0], x, bs)
    return out


def measure_alloc(ours: Ours, x, bs) -> dict:
    """What one steady-state epoch of our engine allocates, by tracemalloc."""
    import tracemalloc

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    ours.epoch()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"held_bytes": current - base, "peak_bytes": peak - base,
            "batch_bytes": int(bs * x[0].nbytes)}


# -- the parent: rounds, medians, report ----------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="fresh processes per workload")
    ap.add_argument("--reps", type=int, default=3, help="timed epochs per engine per round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    ap.add_argument("--alloc", action="store_true", help="report our engine's allocations")
    ap.add_argument("--json", help="also write the raw results to this file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_round(args.child, args.reps, args.threads, args.alloc)))
        return 0

    names = [w for w in args.only.split(",") if w]
    unknown = set(names) - set(WORKLOADS)
    if unknown:
        ap.error(f"unknown workload(s) {sorted(unknown)}; known: {', '.join(WORKLOADS)}")
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(args.threads)
    results: dict[str, list[dict]] = {n: [] for n in names}
    print(f"# {args.rounds} rounds x {args.reps} timed epochs, {args.threads} thread(s); "
          "samples/second of training (wall clock)", flush=True)
    for r in range(args.rounds):
        for name in names:
            cmd = [sys.executable, __file__, "--child", name, "--reps", str(args.reps),
                   "--threads", str(args.threads)] + (["--alloc"] if args.alloc else [])
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                return proc.returncode
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            results[name].append(res)
            rates = "  ".join(f"{k} {v:9.0f}" for k, v in res["rates"].items())
            print(f"round {r + 1} {name:4s}  {rates}", flush=True)
    print()
    ok = True
    for name in names:
        rounds = results[name]
        print(TITLES[name])
        engines = list(rounds[0]["rates"])
        for e in engines:
            med = statistics.median(r["rates"][e] for r in rounds)
            cmed = statistics.median(r["cpu_rates"][e] for r in rounds)
            print(f"    {e:9s} {med:10.0f} samples/s wall, {cmed:10.0f} per CPU-second "
                  f"(medians of {len(rounds)} rounds)")
        for peer, goal in GOALS[name] + ([("sklearn", None)] if name == "b" else []):
            if peer not in engines:
                print(f"    vs {peer}: not installed")
                continue
            ratios = [r["rates"]["nnstudio"] / r["rates"][peer] for r in rounds]
            cratios = [r["cpu_rates"]["nnstudio"] / r["cpu_rates"][peer] for r in rounds]
            med, cmed = statistics.median(ratios), statistics.median(cratios)
            verdict = "information"
            if goal is not None:
                met = med >= goal
                ok &= met or args.threads != 1
                verdict = f"goal ≥ {goal:g}x: {'met' if met else 'MISSED'}"
            print(f"    nnstudio / {peer:8s} {med:5.2f}x wall (rounds {min(ratios):.2f}–"
                  f"{max(ratios):.2f}), {cmed:5.2f}x CPU time (rounds {min(cratios):.2f}–"
                  f"{max(cratios):.2f}); {verdict}")
        if args.alloc:
            a = rounds[-1]["alloc"]
            print(f"    one steady-state epoch: holds {a['held_bytes']:,} B afterwards, peak "
                  f"transient {a['peak_bytes']:,} B (a batch is {a['batch_bytes']:,} B)")
        print()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.threads != 1:
        print("(figures with more than one thread are information only on these VMs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
