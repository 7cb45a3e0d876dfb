"""Benchmark: ``nnstudio train`` end to end — what a user waits for — against a PyTorch script
doing the same work.

Usage::

    .venv/bin/python benchmarks/train_vs_pytorch.py [--rounds 3] [--only mlp,cnn,lstm]
                                                    [--rows 1000,10000,100000,1000000]

Workloads (the 10,000 MNIST test images, split 70/15/15 with nnstudio's seeded stratified
split; both sides use the same indices):

* ``mlp`` — 784-256-128-10 ReLU + softmax cross-entropy, Adam 1e-3, batch 64, 5 epochs;
* ``cnn`` — Conv 8 3x3 → ReLU → MaxPool 2 → Conv 16 3x3 → ReLU → MaxPool 2 → Dense 10,
  Adam, batch 64, 2 epochs;
* ``lstm`` — the image read row by row (28 steps × 28) → LSTM 64 → Dense 10, Adam, batch 64,
  2 epochs.

Both sides do the same work: read the IDX files, scale the pixels with the training split's
mean and standard deviation, shuffle each epoch, train on 7,000 images with the training
loss, evaluate the 1,500 validation images after every epoch (loss and accuracy), then score
train/validation/test and save the model. nnstudio runs as ``python -m nnstudio train
project.nnsproj --out model.npz`` (its real command, progress printed to a pipe); PyTorch as
this script's ``--torch-child`` (a plain loop: ``randperm``, index, ``zero_grad``, forward,
``cross_entropy``, ``backward``, ``step``, ``loss.item()``; ``no_grad`` evaluation in batches
of 1,024, the batch size nnstudio evaluates with; ``torch.save``). The PyTorch loop counts no
training accuracy (nnstudio does, once per epoch): if anything, it does less work.

Timing: each round runs both processes back to back (the order alternates by round), one
thread each (``OMP_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``, ``torch.set_num_threads(1)``).
Reported per side: the process's wall time (start to exit, interpreter and imports included:
what the user waits for), the time in the batch steps (forward, loss, backward, optimizer) and
everything else (imports, data, validation, events, saving). nnstudio's split is measured by
an in-process wrapper that times the trainer's step calls (``--ours-child``; the same command
otherwise). Ratios are PyTorch time / nnstudio time (> 1: nnstudio is faster), the median of
the per-round paired ratios.

``--rows`` reports how the time of one epoch grows with the number of samples of a
20-column table (nnstudio only, MLP 20-64-32-1, batch 256) and the peak memory of the process;
``--widths`` how it grows with the width ``w`` of an MLP 20-w-w/2-1 on 20,000 rows.

Needs ``pip install torch==2.13.0`` (benchmarks only).
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "datasets" / "mnist-t10k"
IMAGES, LABELS = MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz"
EPOCHS = {"mlp": 5, "cnn": 2, "lstm": 2}
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def layers(name: str) -> list[dict]:
    if name == "mlp":
        return [{"type": "Reshape", "shape": [784]}, {"type": "Dense", "units": 256},
                {"type": "ReLU"}, {"type": "Dense", "units": 128}, {"type": "ReLU"},
                {"type": "Dense", "units": 10}, {"type": "Softmax"}]
    if name == "cnn":
        return [{"type": "Reshape", "shape": [1, 28, 28]},
                {"type": "Conv2D", "filters": 8, "kernel_size": 3}, {"type": "ReLU"},
                {"type": "MaxPool2D"}, {"type": "Conv2D", "filters": 16, "kernel_size": 3},
                {"type": "ReLU"}, {"type": "MaxPool2D"}, {"type": "Flatten"},
                {"type": "Dense", "units": 10}, {"type": "Softmax"}]
    return [{"type": "LSTM", "units": 64}, {"type": "Dense", "units": 10}, {"type": "Softmax"}]


def write_project(name: str, folder: Path) -> Path:
    nodes = [{"id": "in", "type": "Input"}] + [
        {"id": f"l{i}", **layer} for i, layer in enumerate(layers(name))]
    edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
    project = {
        "format": "nnstudio.project", "version": 1,
        "dataset": {"source": str(IMAGES), "labels": str(LABELS), "scaling": "standard",
                    "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 0}},
        "network": {"nodes": nodes, "edges": edges},
        "training": {"loss": "cross_entropy", "batch_size": 64, "epochs": EPOCHS[name],
                     "seed": 0, "optimizer": {"type": "adam", "learning_rate": 1e-3}},
    }
    path = folder / f"{name}.nnsproj"
    path.write_text(json.dumps(project))
    return path


def write_split(folder: Path) -> Path:
    """nnstudio's split of the 10,000 images, for the PyTorch side to use as is."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from nnstudio.core.data import load_idx
    from nnstudio.core.data.split import split_indices

    y = load_idx(IMAGES, LABELS).y
    tr, va, te = split_indices(len(y), (0.7, 0.15, 0.15), 0, y.astype(str), True)
    path = folder / "split.npz"
    np.savez(path, train=tr, validation=va, test=te)
    return path


