"""Render the workflow screenshots in this folder (offscreen, no display needed).

    .venv/bin/python docs/screenshots/make_workflow_screenshots.py

Writes the dataset wizard on the King County houses (``wizard-source.png``,
``wizard-preview.png``, ``wizard-columns.png``, ``wizard-prepare.png``, ``wizard-split.png``),
the Training panel after an MNIST run (``training.png``), the Results panel for that
classifier (``results-classifier.png``) and for the King County regressor
(``results-regressor.png``), the Predict panel with a location picked (``predict.png``) and
the export dialog (``export.png``). The shared datasets are read from ``../shared/datasets``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from nnstudio.core.data import DatasetSpec, build_dataset  # noqa: E402
from nnstudio.core.graph import ReplaceAll  # noqa: E402
from nnstudio.gui.app import application  # noqa: E402
from nnstudio.gui.theme import apply_theme  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = ROOT.parent / "shared" / "datasets"


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def until(predicate, timeout_ms: int = 120_000) -> None:
    waited = 0
    while not predicate():
        wait(50)
        waited += 50
        if waited > timeout_ms:
            raise TimeoutError("timed out")


def main_window(tmp: Path):
    from nnstudio.gui.main_window import MainWindow

    w = MainWindow(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=tmp / "recovery")
    w.interactive = False
    w.resize(1500, 950)
    w.show()
    wait(100)
    return w


def train(window, network: dict, spec: DatasetSpec, **settings) -> None:
    window.undo_stack.push_command(ReplaceAll(window.document, network))
    window.workflow.adopt_dataset(spec, build_dataset(spec), ask=False)
    panel = window.workflow.training
    for name, value in settings.items():
        getattr(panel, name).setValue(value)
    panel.start()
    # the session hears of the end last (after the panel, the model and the results)
    until(lambda: not panel.running and not window.workflow.session.training)
    print(f"trained in {window.workflow.session.outcome.finished.elapsed:.1f} s")
    wait(300)


def shot(widget, name: str, size=None) -> None:
    """Grab ``widget`` at ``size``; a docked panel is floated for the picture."""
    dock = widget.parentWidget() if size else None
    while dock is not None and not dock.inherits("QDockWidget"):  # the dock's LayoutBarrier
        dock = dock.parentWidget()
    floated = dock is not None
    if floated:
        dock.setFloating(True)
        dock.resize(size[0], size[1] + 30)
    elif size:
        widget.resize(*size)
    wait(300)
    widget.grab().save(str(HERE / name))
    print("wrote", HERE / name)
    if floated:
        dock.setFloating(False)
        wait(100)


def wizard_shots(window) -> None:
    wiz = window.workflow.open_dataset_wizard()
    wiz.resize(900, 680)
    wiz.show()
    wiz.source_page.set_file(str(DATA / "house" / "kc_house_data.csv"))
    shot(wiz, "wizard-source.png")
    wiz.next()
    shot(wiz, "wizard-preview.png")
    wiz.next()
    page = wiz.columns_page
    page.set_role("price", "Target")
    page.set_category("zipcode")
    shot(wiz, "wizard-columns.png")
    wiz.next()
    shot(wiz, "wizard-prepare.png")
    wiz.next()
    until(lambda: wiz.split_page.counts.rowCount() == 3)
    wait(300)
    shot(wiz, "wizard-split.png")
    wiz.reject()


MNIST_MLP = {
    "nodes": [{"id": "in", "type": "Input", "pos": [0, 100]},
              {"id": "flat", "type": "Flatten", "pos": [250, 100]},
              {"id": "h1", "type": "Dense", "units": 128, "pos": [500, 100]},
              {"id": "a1", "type": "ReLU", "pos": [750, 100]},
              {"id": "out", "type": "Dense", "units": 10, "pos": [1000, 100]},
              {"id": "p", "type": "Softmax", "pos": [1250, 100]}],
    "edges": [["in", "flat"], ["flat", "h1"], ["h1", "a1"], ["a1", "out"], ["out", "p"]],
}
HOUSE_NET = {
    "nodes": [{"id": "in", "type": "Input", "pos": [0, 100]},
              {"id": "h1", "type": "Dense", "units": 64, "pos": [250, 100]},
              {"id": "a1", "type": "ReLU", "pos": [500, 100]},
              {"id": "h2", "type": "Dense", "units": 32, "pos": [750, 100]},
              {"id": "a2", "type": "ReLU", "pos": [1000, 100]},
              {"id": "out", "type": "Dense", "units": 1, "pos": [1250, 100]}],
    "edges": [["in", "h1"], ["h1", "a1"], ["a1", "h2"], ["h2", "a2"], ["a2", "out"]],
}


def main() -> int:
    app = application()
    apply_theme(app, "light")
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    tmp = Path(tempfile.mkdtemp(prefix="nns-shots-"))
    w = main_window(tmp)
    wf = w.workflow
    wizard_shots(w)

    mnist = DatasetSpec(source=str(DATA / "mnist-t10k" / "t10k-images-idx3-ubyte.gz"),
                        labels=str(DATA / "mnist-t10k" / "t10k-labels-idx1-ubyte.gz"))
    train(w, MNIST_MLP, mnist, epochs=12, batch_size=64)
    wf.training.plots.show_epoch(8)
    shot(wf.training, "training.png", (1280, 520))
    wf.show_dock("results")
    until(lambda: wf.results.split.count() > 0)
    shot(wf.results, "results-classifier.png", (1280, 560))

    house = DatasetSpec(source=str(DATA / "house" / "kc_house_data.csv"), target="price",
                        ignore=["id", "date"], categorical=["zipcode"])
    train(w, HOUSE_NET, house, epochs=25, batch_size=64)
    wf.show_dock("results")
    until(lambda: wf.results.results is not None and wf.results.split.count() > 0)
    wait(300)
    shot(wf.results, "results-regressor.png", (1280, 560))

    small = DatasetSpec(source=str(DATA / "house" / "kc_house_data.csv"), target="price",
                        features=["sqft_living", "bedrooms", "zipcode"],
                        categorical=["zipcode"])
    train(w, HOUSE_NET, small, epochs=25, batch_size=64)
    p = wf.predict
    p.set_value("sqft_living", "2100")
    p.set_value("bedrooms", "3")
    p.set_value("zipcode", "98103")
    p.predict()
    shot(p, "predict.png", (460, 520))

    dialog = wf.open_export_dialog()
    dialog.set_format("onnx")
    dialog.path.setText(str(tmp / "house.onnx"))
    dialog.show()
    dialog.export()
    dialog.resize(620, dialog.sizeHint().height())
    shot(dialog, "export.png")
    dialog.close()

    w.workflow.shutdown()
    w.undo_stack.setClean()
    w._extra_modified = False
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
