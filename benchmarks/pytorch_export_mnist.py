"""Does the exported PyTorch project train as well as nnstudio? MNIST CNN, same epochs.

Usage::

    .venv/bin/python benchmarks/pytorch_export_mnist.py [--epochs 5] [--nproc 1]

A project on the 10,000 MNIST test images (IDX files from ``shared/datasets/mnist-t10k``,
min-max scaling, split 70/15/15 stratified with seed 0) with a LeNet-like CNN
(``Reshape 1x28x28 → Conv 8 3x3 → ReLU → MaxPool 2 → Conv 16 3x3 → ReLU → MaxPool 2 →
Flatten → Dense 10 → Softmax``; cross-entropy, Adam 1e-3, batch 64, no early stopping) is
trained by nnstudio and, exported with ``export_pytorch``, by its ``train.py`` (one process,
or ``--nproc`` processes under ``torchrun``). Both are pinned to one thread per process and
start from the same weights (``init_weights.npz``). The report gives each one's test accuracy
(on the same test split), the difference in percentage points and the wall time; the
machine is shared, so the times are information only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MNIST = ROOT.parent / "shared" / "datasets" / "mnist-t10k"


def project_dict(epochs: int) -> dict:
    layers = [
        ("Input", {}), ("Reshape", {"shape": [1, 28, 28]}),
        ("Conv2D", {"filters": 8, "kernel_size": [3, 3], "kernel_initializer": "he_uniform"}),
        ("ReLU", {}), ("MaxPool2D", {"pool_size": [2, 2]}),
        ("Conv2D", {"filters": 16, "kernel_size": [3, 3], "kernel_initializer": "he_uniform"}),
        ("ReLU", {}), ("MaxPool2D", {"pool_size": [2, 2]}), ("Flatten", {}),
        ("Dense", {"units": 10}), ("Softmax", {}),
    ]
    nodes = [{"id": f"n{i}", "type": t, **c} for i, (t, c) in enumerate(layers)]
    return {
        "format": "nnstudio.project", "version": 1, "title": "MNIST CNN",
        "dataset": {"source": str(MNIST / "t10k-images-idx3-ubyte.gz"),
                    "labels": str(MNIST / "t10k-labels-idx1-ubyte.gz"), "scaling": "minmax",
                    "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 0,
                              "stratify": True}},
        "network": {"nodes": nodes, "edges": [[a["id"], b["id"]]
                                              for a, b in itertools.pairwise(nodes)]},
        "training": {"loss": "cross_entropy", "optimizer": {"type": "adam",
                                                            "learning_rate": 0.001},
                     "batch_size": 64, "epochs": epochs, "seed": 0},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--nproc", type=int, default=1, help="torchrun processes for PyTorch")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from nnstudio.core.io import load_data, run_training
    from nnstudio.core.io.export_pytorch import export_pytorch
    from nnstudio.core.io.project import Project

    work = Path(tempfile.mkdtemp(prefix="nnstudio-bench-"))
    project = Project.from_dict(project_dict(args.epochs), base_dir=work, where="benchmark")
    prepared = load_data(project)
    with threadpool_limits(1):
        start = time.perf_counter()
        model = run_training(project, prepared)
        ours_s = time.perf_counter() - start
    ours = model.summary["metrics"]["test"]["accuracy"]
    print(f"nnstudio: test accuracy {ours:.4f} after {args.epochs} epochs in {ours_s:.1f} s",
          flush=True)

    out = export_pytorch(work / "export", project=project, prepared=prepared)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    cmd = [str(out / "train.py"), "--threads", "1"]
    if args.nproc > 1:
        cmd = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               str(args.nproc), *cmd]
    start = time.perf_counter()
    run = subprocess.run([sys.executable, *cmd], capture_output=True, text=True, env=env)
    torch_s = time.perf_counter() - start
    if run.returncode:
        print(run.stderr, file=sys.stderr)
        return 1
    summary = json.loads((out / "run" / "metrics.json").read_text())["summary"]
    theirs = summary["metrics"]["test"]["accuracy"]
    print(f"PyTorch ({args.nproc} process(es)): test accuracy {theirs:.4f} after "
          f"{summary['epochs']} epochs in {torch_s:.1f} s", flush=True)
    diff = 100 * (theirs - ours)
    print(f"difference: {diff:+.2f} percentage points (load average "
          f"{os.getloadavg()[0]:.2f}; shared machine, times for information)")
    print(json.dumps({"epochs": args.epochs, "nnstudio": ours, "pytorch": theirs,
                      "difference_points": round(diff, 3), "nnstudio_seconds": round(ours_s, 1),
                      "pytorch_seconds": round(torch_s, 1), "nproc": args.nproc}))
    return 0 if abs(diff) <= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