# -- the PyTorch side -------------------------------------------------------------------------
def torch_child(name: str, split: Path, model_file: Path) -> dict:
    t0 = time.perf_counter()
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(0)
    t_import = time.perf_counter() - t0

    def idx(path: Path, offset: int) -> np.ndarray:
        with gzip.open(path, "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)

    x = idx(IMAGES, 16).reshape(-1, 28, 28).astype(np.float32)
    y = idx(LABELS, 8).astype(np.int64)
    with np.load(split) as s:
        parts = {k: s[k] for k in ("train", "validation", "test")}
    mean, std = x[parts["train"]].mean(), x[parts["train"]].std()
    x = (x - mean) / std
    if name == "mlp":
        x = x.reshape(-1, 784)
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                              nn.Linear(128, 10))
    elif name == "cnn":
        x = x.reshape(-1, 1, 28, 28)
        model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 10))
    else:
        class LSTMNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(28, 64, batch_first=True)
                self.out = nn.Linear(64, 10)

            def forward(self, v):
                return self.out(self.lstm(v)[1][0][0])

        model = LSTMNet()
    data = {k: (torch.from_numpy(np.ascontiguousarray(x[v])), torch.from_numpy(y[v]))
            for k, v in parts.items()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.functional.cross_entropy

    def evaluate(xs, ys):
        model.eval()
        total, hits = 0.0, 0
        with torch.no_grad():
            for lo in range(0, len(xs), 1024):
                out = model(xs[lo:lo + 1024])
                total += float(lossf(out, ys[lo:lo + 1024], reduction="sum"))
                hits += int((out.argmax(1) == ys[lo:lo + 1024]).sum())
        model.train()
        return total / len(xs), hits / len(xs)

    t_data = time.perf_counter() - t0 - t_import
    xt, yt = data["train"]
    n, step = len(xt), 0.0
    for epoch in range(EPOCHS[name]):
        perm = torch.randperm(n)
        total = 0.0
        for lo in range(0, n, 64):
            b = perm[lo:lo + 64]
            xb, yb = xt[b], yt[b]
            s = time.perf_counter()
            opt.zero_grad()
            out = model(xb)
            loss = lossf(out, yb)
            loss.backward()
            opt.step()
            value = loss.item()
            step += time.perf_counter() - s
            total += value * len(b)
        val = evaluate(*data["validation"])
        print(f"epoch {epoch + 1}: loss {total / n:.4f} val {val}", file=sys.stderr)
    for k in ("train", "validation", "test"):
        print(k, evaluate(*data[k]), file=sys.stderr)
    torch.save(model.state_dict(), str(model_file))
    return {"import": t_import, "data": t_data, "step": step,
            "total": time.perf_counter() - t0}


# -- our side, instrumented --------------------------------------------------------------------
def ours_child(project: Path, out: Path) -> dict:
    """``nnstudio train`` in this process, with the trainer's step calls timed."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from nnstudio.cli import main
    from nnstudio.core.engine import chain, optimizers
    from nnstudio.core.training import trainer

    t_import = time.perf_counter() - t0
    spent = [0.0]

    def timed(fn):
        def wrapper(*a, **k):
            s = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[0] += time.perf_counter() - s
        return wrapper

    chain.ChainStep.step = timed(chain.ChainStep.step)
    trainer.graph_step = timed(trainer.graph_step)
    for cls in vars(optimizers).values():
        if isinstance(cls, type) and "step" in vars(cls):
            cls.step = timed(cls.step)
    code = main(["train", str(project), "--out", str(out)])
    assert code == 0, code
    return {"import": t_import, "step": spent[0], "total": time.perf_counter() - t0}


def run(cmd: list[str]) -> tuple[float, dict]:
    env = dict(os.environ, **ONE_THREAD, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{r.stderr[-3000:]}")
    return wall, json.loads(r.stdout.strip().splitlines()[-1])


def rows_scaling(sizes: list[int], folder: Path, width: int = 64, header: bool = True) -> None:
    """Time per epoch and peak memory against the number of rows of a 20-column table."""
    if header:
        print(f"\nnnstudio, MLP 20-{width}-{width // 2}-1 (mse, Adam, batch 256), the faster of "
              "two epochs, one thread")
        print(f"{'rows':>10} {'s/epoch':>9} {'µs/row':>8} {'peak RSS MB':>12}")
    for n in sizes:
        code = (
            "import sys, time, resource, numpy as np\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from nnstudio.core.engine import Network, NetworkSpec\n"
            "from nnstudio.core.training import TrainingConfig, train, EpochEnd\n"
            f"n = {n}\n"
            "rng = np.random.default_rng(0)\n"
            "x = rng.standard_normal((n, 20), dtype=np.float32)\n"
            "y = x[:, :5].sum(1, keepdims=True) + rng.standard_normal((n, 1), dtype=np.float32)\n"
            f"nodes = [{{'id': 'in', 'type': 'Input'}}, {{'id': 'a', 'type': 'Dense', "
            f"'units': {width}}},"
            f" {{'id': 'r', 'type': 'ReLU'}}, {{'id': 'b', 'type': 'Dense', "
            f"'units': {width // 2}}},"
            " {'id': 's', 'type': 'ReLU'}, {'id': 'o', 'type': 'Dense', 'units': 1}]\n"
            "edges = [[a['id'], b['id']] for a, b in zip(nodes, nodes[1:])]\n"
            "net = Network(NetworkSpec.from_dict({'nodes': nodes, 'edges': edges}), (20,))\n"
            "cfg = TrainingConfig(loss='mse', batch_size=256, epochs=2)\n"
            "times = []\n"
            "t = time.perf_counter()\n"
            "for e in train(net, cfg, (x, y)):\n"
            "    if isinstance(e, EpochEnd):\n"
            "        times.append(time.perf_counter() - t); t = time.perf_counter()\n"
            "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
            "print(min(times), rss, x.nbytes / 2**20)\n"
        )
        env = dict(os.environ, **ONE_THREAD)
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=3600)
        if r.returncode:
            print(r.stderr[-2000:])
            continue
        sec, rss, data_mb = map(float, r.stdout.split())
        label = f"{n:>10,}" if header else f"{width:>10}"
        print(f"{label} {sec:>9.3f} {sec / n * 1e6:>8.2f} {rss:>12.0f}  (data {data_mb:.0f} MB)",
              flush=True)


def width_scaling(widths: list[int], folder: Path, rows: int = 20_000) -> None:
    """Time per epoch against the width of the hidden layers (``w`` and ``w / 2``)."""
    print(f"\nnnstudio, MLP 20-w-w/2-1 on {rows:,} rows (mse, Adam, batch 256), one thread")
    print(f"{'width w':>10} {'s/epoch':>9} {'µs/row':>8} {'peak RSS MB':>12}")
    for w in widths:
        rows_scaling([rows], folder, width=w, header=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="mlp,cnn,lstm")
    ap.add_argument("--rows", default="")
    ap.add_argument("--widths", default="")
    ap.add_argument("--torch-child", nargs=3, metavar=("NAME", "SPLIT", "OUT"))
    ap.add_argument("--ours-child", nargs=2, metavar=("PROJECT", "OUT"))
    args = ap.parse_args()
    if args.torch_child:
        name, split, out = args.torch_child
        print(json.dumps(torch_child(name, Path(split), Path(out))))
        return
    if args.ours_child:
        project, out = args.ours_child
        res = ours_child(Path(project), Path(out))
        print(json.dumps(res))
        return
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} (machine shared with other jobs)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        split = write_split(folder)
        me = [sys.executable, str(Path(__file__).resolve())]
        for name in [w for w in args.only.split(",") if w]:
            project = write_project(name, folder)
            rows = []
            for r in range(args.rounds):
                sides = [("ours", me + ["--ours-child", str(project), str(folder / "m.npz")]),
                         ("torch", me + ["--torch-child", name, str(split),
                                         str(folder / "m.pt")])]
                if r % 2:
                    sides.reverse()
                got = {}
                for label, cmd in sides:
                    wall, info = run(cmd)
                    got[label] = (wall, info)
                rows.append(got)
                o, t = got["ours"], got["torch"]
                print(f"  {name} round {r + 1}: nnstudio {o[0]:.2f} s (steps {o[1]['step']:.2f},"
                      f" outside {o[0] - o[1]['step']:.2f}) · torch {t[0]:.2f} s (steps "
                      f"{t[1]['step']:.2f}, outside {t[0] - t[1]['step']:.2f}) · ratio "
                      f"{t[0] / o[0]:.2f}", flush=True)

            def med(f, rows=rows):
                return statistics.median(f(g) for g in rows)

            print(f"{name}: end to end {med(lambda g: g['torch'][0] / g['ours'][0]):.2f}× "
                  f"(min {min(g['torch'][0] / g['ours'][0] for g in rows):.2f}, max "
                  f"{max(g['torch'][0] / g['ours'][0] for g in rows):.2f}); steps only "
                  f"{med(lambda g: g['torch'][1]['step'] / g['ours'][1]['step']):.2f}×; "
                  f"excluding imports "
                  f"{med(lambda g: (g['torch'][1]['total'] - g['torch'][1]['import']) / (g['ours'][1]['total'] - g['ours'][1]['import'])):.2f}×"  # noqa: E501
                  f" | nnstudio median {med(lambda g: g['ours'][0]):.2f} s, outside the steps "
                  f"{med(lambda g: g['ours'][0] - g['ours'][1]['step']):.2f} s (imports "
                  f"{med(lambda g: g['ours'][1]['import']):.2f}) · torch "
                  f"{med(lambda g: g['torch'][0]):.2f} s, outside "
                  f"{med(lambda g: g['torch'][0] - g['torch'][1]['step']):.2f} s (imports "
                  f"{med(lambda g: g['torch'][1]['import']):.2f})", flush=True)
        if args.rows:
            rows_scaling([int(v) for v in args.rows.split(",")], folder)
        if args.widths:
            width_scaling([int(v) for v in args.widths.split(",")], folder)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
