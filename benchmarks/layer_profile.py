"""Where one training step's time goes, layer by layer, for the engine_vs_peers workloads.

```sh
PYTHONPATH=. .venv/bin/python benchmarks/layer_profile.py c f g d --steps 40
```

Wraps what runs every node (its layer, or the execution plan's fused stand-in: a ReLU
moved after its MaxPool2D shows its time under the pool, a Conv2D fused with its pool the
convolution under the Conv2D and the pooling and ReLU under the pool) with a CPU-time clock
(``time.thread_time``, one BLAS thread) and runs ``--steps`` forward + backward passes on a
batch of 64 (after a warm-up), then prints each layer's median milliseconds per step.
Information only: the speed goals are judged by ``engine_vs_peers.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from engine_vs_peers import our_spec, pin_threads, workload_data


def profile(name: str, steps: int, dtype=np.float32) -> list[tuple[str, float, float]]:
    from nnstudio.core.engine import Network

    x, _y, bs = workload_data(name)
    net = Network(our_spec(name), x.shape[1:], dtype=dtype, seed=0)
    times: dict[tuple[str, str], list[float]] = {}

    def wrap(lid, layer, which):
        fn = getattr(layer, which)

        def timed(*a, **k):
            t = time.thread_time()
            out = fn(*a, **k)
            times.setdefault((lid, which), []).append(time.thread_time() - t)
            return out

        setattr(layer, which, timed)

    # What the network runs per node: its layer, or a stand-in of the execution plan
    # (engine/fusion.py: a ReLU moved after its pool, a convolution fused with its pool).
    for lid, runner in net._plan.runners.items():
        wrap(lid, runner, "forward")
        wrap(lid, runner, "backward")
    xb = x[:bs].astype(dtype)
    out_id = net.output_id
    at = net.preds[out_id][0] if net.layers[out_id].type_name == "Softmax" else out_id
    for _ in range(steps + 5):
        out = net.forward(xb, training=True)
        g = np.ones_like(net.values[at]) / out.size
        net.backward(g, at=at)
    rows = []
    for lid in net.order:
        layer = net.layers[lid]
        f = times.get((lid, "forward"), [0.0] * steps)[5:]
        b = times.get((lid, "backward"), [0.0] * steps)[5:] or [0.0]
        fused = "" if net._plan.runners[lid] is layer else " (fused)"
        rows.append((f"{lid} {layer.describe()}{fused}", statistics.median(f) * 1e3,
                     statistics.median(b) * 1e3))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workloads", nargs="*", default=["c", "f", "g", "d"])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--float64", action="store_true")
    args = ap.parse_args(argv)
    pin_threads(1)
    for name in args.workloads:
        rows = profile(name, args.steps, np.float64 if args.float64 else np.float32)
        total = sum(f + b for _, f, b in rows)
        print(f"\n== workload {name}: {total:.2f} ms CPU per step (forward + backward)")
        for label, f, b in rows:
            print(f"  {label:40s} fwd {f:7.3f}  bwd {b:7.3f}  ({(f + b) / total:5.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
