"""Render the image/sound screenshots in this folder (offscreen, no display needed).

    .venv/bin/python docs/screenshots/make_media_screenshots.py

Writes the image/sound wizard on the built-in shapes (``wizard-images.png``) and spoken words
(``wizard-sounds.png``), then trains the shapes example's CNN and shows the Gallery
(``gallery.png``), Predict with an image file (``predict-image.png``) and Inside the network ▸
Feature maps (``insight-feature-maps.png``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from make_workflow_screenshots import main_window, shot, until, wait  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from nnstudio.core.graph import ReplaceAll  # noqa: E402
from nnstudio.core.io.project import load_project  # noqa: E402
from nnstudio.gui import media_workflow  # noqa: E402
from nnstudio.gui.app import application  # noqa: E402
from nnstudio.gui.theme import apply_theme  # noqa: E402
from nnstudio.resources import resource_path  # noqa: E402


def wizard(window, folder: Path, kind: str, name: str):
    wiz = media_workflow.open_media_wizard(window.workflow)
    wiz.source_page.set_source(str(folder), kind)
    wiz.resize(900, 700)
    wiz.show()
    wiz.next()
    page = wiz.overview_page
    until(lambda: page.isComplete() or not page.builder.busy)
    wait(300)
    wiz.grab().save(str(HERE / name))
    print("wrote", HERE / name)
    return wiz


def main() -> int:
    app = application()
    apply_theme(app, "light")
    QMessageBox.question = staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    tmp = Path(tempfile.mkdtemp(prefix="nns-media-shots-"))
    os.environ.setdefault("NNSTUDIO_CACHE_DIR", str(tmp / "cache"))
    w = main_window(tmp)
    wf = w.workflow
    sounds = wizard(w, resource_path("examples", "words"), "sound", "wizard-sounds.png")
    sounds.reject()
    images = wizard(w, resource_path("examples", "shapes"), "image", "wizard-images.png")
    images.accept()
    project = load_project(resource_path("examples", "shapes.nnsproj"))
    w.undo_stack.push_command(ReplaceAll(w.document, project.network))
    panel = wf.training
    panel.epochs.setValue(12)
    panel.learning_rate.setValue(0.003)
    w.insight_dock.show()
    w.insight_dock.raise_()
    w.insight_panel.show_view("feature_maps")
    panel.start()
    until(lambda: not panel.running and not wf.session.training, 900_000)
    wf.show_dock("gallery")
    until(lambda: wf.gallery.gallery is not None)
    wait(300)
    shot(wf.gallery, "gallery.png", (1280, 560))
    box = wf.predict.media_box
    box.predict_file(str(resource_path("examples", "shapes", "triangle", "007.png")))
    until(lambda: box.result.text() not in ("–", "…"))
    wf.show_dock("predict")
    shot(wf.predict, "predict-image.png", (480, 520))
    view = w.insight_panel.feature_maps
    view.sample_spin.setValue(3)
    until(lambda: view.last_result is not None and view.last_result["sample"] == 3)
    wait(300)
    shot(w.insight_panel, "insight-feature-maps.png", (900, 900))
    w.workflow.shutdown()
    w.insight_panel.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
