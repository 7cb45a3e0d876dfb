"""Images and sounds in the window: the wizard (both kinds, Cancel), training a CNN, the
gallery, Predict with a file (and a drop), and the feature maps while training."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from nnstudio.core.graph import ReplaceAll
from nnstudio.core.graph.templates import build_template
from nnstudio.gui import media_workflow
from tests.core.media.test_images import shapes

pytestmark = pytest.mark.gui


@pytest.fixture
def window(workflow_window):
    return workflow_window


def run_wizard(qtbot, window, path: Path, kind: str = "image", **options):
    wizard = media_workflow.open_media_wizard(window.workflow)
    qtbot.addWidget(wizard)
    page = wizard.source_page
    page.set_source(str(path), kind)
    for name, value in options.items():
        getattr(page, name).setValue(value)
    wizard.show()
    with qtbot.waitSignal(wizard.overview_page.builder.built, timeout=60_000):
        wizard.next()
    return wizard


def test_image_wizard_shows_classes_counts_and_skipped_files(qtbot, window, tmp_path):
    root = tmp_path / "pics"
    shapes(root, n=10)
    (root / "dark" / "notes.png").write_text("not a picture")
    wizard = run_wizard(qtbot, window, root)
    page = wizard.overview_page
    assert page.isComplete()
    thumbs = [w for w in page.samples.findChildren(QLabel) if w.pixmap() and
              not w.pixmap().isNull()]
    assert len(thumbs) == 2 * 8  # 8 thumbnails for each of the two classes
    table = page.counts
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["bright", "dark", "all"]
    assert table.item(2, 4).text() == "20"
    assert page.skipped.count() == 1
    assert "notes.png — not an image" in page.skipped.item(0).text()
    assert "16×16 pixels, grayscale" in page.status.text()
    with qtbot.waitSignal(wizard.dataset_accepted, timeout=5000):
        wizard.accept()
    s = window.workflow.session
    assert s.prepared.media["kind"] == "image" and s.dataset_spec.images is not None
    assert window.document.input_shape == (1, 16, 16)


def test_sound_wizard_shows_waveforms_spectrograms_and_play_buttons(qtbot, window, tmp_path):
    root = tmp_path / "tones"
    t = np.arange(8000) / 16000
    for cls, f in (("low", 300.0), ("high", 3000.0)):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            sf.write(root / cls / f"{i}.wav", 0.4 * np.sin(2 * np.pi * f * (1 + i / 50) * t),
                     16000)
    (root / "high" / "empty.wav").write_bytes(b"")
    wizard = run_wizard(qtbot, window, root, "sound", duration=0.5)
    page = wizard.overview_page
    assert page.isComplete()
    pictures = [w for w in page.samples.findChildren(QLabel) if w.pixmap() and
                not w.pixmap().isNull()]
    assert len(pictures) == 2 * 3 * 2  # waveform + spectrogram of 3 recordings per class
    buttons = page.samples.findChildren(QPushButton)
    assert len(buttons) == 6 and all(b.text().startswith("▶") for b in buttons)
    from nnstudio.gui.wizards.pages_media import multimedia_available

    assert all(b.isEnabled() == multimedia_available() for b in buttons)
    assert "empty.wav — zero-byte file" in page.skipped.item(0).text()
    assert "log-mel spectrogram" in page.status.text()


def test_cancel_stops_decoding_and_keeps_the_window_responsive(qtbot, window, tmp_path,
                                                               monkeypatch):
    from nnstudio.core.data import media_dataset

    real = media_dataset.decode_image

    def slow(*args, **kw):
        time.sleep(0.02)
        return real(*args, **kw)

    monkeypatch.setattr(media_dataset, "decode_image", slow)
    shapes(tmp_path / "many", n=100)
    wizard = media_workflow.open_media_wizard(window.workflow)
    qtbot.addWidget(wizard)
    wizard.source_page.set_source(str(tmp_path / "many"), "image")
    wizard.show()
    page = wizard.overview_page
    with qtbot.waitSignal(page.builder.progress, timeout=10_000,
                          check_params_cb=lambda stage, done, total: total > 0):
        wizard.next()
    assert page.cancel_button.isEnabled()
    start = time.perf_counter()
    with qtbot.waitSignal(page.builder.built, timeout=10_000):
        page.cancel_button.click()
    assert time.perf_counter() - start < 3.0
    assert "cancelled" in page.status.text() and not page.isComplete()


@pytest.fixture
def trained(qtbot, window, tmp_path):
    """A small CNN trained on drawn bright/dark squares through the wizard and Start; the
    insight panel's Feature maps tab open while it trains."""
    root = tmp_path / "pics"
    shapes(root, n=16)
    wizard = run_wizard(qtbot, window, root)
    with qtbot.waitSignal(wizard.dataset_accepted, timeout=5000):
        wizard.accept()
    net = build_template("image_cnn", (1, 16, 16), 2)
    window.undo_stack.push_command(ReplaceAll(window.document, net))
    panel = window.workflow.training
    panel.epochs.setValue(8)
    panel.learning_rate.setValue(0.003)
    insight = window.insight_panel
    # Image data brings the feature maps forward (the decision map reads only tables).
    assert insight.tabs.currentWidget() is insight.feature_maps
    window.insight_dock.show()
    window.insight_dock.raise_()
    drawn = []
    insight.source.compute.finished_job.connect(
        lambda key, token, result: key == "feature_maps" and drawn.append(
            window.workflow.session.training))
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=180_000):
        panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    return window, root, drawn


