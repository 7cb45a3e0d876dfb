"""How long do Save and Open take for a project that keeps its runs, and does Open freeze the
window while the weights load?

Builds the MNIST MLP project (784-256-128-10, as in ``engine_vs_peers.py``; data from
``../shared/datasets/mnist-t10k/``) with 20 runs in its history, each with its trained
weights and its start (initial weights for Replay) — 2 × 235,146 float32 parameters per run,
≈ 38 MB of arrays — and times, in fresh processes each round:

* the first Save (every run's files written, then the JSON),
* a Save after one more run (only the new run's files + the JSON),
* a Save with nothing new (the JSON only),
* Open: parsing and validating the project file (``load_project``),
* reading the current run's weights (the GUI does it in a background thread),
* in the real window (offscreen): ``open_path`` of the project (it loads the data), then,
  with a 5 ms ``QTimer`` on the GUI thread, the longest gap between ticks while the weights
  load in their background thread, the time until the model is shown, and until it is scored
  on every split (Results) — and the longest gap in that last stretch (the panels taking the
  model: charts, the Inside-the-network views); as a control, the longest gap in the first
  0.5 s after opening the same project without its runs (the window's own repaint after an
  Open, which the weights' gap includes).

Goals (issue 13): Save ≤ 1 s and Open ≤ 1 s with 20 runs; the GUI thread never blocked more
than 100 ms while the weights load.

Usage::

    .venv/bin/python benchmarks/project_runs.py [--rounds 3] [--runs 20]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from mnist_project import mnist_project  # noqa: E402

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def project_dict() -> dict:
    """The MNIST MLP project (784 → 256 → 128 → 10)."""
    return mnist_project((256, 128), title="MNIST MLP, 20 runs", version=2)


# -- child: the core timings ------------------------------------------------------------------


def core_round(folder: Path, n_runs: int) -> dict:
    import numpy as np

    from nnstudio.core.insight import RunRecord
    from nnstudio.core.io.model_file import TrainedModel
    from nnstudio.core.io.pipeline import build_network, load_data
    from nnstudio.core.io.project import Project, load_project, save_project
    from nnstudio.core.io.runs import run_from_model

    path = folder / "mnist.nnsproj"
    project = Project.from_dict(project_dict(), base_dir=folder)
    prepared = load_data(project)
    rng = np.random.default_rng(0)

    def add_run(i: int) -> None:
        net = build_network(project, prepared)
        record = RunRecord.capture(net, project.training, split={},
                                   split_indices=prepared.indices, data_fp="")
        net.params[...] += rng.normal(0, 0.01, net.params.shape).astype(net.params.dtype)
        model = TrainedModel.from_training(net, prepared, project.training,
                                           architecture=project.network,
                                           history={"loss": list(rng.random(30))},
                                           summary={"epochs": 30, "reason": "completed"})
        project.runs.add(run_from_model(project.runs, model, record=record))

    for i in range(n_runs):
        add_run(i)
    out = {}
    t = time.perf_counter()
    save_project(project, path)
    out["save_first"] = time.perf_counter() - t
    add_run(n_runs)
    t = time.perf_counter()
    save_project(project, path)
    out["save_one_new"] = time.perf_counter() - t
    t = time.perf_counter()
    save_project(project, path)
    out["save_nothing_new"] = time.perf_counter() - t
    out["bytes"] = sum(p.stat().st_size for p in path.parent.rglob("*") if p.is_file())
    t = time.perf_counter()
    loaded = load_project(path)
    out["open_json"] = time.perf_counter() - t
    t = time.perf_counter()
    loaded.trained_model()
    out["read_weights"] = time.perf_counter() - t
    out["runs"] = len(loaded.runs)
    return out


# -- child: the window ----------------------------------------------------------------------------


def gui_round(path: Path, control: bool = False) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from nnstudio.gui.main_window import MainWindow

    app = QApplication([])
    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp / "rec")
    w.interactive = False
    w.show()
    app.processEvents()
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    marks: dict[str, float] = {}
    w.session.weights_loaded.connect(lambda *_: marks.setdefault("loaded", time.perf_counter()))
    w.session.model_changed.connect(
        lambda: w.session.model is not None and marks.setdefault("shown", time.perf_counter()))
    if control:  # the same project without its runs: what opening costs anyway
        d = json.loads(path.read_text())
        d.pop("runs", None)
        path = path.with_name("control.nnsproj")
        path.write_text(json.dumps(d))
    t0 = time.perf_counter()
    w.open_path(path, ask=False)  # data loading happens here (not what is measured below)
    opened = time.perf_counter() - t0
    s = w.session
    t1 = time.perf_counter()
    ticks.append(t1)
    timer.start()
    while (s.model is None or s.results is None or w.workflow.results.busy) \
            and time.perf_counter() - t1 < (0.5 if control else 60):
        app.processEvents()
        time.sleep(0.001)
    scored = time.perf_counter()
    timer.stop()
    w.workflow.shutdown()

    def longest(a: float, b: float) -> float:
        inside = [t for t in ticks if a <= t <= b] + [b]
        return 1000 * max((y - x for x, y in itertools.pairwise(inside)),
                          default=0.0)

    loaded = marks.get("loaded", marks.get("shown", scored))
    if control:
        return {"gap_opening_without_runs_ms": longest(t1, scored)}
    return {"open_path": opened, "model_shown_after": marks.get("shown", scored) - t1,
            "scored_after": scored - t1,
            "gap_while_loading_ms": longest(t1, loaded),
            "gap_until_scored_ms": longest(loaded, scored)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--child", choices=("core", "gui", "control"))
    ap.add_argument("--folder")
    args = ap.parse_args()
    if args.child == "core":
        print(json.dumps(core_round(Path(args.folder), args.runs)))
        return 0
    if args.child == "gui":
        print(json.dumps(gui_round(Path(args.folder) / "mnist.nnsproj")))
        return 0
    if args.child == "control":
        print(json.dumps(gui_round(Path(args.folder) / "mnist.nnsproj", control=True)))
        return 0
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(REPO)}
    results = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory() as d:
            core = subprocess.run([sys.executable, __file__, "--child", "core", "--folder", d,
                                   "--runs", str(args.runs)], env=env, capture_output=True,
                                  text=True, check=True)
            gui, ctl = (subprocess.run([sys.executable, __file__, "--child", kind, "--folder",
                                        d], env=env, capture_output=True, text=True,
                                       check=True) for kind in ("gui", "control"))
        row = {**json.loads(core.stdout.splitlines()[-1]),
               **json.loads(gui.stdout.splitlines()[-1]),
               **json.loads(ctl.stdout.splitlines()[-1]), "load": os.getloadavg()[0]}
        results.append(row)
        print(f"round {r + 1}: " + ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
    print(f"\nmedians over {args.rounds} rounds ({results[0]['runs']} runs, "
          f"{results[0]['bytes'] / 1e6:.1f} MB on disk):")
    for key, goal in (("save_first", 1.0), ("save_one_new", 1.0), ("save_nothing_new", 1.0),
                      ("open_json", 1.0), ("read_weights", None), ("open_path", None),
                      ("model_shown_after", None), ("scored_after", None),
                      ("gap_while_loading_ms", 100.0), ("gap_until_scored_ms", None),
                      ("gap_opening_without_runs_ms", None)):
        med = statistics.median(r[key] for r in results)
        unit = "ms" if key.endswith("_ms") else "s"
        verdict = "" if goal is None else (
            f"  (goal ≤ {goal:g} {unit}: {'met' if med <= goal else 'NOT met'})")
        print(f"  {key:20s} {med:8.3f} {unit}{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
