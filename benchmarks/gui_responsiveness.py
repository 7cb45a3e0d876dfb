"""Is the GUI still responsive while it trains, and what does watching cost?

Opens the real main window offscreen, trains the MNIST MLP (Input → Flatten → Dense 128 →
ReLU → Dense 10 → Softmax) on ``../shared/datasets/mnist-t10k/`` through the GUI (the
Training panel's worker thread, live plots, results at the end), and measures the GUI thread
with a 10 ms ``QTimer``: every tick records the time since the previous one, so a tick that
comes late shows how long the GUI thread could not react. The same project is trained
headless with ``nnstudio train`` and the two training times (the trainer's own clock, data
loading excluded on both sides) are compared.

Goals: longest stall ≤ 50 ms, 99th percentile ≤ 20 ms, GUI training time ≤ 1.10 × headless.

Following ``shared/ENVIRONMENT.md``: NumPy's BLAS is pinned to one thread in both processes
(2 vCPUs: one for the trainer, one for the GUI); each round runs the GUI and the headless
training in fresh processes, alternating; the verdict uses medians over rounds (of the paired
ratios for speed).

Usage::

    .venv/bin/python benchmarks/gui_responsiveness.py [--rounds 5] [--epochs 20]
                                                      [--without-insight] [--json out]

A "stall" below is the lateness of a tick: its interval minus the 10 ms period. Each round
also reports the 1-minute load average (the machine is shared) and the CPU time of the GUI
thread during the run: PySide6 holds the GIL while Qt paints, so nearly every millisecond the
GUI thread works is a millisecond the trainer thread waits — that figure moves less with the
load than the times do.
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

DATA = REPO.parent / "shared" / "datasets" / "mnist-t10k"
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TICK_MS = 10


def project_dict(epochs: int, batch_size: int) -> dict:
    """The MNIST MLP project (784 → 128 → 10)."""
    return mnist_project((128,), epochs, batch_size)


# -- one GUI run (child process) -----------------------------------------------------------------
INSIGHT_TABS = ("boundary", "neurons", "stats", "landscape")


def gui_child(project: Path, out: Path, without_insight: bool = False,
              insight_tab: str | None = None) -> None:
    """Train through the main window; write the measurements as JSON to ``out``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO))
    if without_insight:  # diagnosis: the window without the "Inside the network" dock
        import nnstudio.gui.insight

        nnstudio.gui.insight.install = lambda *args, **kwargs: None
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from nnstudio.gui.main_window import MainWindow
    from nnstudio.gui.theme import apply_theme

    app = QApplication([])
    apply_theme(app, "light")
    tmp = Path(tempfile.mkdtemp(prefix="nns-bench-"))
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings, recovery_dir=tmp / "recovery")
    window.interactive = False
    window.resize(1500, 950)
    window.show()
    t0 = time.perf_counter()
    if not window.open_path(project, ask=False):
        raise SystemExit("could not open the benchmark project")
    load_seconds = time.perf_counter() - t0
    if insight_tab:  # the dock in view on one of its tabs: that view computes and repaints
        window.insight_dock.show()
        window.insight_dock.raise_()
        window.insight_panel.show_view(insight_tab)
    wf = window.workflow
    panel = wf.training
    ticks: list[float] = []
    result: dict = {}

    timer = QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    progress_count = [0]
    panel.runner.progressed.connect(lambda p: progress_count.__setitem__(0, progress_count[0] + 1))

    def finished(outcome) -> None:
        end = time.perf_counter()
        cpu[1] = time.thread_time()
        # let the end-of-run updates (results, predict form) land and be measured too
        QTimer.singleShot(300, lambda: done(outcome, end))

    def done(outcome, end: float) -> None:
        timer.stop()
        fin = outcome.finished
        result.update(
            train_seconds=fin.elapsed, epochs=fin.epochs_run, reason=fin.reason,
            wall_seconds=end - start[0], load_seconds=load_seconds,
            gui_cpu_seconds=cpu[1] - cpu[0],
            ticks=len(ticks), progress_messages=progress_count[0],
            redraws=panel.plots.redraws,
            test_accuracy=(outcome.results.splits["test"].metrics["accuracy"]
                           if outcome.results is not None else None),
            intervals_ms=[1000 * (b - a) for a, b in itertools.pairwise(ticks)],
        )
        window.workflow.shutdown()
        window.undo_stack.setClean()
        window.close()
        app.quit()

    wf.session.training_finished.connect(finished)
    start = [0.0]
    cpu = [0.0, 0.0]  # CPU time of the GUI thread at the start and the end of the run

    def go() -> None:
        cpu[0] = time.thread_time()
        timer.start()
        ticks.append(time.perf_counter())
        start[0] = time.perf_counter()
        if not wf.start_training():
            raise SystemExit(panel.banner.text())

    QTimer.singleShot(200, go)
    app.exec()
    out.write_text(json.dumps(result))


# -- one headless run ------------------------------------------------------------------------------
def headless(project: Path, model: Path) -> dict:
    cmd = [sys.executable, "-m", "nnstudio", "train", str(project), "--out", str(model),
           "--json", "--quiet"]
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(REPO)}
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=1800)
    if run.returncode != 0:
        raise SystemExit(f"nnstudio train failed:\n{run.stderr}")
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    return {"train_seconds": summary["seconds"],
            "test_accuracy": summary["metrics"]["test"]["accuracy"]}