def test_gallery_predict_with_a_file_and_feature_maps(qtbot, trained, tmp_path):
    window, _root, drawn = trained
    wf = window.workflow
    # Gallery: every test sample, most confident mistakes first, per-class table.
    gallery = wf.gallery
    qtbot.waitUntil(lambda: gallery.gallery is not None, timeout=30_000)
    g = gallery.gallery
    n_test = len(wf.session.prepared.y_test)
    assert gallery.items.count() == n_test == len(g.order)
    wrong = g.true[g.order] != g.pred[g.order]
    assert not np.any(wrong[1:] & ~wrong[:-1])  # no mistake after a right answer
    conf = g.confidence[g.order][wrong]
    assert np.all(np.diff(conf) <= 1e-12)
    assert gallery.per_class.rowCount() == 2
    assert gallery.per_class.item(0, 0).text() == "bright"
    # Predict with a file: the same probabilities as the core model.
    box = wf.predict.media_box
    assert box.isVisible()
    from tests.core.media.test_images import save

    path = save(tmp_path / "new.png", np.full((24, 24), 230, np.uint8))
    with qtbot.waitSignal(box.predicted, timeout=10_000) as blocker:
        box.predict_file(str(path))
    shown = blocker.args[1]
    from nnstudio.core.data.media_dataset import decode_files

    raw, _, _ = decode_files(wf.session.model.preparation.media, [str(path)])
    core = wf.session.model.predict_raw(raw)
    np.testing.assert_allclose(shown.probabilities, core.probabilities, rtol=1e-6)
    assert box.result.text() == "bright"
    # A file dropped on the Predict panel is predicted too.
    dark = save(tmp_path / "dark.png", np.full((16, 16), 10, np.uint8))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dark))])
    target = wf.predict
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(box.predicted, timeout=10_000) as blocker:
        QApplication.sendEvent(target, drop)
    assert blocker.args[0] == str(dark) and box.result.text() == "dark"
    # Feature maps: drawn while training, and one picture per conv/pooling layer now.
    assert any(drawn), "the feature maps never updated during training"
    view = window.insight_panel.feature_maps
    qtbot.waitUntil(lambda: view.last_result is not None, timeout=10_000)
    titles = [t.text() for t, _ in view.layer_labels if t.isVisible()]
    assert len(titles) == 4 and "Conv2D" not in titles[0]
    assert titles[0].startswith("<b>conv2d_1 → relu_1 · 16 × 16 × 16")
    assert view.filters_title.text().startswith("Learned filters — conv2d_1: 16 filters of 3×3")
    assert not view.input_label.pixmap().isNull()


def test_the_shapes_example_opens_with_its_images(qtbot, window):
    from nnstudio.resources import resource_path

    assert window.open_path(resource_path("examples", "shapes.nnsproj"), ask=False)
    s = window.workflow.session
    qtbot.waitUntil(lambda: s.prepared is not None, timeout=60_000)
    assert s.prepared.media["kind"] == "image"
    assert s.prepared.class_names == ["circle", "square", "triangle"]
    assert window.document.input_shape == (3, 32, 32)
    assert "load_media" in window.workflow.actions
    assert window.workflow.actions["load_media"] in window.menus["data"].actions()
