"""Benchmark: Transformer training speed, nnstudio's NumPy engine against PyTorch CPU.

Usage::

    .venv/bin/python benchmarks/transformer_vs_pytorch.py [--rounds 5] [--reps 3]
                                                          [--only gpt,cls] [--breakdown]
    .venv/bin/python benchmarks/transformer_vs_pytorch.py --pair fusion.FOLD_NORM --reps 11

Workloads (training samples per second; the same network, loss, optimizer and batch):

* ``gpt`` — a character GPT: 2 pre-norm blocks (LayerNorm → 4-head causal attention →
  Add → LayerNorm → Dense 256 → ReLU → Dense 64 → Add), width d = 64, T = 64, vocabulary 65,
  a Dense 65 + Softmax at every position, cross-entropy over every position, Adam 1e-3,
  batch 32, 640 windows of random ids.
* ``cls`` — the Transformer text classifier of the same size: the same blocks without the
  causal mask, LayerNorm → average over the tokens → Dense 2 + Softmax, vocabulary 1000.

Ours is the nnstudio template (:mod:`nnstudio.core.graph.text_templates`) trained by the real
:func:`~nnstudio.core.training.train` generator (shuffling, batching, fused softmax /
cross-entropy, Adam on the flat parameter buffer, per-epoch accuracy). PyTorch is the usual
loop with ``nn.MultiheadAttention(batch_first=True)``, ``nn.LayerNorm``, ``nn.Linear``,
``F.cross_entropy`` and ``torch.optim.Adam``.

Method as ``engine_vs_peers.py``: both engines pinned to one thread (threadpoolctl on
NumPy's and SciPy's BLAS, ``torch.set_num_threads(1)``); each round is a fresh process that
warms both up with one epoch and then alternates ``--reps`` timed epochs; a round's ratio is
the quotient of the two medians (paired); the summary gives the median over rounds and the
load average.
``--breakdown`` prints where our step's time goes, per layer type, forward and backward.
``--pair module.SWITCH`` measures one of the engine's switches (``fusion.FOLD_NORM``,
``fusion.DENSE_RELU``, ``activations.ONE_SHIFT``): ours on against ours off, paired.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

T, D, HEADS, BLOCKS, BATCH, N = 64, 64, 4, 2, 32, 640
VOCAB = {"gpt": 65, "cls": 1000}


def data(kind: str):
    rng = np.random.default_rng(0)
    x = rng.integers(1, VOCAB[kind], (N, T))
    y = rng.integers(1, VOCAB[kind], (N, T)) if kind == "gpt" else rng.integers(0, 2, N)
    return x, y


# -- ours ------------------------------------------------------------------------------------

def ours(kind: str):
    from nnstudio.core.engine import Network, NetworkSpec
    from nnstudio.core.graph.text_templates import transformer_network
    from nnstudio.core.training import TrainingConfig, train

    v = VOCAB[kind]
    outputs = v if kind == "gpt" else 2
    spec = NetworkSpec.from_dict(transformer_network(
        "gpt" if kind == "gpt" else "classifier", (T,), outputs, v, BLOCKS, D, HEADS))
    net = Network(spec, (T,), seed=0)
    x, y = data(kind)
    cfg = TrainingConfig(loss="cross_entropy", optimizer={"type": "adam",
                                                          "learning_rate": 1e-3},
                         batch_size=BATCH, epochs=10_000, seed=0)
    from nnstudio.core.training.events import EpochEnd

    gen = train(net, cfg, (x.astype(np.float32), y))

    def epoch():
        for ev in gen:
            if isinstance(ev, EpochEnd):
                return
    return epoch, net


# -- PyTorch ---------------------------------------------------------------------------------

def torch_model(kind: str):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, causal):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.att = nn.MultiheadAttention(D, HEADS, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(D, 4 * D), nn.ReLU(), nn.Linear(4 * D, D))
            self.mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1) if causal else None

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.att(h, h, h, attn_mask=self.mask, need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            v = VOCAB[kind]
            self.emb = nn.Embedding(v, D, padding_idx=0)
            self.pos = nn.Parameter(torch.zeros(T, D))
            self.blocks = nn.Sequential(*[Block(kind == "gpt") for _ in range(BLOCKS)])
            self.ln = nn.LayerNorm(D)
            self.out = nn.Linear(D, v if kind == "gpt" else 2)

        def forward(self, ids):
            x = self.ln(self.blocks(self.emb(ids) + self.pos))
            return self.out(x if kind == "gpt" else x.mean(dim=1))

    return Model()


def theirs(kind: str):
    import torch
    import torch.nn.functional as F  # noqa: N812

    torch.manual_seed(0)
    model = torch_model(kind)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data(kind)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch():
        perm = torch.randperm(N)
        for lo in range(0, N, BATCH):
            idx = perm[lo:lo + BATCH]
            xb, yb = xt[idx], yt[idx]
            opt.zero_grad()
            z = model(xb)
            loss = F.cross_entropy(z.reshape(-1, z.shape[-1]), yb.reshape(-1))
            loss.backward()
            opt.step()
            loss.item()
    return epoch


def _one_thread() -> None:
    """Every BLAS and OpenMP pool to one thread: NumPy's, SciPy's when installed (loaded
    first, with the engine: threadpoolctl limits the libraries loaded when it is called) and
    PyTorch's."""
    import torch
    from threadpoolctl import threadpool_limits

    import nnstudio.core.engine  # noqa: F401

    threadpool_limits(1)
    torch.set_num_threads(1)


