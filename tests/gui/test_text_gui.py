"""Text in the GUI, driven like a user: the wizard's text options on a spam/ham CSV, the
Transformer template, Data ▸ Load Text Corpus…, a sample after each epoch while a tiny GPT
trains, Predict (generation streamed off the GUI thread; a text classifier's probabilities)
and the Attention tab."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWizard

from nnstudio.gui.wizards.dataset_wizard import DatasetWizard
from tests.core.text.corpora import corpus_text, write_messages_csv

pytestmark = pytest.mark.gui


def _train(qtbot, window, epochs=2):
    panel = window.workflow.training
    panel.epochs.setValue(epochs)
    panel.learning_rate.setValue(0.003)
    with qtbot.waitSignal(panel.run_finished, timeout=120_000):
        window.workflow.start_training()
    qtbot.waitUntil(lambda: window.workflow.session.model is not None, timeout=20_000)


def test_spam_ham_through_the_wizard_template_predict_and_attention(qtbot, workflow_window,
                                                                  tmp_path):
    window = workflow_window
    csv = tmp_path / "sms.csv"
    write_messages_csv(csv, 300)
    wiz = window.workflow.open_dataset_wizard()
    qtbot.addWidget(wiz)
    wiz.show()
    wiz.source_page.set_file(str(csv))
    wiz.next()
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_COLUMNS
    box = wiz.prepare_page.text_box
    assert box.isChecked()  # text is all there is: used at once
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_PREPARE, wiz.columns_page.table_error.text()
    assert box.isVisible() and box.column.currentText() == "message"
    box.encoding.setCurrentIndex(box.encoding.findData("sequence"))
    box.length.setValue(16)
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_SPLIT
    qtbot.waitUntil(lambda: wiz.split_page.counts.rowCount() == 3, timeout=20_000)
    wiz.accept()
    assert wiz.result() == QWizard.DialogCode.Accepted
    s = window.workflow.session
    assert s.prepared.input_shape == (16,) and wiz.result_spec.text["encoding"] == "sequence"
    window.apply_template("transformer_classifier")
    emb = next(n for n in window.document.nodes if n.type == "Embedding")
    assert emb.config["vocab_size"] == len(s.prepared.preparation.text.vocab)
    assert window.document.report.ok, window.document.report.errors
    _train(qtbot, window, epochs=3)
    predict = window.workflow.predict
    predict.rebuild()
    predict.set_value("message", "claim your free cash prize now")
    qtbot.waitUntil(lambda: predict.last is not None, timeout=10_000)
    assert predict.last.class_names == ["ham", "spam"]
    view = window.insight_panel.attention
    view.text.setText("win a free prize")
    with qtbot.waitSignal(view.shown, timeout=20_000):
        view.compute()
    assert view.layer.count() == 2 and view.head.maximum() == 4
    assert "Predicted" in view.influence.text()


def test_tiny_gpt_corpus_samples_and_generation(qtbot, workflow_window, tmp_path):
    window = workflow_window
    path = tmp_path / "story.txt"
    path.write_text(corpus_text(200), encoding="utf-8")
    dialog = window.workflow.open_corpus_dialog()
    qtbot.addWidget(dialog)
    dialog.path.setText(str(path))
    dialog.window_len.setValue(16)
    with qtbot.waitSignal(dialog.dataset_accepted, timeout=20_000):
        dialog.load()
    s = window.workflow.session
    assert s.prepared.task == "language_model"
    window.apply_template("tiny_gpt")
    assert window.document.report.ok, window.document.report.errors
    sampler = window.workflow.training.sampler
    _train(qtbot, window, epochs=2)
    sampler.join()
    qtbot.waitUntil(lambda: "epoch 2:" in sampler.view.toPlainText(), timeout=20_000)
    box = window.workflow.predict.generate_box
    window.workflow.predict.rebuild()
    assert box.isVisibleTo(window.workflow.predict) and box.isEnabled()
    box.prompt.setPlainText("the ")
    box.length.setValue(20)
    with qtbot.waitSignal(box.generated, timeout=30_000) as blocker:
        box.start()
    assert len(blocker.args[0]) == 20
    assert box.output.toPlainText().startswith("the ")
    box.prompt.setPlainText("€uro")
    with qtbot.waitSignal(box.generated, timeout=30_000):
        box.start()
    assert "never saw in training" in box.error.text()


def test_corpus_dialog_reports_bad_text(qtbot, workflow_window, tmp_path):
    window = workflow_window
    path = tmp_path / "bad.txt"
    path.write_bytes(b"abc\xff" * 10)
    dialog = window.workflow.open_corpus_dialog()
    qtbot.addWidget(dialog)
    dialog.path.setText(str(path))
    dialog.load()
    qtbot.waitUntil(lambda: "UTF-8" in dialog.error.text(), timeout=20_000)
    assert window.workflow.session.prepared is None
