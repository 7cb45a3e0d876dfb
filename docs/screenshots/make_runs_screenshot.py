"""Render the Runs panel comparing three runs (offscreen, no display needed).

    .venv/bin/python docs/screenshots/make_runs_screenshot.py

Opens the spirals example, trains it three times with different settings (the example's
Adam at 0.01; a learning rate ten times lower; a wider batch with a higher rate and a
shorter patience), names and annotates the runs as a person would, makes the first current
again, saves, selects all three and writes ``runs.png``: the run table, their validation
curves overlaid and their settings side by side with the differences highlighted.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_workflow_screenshots import until, wait  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from nnstudio.gui.app import application  # noqa: E402
from nnstudio.gui.theme import apply_theme  # noqa: E402
from nnstudio.resources import resource_path  # noqa: E402

HERE = Path(__file__).resolve().parent

#: (name, note, settings of the Training panel) of the three runs.
RUNS = (
    ("Adam 0.01", "the example's settings", {"learning_rate": 0.01, "epochs": 150}),
    ("Adam 0.001", "10× lower rate: slow", {"learning_rate": 0.001, "epochs": 150}),
    ("Adam 0.03, batch 64", "faster; stops early", {"learning_rate": 0.03, "epochs": 150,
                                                    "batch_size": 64, "patience": 15}),
)


def main() -> int:
    app = application()
    apply_theme(app, "light")
    from nnstudio.gui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp / "recovery")
    w.interactive = False
    w.resize(1500, 950)
    w.show()
    wait(100)
    if not w.open_path(resource_path("examples", "spirals.nnsproj"), ask=False):
        raise SystemExit("cannot open the spirals example")
    wf = w.workflow
    panel = wf.training
    for name, note, settings in RUNS:
        for key, value in settings.items():
            getattr(panel, key).setValue(value)
        panel.start()
        until(lambda: not panel.running and not wf.session.training, 300_000)
        run = wf.session.runs.last
        wf.session.rename_run(run.id, name)
        wf.session.set_run_note(run.id, note)
        print(f"{name}: {run.epochs} epochs, {run.seconds:.1f} s, "
              f"validation {run.headline('validation')}")
    # Run 1 back as the current model (the user liked it best).
    first = wf.session.runs.runs[0]
    runs = wf.runs
    runs.select_runs([first.id])
    runs.make_current()
    wait(300)
    runs.select_runs([r.id for r in wf.session.runs])
    runs.compare.only_differences.setChecked(False)
    w.save_to(tmp / "spirals.nnsproj")  # the disk line then counts the saved runs

    dock = w.docks["runs"]
    dock.setFloating(True)
    dock.resize(1400, 760)
    wait(300)
    runs.splitter.setSizes([150, 610])  # three rows need little room; the curves more
    wait(300)
    runs.table.resizeColumnsToContents()
    wait(300)
    out = HERE / "runs.png"
    runs.grab().save(str(out))
    print("wrote", out)

    wf.shutdown()
    w.undo_stack.setClean()
    w.session.set_modified(False)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
