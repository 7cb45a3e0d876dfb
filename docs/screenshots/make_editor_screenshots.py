"""Render the editor screenshots in this folder (offscreen, no display needed).

    .venv/bin/python docs/screenshots/make_editor_screenshots.py

Writes ``editor.png`` (light theme, the LeNet-style template with a layer selected),
``editor-dark.png`` (dark theme, a shape error shown on a layer) and ``editor-refused.png``
(a connection that would make a cycle, refused with its reason while dragging).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from nnstudio.core.graph import SetConfig
from nnstudio.gui.app import application
from nnstudio.gui.files import make_settings
from nnstudio.gui.theme import apply_theme

HERE = Path(__file__).resolve().parent
SIZE = (1440, 860)


def window(theme: str, tmp: Path):
    from nnstudio.gui.main_window import MainWindow

    app = application()
    apply_theme(app, theme)
    w = MainWindow(make_settings(tmp / f"{theme}.ini"), recovery_dir=tmp / "recovery",
                   workflow_panels=False)
    w.resize(*SIZE)
    w.show()
    app.processEvents()
    return app, w


def settle(app, w) -> None:
    for _ in range(3):
        app.processEvents()


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="nnstudio-shots-"))

    app, w = window("light", tmp)
    w.document.set_input_shape((1, 28, 28))
    w.output_units = 10
    w.apply_template("lenet")
    w.scene.select_nodes(["conv2d_2"])
    w.canvas.zoom_to_fit()
    settle(app, w)
    w.grab().save(str(HERE / "editor.png"))
    w.undo_stack.setClean()
    w.close()

    app, w = window("dark", tmp)
    w.document.set_input_shape((1, 28, 28))
    w.apply_template("lenet")
    w.push(SetConfig(w.document, "conv2d_2", {"kernel_size": [15, 15]}))
    w.scene.select_nodes(["conv2d_2"])
    w.canvas.zoom_to_fit()
    settle(app, w)
    w.grab().save(str(HERE / "editor-dark.png"))
    w.undo_stack.setClean()
    w.close()

    app, w = window("light", tmp)
    w.document.set_input_shape((4,))
    w.output_units = 3
    w.apply_template("mlp_classifier")
    w.canvas.set_zoom(0.9)
    w.canvas.centerOn(w.scene.node_items["relu_1"])
    settle(app, w)
    view = w.canvas
    start = view.mapFromScene(w.scene.node_items["dense_2"].out_port.center())
    target = view.mapFromScene(w.scene.node_items["dense_1"].in_port.center())
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(30, 60))
    QTest.mouseMove(vp, target)
    settle(app, w)
    w.grab().save(str(HERE / "editor-refused.png"))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    w.undo_stack.setClean()
    w.close()
    print("wrote", ", ".join(p.name for p in sorted(HERE.glob("editor*.png"))))


if __name__ == "__main__":
    main()