def gui(project: Path, tmp: Path, index: int, without_insight: bool = False,
        insight_tab: str | None = None) -> dict:
    out = tmp / f"gui-{index}.json"
    env = {**os.environ, **ONE_THREAD, "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(REPO)}
    extra = ["--without-insight"] if without_insight else []
    if insight_tab:
        extra += ["--insight-tab", insight_tab]
    run = subprocess.run([sys.executable, __file__, "--gui-child", str(project), str(out),
                          *extra],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=1800)
    if run.returncode != 0 or not out.exists():
        raise SystemExit(f"GUI run failed:\n{run.stderr}")
    return json.loads(out.read_text())


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


#: The goals: (figure, label, limit, unit).
GOALS = (
    ("stall_max_ms", "longest stall", 50.0, "ms"),
    ("stall_p99_ms", "99th percentile stall", 20.0, "ms"),
    ("ratio", "GUI / headless training time", 1.10, "×"),
)


def load_average() -> float:
    """The 1-minute load average (the machine is shared: a figure means little without it)."""
    try:
        return os.getloadavg()[0]
    except OSError:  # not on every platform
        return float("nan")


def one_round(project: Path, tmp: Path, i: int, without_insight: bool,
              insight_tab: str | None = None) -> dict:
    """A headless run and a GUI run, back to back, with the load average before each."""
    load_before = load_average()
    h = headless(project, tmp / f"model-{i}.npz")
    load_between = load_average()
    g = gui(project, tmp, i, without_insight, insight_tab)
    iv = g["intervals_ms"]
    stalls = [max(0.0, v - TICK_MS) for v in iv]
    return {
        "headless_s": h["train_seconds"], "gui_s": g["train_seconds"],
        "ratio": g["train_seconds"] / h["train_seconds"],
        "stall_max_ms": max(stalls), "stall_p99_ms": percentile(stalls, 0.99),
        "interval_max_ms": max(iv), "interval_p99_ms": percentile(iv, 0.99),
        "interval_median_ms": statistics.median(iv), "ticks": len(iv),
        "gui_cpu_s": g["gui_cpu_seconds"],
        "gui_cpu_share": g["gui_cpu_seconds"] / g["wall_seconds"],
        "progress_messages": g["progress_messages"], "redraws": g["redraws"],
        "gui_test_accuracy": g["test_accuracy"], "cli_test_accuracy": h["test_accuracy"],
        "wall_s": g["wall_seconds"], "load": max(load_before, load_between),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--without-insight", action="store_true",
                    help="diagnosis: leave the 'Inside the network' dock out of the window")
    ap.add_argument("--insight-tab", choices=INSIGHT_TABS,
                    help="show the 'Inside the network' dock on this tab (by default the dock "
                         "is in the window but behind another tab)")
    ap.add_argument("--gui-child", nargs=2, metavar=("PROJECT", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.gui_child:
        gui_child(Path(args.gui_child[0]), Path(args.gui_child[1]), args.without_insight,
                  args.insight_tab)
        return 0
    if not DATA.is_dir():
        print(f"MNIST not found at {DATA}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="nns-gui-bench-"))
    project = tmp / "mnist_mlp.nnsproj"
    project.write_text(json.dumps(project_dict(args.epochs, args.batch_size), indent=1))
    print(f"MNIST MLP, {args.epochs} epochs, batch {args.batch_size}, BLAS on one thread, "
          f"{args.rounds} rounds (GUI and headless in fresh processes, alternating)"
          + (" — without the 'Inside the network' dock" if args.without_insight else "")
          + (f" — the insight dock in view on its '{args.insight_tab}' tab"
             if args.insight_tab else ""))
    rounds = []
    for i in range(args.rounds):
        r = one_round(project, tmp, i, args.without_insight, args.insight_tab)
        rounds.append(r)
        print(f"round {i + 1} (load {r['load']:.2f}): headless {r['headless_s']:.2f} s, GUI "
              f"{r['gui_s']:.2f} s (×{r['ratio']:.3f}); stall max {r['stall_max_ms']:.1f} ms, "
              f"p99 {r['stall_p99_ms']:.1f} ms over {r['ticks']} ticks; GUI thread CPU "
              f"{r['gui_cpu_s']:.2f} s ({100 * r['gui_cpu_share']:.0f} %); {r['redraws']} "
              f"redraws, {r['progress_messages']} progress messages; test accuracy GUI "
              f"{r['gui_test_accuracy']:.4f} / CLI {r['cli_test_accuracy']:.4f}")
    keys = ("ratio", "stall_max_ms", "stall_p99_ms", "headless_s", "gui_s", "gui_cpu_s",
            "load")
    med = {k: statistics.median(r[k] for r in rounds) for k in keys}
    loads = [r["load"] for r in rounds]
    print(f"\nmedians over {len(rounds)} rounds (load average {min(loads):.2f}–"
          f"{max(loads):.2f}, median {med['load']:.2f}):")
    ok = {}
    for key, label, limit, unit in GOALS:
        values = [r[key] for r in rounds]
        ok[key] = med[key] <= limit
        fmt = (lambda v: f"×{v:.3f}") if unit == "×" else (lambda v: f"{v:.1f} ms")
        goal = f"×{limit:.2f}" if unit == "×" else f"{limit:.0f} ms"
        print(f"  {label:<30} {fmt(med[key]):>10}  (rounds {fmt(min(values))}–"
              f"{fmt(max(values))})  goal ≤ {goal}: {'met' if ok[key] else 'MISSED'}")
    print(f"  {'headless / GUI training':<30} {med['headless_s']:.2f} s / {med['gui_s']:.2f} s;"
          f" GUI thread CPU {med['gui_cpu_s']:.2f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"rounds": rounds, "median": med, "ok": ok},
                                              indent=1))
    return 0 if all(ok.values()) else 1


if __name__ == "__main__":
    # BLAS reads its thread count when NumPy is first imported: set it before anything does.
    for k, v in ONE_THREAD.items():
        os.environ.setdefault(k, v)
    sys.exit(main())