def child(kind: str, reps: int) -> dict:
    _one_thread()
    engines = {"nnstudio": ours(kind)[0], "pytorch": theirs(kind)}
    for fn in engines.values():
        fn()  # warm-up epoch
    times: dict[str, list[float]] = {k: [] for k in engines}
    for _ in range(reps):
        for name, fn in engines.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: N / statistics.median(v) for k, v in times.items()}


def paired(kind: str, switch: str, reps: int) -> None:
    """Our engine with a module switch on against off, e.g. ``fusion.FOLD_NORM``: two
    networks in one process (built with the switch on and off, and it set so before each of
    their epochs), epochs alternated; the median of the pairs' speed ratios."""
    import importlib

    _one_thread()
    name, flag = switch.rsplit(".", 1)
    module = importlib.import_module(f"nnstudio.core.engine.{name}")
    runs = {}
    for value in (True, False):
        setattr(module, flag, value)
        runs[value] = ours(kind)[0]

    def timed(value):
        setattr(module, flag, value)
        t0 = time.perf_counter()
        runs[value]()
        return time.perf_counter() - t0

    timed(True), timed(False)  # warm-up
    on, off = [], []
    for _ in range(reps):
        on.append(timed(True))
        off.append(timed(False))
    setattr(module, flag, True)
    ratios = [b / a for a, b in zip(on, off, strict=True)]
    batches = -(-N // BATCH)
    print(f"{kind} {switch}: on {1e3 * statistics.median(on) / batches:.2f} ms/batch, off "
          f"{1e3 * statistics.median(off) / batches:.2f} ms/batch; on faster by "
          f"{statistics.median(ratios):.3f}× (min {min(ratios):.3f}, max {max(ratios):.3f}) "
          f"over {reps} pairs; load average {os.getloadavg()[0]:.1f}")


def breakdown(kind: str) -> None:
    """Our step's time per layer type (forward + backward), from one timed epoch."""
    _one_thread()
    epoch, net = ours(kind)
    spent: dict[str, float] = {}

    def wrap(node, runner, method):
        inner = getattr(runner, method)
        key = f"{net.layers[node].type_name}.{method}"

        def timed(*a, **k):
            t0 = time.perf_counter()
            out = inner(*a, **k)
            spent[key] = spent.get(key, 0.0) + time.perf_counter() - t0
            return out
        setattr(runner, method, timed)

    # What runs each node: its layer or the execution plan's stand-in (a LayerNorm whose γ, β
    # went into the next layer, a ReLU done in place by its Dense): timed as the node's type.
    for node, runner in net._plan.runners.items():
        wrap(node, runner, "forward")
        wrap(node, runner, "backward")
    epoch()
    spent.clear()
    t0 = time.perf_counter()
    epoch()
    total = time.perf_counter() - t0
    print(f"{kind}: one epoch {total:.2f} s ({N / total:.0f} samples/s); by layer type:")
    batches = -(-N // BATCH)
    for key, s in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {key:34s} {s:6.2f} s  {1e3 * s / batches:6.2f} ms/batch  "
              f"{100 * s / total:5.1f} %")
    rest = total - sum(spent.values())
    print(f"  {'loss, optimizer, batching':34s} {rest:6.2f} s  {1e3 * rest / batches:6.2f} "
          f"ms/batch  {100 * rest / total:5.1f} %")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="gpt,cls")
    ap.add_argument("--child", default=None)
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--pair", default=None, metavar="MODULE.SWITCH",
                    help="ours with a switch of nnstudio.core.engine on against off, e.g. "
                         "fusion.FOLD_NORM (--reps pairs of epochs)")
    args = ap.parse_args()
    if args.pair:
        for kind in args.only.split(","):
            paired(kind, args.pair, args.reps)
        return 0
    if args.child:
        print(json.dumps(child(args.child, args.reps)))
        return 0
    if args.breakdown:
        for kind in args.only.split(","):
            breakdown(kind)
        return 0
    for kind in args.only.split(","):
        rows, loads = [], []
        for i in range(args.rounds):
            loads.append(os.getloadavg()[0])
            out = subprocess.run([sys.executable, __file__, "--child", kind, "--reps",
                                  str(args.reps)], capture_output=True, text=True, check=True,
                                 env=os.environ)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"  {kind} round {i + 1}: nnstudio {r['nnstudio']:,.0f}, PyTorch "
                  f"{r['pytorch']:,.0f} samples/s, ratio {r['nnstudio'] / r['pytorch']:.2f}× "
                  f"(load average {loads[-1]:.1f} before it)", flush=True)
        ours_s = statistics.median(r["nnstudio"] for r in rows)
        torch_s = statistics.median(r["pytorch"] for r in rows)
        ratios = [r["nnstudio"] / r["pytorch"] for r in rows]
        print(f"{kind}: nnstudio {ours_s:,.0f} samples/s, PyTorch {torch_s:,.0f} samples/s; "
              f"ratio median {statistics.median(ratios):.2f}× (min {min(ratios):.2f}, max "
              f"{max(ratios):.2f}) over {args.rounds} rounds; load average "
              f"{min(loads):.1f}–{max(loads + [os.getloadavg()[0]]):.1f} (shared machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
